// The HTML capacity report: one self-contained file, chart.js and all data inlined, verdict first.
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { clockAt, MACHINE_BUSY_PCT, type Analysis, type LayerResult, type Symptom } from '../analysis/analysis.js';
import { SIGNAL_WINDOW_SEC } from '../analysis/signals.js';
import { citedText, downText, layerStateWords, notRecoveredText, silenceText } from '../analysis/headline.js';
import { shardState } from '../run-folder/run-folder.js';

let chartSource: string | undefined;
/** chart.js's UMD build, read once from the installed package and inlined, never fetched. */
export function chartJs(): string {
  if (chartSource === undefined) {
    const main = createRequire(import.meta.url).resolve('chart.js');
    chartSource = readFileSync(join(dirname(main), 'chart.umd.min.js'), 'utf8').replace(/<\/script/gi, '<\\/script');
  }
  return chartSource;
}

export const esc = (s: string | number) =>
  String(s).replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);
const pct = (x: number) => `${(x * 100).toFixed(x > 0 && x < 0.1 ? 1 : 0)} %`;
const ms = (x: number) => (x >= 1000 ? `${(x / 1000).toFixed(x >= 10_000 ? 0 : 1)} s` : `${Math.round(x)} ms`);

const LIMITED_BY = {
  target: 'the layer was saturated there: more was offered than it completed',
  generator: 'firstbell itself was the bottleneck in the seconds near this rate (see generator health): what the target could do there could not be told apart from the generator',
  load: 'the scenario offered no more: the target was not the limit',
} as const;

function capacityLine(l: LayerResult): string {
  const cap = l.capacity;
  const c = l.connectionLimit
    ? `its limit is a count of held connections (${l.connectionLimit.held}${esc(citedText(l.connectionLimit.signals))}), not a rate: how fast participants came in did not decide who got in`
    : cap
    ? `capacity <b>${cap.lowerBound ? '≥ ' : ''}${cap.perSec} ${esc(l.unit)}</b> completed${esc(citedText(cap.signals))}, held two seconds in a row; ${LIMITED_BY[cap.limitedBy]}`
    : 'no capacity measured (no two seconds in a row with participants through)';
  const k = l.knee ? `; knee at ${esc(l.knee.clock)}: ${l.knee.goodputPerSec}/s completed of ${l.knee.offeredPerSec}/s offered` : '';
  const held = l.peakHeld ? ` At most ${l.peakHeld} participants held a connection on this layer.` : '';
  return `<p class="cap">${c}${k}.${held}</p>`;
}

function symptomList(list: Symptom[]): string {
  return list.slice(0, 4).map((s) => `<li><b>${esc(s.label)}</b> ${pct(s.share)} <span class="small">(${s.count})</span></li>`).join('') || '<li>slow answers, no errors</li>';
}

