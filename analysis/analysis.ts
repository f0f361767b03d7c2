// Analysis: per-layer verdicts, break points, capacity, limits and the target's outages from a run's series.
import { LAYERS, type Layer } from '../scenarios/model.js';
import type { BrowserJourney, BrowserSecond, MediaSecond } from '../run-folder/records.js';
import type { HealthSecond, RunInfo, WatchData } from '../run-folder/run-folder.js';
import type { StepDecl } from '../api/vu.js';
import type { Series, StepSecond } from '../run-folder/series.js';
import { DOWN_ATTEMPTS, DOWN_SECONDS, processExited, recoveryFrom, targetDown } from './findings.js';
import { headlineOf, OUTSIDE_STEPS } from './headline.js';
import { signalsAt, signalsOf, watchFailures } from './signals.js';
import { analyseLayer, burstEndSecond, clockAt, goalOf, symptoms, timelineOf, violationStarts, type LayerAnalysis } from './layer.js';
import { CAPACITY_SECONDS, SHORTFALL_SHARE, type K6Threshold, type LayerResult, type Analysis, type BellResult, type TargetDown, type BrowserSection, type FaultResult, type GeneratorVerdict, type LayerTimeline, type StepRow, type Users } from './model.js';
import { maxOf, minOf } from '../lib/numbers.js';

export * from './model.js';
export { clockAt } from './layer.js';

const median = (xs: number[]): number | null => {
  if (!xs.length) return null;
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return Math.round(s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2);
};

/** A journey's own steps; run folders from before web clients had steps name the login and the broker's answer. */
function stepsOf(j: BrowserJourney): { name: string; ms: number }[] {
  if (j.steps) return j.steps;
  return [...(j.loginMs !== undefined ? [{ name: 'login', ms: j.loginMs }] : []), ...(j.assignMs !== undefined ? [{ name: 'assign', ms: j.assignMs }] : [])];
}

/** A second in which the machine's CPU was this busy (in % of all cores) left nothing to spare: browser figures in it say more about the machine. */
export const MACHINE_BUSY_PCT = 90;

/** The browser's use of the machine, and whether the machine, not the platform, limited the browser users. */
function browserResources(run: RunInfo, health: BrowserSecond[]): BrowserSection['resources'] {
  if (!health.length) return undefined;
  const cores = Math.max(1, run.host.cpus);
  const busy = health.filter((h) => h.machineCpuPct >= MACHINE_BUSY_PCT);
  // The browser's share of the machine in its busy seconds: with at least a quarter of it, the browsers were part of the limit.
  const share = busy.length ? busy.reduce((a, h) => a + h.cpuPct / cores, 0) / busy.reduce((a, h) => a + Math.max(1, h.machineCpuPct), 0) : 0;
  return {
    meanCpuPct: Math.round(health.reduce((a, h) => a + h.cpuPct, 0) / health.length),
    peakCpuPct: maxOf(health.map((h) => h.cpuPct)),
    peakRssMb: maxOf(health.map((h) => h.rssMb)),
    peakProcesses: maxOf(health.map((h) => h.processes)),
    busySeconds: busy.length,
    browserShareOfBusy: Math.round(share * 100) / 100,
    machineLimited: busy.length >= 3 && share >= 0.25,
    seconds: health,
  };
}

