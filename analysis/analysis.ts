// Analysis: per-layer verdicts and break points from a run's series; the one result model every output is built from.
import { LAYERS, type Layer, type LayerObjective } from '../scenarios/model.js';
import type { FaultRecord } from '../run-folder/records.js';
import type { BrowserJourney, MediaSecond } from '../run-folder/records.js';
import type { HealthSecond, RunInfo } from '../run-folder/run-folder.js';
import { describeKind } from '../api/sample.js';
import type { StepDecl } from '../api/target.js';
import { stepKey, type Series, type StepSecond } from '../run-folder/series.js';

/** A second counts towards a verdict only with at least this many ended attempts of a step. */
export const MIN_ATTEMPTS_PER_SECOND = 5;
/** A break point needs this many consecutive violating seconds. */
export const SUSTAIN_SECONDS = 2;
/** Capacity is the highest mean goodput over this many consecutive compliant seconds. */
export const CAPACITY_SECONDS = 2;
/** A capacity counts as measured only when the layer broke at no more than this multiple of it; else it is a lower bound. */
export const CAPACITY_PINNED = 1.25;
/** The knee: the first of this many seconds in which the layer served less than KNEE_SHARE of what was offered. */
export const KNEE_SECONDS = 2;
export const KNEE_SHARE = 0.9;

export interface Symptom {
  /** Failure kind, e.g. "http_503". */
  kind: string;
  /** As a person reads it, e.g. "503 Service Unavailable". */
  label: string;
  count: number;
  /** Share of all failed attempts of the layer while it was broken, 0..1. */
  share: number;
}

export interface BreakPoint {
  /** Second of the run at which the sustained violation began. */
  second: number;
  /** That second as a clock time, e.g. "08:00:02". */
  clock: string;
  /** Participants per second offered to the layer (attempts of its first step) in that second. */
  offeredPerSec: number;
  /** The step that violated first and how. */
  step: string;
  reason: 'error rate' | 'p95 latency';
  errorRate: number;
  p95Ms: number;
  /** What users saw while the layer was broken, most common first. */
  symptoms: Symptom[];
  /** Failed attempts while it was broken. */
  failedAttempts: number;
  /** Seconds from the break to the last violating second's end. */
  brokenForSec: number;
  /** True when the layer met its objective again under load afterwards; false when load ended first. */
  recovered: boolean;
  /** Seconds from the end of the burst's arrival window until the layer's last violating second ended (0: before it). */
  recoveryAfterBurstSec: number;
}

/** Highest goodput per second the layer held while meeting its objective. */
export interface Capacity {
  perSec: number;
  /** True when the layer never broke, or broke only at a load far above this (a spike): its real capacity is at least this. */
  lowerBound: boolean;
  /** First second of the window in which it was held. */
  second: number;
}

/** Where the layer stopped serving all that was offered. */
export interface Knee {
  second: number;
  clock: string;
  offeredPerSec: number;
  goodputPerSec: number;
}

export interface LayerResult {
  layer: Layer;
  objective: LayerObjective;
  /** Unit of offered load, e.g. "joins/s". */
  unit: string;
  attempts: number;
  failed: number;
  /** False when the layer saw too few attempts to judge. */
  judged: boolean;
  met: boolean;
  peakOfferedPerSec: number;
  /** Highest count of participants through the layer (its goal step ok) in one second. */
  peakGoodputPerSec: number;
  capacity?: Capacity;
  knee?: Knee;
  breakPoint?: BreakPoint;
}

/** Participants as whole journeys. */
export interface Users {
  arrived: number;
  joined: number;
  /** Not joined, with a failed last attempt. */
  neverJoined: number;
  /** Not joined yet when the run ended, without a failure: cut off, not turned away. */
  cutOff: number;
  joinedLate: number;
  /** The scenario's join objective, ms. */
  joinWithinMs: number;
  timeToJoinP50Ms: number;
  timeToJoinP95Ms: number;
  /** Attempts at the broker's goal step per participant that joined (1.0 = no failed or repeated attempts); null when nobody joined. */
  attemptsPerJoin: number | null;
  /** Journeys started per distinct participant (1.0 = nobody retried): the amplification retries add. */
  attemptsPerUser: number;
}