function layerCard(l: LayerResult, a: Analysis): string {
  const o = l.objective;
  const objective = `objective: ≤ ${pct(o.maxErrorRate)} errors and p95 ≤ ${ms(o.p95Ms)} per second`;
  const counts = `${l.failed} of ${l.attempts} attempts failed${l.unanswered ? `, ${l.unanswered} more had no answer when the run ended` : ''}`;
  const limit = l.connectionLimit
    ? `<p class="limit"><b>Connection limit: refuses new connections beyond ${l.connectionLimit.held} held.</b> The count of held participants stood still for ${l.connectionLimit.forSec} s while the target turned new connects away, whatever arrived.</p>`
    : '';
  if (l.state === 'missed' || l.state === 'down' || l.state === 'unclear') {
    const words = esc(layerStateWords(l, a));
    const cls = l.state === 'unclear' ? 'unjudged' : 'broken';
    const title = l.state === 'missed' ? 'missed its objective' : l.state === 'down' ? 'down with the target' : 'not shown either way';
    const why = l.state === 'unclear'
      ? `<p>What failed beyond its objective timed out in seconds in which firstbell itself was the bottleneck (shaded on the timeline): a stalled generator reads answers late, so those timeouts are no evidence against the target, and none that it kept up.</p>`
      : '';
    return `<div class="card ${cls}"><h3>${esc(l.layer)}</h3><p class="state">${title}</p><p>${words}; ${counts}.</p>${why}${limit}${capacityLine(l)}<p class="small">${esc(objective)}</p></div>`;
  }
  if (!l.judged) return `<div class="card unjudged"><h3>${esc(l.layer)}</h3><p class="state">not judged</p><p>No second had 5 or more ended attempts of one of its steps (${l.attempts} attempts, ${l.failed} failed): there is no evidence that it met its objective.</p><p class="small">${esc(objective)}</p></div>`;
  if (!l.breakPoint) {
    return `<div class="card ok"><h3>${esc(l.layer)}</h3><p class="state">met its objective</p>
<p>Peak offered ${l.peakOfferedPerSec} ${esc(l.unit)}, peak served ${l.peakGoodputPerSec}/s; ${l.failed} of ${l.attempts} attempts failed.</p>${capacityLine(l)}<p class="small">${esc(objective)}</p></div>`;
  }
  const b = l.breakPoint;
  return `<div class="card broken"><h3>${esc(l.layer)}</h3><p class="state">broke at ${esc(b.clock)}</p>
<p>at <b>${b.offeredPerSec} ${esc(l.unit)}</b> offered with <b>${b.concurrency}</b> participants connected (${b.held} holding)${esc(citedText(b.signals))}; ${esc(b.step)} ${b.reason === 'error rate' ? `failed ${pct(b.errorRate)}` : `p95 ${b.p95AtLeast ? 'at least ' : ''}${ms(b.p95Ms)}`} in that second${b.p95AtLeast ? ', counting the attempts still unanswered when the run ended at what they had waited' : ''}.</p>
${limit}<p>What users saw in the break second:</p><ul class="at-break">${symptomList(b.symptomsAtBreak)}</ul>
<p>Over the ${b.brokenForSec} s it was broken:</p><ul class="window">${symptomList(b.symptoms)}</ul>
<p>${b.failedAttempts} failed attempts${b.unanswered ? ` and ${b.unanswered} unanswered when the run ended` : ''}; ${b.recovered ? `recovered after <b>${b.brokenForSec} s</b> (10 or more attempts over 3 s or more, every second meeting the objective)` : `<b>${notRecoveredText(a.live)}</b>`}${b.recovered ? `, ${b.recoveryAfterBurstSec} s after the burst's arrivals ended` : ''}.</p>
${capacityLine(l)}<p class="small">${esc(objective)}</p></div>`;
}

function usersBlock(a: Analysis): string {
  const u = a.users;
  if (u.arrived === 0) return '';
  const share = (n: number) => (u.arrived ? ` (${pct(n / u.arrived)})` : '');
  return `<p class="users"><b>Participants:</b> ${u.arrived} arrived, ${u.joined} got into their conference${share(u.joined)};
<b>${u.neverJoined}</b> never joined${share(u.neverJoined)}, <b>${u.joinedLate}</b> joined later than ${ms(u.joinWithinMs)}${share(u.joinedLate)}${u.cutOff ? `; ${u.cutOff} ${a.live ? 'are on their way in' : 'were still on their way in when the run ended'}` : ''}.
Time to join: p50 ${ms(u.timeToJoinP50Ms)}, p95 ${ms(u.timeToJoinP95Ms)}. Journeys per participant: <b>${u.attemptsPerUser}</b> (retry amplification)${a.layers.some((l) => l.layer === 'broker') ? `; broker attempts per join: ${u.attemptsPerJoin ?? '—'}` : ''}.</p>`;
}

/** The platform's own signals: what was watched, and what could not be read when. */
function watchText(a: Analysis): string {
  const w = a.watch;
  if (!w) return '';
  const failed = w.failures.length
    ? `<p class="small" id="watch-failures">Not read: ${w.failures.map((f) => esc(f)).join('; ')}. The load went on; those seconds have no value.</p>`
    : '';
  return `<h2 id="watch-section">The platform's own signals</h2>
<p>Watched every second beside the load: ${w.sources.map((s) => `<b>${esc(s.name)}</b> (${esc(s.source)})`).join(', ')}. A finding above cites a signal only where it reached a limit of its own (open files at their limit, CPU at saturation, a count that stopped climbing and stood flat) within ${SIGNAL_WINDOW_SEC} s before what was found.</p>${failed}`;
}

/** A timetable's bells, each judged from its ring to the next bell's. */
function bellTable(a: Analysis): string {
  if (!a.bells?.length) return '';
  const rows = a.bells
    .map((b) => `<tr class="${b.verdict}"><td>${esc(b.clock)}</td><td>${b.participants}</td><td>${b.classes}</td><td>${b.verdict === 'broke' ? `<b>broke</b>: ${b.broken.map((x) => `${esc(x.layer)} at ${esc(x.clock)}, ${x.offeredPerSec}/s offered`).join('; ')}` : b.verdict === 'met' ? 'met the objectives' : 'not judged (too few attempts)'}</td></tr>`)
    .join('');
  return `<h2>Bells</h2><table id="bells"><thead><tr><th>bell</th><th>pupils</th><th>classes</th><th>from this bell to the next</th></tr></thead><tbody>${rows}</tbody></table>
<p class="small">Each lesson start of the timetable is a bell; a bell broke a layer when its objective was violated for two judged seconds in a row between that bell and the next.</p>`;
}

function downCard(a: Analysis): string {
  const d = a.targetDown;
  if (a.silence) {
    return `<div class="card unjudged" id="target-silent"><h3>The target fell silent, or the generator stalled</h3><p>${esc(silenceText(a.silence, a.run))}</p></div>`;
  }
  if (!d) return '';
  return `<div class="card down" id="target-down"><h3>The target went down</h3><p>${esc(downText(d, a.run))}</p>
<p class="small">Down: attempts went on ending, and for ${2} seconds or more in a row not one got an answer from the target's address.</p></div>`;
}

function faultTable(a: Analysis): string {
  if (a.faults.length === 0) return '';
  const clock = (ms: number) => clockAt(a.run.scenario, a.run.firstBellAtMs, Math.floor(ms / 1000));
  const rows = a.faults
    .map(
      (f) => `<tr><td>${esc(f.label)}</td><td>${esc(f.via)}</td><td>${esc(clock(f.startMs))} – ${esc(clock(f.endMs))}</td>
<td>${f.appliedMs === undefined ? 'not applied' : `${(f.appliedMs / 1000).toFixed(1)} s – ${f.clearedMs === undefined ? '…' : `${(f.clearedMs / 1000).toFixed(1)} s`}`}</td>
<td>${f.layersHit.join(', ') || 'none'}</td><td>${f.detectSec === null ? '—' : `${f.detectSec} s`}</td><td>${f.recoverSec === null ? 'not before the run ended' : `${f.recoverSec} s`}</td></tr>`,
    )
    .join('');
  return `<h2>Faults</h2><table id="faults"><thead><tr><th>fault</th><th>applied by</th><th>window</th><th>on / off (run time)</th><th>layers hit</th><th>time to detect</th><th>time to recover</th></tr></thead><tbody>${rows}</tbody></table>
<p class="small">Time to detect: from the fault's start to the first second a layer violated its objective. Time to recover: from the fault's end until every layer met its objective again, over 10 or more attempts and 3 or more seconds.</p>`;
}

function stepTable(a: Analysis): string {
  const rows = a.steps
    .map(
      (s) => `<tr><td>${esc(s.layer)}</td><td>${esc(s.step)}</td><td>${s.attempts}</td><td>${s.ok}</td><td>${s.failed}</td><td>${pct(s.errorRate)}</td>
<td>${ms(s.p50Ms)}</td><td>${ms(s.p95Ms)}</td><td>${ms(s.p99Ms)}</td><td>${ms(s.maxMs)}</td><td>${ms(s.serviceP95Ms)}</td>
<td>${s.failures.slice(0, 3).map((f) => `${esc(f.label)}: ${f.count}`).join('<br>') || '—'}</td></tr>`,
    )
    .join('');
  return `<table><thead><tr><th>layer</th><th>step</th><th>attempts</th><th>ok</th><th>failed</th><th>errors</th><th>p50</th><th>p95</th><th>p99</th><th>max</th><th>service p95</th><th>failures</th></tr></thead><tbody>${rows}</tbody></table>
<p class="small">Latency is measured from each attempt's intended start, so a late generator cannot hide a slow target; service time is from the actual start. Attempts that the run itself stopped at its end are not counted (${a.steps.reduce((n, s) => n + s.aborted, 0)} in all).</p>`;
}