function browserSection(run: RunInfo, journeys: BrowserJourney[], media: MediaSecond[], health: BrowserSecond[] = []): BrowserSection | undefined {
  if (!run.browsers) return undefined;
  const bell = run.firstBellAtMs;
  const burstEnd = burstEndSecond(run) * 1000 + 10_000;
  const js = journeys
    .map((j) => ({ ...j, steps: stepsOf(j), clickSecond: Math.floor((j.clickAtMs ?? j.startMs + (j.pageMs ?? 0) + (j.loginMs ?? 0)) / 1000) }))
    .sort((a, b) => a.startMs - b.startMs);
  const span = (from: number, to: number) => {
    const inIt = js.filter((j) => j.clickSecond * 1000 >= from && j.clickSecond * 1000 < to && j.end !== 'stopped');
    return {
      joinMs: median(inIt.flatMap((j) => (j.joinMs === undefined ? [] : [j.joinMs]))),
      firstFrameMs: median(inIt.flatMap((j) => (j.firstFrameMs === undefined ? [] : [j.firstFrameMs]))),
      journeys: inIt.length,
    };
  };
  let reconnects = 0;
  const lastEnd = new Map<number, string>();
  for (const j of js) {
    if (lastEnd.get(j.user) === 'dropped') reconnects++;
    lastEnd.set(j.user, j.end);
  }
  const errors = new Map<string, number>();
  for (const j of js) if (j.error && j.end !== 'stopped') errors.set(`${j.failedAt ?? 'journey'}: ${j.error}`, (errors.get(`${j.failedAt ?? 'journey'}: ${j.error}`) ?? 0) + 1);
  const inConf = media.filter((m) => m.state === 'joined');
  return {
    count: run.browsers.count,
    cycleMs: run.browsers.cycleMs,
    journeys: js,
    media,
    failed: js.filter((j) => j.end === 'failed').length,
    dropped: js.filter((j) => j.end === 'dropped').length,
    reconnects,
    before: span(-Infinity, bell),
    burst: span(bell, burstEnd),
    all: span(-Infinity, Infinity),
    bells: run.scenario.phases.some((p) => p.curve.kind === 'first-bell'),
    meanFps: inConf.length ? Math.round((inConf.reduce((a, m) => a + m.fps, 0) / inConf.length) * 10) / 10 : null,
    freezes: media.reduce((a, m) => a + m.freezes, 0),
    packetsLost: media.reduce((a, m) => a + m.packetsLost, 0),
    errors: [...errors].map(([message, count]) => ({ message, count })).sort((a, b) => b.count - a.count),
    resources: browserResources(run, health),
  };
}

function stepRow(d: StepDecl, b: StepSecond): StepRow {
  return {
    layer: d.layer, step: d.step, attempts: b.attempts, ok: b.ok, failed: b.failed, aborted: b.aborted,
    errorRate: b.attempts ? b.failed / b.attempts : 0,
    p50Ms: b.latencyMs(50), p95Ms: b.latencyMs(95), p99Ms: b.latencyMs(99), maxMs: b.latencyMs(100), serviceP95Ms: b.serviceMs(95),
    failures: symptoms(b.failures),
  };
}

/** Loop lag, CPU or send lag beyond these in a second mean firstbell itself may have held the load back. */
export const GENERATOR_LIMITS = { loopLagMs: 100, cpuPct: 95, sendLagMs: 100 };

/** The generator's own failures in words, by step and error code, most frequent first. */
const LOCAL_WORDS: Record<string, string> = {
  EADDRNOTAVAIL: 'out of local ports', EADDRINUSE: 'a local port was in use', EMFILE: 'out of open files (ulimit -n)', ENFILE: "out of the system's open files",
  ENOBUFS: 'out of socket buffers', ENOMEM: 'out of memory',
};