/** A scheduled fault and what it did. */
export interface FaultResult extends FaultRecord {
  /** Seconds from the fault's start until a layer first violated its objective; null when none did. */
  detectSec: number | null;
  /** Seconds from the fault's end until every layer met its objective again; 0 when nothing broke. null when it never recovered before the run ended. */
  recoverSec: number | null;
  /** Layers that violated their objective while the fault was on. */
  layersHit: Layer[];
}

export interface StepRow {
  layer: Layer;
  step: string;
  attempts: number;
  ok: number;
  failed: number;
  aborted: number;
  errorRate: number;
  p50Ms: number;
  p95Ms: number;
  p99Ms: number;
  maxMs: number;
  /** Service time p95 (from the actual start), ms: differs from p95Ms when the generator ran late. */
  serviceP95Ms: number;
  failures: Symptom[];
}

export interface LayerTimeline {
  offered: number[];
  /** Participants through the layer per second (goal step ok). */
  goodput: number[];
  ok: number[];
  failed: number[];
  /** Failed attempts per second by kind. */
  failures: Record<string, number[]>;
  p50: number[];
  p95: number[];
  p99: number[];
  /** Service time p95 (from the actual start), beside the latency from the intended start. */
  serviceP95: number[];
}

export interface GeneratorVerdict {
  arrivalsPlanned: number;
  arrivalsSent: number;
  late: number;
  dropped: number;
  worstLoopLagMs: number;
  worstCpuPct: number;
  worstSendLagMs: number;
  /** Seconds in which firstbell itself may have been the bottleneck. */
  suspectSeconds: number[];
  note: string;
}

export interface Analysis {
  run: RunInfo;
  /** passed: every layer met its objective and the generator kept up; failed: a layer broke; generator-bound: no layer broke in the seconds that count, but firstbell itself could not keep up in some. */
  verdict: 'passed' | 'failed' | 'generator-bound';
  passed: boolean;
  users: Users;
  headline: string;
  layers: LayerResult[];
  steps: StepRow[];
  timeline: {
    seconds: number[]; clocks: string[]; firstBellSecond: number; layers: Record<Layer, LayerTimeline>; suspectSeconds: number[];
    /** Distinct participants arriving per second (their first attempt), beside attempts offered. */
    newUsers: number[];
    /** Fault windows in run seconds, for shading. */
    faults: { from: number; to: number; label: string }[];
  };
  health: HealthSecond[];
  generator: GeneratorVerdict;
  faults: FaultResult[];
  /** What the browser users saw, when there were any. */
  browsers?: BrowserSection;
  /** What the journey's own code threw (script_error samples), by step and message, most frequent first. */
  scriptErrors: { message: string; count: number }[];
}

/** The browser users' experience: their journeys in time beside the load, and their media every second. */
export interface BrowserSection {
  count: number;
  cycleMs: number;
  /** Each journey with the run second of its click into the conference. */
  journeys: (BrowserJourney & { clickSecond: number })[];
  media: MediaSecond[];
  /** Journeys that never got in, ones that lost the conference, and journeys right after a loss (reconnects). */
  failed: number;
  dropped: number;
  reconnects: number;
  /** Median click-to-joined and click-to-first-frame, ms, for journeys clicking before the first bell and in the burst (first bell to 10 s after its arrivals end). */
  before: { joinMs: number | null; firstFrameMs: number | null; journeys: number };
  burst: { joinMs: number | null; firstFrameMs: number | null; journeys: number };
  /** Over every second in a conference: mean received fps, total freezes, total packets lost. */
  meanFps: number | null;
  freezes: number;
  packetsLost: number;
  /** The worst failure the browser users met, as they saw it. */
  errors: { message: string; count: number }[];
}

const median = (xs: number[]): number | null => {
  if (!xs.length) return null;
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return Math.round(s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2);
};