/** A merged run's shards: each one's start skew and health, and those missing. */
function shardTable(a: Analysis): string {
  const s = a.run.shards;
  if (!s) return '';
  const rows = [
    ...s.members.map(
      (m) => `<tr${m.status === 'completed' ? '' : ' class="bad"'}><td>${m.index} of ${s.count}</td><td>${esc(m.host)}</td><td>${esc(shardState(m.status))}${m.stopReason ? ` — ${esc(m.stopReason)}` : ''}</td>
<td>${m.startSkewMs === undefined ? '—' : `${m.startSkewMs} ms`}</td><td>${m.arrivalsSent} of ${m.arrivalsPlanned}</td><td>${m.late}</td><td>${m.dropped}</td><td>${m.worstCpuPct} %</td><td>${ms(m.worstLoopLagMs)}</td><td>${ms(m.worstSendLagMs)}</td><td>${esc(m.dir)}</td></tr>`,
    ),
    ...s.missing.map((m) => `<tr class="bad"><td>${m.index} of ${s.count}</td><td>—</td><td>missing — ${esc(m.why)}</td><td>—</td><td>0</td><td>—</td><td>—</td><td>—</td><td>—</td><td>—</td><td>—</td></tr>`),
  ].join('');
  return `<h2>Shards</h2><p class="small">Every shard sent every ${s.count === 1 ? '' : `${s.count}th `}arrival of one schedule from ${esc(s.startAt)}; start skew is how late each one's clock started against that instant, on its own machine's clock.</p>
<table id="shards"><thead><tr><th>shard</th><th>host</th><th>status</th><th>start skew</th><th>arrivals sent</th><th>late</th><th>dropped</th><th>worst CPU</th><th>worst loop lag p99</th><th>worst send lag p99</th><th>run folder</th></tr></thead><tbody>${rows}</tbody></table>`;
}

function metadata(a: Analysis): string {
  const r = a.run;
  const rows: [string, string][] = [
    ['scenario', `${r.scenario.name} — ${r.scenario.description}`],
    ['scale', `${r.scenario.scale} (${r.plan.participants} participants, peak ${r.plan.peakArrivalsPerSec} arrivals/s)`],
    ['phases', r.plan.phases.map((p) => `${p.name}: ${p.participants} from ${p.startMs / 1000} s for ${p.durationMs / 1000} s`).join('; ')],
    ['seed', String(r.seed)],
    ['target', `${r.target.kind} at ${r.target.url}`],
    ['status', `${r.status}${r.stopReason ? ` — ${r.stopReason}` : ''}`],
    ['started / ended', `${r.startedAt} / ${r.endedAt ?? 'did not end cleanly'}`],
    ['versions', `firstbell ${r.tool.version}, Node.js ${r.tool.node}`],
    ['generator host', r.source ? `k6: ${r.source.runners} runner(s), ${r.source.files.join(', ')}` : `${r.host.hostname}, ${r.host.cpus} cores, ${r.host.platform}`],
    ['run folder', r.id],
  ];
  return `<table class="meta">${rows.map(([k, v]) => `<tr><th>${esc(k)}</th><td>${esc(v)}</td></tr>`).join('')}</table>`;
}

/** Draws vertical markers (options.plugins.markers) and shaded seconds (options.plugins.shade) on a chart. */
export const MARKERS_PLUGIN = String.raw`
(function () {
  Chart.register({
    id: 'markers',
    afterDatasetsDraw: function (chart) {
      var marks = chart.options.plugins.markers || [];
      var x = chart.scales.x, area = chart.chartArea, ctx = chart.ctx;
      (chart.options.plugins.shade || []).forEach(function (sec) {
        var a = x.getPixelForValue(sec - 0.5), b = x.getPixelForValue(sec + 0.5);
        ctx.save(); ctx.fillStyle = 'rgba(120,120,120,0.18)'; ctx.fillRect(a, area.top, b - a, area.bottom - area.top); ctx.restore();
      });
      (chart.options.plugins.windows || []).forEach(function (w, i) {
        var a = Math.max(area.left, x.getPixelForValue(w.from - 0.5)), b = Math.min(area.right, x.getPixelForValue(w.to - 0.5));
        if (!(b > a)) return;
        ctx.save(); ctx.fillStyle = 'rgba(229,57,53,0.10)'; ctx.fillRect(a, area.top, b - a, area.bottom - area.top);
        ctx.fillStyle = '#b71c1c'; ctx.font = '10px sans-serif'; ctx.fillText('fault: ' + w.label, a + 3, area.bottom - 6 - i * 12); ctx.restore();
      });
      marks.forEach(function (m) {
        var px = x.getPixelForValue(m.at);
        if (!(px >= area.left && px <= area.right)) return;
        ctx.save();
        ctx.strokeStyle = m.colour; ctx.lineWidth = 2; ctx.setLineDash(m.dash || []);
        ctx.beginPath(); ctx.moveTo(px, area.top); ctx.lineTo(px, area.bottom); ctx.stroke();
        ctx.fillStyle = m.colour; ctx.font = 'bold 11px sans-serif';
        ctx.fillText(m.label, Math.min(px + 4, area.right - ctx.measureText(m.label).width), area.top + 12 + (m.row || 0) * 13);
        ctx.restore();
      });
    }
  });
})();
`;

const msOrDash = (v: number | null | undefined) => (v === null || v === undefined ? '—' : ms(v));