function generatorVerdict(run: RunInfo, health: HealthSecond[], series: Series): GeneratorVerdict {
  const g = run.generator;
  const sum = (f: (h: HealthSecond) => number) => health.reduce((a, h) => a + f(h), 0);
  const overloaded = health
    .filter((h) => h.loopLagP99Ms > GENERATOR_LIMITS.loopLagMs || h.cpuPct > GENERATOR_LIMITS.cpuPct || h.sendLagP99Ms > GENERATOR_LIMITS.sendLagMs || h.dropped > 0)
    .map((h) => h.t);
  // A second in which the generator ran out of ports, files or buffers is its own, whatever its health said.
  const ranOut = [...series.clock].filter(([, e]) => (e.generator ?? 0) > 0).map(([sec]) => sec);
  const suspect = [...new Set([...overloaded, ...ranOut])].sort((a, b) => a - b);
  const failures = [...series.generatorErrors].map(([message, count]) => {
    const code = message.slice(message.lastIndexOf(': ') + 2);
    return { message: LOCAL_WORDS[code] ? `${message} (${LOCAL_WORDS[code]})` : message, count };
  }).sort((a, b) => b.count - a.count);
  const v: GeneratorVerdict = {
    arrivalsPlanned: g?.arrivalsPlanned ?? run.plan.participants,
    arrivalsSent: g?.arrivalsSent ?? sum((h) => h.arrivals),
    late: g?.late ?? sum((h) => h.late),
    dropped: g?.dropped ?? sum((h) => h.dropped),
    worstLoopLagMs: maxOf(health.map((h) => h.loopLagP99Ms), 0),
    worstCpuPct: maxOf(health.map((h) => h.cpuPct), 0),
    worstSendLagMs: maxOf(health.map((h) => h.sendLagP99Ms), 0),
    suspectSeconds: suspect,
    ownFailures: failures,
    note: '',
  };
  v.note = run.source?.kind === 'k6'
    ? `k6 ran the load (${run.source.runners} runner${run.source.runners === 1 ? '' : 's'}: ${run.source.files.join(', ')}); its runners' CPU and event-loop lag are not in its results, its starts are: ${v.arrivalsSent} of ${v.arrivalsPlanned} participants started, ${
      g?.lateThresholdMs ? `${v.late} of them more than ${g.lateThresholdMs} ms after their place in the plan` : 'how late was not measured'
    }; k6 dropped ${v.dropped} iterations for want of a free VU.${run.source.cut ? ` ${run.source.cut.join('; ')}.` : ''}${suspect.length ? ` k6 started participants late in ${suspect.length} second(s): there its starts came bunched, so only what the target answered counts, not its timeouts or latency.` : ''}`
    : suspect.length === 0
      ? `The generator kept up: every second below ${GENERATOR_LIMITS.loopLagMs} ms event-loop lag, ${GENERATOR_LIMITS.cpuPct} % CPU and ${GENERATOR_LIMITS.sendLagMs} ms send lag; ${v.late} late and ${v.dropped} dropped arrivals.`
      : `The generator was the bottleneck in ${suspect.length} second(s) (event-loop lag, CPU or send lag over the limit, dropped arrivals, or its own failures); ${v.late} arrivals were late and ${v.dropped} dropped. In those seconds only what the target answered counts; its timeouts and latency do not.`;
  if (failures.length) {
    const n = failures.reduce((a, f) => a + f.count, 0);
    v.note += ` ${n} attempt${n === 1 ? '' : 's'} failed on this machine, not at the target: ${failures.slice(0, 3).map((f) => `${f.count} × ${f.message}`).join('; ')}.`;
  }
  if (run.source?.kind === 'k6' && v.arrivalsPlanned > 0) {
    // k6 counts the arrivals it could not start (dropped_iterations); participants with no sample at all were not sent either.
    const unsent = Math.max(v.dropped, v.arrivalsPlanned - v.arrivalsSent);
    const share = unsent / v.arrivalsPlanned;
    if (share > SHORTFALL_SHARE) v.shortfall = { planned: v.arrivalsPlanned, dropped: v.dropped, unsent, share };
  }
  const s = run.shards;
  if (s) {
    const bad = [
      ...s.members.filter((m) => m.status !== 'completed').map((m) => `shard ${m.index} of ${s.count} ${m.status === 'running' ? 'was killed before its end' : m.status === 'interrupted' ? 'was interrupted' : 'failed'}`),
      ...s.missing.map((m) => `shard ${m.index} of ${s.count} is missing`),
      ...s.members.filter((m) => m.samplesMissing).map((m) => `shard ${m.index} of ${s.count} lost the samples of ${m.samplesMissing} of the ${m.arrivalsSent} participants it sent (its samples file was cut short)`),
    ];
    const unsent = Math.max(0, v.arrivalsPlanned - v.arrivalsSent);
    if (bad.length) v.shortfall = { planned: v.arrivalsPlanned, dropped: v.dropped, unsent, share: v.arrivalsPlanned ? unsent / v.arrivalsPlanned : 0, shards: bad.join(', ') };
    const skews = s.members.map((m) => m.startSkewMs).filter((x): x is number => x !== undefined);
    v.note += ` The load came from ${s.count} shard${s.count === 1 ? '' : 's'} started at ${s.startAt}${skews.length ? `, ${Math.round(minOf(skews) * 10) / 10} to ${Math.round(maxOf(skews) * 10) / 10} ms late` : ''}; CPU and lags are the busiest shard's.`;
  }
  if (!run.source) {
    const unsent = v.arrivalsPlanned - v.arrivalsSent - v.dropped;
    if (g?.sentAtLeast) {
      v.note += ` At least ${v.arrivalsSent} of ${v.arrivalsPlanned} planned arrivals were sent (counted from the samples: overloaded workers did not hand back their own counts)${unsent > 0 ? `; up to ${unsent} were never sent` : ''}.`;
    } else if (unsent > 0) v.note += ` ${unsent} of ${v.arrivalsPlanned} planned arrivals were never sent: the run ended first.`;
    if ((g?.workers ?? 1) > 1 && !s) v.note += ` The load came from ${g!.workers} worker processes${g?.localAddresses ? ` over ${g.localAddresses} local addresses` : ''}; CPU is the busiest process's.`;
  }
  return v;
}