function browserSection(run: RunInfo, journeys: BrowserJourney[], media: MediaSecond[]): BrowserSection | undefined {
  if (!run.browsers) return undefined;
  const bell = run.firstBellAtMs;
  const burstEnd = burstEndSecond(run) * 1000 + 10_000;
  const js = journeys
    .map((j) => ({ ...j, clickSecond: Math.floor((j.startMs + (j.pageMs ?? 0) + (j.loginMs ?? 0)) / 1000) }))
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
    meanFps: inConf.length ? Math.round((inConf.reduce((a, m) => a + m.fps, 0) / inConf.length) * 10) / 10 : null,
    freezes: media.reduce((a, m) => a + m.freezes, 0),
    packetsLost: media.reduce((a, m) => a + m.packetsLost, 0),
    errors: [...errors].map(([message, count]) => ({ message, count })).sort((a, b) => b.count - a.count),
  };
}

const UNITS: Record<Layer, string> = { admission: 'arrivals/s', broker: 'joins/s', media: 'connects/s' };

/** "HH:MM:SS" of a run second, given the first bell's clock time and offset. */
export function clockAt(firstBell: string, firstBellAtMs: number, second: number): string {
  const [h, m, s] = firstBell.split(':').map(Number) as [number, number, number];
  let t = h * 3600 + m * 60 + s + Math.floor(second - firstBellAtMs / 1000);
  t = ((t % 86400) + 86400) % 86400;
  const p = (n: number) => String(n).padStart(2, '0');
  return `${p(Math.floor(t / 3600))}:${p(Math.floor(t / 60) % 60)}:${p(t % 60)}`;
}

function symptoms(failures: Record<string, number>): Symptom[] {
  const total = Object.values(failures).reduce((a, b) => a + b, 0);
  return Object.entries(failures)
    .sort((a, b) => b[1] - a[1])
    .map(([kind, count]) => ({ kind, label: describeKind(kind), count, share: total ? count / total : 0 }));
}

function violation(b: StepSecond, o: LayerObjective): { reason: BreakPoint['reason']; errorRate: number; p95Ms: number } | undefined {
  if (b.attempts < MIN_ATTEMPTS_PER_SECOND) return undefined;
  const errorRate = b.failed / b.attempts;
  const p95Ms = b.latencyMs(95);
  if (errorRate > o.maxErrorRate) return { reason: 'error rate', errorRate, p95Ms };
  if (p95Ms > o.p95Ms) return { reason: 'p95 latency', errorRate, p95Ms };
  return undefined;
}

/** The step whose success means a participant got through the layer; the last step when none is marked. */
function goalOf(series: Series, layer: Layer): StepDecl | undefined {
  const steps = series.steps.filter((d) => d.layer === layer && !d.browser);
  return steps.find((d) => d.goal !== undefined) ?? steps[steps.length - 1];
}

/** End of the burst's arrival window, in run seconds: the phase starting at the first bell, else the largest. */
function burstEndSecond(run: RunInfo): number {
  const phases = run.scenario.phases;
  const burst = phases.find((p) => p.startMs === 0) ?? [...phases].sort((a, b) => b.participants - a.participants)[0];
  return burst ? (run.firstBellAtMs + burst.startMs + burst.durationMs) / 1000 : 0;
}

/** One layer's protocol steps in a series, and its per-second figures: load offered to it and goodput through it. */
class LayerView {
  /** Browser users are witnesses, not load: the verdict rests on the protocol users' steps. */
  readonly steps: StepDecl[];
  readonly first: StepDecl | undefined;
  readonly goal: StepDecl | undefined;

  constructor(readonly layer: Layer, readonly series: Series) {
    this.steps = series.steps.filter((d) => d.layer === layer && !d.browser);
    this.first = this.steps[0];
    this.goal = goalOf(series, layer);
  }

  bucketOf(sec: number, d: StepDecl): StepSecond | undefined {
    return this.series.seconds.get(sec)?.get(stepKey(d.layer, d.step));
  }

  /** Participants reaching the layer's first step in second `sec`. */
  offered(sec: number): number {
    const b = this.first ? this.bucketOf(sec, this.first) : undefined;
    return b ? b.attempts + b.aborted : 0;
  }

  /** Participants through the layer's goal step in second `sec`. */
  goodput(sec: number): number {
    return this.goal ? (this.bucketOf(sec, this.goal)?.ok ?? 0) : 0;
  }
}

type Violation = { step: string } & NonNullable<ReturnType<typeof violation>>;