/** What the browser users saw: figures, their journeys beside the load, their video every second; as the text, the charts and the table. */
function browserSectionHtml(a: Analysis): { text: string; charts: string; table: string } {
  const b = a.browsers;
  if (!b) return { text: '', charts: '', table: '' };
  const clock = (sec: number) => a.timeline.clocks[sec] ?? `${sec} s`;
  const names = [...new Set(b.journeys.flatMap((j) => (j.steps ?? []).map((s) => s.name)))];
  const rows = b.journeys
    .map((j) => {
      const took = new Map((j.steps ?? []).map((s) => [s.name, s.ms]));
      const steps = names.map((n) => `<td>${msOrDash(took.get(n))}</td>`).join('');
      return `<tr><td>pupil-${j.user}</td><td>${j.n}</td><td>${esc(clock(j.clickSecond))}</td><td>${msOrDash(j.pageMs)}</td>${steps}<td>${msOrDash(j.joinMs)}</td><td>${msOrDash(j.firstFrameMs)}</td><td>${esc(j.end)}${j.error ? `: ${esc(j.failedAt ?? '')} — ${esc(j.error)}` : ''}</td></tr>`;
    })
    .join('');
  const res = b.resources;
  const machine = res
    ? `<p id="browser-resources">Chromium on this machine: ${res.peakProcesses} processes, CPU ${res.meanCpuPct} % of one core on average (peak ${res.peakCpuPct} %), memory up to ${res.peakRssMb} MB.${
        res.machineLimited
          ? ` <strong>The machine was the limit in ${res.busySeconds} s</strong>: its CPU was ${MACHINE_BUSY_PCT} % busy or more, ${Math.round(res.browserShareOfBusy * 100)} % of it Chromium's. The browser users' figures in those seconds say more about this machine than about the platform; give the browsers a machine of their own (--browser-endpoint) or fewer of them.`
          : res.busySeconds
            ? ` The machine's CPU was ${MACHINE_BUSY_PCT} % busy or more in ${res.busySeconds} s, little of it Chromium's.`
            : ' The machine had CPU to spare throughout.'
      }</p>`
    : '';
  const errs = b.errors.length ? `<p>What they met: ${b.errors.slice(0, 5).map((e) => `${esc(e.message)} (${e.count}×)`).join('; ')}.</p>` : '';
  const text = `<h2 id="media-section">Media: what browser users saw</h2>
<p>${b.count} browser user${b.count === 1 ? '' : 's'} (Chromium, fake camera and microphone, real WebRTC) joined through the platform's web client beside the protocol users, staying ${Math.round(b.cycleMs / 1000)} s in the conference before leaving and joining again.
${
    b.bells
      ? `Click to joined, median: ${msOrDash(b.before.joinMs)} before the first bell (${b.before.journeys} journeys), ${msOrDash(b.burst.joinMs)} in the burst (${b.burst.journeys}).
First remote frame after the click, median: ${msOrDash(b.before.firstFrameMs)} before, ${msOrDash(b.burst.firstFrameMs)} in the burst.`
      : `Click to joined, median: ${msOrDash(b.all.joinMs)} (${b.all.journeys} journeys). First remote frame after the click, median: ${msOrDash(b.all.firstFrameMs)}.`
  }
${b.failed} journeys never got in, ${b.dropped} lost the conference, ${b.reconnects} reconnect${b.reconnects === 1 ? '' : 's'} after a loss. In the conference: ${b.meanFps ?? '—'} frames/s received on average, ${b.freezes} freezes, ${b.packetsLost} packets lost.</p>
${machine}
${errs}`;
  return {
    text,
    charts: `<div class="chart"><canvas id="chart-browser-journeys"></canvas></div>
<div class="chart"><canvas id="chart-browser-media"></canvas></div>`,
    table: `<table id="browser-journeys"><thead><tr><th>user</th><th>journey</th><th>clicked at</th><th>page</th>${names.map((n) => `<th>${esc(n)}</th>`).join('')}<th>joined</th><th>first frame</th><th>end</th></tr></thead><tbody>${rows}</tbody></table>`,
  };
}

/**
 * The script that draws the charts from the report's data, offline: firstbellDraw(data). Called again with newer
 * data (the live page), it updates the charts it drew in place and draws anew those whose canvas was replaced.
 */