/** Time to detect and to recover for each fault: detected when a layer first violated its objective, recovered as a layer recovers. */
function faultResults(run: RunInfo, layers: LayerAnalysis[], last: number, suspect: Set<number>): FaultResult[] {
  const bad = (sec: number) => layers.filter((l) => l.judgedSeconds[sec] === true).map((l) => l.layer);
  const check = (sec: number) => {
    const cs = layers.map((l) => l.view.check(sec));
    return { attempts: cs.reduce((a, c) => a + c.attempts, 0), met: cs.every((c) => c.met) };
  };
  return (run.faults ?? []).map((f) => {
    const from = Math.floor(f.startMs / 1000);
    const to = Math.ceil(f.endMs / 1000);
    const hit = new Set<Layer>();
    let detect: number | null = null;
    for (let sec = from; sec < to && sec <= last; sec++) {
      const b = bad(sec);
      b.forEach((l) => hit.add(l));
      if (b.length && detect === null) detect = sec - from;
    }
    let recover: number | null = 0;
    if (detect !== null) {
      const r = recoveryFrom(to, last, check, suspect);
      recover = r === null ? null : r - to;
    }
    return { ...f, detectSec: detect, recoverSec: recover, layersHit: [...hit] };
  });
}

function usersOf(run: RunInfo, series: Series): Users {
  const j = series.journeys;
  const broker = goalOf(series, 'broker');
  const brokerAttempts = broker ? series.total((d) => d.layer === broker.layer && d.step === broker.step).attempts : j.goalAttempts;
  const pct = (p: number) => (series.timeToJoin.totalCount ? Math.round(series.timeToJoin.getValueAtPercentile(p) / 1000) : 0);
  return {
    arrived: j.arrived, joined: j.joined, neverJoined: j.failedNotJoined, cutOff: j.arrived - j.joined - j.failedNotJoined, joinedLate: j.joinedLate, joinWithinMs: run.scenario.joinWithinMs,
    timeToJoinP50Ms: pct(50), timeToJoinP95Ms: pct(95),
    attemptsPerJoin: j.joined ? Math.round((brokerAttempts / j.joined) * 100) / 100 : null,
    // Journeys begun, whichever step each began with (a retry may skip a login whose session still holds).
    attemptsPerUser: j.arrived ? Math.round(((series.entries ? j.journeys : series.total((d) => d === series.steps[0]).attempts) / j.arrived) * 100) / 100 : 0,
  };
}

/**
 * The target going down, by who said so: its own refusals and resets, or its watched process's exit, are an outage
 * whatever the generator did; silence that only the generator's clock measured is one only where requests sent while
 * the generator kept up went unanswered too. Otherwise it could not be told apart from the generator stalling.
 */
function outageOf(run: RunInfo, series: Series, last: number, held: number[], suspect: Set<number>): { down?: TargetDown; silence?: Analysis['silence'] } {
  const exitedAt = run.targetProcess?.exitedAtMs;
  const found = exitedAt !== undefined ? processExited(series, last, held, exitedAt) : targetDown(series, last, held);
  if (!found) return {};
  if (found.evidence === 'target') return { down: found };
  const until = found.backSecond ?? last + 1;
  const window = Array.from({ length: Math.max(0, until - found.second) }, (_, k) => found.second + k);
  const bound = window.filter((sec) => suspect.has(sec));
  const unansweredIn = (sec: number) => series.merged(sec, (d) => !d.browser).clockOnly;
  const kept = window.filter((sec) => !suspect.has(sec) && unansweredIn(sec) > 0);
  const confirmed = kept.length >= DOWN_SECONDS && kept.reduce((n, sec) => n + unansweredIn(sec), 0) >= DOWN_ATTEMPTS;
  if (bound.length === 0 || confirmed) return { down: found };
  return { silence: { ...found, generatorSeconds: [bound[0]!, bound[bound.length - 1]!] } };
}