/** Per second: violating (true), compliant (false) or not judged (undefined); and the first violation of each violating second. */
function judgeSeconds(v: LayerView, objective: LayerObjective, last: number, suspect: Set<number>): { state: (boolean | undefined)[]; firstViolation: Violation[] } {
  const state: (boolean | undefined)[] = [];
  const firstViolation: Violation[] = [];
  for (let sec = 0; sec <= last; sec++) {
    // Seconds in which the generator could not keep up say nothing about the target.
    if (suspect.has(sec)) continue;
    let judged = false;
    for (const d of v.steps) {
      const b = v.bucketOf(sec, d);
      if (!b || b.attempts < MIN_ATTEMPTS_PER_SECOND) continue;
      judged = true;
      const x = violation(b, objective);
      if (x && state[sec] !== true) {
        state[sec] = true;
        firstViolation[sec] = { step: d.step, ...x };
      }
    }
    if (judged && state[sec] === undefined) state[sec] = false;
  }
  return { state, firstViolation };
}

/** The first second of the first violation sustained for SUSTAIN_SECONDS judged seconds; -1 when there is none. */
function sustainedBreak(state: (boolean | undefined)[], last: number): number {
  for (let sec = 0, streak = 0; sec <= last; sec++) {
    if (state[sec] === true) {
      streak++;
      if (streak >= SUSTAIN_SECONDS) {
        // Walk back to the first second of this run of violations (skipping unjudged seconds).
        let s = sec;
        for (let k = sec - 1; k >= 0 && state[k] !== false; k--) if (state[k] === true) s = k;
        return s;
      }
    } else if (state[sec] === false) streak = 0;
  }
  return -1;
}

/** The best mean goodput over CAPACITY_SECONDS consecutive seconds that all met the objective. */
function capacityOf(v: LayerView, state: (boolean | undefined)[], last: number, breakAt: number): LayerResult['capacity'] {
  let capacity: LayerResult['capacity'];
  for (let sec = 0; sec + CAPACITY_SECONDS - 1 <= last; sec++) {
    let sum = 0;
    let compliant = true;
    for (let k = 0; k < CAPACITY_SECONDS; k++) {
      compliant &&= state[sec + k] === false;
      sum += v.goodput(sec + k);
    }
    const held = Math.round(sum / CAPACITY_SECONDS);
    if (compliant && held > (capacity?.perSec ?? 0)) capacity = { perSec: held, lowerBound: breakAt < 0, second: sec };
  }
  // A break at a load far above anything held while compliant (a spike) pins the capacity down only from below.
  if (capacity && breakAt >= 0 && v.offered(breakAt) > CAPACITY_PINNED * capacity.perSec) capacity.lowerBound = true;
  return capacity;
}

/**
 * Knee: offered keeps coming but the layer serves clearly less of it, for KNEE_SECONDS in a row. Seconds with
 * little load are skipped: there a single participant crossing a second boundary looks like a shortfall.
 */
function kneeOf(v: LayerView, run: RunInfo, last: number, suspect: Set<number>, peakOffered: number): LayerResult['knee'] {
  const kneeFloor = Math.max(MIN_ATTEMPTS_PER_SECOND, 0.1 * peakOffered);
  for (let sec = 0, streak = 0; sec <= last; sec++) {
    const o = v.offered(sec);
    const short = !suspect.has(sec) && o >= kneeFloor && v.goodput(sec) < KNEE_SHARE * o;
    streak = short ? streak + 1 : 0;
    if (streak === KNEE_SECONDS) {
      const at = sec - KNEE_SECONDS + 1;
      return { second: at, clock: clockAt(run.scenario.firstBell, run.firstBellAtMs, at), offeredPerSec: v.offered(at), goodputPerSec: v.goodput(at) };
    }
  }
  return undefined;
}