export const DRAW_SCRIPT = String.raw`
var firstbellCharts = {}, firstbellPending = {}, firstbellHidden = {}, firstbellHatches = {};
// Charts out of view are brought up to date when they come into view, not every time the data changes.
var firstbellSeen = typeof IntersectionObserver === 'function' ? new IntersectionObserver(function (entries) {
  entries.forEach(function (e) {
    var id = e.target.id, c = firstbellCharts[id], next = firstbellPending[id];
    firstbellHidden[id] = !e.isIntersecting;
    if (e.isIntersecting && c && next) { delete firstbellPending[id]; firstbellUpdate(c, next); }
  });
}) : null;
function firstbellUpdate(c, config) {
  c.data.labels = config.data.labels;
  c.data.datasets.forEach(function (d, i) { d.data = config.data.datasets[i].data; });
  c.options = config.options;
  c.update('none');
}
function firstbellDraw(data) {
  var t = data.timeline;
  // Okabe-Ito colours, readable with colour-vision deficiency; failure kinds also differ by pattern.
  var palette = { ok: '#009E73', offered: '#000000', served: '#0072B2', p50: '#56B4E9', p95: '#E69F00', p99: '#D55E00' };
  var failColours = ['#D55E00', '#CC79A7', '#E69F00', '#0072B2', '#56B4E9', '#F0E442', '#000000', '#999999'];
  // A failure kind's pattern, made once for the page, not at each update of a live page.
  function hatch(colour, i) {
    var key = colour + ':' + (i % 6);
    return firstbellHatches[key] || (firstbellHatches[key] = hatchOf(colour, i));
  }
  function hatchOf(colour, i) {
    var c = document.createElement('canvas'); c.width = c.height = 8;
    var x = c.getContext('2d'); x.fillStyle = colour; x.fillRect(0, 0, 8, 8);
    x.strokeStyle = 'rgba(255,255,255,0.85)'; x.fillStyle = 'rgba(255,255,255,0.85)'; x.lineWidth = 1.5;
    var k = i % 6;
    if (k === 1) { x.beginPath(); x.moveTo(0, 8); x.lineTo(8, 0); x.stroke(); }
    if (k === 2) { x.beginPath(); x.arc(4, 4, 1.6, 0, 7); x.fill(); }
    if (k === 3) { x.beginPath(); x.moveTo(0, 4); x.lineTo(8, 4); x.moveTo(4, 0); x.lineTo(4, 8); x.stroke(); }
    if (k === 4) { x.beginPath(); x.moveTo(0, 0); x.lineTo(8, 8); x.stroke(); }
    if (k === 5) { x.beginPath(); x.moveTo(0, 2); x.lineTo(8, 2); x.moveTo(0, 6); x.lineTo(8, 6); x.stroke(); }
    return x.createPattern(c, 'repeat');
  }
  Chart.defaults.animation = false;
  Chart.defaults.font.size = 11;
  function markers(layer) {
    var m = data.bells ? data.bells.map(function (b, i) { return { at: b.second, label: 'bell ' + b.clock, colour: '#555', dash: [4, 4], row: i % 2 ? 2 : 0 }; })
      : [{ at: t.firstBellSecond, label: 'first bell ' + (data.firstBell || ''), colour: '#555', dash: [4, 4] }];
    if (layer && layer.breakPoint) m.push({ at: layer.breakPoint.second, label: 'break: ' + layer.breakPoint.offeredPerSec + ' ' + layer.unit, colour: '#D55E00', row: 1 });
    return m;
  }
  function draw(id, config) {
    var el = document.getElementById(id), c = firstbellCharts[id];
    if (!el) return;
    var same = c && c.canvas === el && c.data.datasets.length === config.data.datasets.length &&
      c.data.datasets.every(function (d, i) { return d.label === config.data.datasets[i].label; });
    if (same) {
      if (firstbellHidden[id]) firstbellPending[id] = config;
      else firstbellUpdate(c, config);
      return;
    }
    if (c) c.destroy();
    delete firstbellPending[id];
    firstbellCharts[id] = new Chart(el, config);
    if (firstbellSeen) firstbellSeen.observe(el);
  }
  function opts(layer, title, scales) { return { responsive: true, maintainAspectRatio: false, plugins: { markers: markers(layer), shade: t.suspectSeconds, windows: t.faults, title: { display: true, text: title } }, scales: scales }; }
  data.layers.forEach(function (layer, li) {
    var tl = t.layers[layer.layer];
    var sets = [{ type: 'line', label: 'offered (' + layer.unit + ')', data: tl.offered, borderColor: palette.offered, borderDash: [5, 3], pointRadius: 0, borderWidth: 2, yAxisID: 'y', order: 0 },
                { type: 'line', label: 'completed through the layer (/s)', data: tl.served, borderColor: palette.served, pointRadius: 0, borderWidth: 2, yAxisID: 'y', order: 0 },
                { type: 'line', label: 'succeeded attempts', data: tl.ok, borderColor: palette.ok, backgroundColor: 'rgba(0,158,115,0.25)', fill: 'origin', pointRadius: 0, borderWidth: 1, yAxisID: 'y', order: 2 }];
    if (li === 0) sets.push({ type: 'line', label: 'new participants /s (distinct)', data: t.newUsers, borderColor: '#CC79A7', borderDash: [2, 2], pointRadius: 0, borderWidth: 2, yAxisID: 'y', order: 0 });
    Object.keys(tl.failures).forEach(function (k, i) {
      var colour = failColours[i % failColours.length];
      sets.push({ type: 'bar', label: 'failed: ' + (data.kindLabels[k] || k), data: tl.failures[k], backgroundColor: hatch(colour, i), borderColor: colour, borderWidth: 1, stack: 'f', yAxisID: 'yf', order: 1 });
    });
    draw('chart-' + layer.layer + '-load', { data: { labels: t.clocks, datasets: sets },
      options: opts(layer, layer.layer + ': offered, completed and succeeded per second (left); failed attempts by kind (right, own scale)', {
        x: { stacked: true, ticks: { maxTicksLimit: 16 } }, y: { beginAtZero: true, title: { display: true, text: 'per second' } },
        yf: { position: 'right', stacked: true, beginAtZero: true, title: { display: true, text: 'failed per second' }, grid: { drawOnChartArea: false } } }) });
    draw('chart-' + layer.layer + '-held', { data: { labels: t.clocks, datasets: [
        { type: 'line', label: 'participants holding a connection', data: tl.held, borderColor: '#0072B2', pointRadius: 0, borderWidth: 2, yAxisID: 'y' },
        { type: 'line', label: 'heartbeats answered /s', data: tl.beats, borderColor: palette.ok, borderDash: [4, 3], pointRadius: 0, borderWidth: 1.5, yAxisID: 'y2' },
        { type: 'bar', label: 'heartbeats failed /s', data: tl.beatsFailed, backgroundColor: hatch('#D55E00', 1), borderColor: '#D55E00', borderWidth: 1, yAxisID: 'y2' }] },
      options: opts(layer, layer.layer + ': held connections, and their heartbeats apart from the steps that bring participants in', {
        x: { ticks: { maxTicksLimit: 16 } }, y: { beginAtZero: true, title: { display: true, text: 'participants' } },
        y2: { position: 'right', beginAtZero: true, title: { display: true, text: 'heartbeats per second' }, grid: { drawOnChartArea: false } } }) });
    draw('chart-' + layer.layer + '-latency', { type: 'line', data: { labels: t.clocks, datasets: [
        { label: 'p50', data: tl.p50, borderColor: palette.p50, pointRadius: 0, borderWidth: 1.5 },
        { label: 'p95', data: tl.p95, borderColor: palette.p95, borderDash: [6, 2], pointRadius: 0, borderWidth: 1.5 },
        { label: 'p99', data: tl.p99, borderColor: palette.p99, borderDash: [2, 2], pointRadius: 0, borderWidth: 1.5 },
        { label: 'service time p95', data: tl.serviceP95, borderColor: '#CC79A7', borderDash: [8, 3, 2, 3], pointRadius: 0, borderWidth: 1.2 },
        { label: 'objective p95', data: t.clocks.map(function () { return layer.objective.p95Ms; }), borderColor: '#999', borderDash: [2, 3], pointRadius: 0, borderWidth: 1 }] },
      options: opts(layer, layer.layer + ': latency from intended start, and service time from actual start (ms)', { x: { ticks: { maxTicksLimit: 16 } }, y: { type: 'logarithmic', title: { display: true, text: 'ms' } } }) });
  });
  var b = data.browsers;
  if (b) {
    var n = t.clocks.length;
    var at = function (pick) { var arr = new Array(n).fill(null); b.journeys.forEach(function (j) { var v = pick(j); if (v !== undefined && v !== null && j.clickSecond < n) arr[Math.max(0, j.clickSecond)] = v; }); return arr; };
    var failedAt = new Array(n).fill(null);
    b.journeys.forEach(function (j) { if ((j.end === 'failed' || j.end === 'dropped') && j.clickSecond < n) failedAt[Math.max(0, Math.floor(j.endMs / 1000))] = 0; });
    draw('chart-browser-journeys', { data: { labels: t.clocks, datasets: [
        { type: 'line', label: 'click to joined (ms)', data: at(function (j) { return j.joinMs; }), borderColor: '#1565c0', backgroundColor: '#1565c0', showLine: false, pointRadius: 4, yAxisID: 'y' },
        { type: 'line', label: 'click to first remote frame (ms)', data: at(function (j) { return j.firstFrameMs; }), borderColor: '#ef6c00', backgroundColor: '#ef6c00', showLine: false, pointRadius: 4, pointStyle: 'rect', yAxisID: 'y' },
        { type: 'line', label: (b.journeys.find(function (j) { return j.steps && j.steps.length; }) || { steps: [{ name: 'page' }] }).steps[0].name + ' (ms)', data: at(function (j) { return j.steps && j.steps.length ? j.steps[0].ms : j.pageMs; }), borderColor: '#6a1b9a', backgroundColor: '#6a1b9a', showLine: false, pointRadius: 3, pointStyle: 'triangle', yAxisID: 'y' },
        { type: 'line', label: 'journey failed or dropped', data: failedAt, borderColor: '#c62828', backgroundColor: '#c62828', showLine: false, pointRadius: 6, pointStyle: 'crossRot', yAxisID: 'y' },
        { type: 'line', label: 'offered arrivals /s', data: data.layers.length ? t.layers[data.layers[0].layer].offered : [], borderColor: '#37474f', borderDash: [5, 3], pointRadius: 0, borderWidth: 1.5, yAxisID: 'y2' }] },
      options: { responsive: true, maintainAspectRatio: false, plugins: { markers: markers(null), shade: t.suspectSeconds, windows: t.faults, title: { display: true, text: 'browser users: each journey at the second of its click, beside the load' } },
        scales: { x: { ticks: { maxTicksLimit: 16 } }, y: { beginAtZero: true, title: { display: true, text: 'ms' } }, y2: { position: 'right', beginAtZero: true, title: { display: true, text: 'arrivals /s' }, grid: { drawOnChartArea: false } } } } });
    var users = []; b.media.forEach(function (m) { if (users.indexOf(m.user) < 0) users.push(m.user); });
    var series = [];
    users.forEach(function (u, i) {
      var fps = new Array(n).fill(null), kbps = new Array(n).fill(null);
      b.media.forEach(function (m) { var s = Math.floor(m.tMs / 1000); if (m.user === u && s < n) { fps[s] = m.fps; kbps[s] = m.kbpsIn; } });
      series.push({ label: 'pupil-' + u + ' frames/s received', data: fps, borderColor: failColours[(i * 2) % failColours.length], pointRadius: 0, borderWidth: 1.5, yAxisID: 'y', spanGaps: false });
      series.push({ label: 'pupil-' + u + ' kbit/s in', data: kbps, borderColor: failColours[(i * 2 + 1) % failColours.length], borderDash: [4, 3], pointRadius: 0, borderWidth: 1, yAxisID: 'y2', spanGaps: false });
    });
    draw('chart-browser-media', { type: 'line', data: { labels: t.clocks, datasets: series },
      options: { responsive: true, maintainAspectRatio: false, plugins: { markers: markers(null), shade: t.suspectSeconds, windows: t.faults, title: { display: true, text: 'browser users: video received every second (getStats)' } },
        scales: { x: { ticks: { maxTicksLimit: 16 } }, y: { beginAtZero: true, title: { display: true, text: 'frames/s' } }, y2: { position: 'right', beginAtZero: true, title: { display: true, text: 'kbit/s' }, grid: { drawOnChartArea: false } } } } });
  }
  var w = data.watch;
  if (w) w.sources.forEach(function (src, i) {
    var sets = src.columns.map(function (col, k) {
      var at = w.columns.indexOf(col), sig = col.indexOf('.') < 0 ? col : col.slice(col.indexOf('.') + 1);
      var right = /cpu_pct|_per_s$|rss_mb/.test(sig);
      return { label: sig.replace(/_/g, ' ') + (right ? (/cpu/.test(sig) ? ' (%, right)' : /rss/.test(sig) ? ' (MB, right)' : ' (/s, right)') : ''), data: at < 0 ? [] : w.values[at],
        borderColor: failColours[k % failColours.length], borderDash: k % 2 ? [4, 3] : [], pointRadius: 0, borderWidth: 1.5, yAxisID: right ? 'y2' : 'y', spanGaps: false };
    });
    draw('chart-watch-' + i, { type: 'line', data: { labels: t.clocks, datasets: sets },
      options: { responsive: true, maintainAspectRatio: false, plugins: { markers: markers(null), shade: t.suspectSeconds, windows: t.faults, title: { display: true, text: src.name + ' (' + src.source + '), every second' } },
        scales: { x: { ticks: { maxTicksLimit: 16 } }, y: { beginAtZero: true, title: { display: true, text: 'count' } }, y2: { position: 'right', beginAtZero: true, title: { display: true, text: '% CPU, MB, per second' }, grid: { drawOnChartArea: false } } } } });
  });
  var h = data.health;
  var hl = h.map(function (r) { return t.clocks[r.t] || String(r.t); });
  // Results of another engine (k6) have its starts against the plan, not its CPU or event loop.
  var healthSets = data.measured ? [
      { label: 'event-loop lag p99 (ms)', data: h.map(function (r) { return r.loopLagP99Ms; }), borderColor: '#6a1b9a', pointRadius: 0, yAxisID: 'y' },
      { label: 'send lag p99 (ms)', data: h.map(function (r) { return r.sendLagP99Ms; }), borderColor: '#ef6c00', pointRadius: 0, yAxisID: 'y' },
      { label: 'CPU, busiest process (% of a core)', data: h.map(function (r) { return r.cpuPct; }), borderColor: '#1565c0', pointRadius: 0, yAxisID: 'y2' },
      { label: 'CPU, all generator processes (% of a core)', data: h.map(function (r) { return r.cpuTotalPct === undefined ? null : r.cpuTotalPct; }), borderColor: '#1565c0', borderDash: [4, 3], pointRadius: 0, yAxisID: 'y2' },
      { label: 'participants under way', data: h.map(function (r) { return r.active; }), borderColor: '#2e7d32', pointRadius: 0, yAxisID: 'y3' }]
    : [{ label: 'start lag p99 (ms)', data: h.map(function (r) { return r.sendLagP99Ms; }), borderColor: '#ef6c00', pointRadius: 0, yAxisID: 'y' }];
  draw('chart-health', { type: 'line', data: { labels: hl, datasets: healthSets },
    options: { responsive: true, maintainAspectRatio: false, plugins: { markers: markers(null), title: { display: true, text: 'generator health per second' } },
      scales: { x: { ticks: { maxTicksLimit: 16 } }, y: { beginAtZero: true, title: { display: true, text: 'ms' } }, y2: { position: 'right', beginAtZero: true, title: { display: true, text: '% CPU' }, grid: { drawOnChartArea: false } },
        y3: { position: 'right', beginAtZero: true, title: { display: true, text: 'participants' }, grid: { drawOnChartArea: false } } } } });
  document.body.setAttribute('data-rendered', 'true');
}
`;

