// Comparing two runs: per-layer capacity change, a regression gate, and one report with both on one timeline.
import { LAYERS, type Layer } from '../scenarios/model.js';
import type { Analysis, LayerResult } from '../analysis/analysis.js';
import { esc, htmlPage } from './html.js';

export interface LayerChange {
  layer: Layer;
  base: LayerResult;
  run: LayerResult;
  /** Capacity change in %, negative = lower; null when either run measured none. */
  capacityChangePct: number | null;
  /** True when the run's capacity fell by more than the allowed regression (or it broke where the base held). */
  regressed: boolean;
  note: string;
}

/** What one run did to its participants, beside capacity: what retries, faults and breaks made of the same load. */
export interface RunFigures {
  /** How the run is named: its scenario file or built-in name as given, else its scenario's name. */
  label: string;
  verdict: Analysis['verdict'];
  arrived: number;
  joined: number;
  /** Journeys per participant (retry amplification) and broker attempts per join. */
  journeysPerParticipant: number;
  attemptsPerJoin: number | null;
  /** Each layer that broke: how long, and whether and when it recovered. */
  broken: { layer: Layer; forSec: number; recovered: boolean; clock: string }[];
}

export interface Comparison {
  base: Analysis;
  run: Analysis;
  /** The two runs' figures, each under its label. */
  figures: { base: RunFigures; run: RunFigures };
  maxRegressionPct?: number;
  layers: LayerChange[];
  /**
   * regression / no-regression: with a gate (--max-regression), every compared layer judged in both runs;
   * compared: without a gate, the runs set side by side with evidence in both; not-judged: a run without evidence.
   */
  verdict: 'no-regression' | 'regression' | 'compared' | 'not-judged';
  passed: boolean;
  headline: string;
}

function figuresOf(a: Analysis, label: string | undefined): RunFigures {
  return {
    label: label ?? a.run.scenario.name, verdict: a.verdict, arrived: a.users.arrived, joined: a.users.joined,
    journeysPerParticipant: a.users.attemptsPerUser, attemptsPerJoin: a.users.attemptsPerJoin,
    broken: a.layers.filter((l) => l.breakPoint).map((l) => ({ layer: l.layer, forSec: l.breakPoint!.brokenForSec, recovered: l.breakPoint!.recovered, clock: l.breakPoint!.clock })),
  };
}

/** "broker broken 20 s from 08:00:05, recovered" / "nothing broken" */
const brokenText = (f: RunFigures) =>
  f.broken.length ? f.broken.map((b) => `${b.layer} broken ${b.forSec} s from ${b.clock}, ${b.recovered ? 'recovered' : 'not recovered by the end'}`).join(', ') : 'nothing broken';

/** What differs between two runs of one load, in words: amplification, what broke and for how long, who got in. */
function differsText(b: RunFigures, r: RunFigures): string {
  const arrow = (x: string | number | null, y: string | number | null) => (x === y ? `${x ?? '—'} in both` : `${x ?? '—'} → ${y ?? '—'}`);
  return [
    `journeys per participant ${arrow(b.journeysPerParticipant, r.journeysPerParticipant)}`,
    ...(b.attemptsPerJoin !== null || r.attemptsPerJoin !== null ? [`broker attempts per join ${arrow(b.attemptsPerJoin, r.attemptsPerJoin)}`] : []),
    `${b.label}: ${brokenText(b)}; ${r.label}: ${brokenText(r)}`,
    `joined ${b.joined} of ${b.arrived} → ${r.joined} of ${r.arrived}`,
  ].join('; ');
}

const capText = (l: LayerResult) => (l.capacity ? `${l.capacity.lowerBound ? '≥ ' : ''}${l.capacity.perSec}/s` : '—');