/** The break point of a layer that broke at `breakAt`: what users saw, how long it lasted, and whether it recovered. */
function breakPointOf(v: LayerView, run: RunInfo, judged: ReturnType<typeof judgeSeconds>, breakAt: number, last: number, suspect: Set<number>): NonNullable<LayerResult['breakPoint']> {
  const { state, firstViolation } = judged;
  const objective = run.scenario.objectives[v.layer];
  let lastBad = breakAt;
  for (let sec = breakAt; sec <= last; sec++) if (state[sec] === true) lastBad = sec;
  // Recovered: after the last violation, a second in which the layer's attempts, however few, all met the objective.
  const servedWell = (sec: number) =>
    v.steps.some((d) => (v.bucketOf(sec, d)?.attempts ?? 0) > 0) &&
    v.steps.every((d) => {
      const b = v.bucketOf(sec, d);
      return !b || b.attempts === 0 || (b.failed / b.attempts <= objective.maxErrorRate && b.latencyMs(95) <= objective.p95Ms);
    });
  let recovered = false;
  for (let sec = lastBad + 1; sec <= last && !recovered; sec++) recovered = !suspect.has(sec) && (state[sec] === false || servedWell(sec));
  const failures: Record<string, number> = {};
  let failedAttempts = 0;
  for (let sec = breakAt; sec <= lastBad; sec++) {
    const m = v.series.merged(sec, (d) => d.layer === v.layer && !d.browser);
    failedAttempts += m.failed;
    for (const [k, n] of Object.entries(m.failures)) failures[k] = (failures[k] ?? 0) + n;
  }
  const fv = firstViolation[breakAt]!;
  return {
    second: breakAt,
    clock: clockAt(run.scenario.firstBell, run.firstBellAtMs, breakAt),
    offeredPerSec: v.offered(breakAt),
    step: fv.step, reason: fv.reason, errorRate: fv.errorRate, p95Ms: fv.p95Ms,
    symptoms: symptoms(failures), failedAttempts,
    brokenForSec: lastBad + 1 - breakAt,
    recovered,
    recoveryAfterBurstSec: Math.max(0, Math.round(lastBad + 1 - burstEndSecond(run))),
  };
}

function analyseLayer(layer: Layer, series: Series, run: RunInfo, last: number, suspect: Set<number>): LayerResult & { state: (boolean | undefined)[] } {
  const objective = run.scenario.objectives[layer];
  const v = new LayerView(layer, series);
  const total = series.total((d) => d.layer === layer && !d.browser);
  let peakOffered = 0;
  let peakGood = 0;
  for (let sec = 0; sec <= last; sec++) {
    peakOffered = Math.max(peakOffered, v.offered(sec));
    peakGood = Math.max(peakGood, v.goodput(sec));
  }
  const judged = judgeSeconds(v, objective, last, suspect);
  const { state } = judged;
  const breakAt = sustainedBreak(state, last);
  const result: LayerResult & { state: (boolean | undefined)[] } = {
    state,
    layer, objective, unit: UNITS[layer], attempts: total.attempts, failed: total.failed, judged: state.some((x) => x !== undefined),
    met: breakAt < 0, peakOfferedPerSec: peakOffered, peakGoodputPerSec: peakGood,
  };
  const capacity = capacityOf(v, state, last, breakAt);
  if (capacity) result.capacity = capacity;
  const knee = kneeOf(v, run, last, suspect, peakOffered);
  if (knee) result.knee = knee;
  if (breakAt >= 0) result.breakPoint = breakPointOf(v, run, judged, breakAt, last, suspect);
  return result;
}

function stepRow(d: StepDecl, b: StepSecond): StepRow {
  return {
    layer: d.layer, step: d.step, attempts: b.attempts, ok: b.ok, failed: b.failed, aborted: b.aborted,
    errorRate: b.attempts ? b.failed / b.attempts : 0,
    p50Ms: b.latencyMs(50), p95Ms: b.latencyMs(95), p99Ms: b.latencyMs(99), maxMs: b.latencyMs(100), serviceP95Ms: b.serviceMs(95),
    failures: symptoms(b.failures),
  };
}