/** The report's script: its charts drawn once from the data embedded in the page. */
const PAGE_SCRIPT = DRAW_SCRIPT + "firstbellDraw(JSON.parse(document.getElementById('firstbell-data').textContent));\n";

export const CSS = `
tr.bad td{background:#ffebee}
body{font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;margin:0;color:#1d2329;background:#f6f7f9}
main{max-width:1180px;margin:0 auto;padding:24px}
h1{font-size:22px;margin:0 0 4px}h2{font-size:18px;margin:32px 0 8px;border-bottom:1px solid #d5d9de;padding-bottom:4px}h3{margin:0 0 4px;text-transform:capitalize}
.sub{color:#5b6670;margin:0 0 16px}.small{color:#5b6670;font-size:12px}
.verdict{padding:14px 18px;border-radius:6px;font-size:16px;margin:12px 0}.verdict.pass{background:#e8f5e9;border-left:6px solid #2e7d32}.verdict.fail{background:#ffebee;border-left:6px solid #c62828}
.verdict.warn{background:#fff8e1;border-left:6px solid #f9a825;font-size:14px}
.cards{display:grid;grid-template-columns:repeat(auto-fit,minmax(300px,1fr));gap:12px}
.card{background:#fff;border-radius:6px;padding:12px 16px;border-top:5px solid #999}.card.ok{border-color:#2e7d32}.card.broken{border-color:#c62828}.card.unjudged{border-color:#9e9e9e}
.card .state{font-weight:600;font-size:15px;margin:0 0 6px}.card.down{border-color:#000;background:#fff3e0}.card.ok .state{color:#2e7d32}.card.broken .state{color:#c62828}
.card ul{margin:4px 0 8px 18px;padding:0}.card p{margin:4px 0}.users{background:#fff;border-radius:6px;padding:10px 16px}
.chart{background:#fff;border-radius:6px;padding:8px;height:260px;margin:8px 0}
table{border-collapse:collapse;background:#fff;width:100%;font-size:12.5px}th,td{padding:5px 8px;border-bottom:1px solid #e3e6ea;text-align:right;vertical-align:top}
th:first-child,td:first-child,th:nth-child(2),td:nth-child(2),td:last-child{text-align:left}table.meta th{text-align:left;width:160px}table.meta td{text-align:left}
`;