function changeOf(layer: Layer, base: LayerResult, run: LayerResult, maxPct: number | undefined): LayerChange {
  const b = base.capacity;
  const r = run.capacity;
  const pct = b && r ? Math.round(((r.perSec - b.perSec) / b.perSec) * 1000) / 10 : null;
  // A capacity the run only bounds from below (it never broke) cannot show a regression.
  const measuredDrop = pct !== null && r !== undefined && !r.lowerBound && pct < 0 ? -pct : 0;
  const brokeNewly = base.met && run.breakPoint !== undefined;
  // A layer that now breaks at a load the base held counts as lost capacity: the base held at least its peak.
  const heldDrop = brokeNewly && base.peakOfferedPerSec > 0 ? ((base.peakOfferedPerSec - run.breakPoint!.offeredPerSec) / base.peakOfferedPerSec) * 100 : 0;
  const regressed = maxPct !== undefined && (measuredDrop > maxPct || heldDrop > maxPct);
  let note: string;
  if (!base.judged && !run.judged) note = 'not judged in either run';
  else if (brokeNewly) note = `broke in this run at ${run.breakPoint!.offeredPerSec} ${run.unit}, held in the base`;
  else if (base.breakPoint && run.met) note = `held in this run, broke in the base at ${base.breakPoint.offeredPerSec} ${base.unit}`;
  else if (base.state !== run.state && (base.state !== 'met' || run.state !== 'met')) note = `${base.state} in the base, ${run.state} in this run`;
  else if (pct === null) note = 'no capacity to compare';
  else note = `capacity ${capText(base)} → ${capText(run)} (${pct > 0 ? '+' : ''}${pct} %)`;
  return { layer, base, run, capacityChangePct: pct, regressed, note };
}

export function compare(base: Analysis, run: Analysis, maxRegressionPct?: number, labels: { base?: string; run?: string } = {}): Comparison {
  const figures = { base: figuresOf(base, labels.base), run: figuresOf(run, labels.run) };
  // Layers both journeys have; a layer only one of them has cannot be compared.
  const layers = LAYERS.flatMap((l) => {
    const b = base.layers.find((x) => x.layer === l);
    const r = run.layers.find((x) => x.layer === l);
    return b && r ? [changeOf(l, b, r, maxRegressionPct)] : [];
  });
  const regressed = layers.filter((l) => l.regressed);
  // A verdict needs evidence: runs that judged nothing, or (with a gate) a layer one of them did not judge, say nothing either way.
  const unjudged = [base, run].filter((a) => !a.layers.some((l) => l.judged) || a.run.status !== 'completed').map((a) => `${a.run.id} (${a.run.status !== 'completed' ? a.run.status : 'nothing judged'})`);
  const ungated = maxRegressionPct === undefined ? [] : layers.filter((l) => !l.base.judged || !l.run.judged).map((l) => l.layer);
  const notJudged = !layers.length || unjudged.length > 0 || ungated.length > 0;
  const headline =
    `${figures.run.label} (${run.verdict}) against ${figures.base.label} (${base.verdict}): ${differsText(figures.base, figures.run)}. ` +
    layers.map((l) => `${l.layer} ${l.note}`).join('; ') +
    (maxRegressionPct === undefined ? '.' : regressed.length ? `. Regression beyond ${maxRegressionPct} % in ${regressed.map((l) => l.layer).join(', ')}.` : `. No layer regressed beyond ${maxRegressionPct} %.`);
  const why = !layers.length ? 'the runs have no layer in common' : unjudged.length ? `no evidence in ${unjudged.join(' and ')}` : `${ungated.join(', ')} not judged in both runs`;
  const verdict = regressed.length ? 'regression' : notJudged ? 'not-judged' : maxRegressionPct === undefined ? 'compared' : 'no-regression';
  return { base, run, figures, maxRegressionPct, layers, verdict, passed: verdict === 'no-regression' || verdict === 'compared', headline: verdict === 'not-judged' ? `${headline} Not judged: ${why}.` : headline };
}

/** Seconds relative to the first bell, so two runs line up at 8:00. */
function aligned(a: Analysis, label: string) {
  const shift = a.timeline.firstBellSecond;
  return { label, x: a.timeline.seconds.map((s) => s - shift), layers: a.timeline.layers };
}