function timelineOf(layer: Layer, series: Series, last: number): LayerTimeline {
  const first = series.steps.find((d) => d.layer === layer && !d.browser);
  const goal = goalOf(series, layer);
  const t: LayerTimeline = { offered: [], goodput: [], ok: [], failed: [], failures: {}, p50: [], p95: [], p99: [], serviceP95: [] };
  for (let sec = 0; sec <= last; sec++) {
    const m = series.merged(sec, (d) => d.layer === layer && !d.browser);
    const f = first ? series.seconds.get(sec)?.get(stepKey(first.layer, first.step)) : undefined;
    t.offered.push(f ? f.attempts + f.aborted : 0);
    t.goodput.push(goal ? (series.seconds.get(sec)?.get(stepKey(goal.layer, goal.step))?.ok ?? 0) : 0);
    t.ok.push(m.ok);
    t.failed.push(m.failed);
    for (const [k, v] of Object.entries(m.failures)) (t.failures[k] ??= new Array<number>(last + 1).fill(0))[sec] = v;
    const r = (x: number) => Math.round(x * 10) / 10;
    t.p50.push(r(m.latencyMs(50)));
    t.p95.push(r(m.latencyMs(95)));
    t.p99.push(r(m.latencyMs(99)));
    t.serviceP95.push(r(m.serviceMs(95)));
  }
  return t;
}

/** Loop lag, CPU or send lag beyond these in a second mean firstbell itself may have held the load back. */
export const GENERATOR_LIMITS = { loopLagMs: 100, cpuPct: 95, sendLagMs: 100 };

function generatorVerdict(run: RunInfo, health: HealthSecond[]): GeneratorVerdict {
  const g = run.generator;
  const sum = (f: (h: HealthSecond) => number) => health.reduce((a, h) => a + f(h), 0);
  const suspect = health
    .filter((h) => h.loopLagP99Ms > GENERATOR_LIMITS.loopLagMs || h.cpuPct > GENERATOR_LIMITS.cpuPct || h.sendLagP99Ms > GENERATOR_LIMITS.sendLagMs || h.dropped > 0)
    .map((h) => h.t);
  const v: GeneratorVerdict = {
    arrivalsPlanned: g?.arrivalsPlanned ?? run.plan.participants,
    arrivalsSent: g?.arrivalsSent ?? sum((h) => h.arrivals),
    late: g?.late ?? sum((h) => h.late),
    dropped: g?.dropped ?? sum((h) => h.dropped),
    worstLoopLagMs: Math.max(0, ...health.map((h) => h.loopLagP99Ms)),
    worstCpuPct: Math.max(0, ...health.map((h) => h.cpuPct)),
    worstSendLagMs: Math.max(0, ...health.map((h) => h.sendLagP99Ms)),
    suspectSeconds: suspect,
    note: '',
  };
  v.note = run.source?.kind === 'k6'
    ? `k6 ran the load (${run.source.runners} runner${run.source.runners === 1 ? '' : 's'}: ${run.source.files.join(', ')}); its generators' health is not in the results. ${v.arrivalsSent} of ${v.arrivalsPlanned} participants started; k6 dropped ${v.dropped} iterations for want of a free VU.`
    : suspect.length === 0
      ? `The generator kept up: every second below ${GENERATOR_LIMITS.loopLagMs} ms event-loop lag, ${GENERATOR_LIMITS.cpuPct} % CPU and ${GENERATOR_LIMITS.sendLagMs} ms send lag; ${v.late} late and ${v.dropped} dropped arrivals.`
      : `The generator may have been the bottleneck in ${suspect.length} second(s) (event-loop lag, CPU or send lag over the limit, or dropped arrivals); ${v.late} arrivals were late and ${v.dropped} dropped. Read those seconds with care.`;
  if (!run.source) {
    const unsent = v.arrivalsPlanned - v.arrivalsSent - v.dropped;
    if (g?.sentAtLeast) {
      v.note += ` At least ${v.arrivalsSent} of ${v.arrivalsPlanned} planned arrivals were sent (counted from the samples: overloaded workers did not hand back their own counts)${unsent > 0 ? `; up to ${unsent} were never sent` : ''}.`;
    } else if (unsent > 0) v.note += ` ${unsent} of ${v.arrivalsPlanned} planned arrivals were never sent: the run ended first.`;
    if ((g?.workers ?? 1) > 1) v.note += ` The load came from ${g!.workers} worker processes${g?.localAddresses ? ` over ${g.localAddresses} local addresses` : ''}; CPU is the busiest process's.`;
  }
  return v;
}