/**
 * The thresholds of an exported k6 script (each layer's p95 and error rate over the whole run, as its objectives
 * say), judged on every runner's samples together, for the layers that had attempts.
 */
function k6ThresholdsOf(run: RunInfo, series: Series): K6Threshold[] {
  return journeyLayers(series).flatMap((layer): K6Threshold[] => {
    const t = series.total((d) => d.layer === layer && !d.browser);
    if (!t.attempts) return [];
    const o = run.scenario.objectives[layer];
    const p95Ms = t.latencyMs(95);
    const errorRate = t.failed / t.attempts;
    return [{ layer, p95Ms, p95Limit: o.p95Ms, errorRate, errorLimit: o.maxErrorRate, passed: p95Ms < o.p95Ms && errorRate < o.maxErrorRate }];
  });
}

/** Whether the layer had attempts (of any step, by intended start) from second `from` on. */
function hadAttemptsFrom(series: Series, layer: Layer, from: number, last: number): boolean {
  for (let sec = from; sec <= last; sec++) if (series.merged(sec, (d) => d.layer === layer && !d.browser).attempts > 0) return true;
  return false;
}

/** The layers the journey has: those with a protocol step. */
function journeyLayers(series: Series): Layer[] {
  return LAYERS.filter((l) => series.steps.some((d) => d.layer === l && !d.browser));
}

/** A run under way, judged so far: up to its last closed second `second` (the live page). */
export interface LiveAt {
  second: number;
}

export function analyse(
  run: RunInfo, series: Series, health: HealthSecond[], browsers: { journeys: BrowserJourney[]; media: MediaSecond[]; health?: BrowserSecond[]; watch?: WatchData } = { journeys: [], media: [] }, live?: LiveAt,
): Analysis {
  const last = live ? Math.max(0, live.second) : Math.max(series.lastSecond, Math.ceil(run.plannedEndMs / 1000) - 1, 0);
  const generator = generatorVerdict(run, health, series);
  const suspect = new Set(generator.suspectSeconds);
  const conc = series.concurrency(last);
  const analysed = journeyLayers(series).map((l) => analyseLayer(l, series, run, last, suspect, conc));
  const layers = analysed.map(({ judgedSeconds: _seconds, view: _view, ...l }) => l);
  const steps = series.steps.map((d) => stepRow(d, series.total((x) => x.layer === d.layer && x.step === d.step)));
  const seconds = Array.from({ length: last + 1 }, (_, i) => i);
  const users = usersOf(run, series);
  const bells = bellResults(run, analysed, last);
  const { down, silence } = outageOf(run, series, last, conc.held, suspect);
  // The target down: a layer that had attempts from then on and did not break before is down with it, never met.
  if (down) for (const l of layers) if (l.state !== 'broke' && l.state !== 'not-judged' && hadAttemptsFrom(series, l.layer, down.second, last)) l.state = 'down';
  for (const l of layers) l.met = l.state === 'met';
  citeSignals(run, browsers.watch, layers, down);
  // A run that did not run to its planned end (interrupted, failed part-way, killed) has no evidence for the rest.
  const whole = run.status === 'completed';
  // Code of the journey's that threw outside its steps may have kept participants from doing what the journey says.
  const uncaught = (run.uncaught ?? []).reduce((n, e) => n + e.count, 0);
  // k6's thresholds fail its own run: they fail the import too.
  const k6Thresholds = run.source?.kind === 'k6' ? k6ThresholdsOf(run, series) : undefined;
  const verdict: Analysis['verdict'] =
    layers.some((l) => l.state === 'broke' || l.state === 'missed' || l.state === 'down') || down || (users.arrived > 0 && users.joined === 0) || k6Thresholds?.some((t) => !t.passed) ? 'failed'
      : suspect.size > 0 || generator.shortfall || silence ? 'generator-bound'
        : !layers.some((l) => l.judged) || !whole || uncaught > 0 ? 'not-judged' : 'passed';
  const a: Omit<Analysis, 'headline'> = {
    run,
    verdict,
    passed: verdict === 'passed',
    users,
    layers,
    ...(k6Thresholds ? { k6Thresholds } : {}),
    ...(down ? { targetDown: down } : {}),
    ...(silence ? { silence } : {}),
    ...(bells ? { bells } : {}),
    steps,
    timeline: {
      seconds,
      clocks: seconds.map((s) => clockAt(run.scenario, run.firstBellAtMs, s)),
      firstBellSecond: run.firstBellAtMs / 1000,
      layers: Object.fromEntries(analysed.map((l) => [l.layer, timelineOf(l.view, last)])) as Record<Layer, LayerTimeline>,
      suspectSeconds: generator.suspectSeconds,
      newUsers: seconds.map((s) => series.newUsers.get(s) ?? 0),
      held: conc.held,
      inFlight: conc.inFlight,
      faults: (run.faults ?? []).map((f) => ({ from: f.startMs / 1000, to: f.endMs / 1000, label: f.label })),
    },
    health,
    generator,
    faults: faultResults(run, analysed, last, suspect),
    browsers: browserSection(run, browsers.journeys, browsers.media, browsers.health),
    scriptErrors: [...[...series.scriptErrors].map(([message, count]) => ({ message, count })), ...(run.uncaught ?? []).map((e) => ({ message: `${OUTSIDE_STEPS}: ${e.message}`, count: e.count }))]
      .sort((x, y) => y.count - x.count),
    notAllowed: [...series.notAllowed].map(([message, count]) => ({ message, count })).sort((x, y) => y.count - x.count),
    ...(live ? { live: { second: last, plannedEndSecond: Math.ceil(run.plannedEndMs / 1000) } } : {}),
    ...(run.watch?.length
      ? { watch: { sources: run.watch.map((w) => ({ name: w.name, source: w.source, columns: w.columns })), failures: watchFailures(run, (sec) => clockAt(run.scenario, run.firstBellAtMs, sec)), data: browsers.watch ?? { columns: [], values: [] } } }
      : {}),
  };
  return { ...a, headline: headlineOf(a, generator) };
}