const PAGE = String.raw`
(function () {
  var d = JSON.parse(document.getElementById('firstbell-data').textContent);
  Chart.defaults.animation = false;
  Chart.defaults.font.size = 11;
  function series(run, layer, key) { return run.x.map(function (x, i) { return { x: x, y: run.layers[layer][key][i] }; }); }
  d.layers.forEach(function (layer) {
    var el = document.getElementById('chart-' + layer);
    new Chart(el, { type: 'line', data: { datasets: [
        { label: d.base.label + ': completed through the layer /s', data: series(d.base, layer, 'served'), borderColor: '#1565c0', pointRadius: 0, borderWidth: 2 },
        { label: d.base.label + ': failed /s', data: series(d.base, layer, 'failed'), borderColor: '#90caf9', borderDash: [5, 3], pointRadius: 0, borderWidth: 1.5 },
        { label: d.base.label + ': offered /s', data: series(d.base, layer, 'offered'), borderColor: '#1565c0', borderDash: [2, 2], pointRadius: 0, borderWidth: 1 },
        { label: d.run.label + ': completed through the layer /s', data: series(d.run, layer, 'served'), borderColor: '#c62828', pointRadius: 0, borderWidth: 2 },
        { label: d.run.label + ': failed /s', data: series(d.run, layer, 'failed'), borderColor: '#ef9a9a', borderDash: [5, 3], pointRadius: 0, borderWidth: 1.5 },
        { label: d.run.label + ': offered /s', data: series(d.run, layer, 'offered'), borderColor: '#c62828', borderDash: [2, 2], pointRadius: 0, borderWidth: 1 }] },
      options: { responsive: true, maintainAspectRatio: false, parsing: false,
        plugins: { markers: [{ at: 0, label: 'first bell', colour: '#555', dash: [4, 4] }], title: { display: true, text: layer + ': both runs, seconds from the first bell' } },
        scales: { x: { type: 'linear', title: { display: true, text: 's from the first bell' } }, y: { beginAtZero: true, title: { display: true, text: 'per second' } } } } });
  });
  document.body.setAttribute('data-rendered', 'true');
})();
`;

export function renderComparison(c: Comparison): string {
  // Only the layers both runs have get a chart: every chart laid out is drawn.
  const shown = c.layers.map((l) => l.layer);
  const data = { base: aligned(c.base, c.figures.base.label), run: aligned(c.run, c.figures.run.label), layers: shown };
  const state = (l: LayerResult) => (l.breakPoint ? `broke at ${esc(l.breakPoint.clock)}` : esc(l.state));
  const row = (l: LayerChange) =>
    `<tr class="${l.regressed ? 'bad' : ''}"><td>${esc(l.layer)}</td><td>${state(l.base)}</td><td>${capText(l.base)}</td>
<td>${state(l.run)}</td><td>${capText(l.run)}</td><td>${l.capacityChangePct === null ? '—' : `${l.capacityChangePct > 0 ? '+' : ''}${l.capacityChangePct} %`}</td><td>${esc(l.note)}</td></tr>`;
  const who = (a: Analysis, label: string) => `${esc(label)} (${esc(a.run.scenario.name)} · scale ${a.run.scenario.scale} · seed ${a.run.seed} · ${esc(a.run.id)}): <b>${esc(a.verdict)}</b> — ${esc(a.headline)}`;
  const fig = (f: RunFigures) => `<tr><td>${esc(f.label)}</td><td>${esc(f.verdict)}</td><td>${f.journeysPerParticipant}</td><td>${f.attemptsPerJoin ?? '—'}</td><td>${esc(brokenText(f))}</td><td>${f.joined} of ${f.arrived}</td></tr>`;
  return htmlPage(`firstbell comparison — ${c.run.run.scenario.name} vs ${c.base.run.scenario.name}`, data, PAGE, ' tr.bad td{background:#ffebee}', `<h1>Comparison: ${esc(c.run.run.scenario.name)} against ${esc(c.base.run.scenario.name)}</h1>
<div class="verdict ${c.verdict === 'compared' ? 'warn' : c.passed ? 'pass' : 'fail'}" id="verdict"><b>${c.verdict.toUpperCase().replace('-', ' ')}</b> — ${esc(c.headline)}</div>
<p><b>Base</b> ${who(c.base, c.figures.base.label)}</p>
<p><b>Run</b> ${who(c.run, c.figures.run.label)}</p>
<h2>What the participants got</h2>
<table id="figures"><thead><tr><th>run</th><th>verdict</th><th>journeys per participant</th><th>broker attempts per join</th><th>broken</th><th>joined</th></tr></thead><tbody>${fig(c.figures.base)}${fig(c.figures.run)}</tbody></table>
<p class="small">Journeys per participant: how many times each participant began its journey (1.0: nobody retried); the amplification retries add to the load.</p>
<h2>Per layer</h2>
<table><thead><tr><th>layer</th><th>base</th><th>base capacity</th><th>run</th><th>run capacity</th><th>change</th><th>note</th></tr></thead><tbody>${c.layers.map(row).join('')}</tbody></table>
<p class="small">Capacity: the highest goodput per second held for ${2} consecutive seconds while meeting the layer's objective; "≥" when the layer never broke, so only a lower bound is known.</p>
<h2>Timeline</h2>
${shown.map((l) => `<div class="chart"><canvas id="chart-${l}"></canvas></div>`).join('')}`);
}