/** Connections firstbell refused: addresses outside the allow-list that an answer of the target named. */
function notAllowedTable(a: Analysis): string {
  if (a.notAllowed.length === 0) return '';
  const rows = a.notAllowed.map((e) => `<tr><td>${e.count}</td><td><code>${esc(e.message)}</code></td></tr>`).join('');
  return `<h2>Addresses refused</h2><p class="small">The target's answers (a join answer, a redirect, a media server's URL) named addresses outside loopback, the target and --allow-target. firstbell connected to none of them (outcome not_allowed); these count as failed steps. If you may load those hosts, add --allow-target for each.</p><table id="not-allowed"><thead><tr><th>times</th><th>step: address</th></tr></thead><tbody>${rows}</tbody></table>`;
}

/** Errors of the journey's own code: the user's to fix, shown apart from what the platform did. */
function scriptErrorTable(a: Analysis): string {
  if (a.scriptErrors.length === 0) return '';
  const rows = a.scriptErrors.map((e) => `<tr><td>${e.count}</td><td><code>${esc(e.message)}</code></td></tr>`).join('');
  return `<h2>Errors in the journey script</h2><p class="small">The journey's own code threw (outcome script_error); these count as failed steps. Fix the journey and run again.</p><table id="script-errors"><thead><tr><th>times</th><th>step: error</th></tr></thead><tbody>${rows}</tbody></table>`;
}