function headlineOf(layers: LayerResult[], run: RunInfo, generator: GeneratorVerdict): string {
  const broken = layers.filter((l) => l.breakPoint).sort((a, b) => a.breakPoint!.second - b.breakPoint!.second);
  let prefix = run.status === 'interrupted' ? 'Interrupted run. ' : run.status === 'failed' ? 'The run failed part-way. ' : '';
  if (generator.suspectSeconds.length > 0) {
    prefix += `The generator was the bottleneck in ${generator.suspectSeconds.length} s; those seconds are left out of the verdict. `;
  }
  if (broken.length === 0) {
    const peak = layers.find((l) => l.layer === 'admission')?.peakOfferedPerSec ?? 0;
    return `${prefix}${generator.suspectSeconds.length ? 'In the seconds that count, every' : 'Every'} layer met its objective (peak ${peak} arrivals/s).`;
  }
  return (
    prefix +
    broken
      .map((l) => {
        const b = l.breakPoint!;
        const top = b.symptoms[0];
        const saw = top ? `; users saw ${top.label} (${Math.round(top.share * 100)} % of failures)` : '';
        const rec = b.recovered ? `recovered after ${b.brokenForSec} s` : `still failing when the load ended (${b.brokenForSec} s)`;
        return `The ${l.layer} layer broke at ${b.clock} at ${b.offeredPerSec} ${l.unit} offered${saw}; ${rec}.`;
      })
      .join(' ')
  );
}

/** Time to detect and to recover for each fault, judged on every layer's per-second verdicts. */
function faultResults(run: RunInfo, states: { layer: Layer; state: (boolean | undefined)[] }[], last: number): FaultResult[] {
  const bad = (sec: number) => states.filter((s) => s.state[sec] === true).map((s) => s.layer);
  const judged = (sec: number) => states.some((s) => s.state[sec] !== undefined);
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
      recover = null;
      for (let sec = to, calm = 0; sec <= last; sec++) {
        if (bad(sec).length) calm = 0;
        else if (judged(sec) && ++calm >= SUSTAIN_SECONDS) {
          recover = Math.max(0, sec - SUSTAIN_SECONDS + 1 - to);
          break;
        }
      }
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
    attemptsPerUser: j.arrived ? Math.round((series.total((d) => d === series.steps[0]).attempts / j.arrived) * 100) / 100 : 0,
  };
}

export function analyse(run: RunInfo, series: Series, health: HealthSecond[], browsers: { journeys: BrowserJourney[]; media: MediaSecond[] } = { journeys: [], media: [] }): Analysis {
  const last = Math.max(series.lastSecond, Math.ceil(run.plannedEndMs / 1000) - 1, 0);
  const generator = generatorVerdict(run, health);
  const suspect = new Set(generator.suspectSeconds);
  const judgedLayers = LAYERS.map((l) => analyseLayer(l, series, run, last, suspect));
  const layers: LayerResult[] = judgedLayers.map(({ state: _state, ...l }) => l);
  const steps = series.steps.map((d) => stepRow(d, series.total((x) => x.layer === d.layer && x.step === d.step)));
  const seconds = Array.from({ length: last + 1 }, (_, i) => i);
  const verdict: Analysis['verdict'] = layers.some((l) => !l.met) ? 'failed' : suspect.size > 0 ? 'generator-bound' : 'passed';
  return {
    run,
    verdict,
    passed: verdict === 'passed',
    users: usersOf(run, series),
    headline: headlineOf(layers, run, generator),
    layers,
    steps,
    timeline: {
      seconds,
      clocks: seconds.map((s) => clockAt(run.scenario.firstBell, run.firstBellAtMs, s)),
      firstBellSecond: run.firstBellAtMs / 1000,
      layers: Object.fromEntries(LAYERS.map((l) => [l, timelineOf(l, series, last)])) as Record<Layer, LayerTimeline>,
      suspectSeconds: generator.suspectSeconds,
      newUsers: seconds.map((s) => series.newUsers.get(s) ?? 0),
      faults: (run.faults ?? []).map((f) => ({ from: f.startMs / 1000, to: f.endMs / 1000, label: f.label })),
    },
    health,
    generator,
    faults: faultResults(run, judgedLayers, last),
    browsers: browserSection(run, browsers.journeys, browsers.media),
    scriptErrors: [...series.scriptErrors].map(([message, count]) => ({ message, count })).sort((x, y) => y.count - x.count),
  };
}