/** The platform's watched signals that explain a finding: the target down, each break, connection limit and capacity the target held. */
function citeSignals(run: RunInfo, watch: WatchData | undefined, layers: LayerResult[], down: TargetDown | undefined): void {
  const signals = signalsOf(run, watch);
  if (!signals.size) return;
  const cores = run.host.cpus;
  const cite = <T extends { signals?: string[] }>(o: T | undefined, second: number) => {
    const said = o ? signalsAt(signals, second, cores) : [];
    if (o && said.length) o.signals = said;
  };
  cite(down, down?.second ?? 0);
  for (const l of layers) {
    cite(l.breakPoint, l.breakPoint?.second ?? 0);
    cite(l.connectionLimit, l.connectionLimit?.second ?? 0);
    if (l.capacity?.limitedBy === 'target') cite(l.capacity, l.capacity.second + CAPACITY_SECONDS - 1);
  }
}

/** A timetable's bells judged one by one, each from its ring to the next bell's (the last to the end of the run), on every layer's judged seconds. */
function bellResults(run: RunInfo, layers: LayerAnalysis[], last: number): BellResult[] | undefined {
  const bells = run.scenario.bells;
  if (!bells?.length) return undefined;
  const seconds = bells.map((b) => Math.max(0, Math.floor((run.firstBellAtMs + b.atMs) / 1000)));
  const starts = layers.map((l) => ({ l, at: violationStarts(l.judgedSeconds, last) }));
  return bells.map((b, i) => {
    const from = seconds[i]!;
    const to = i + 1 < seconds.length ? seconds[i + 1]! : last + 1;
    const mine = run.scenario.phases.filter((p) => p.bell === b.clock);
    const broken = starts.flatMap(({ l, at }) => {
      const s = at.find((x) => x >= from && x < to);
      return s === undefined ? [] : [{ layer: l.layer, clock: clockAt(run.scenario, run.firstBellAtMs, s), offeredPerSec: l.view.offered(s) }];
    });
    const judged = layers.some((l) => l.judgedSeconds.slice(from, to).some((x) => x !== undefined));
    return {
      clock: b.clock, second: from, participants: mine.reduce((a, p) => a + p.participants, 0), classes: new Set(mine.flatMap((p) => (p.classes ?? []).map((c) => c.conference))).size,
      verdict: broken.length ? 'broke' : judged ? 'met' : 'not-judged',
      broken,
    };
  });
}