/** The data the report's charts are drawn from. */
export function reportData(a: Analysis) {
  const r = a.run;
  const kindLabels: Record<string, string> = {};
  for (const s of a.steps) for (const f of s.failures) kindLabels[f.kind] = f.label;
  const watch = a.watch ? { sources: a.watch.sources, columns: a.watch.data.columns, values: a.watch.data.values.map((v) => a.timeline.seconds.map((sec) => v[sec] ?? null)) } : null;
  return { timeline: a.timeline, layers: a.layers, health: a.health, measured: !r.source, firstBell: r.scenario.firstBell, kindLabels, browsers: a.browsers ?? null, bells: a.bells ?? null, watch };
}

const VERDICT_WORDS = { passed: 'PASSED', failed: 'FAILED', 'not-judged': 'NOT JUDGED', 'generator-bound': 'GENERATOR-BOUND' } as const;

/** The verdict's word; while the run goes, what it is so far. */
export function verdictWord(a: Analysis): string {
  if (!a.live) return VERDICT_WORDS[a.verdict];
  return a.verdict === 'failed' ? 'FAILED SO FAR' : a.verdict === 'generator-bound' ? 'GENERATOR-BOUND SO FAR' : 'UNDER WAY';
}

/** One part of the report's page: its HTML, in a block of its own id that the live page replaces when it changes. */
export interface ReportBlock {
  id: string;
  html: string;
}

/** The report's page as its title, its blocks in page order and its charts' data: the same for the report file and the live page. */
export interface ReportView {
  title: string;
  blocks: ReportBlock[];
  data: ReturnType<typeof reportData>;
}

export function reportView(a: Analysis): ReportView {
  const r = a.run;
  const genWarn = a.generator.suspectSeconds.length > 0 || a.generator.ownFailures.length > 0;
  const word = verdictWord(a);
  const verdictClass = a.verdict === 'passed' ? 'pass' : a.verdict === 'failed' ? 'fail' : 'warn';
  const layerSections = a.layers
    .map((l) => {
      const held = a.timeline.layers[l.layer]!.held.some((h) => h > 0) || a.timeline.layers[l.layer]!.beats.some((b) => b > 0);
      return `<h3>${esc(l.layer)}</h3><div class="chart"><canvas id="chart-${l.layer}-load"></canvas></div>${held ? `<div class="chart"><canvas id="chart-${l.layer}-held"></canvas></div>` : ''}<div class="chart"><canvas id="chart-${l.layer}-latency"></canvas></div>`;
    })
    .join('');
  const media = browserSectionHtml(a);
  const blocks: [string, string][] = [
    ['head', `<h1>Capacity report: ${esc(r.scenario.name)}</h1>
<p class="sub">${esc(r.target.kind)} target at ${esc(r.target.url)} · scale ${r.scenario.scale} · seed ${r.seed} · ${esc(r.startedAt)} · run ${esc(a.live ? 'under way' : r.status)}</p>`],
    ['generator-note', genWarn ? `<div class="verdict warn" id="generator-warning"><b>Generator:</b> ${esc(a.generator.note)} In the shaded seconds on the timeline only what the target answered counts.</div>` : ''],
    ['verdict', `<div class="verdict ${verdictClass}" id="verdict"><b>${word}</b> — ${esc(a.headline)}</div>`],
    ['users', usersBlock(a)],
    ['bells', bellTable(a)],
    ['cards', `<h2>Verdict per layer</h2>
<div class="cards">${downCard(a)}${a.layers.map((l) => layerCard(l, a)).join('')}</div>`],
    ['timeline', `<h2>Timeline</h2>
<p class="small">Attempts are bucketed by each attempt's intended start; "completed" counts participants through the layer by the second they completed, which is what the layer served. Failed attempts have their own axis on the right, so a small share stays visible; kinds differ by pattern as well as colour. The dashed grey line is the first bell; the red line marks a layer's break point (first second of a violation sustained for at least two judged seconds).</p>
${layerSections}`],
    ['watch', watchText(a)],
    ['watch-charts', (a.watch?.sources ?? []).map((_, i) => `<div class="chart"><canvas id="chart-watch-${i}"></canvas></div>`).join('')],
    ['media', media.text],
    ['media-charts', media.charts],
    ['media-table', media.table],
    ['faults', faultTable(a)],
    ['errors', `${scriptErrorTable(a)}${notAllowedTable(a)}`],
    ['steps', `<h2>Steps</h2>
${stepTable(a)}`],
    ['health', `<h2>Generator health</h2>
<p>${esc(a.generator.note)} Arrivals sent: ${a.generator.arrivalsSent} of ${a.generator.arrivalsPlanned}. Worst second: ${r.source ? `start lag p99 ${ms(a.generator.worstSendLagMs)} (k6's start of a participant after its place in the plan)` : `event-loop lag p99 ${ms(a.generator.worstLoopLagMs)}, send lag p99 ${ms(a.generator.worstSendLagMs)}, CPU ${a.generator.worstCpuPct} %`}.</p>`],
    ['health-chart', '<div class="chart"><canvas id="chart-health"></canvas></div>'],
    ['shards', shardTable(a)],
    ['run', `<h2>Run</h2>
${metadata(a)}`],
  ];
  return { title: `firstbell report — ${r.scenario.name} — ${word}`, blocks: blocks.map(([id, html]) => ({ id, html })), data: reportData(a) };
}

/** The blocks of a report's page, each in its own element. */
export function blocksHtml(blocks: readonly ReportBlock[]): string {
  return blocks.map((b) => `<div id="fb-${b.id}">${b.html}</div>`).join('\n');
}

export function renderReport(a: Analysis): string {
  const v = reportView(a);
  return htmlPage(v.title, v.data, PAGE_SCRIPT, '', blocksHtml(v.blocks));
}

/** A whole page, self-contained: its data as JSON, Chart.js inlined, the markers plugin and the page's own script. */
export function htmlPage(title: string, data: unknown, script: string, css: string, body: string): string {
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">
<title>${esc(title)}</title>
<style>${CSS}${css}</style></head>
<body><main>
${body}
<script type="application/json" id="firstbell-data">${JSON.stringify(data).replace(/</g, '\\u003c')}</script>
<script>${chartJs()}</script>
<script>${MARKERS_PLUGIN}</script>
<script>${script}</script>
</main></body></html>
`;
}
