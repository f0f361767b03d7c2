// One layer of a run: its seconds judged against its objective, its break point, capacity, knee and limits.
import { describeKind } from '../api/sample.js';
import type { StepDecl } from '../api/vu.js';
import type { RunInfo } from '../run-folder/run-folder.js';
import { declKey, type Series, type StepSecond } from '../run-folder/series.js';
import type { Layer, LayerObjective } from '../scenarios/model.js';
import { connectionLimit, recoveryFrom, type SecondCheck } from './findings.js';
import {
  CAPACITY_NEAR, CAPACITY_PINNED, CAPACITY_SECONDS, KNEE_LAG_SECONDS, KNEE_SECONDS, KNEE_SHARE, LIMIT_SECONDS, MIN_ATTEMPTS_PER_SECOND, SATURATED_OFFERED, SUSTAIN_SECONDS,
  type BreakPoint, type Capacity, type LayerResult, type LayerState, type LayerTimeline, type Symptom,
} from './model.js';
import { maxOf, minOf } from '../lib/numbers.js';

export const UNITS: Record<Layer, string> = { admission: 'arrivals/s', broker: 'joins/s', media: 'connects/s' };

/** What a clock needs of a scenario: the first bell's time of day, and where run time is not the day's. */
export type ClockOf = string | { firstBell: string; clockAnchors?: { atMs: number; wallMs: number }[] };

/** "HH:MM:SS" of a run second, given the first bell's clock time and offset (and a timetable's cut quiet stretches). */
export function clockAt(scenario: ClockOf, firstBellAtMs: number, second: number): string {
  const { firstBell, clockAnchors } = typeof scenario === 'string' ? { firstBell: scenario, clockAnchors: undefined } : scenario;
  const [h, m, s] = firstBell.split(':').map(Number) as [number, number, number];
  let runMs = second * 1000 - firstBellAtMs;
  const anchor = clockAnchors?.filter((a) => a.atMs <= runMs).at(-1);
  if (anchor) runMs = anchor.wallMs + (runMs - anchor.atMs);
  let t = h * 3600 + m * 60 + s + Math.floor(runMs / 1000);
  t = ((t % 86400) + 86400) % 86400;
  const p = (n: number) => String(n).padStart(2, '0');
  return `${p(Math.floor(t / 3600))}:${p(Math.floor(t / 60) % 60)}:${p(t % 60)}`;
}

export function symptoms(failures: Record<string, number>): Symptom[] {
  const total = Object.values(failures).reduce((a, b) => a + b, 0);
  return Object.entries(failures)
    .sort((a, b) => b[1] - a[1])
    .map(([kind, count]) => ({ kind, label: describeKind(kind), count, share: total ? count / total : 0 }));
}

/**
 * Whether the target took longer than the objective allows: the p95 of its attempts from when each was sent. Each
 * participant has connections of its own, so a step that began after its intended start waited on the generator
 * alone (a late dispatch, a timer that fired late); that wait is in the latency users are shown, never held against
 * the target.
 */
function slowerThan(b: StepSecond, o: LayerObjective): boolean {
  return b.latencyMs(95) > o.p95Ms && b.serviceMs(95) > o.p95Ms;
}

/**
 * Whether the attempts the run stopped, counted at what they had waited, put the p95 over the objective: each of
 * them would have waited longer still, so the p95 with them is a lower bound of the one users would have seen.
 */
function cutOffSlower(b: StepSecond, o: LayerObjective): boolean {
  return b.waitedOver(o.p95Ms) > 0 && b.withWaitedMs(95, 'latency') > o.p95Ms && b.withWaitedMs(95, 'service') > o.p95Ms;
}

type StepJudgement = { reason: BreakPoint['reason']; errorRate: number; p95Ms: number; atLeast?: true };

/**
 * How one step fared in one second against the objective: violated (with how), met, or not judged (undefined).
 * In a second in which the generator was the bottleneck (`generatorBound`), only what the target said is evidence:
 * its failures (a status, a close, a refusal, a reset) still count, but timeouts and latency, which only the
 * generator's clock says, do not; such a second can show a violation, never that the objective was met.
 * Attempts the run stopped after they had waited longer than the objective's p95 are evidence of a violation (never
 * of the objective met) where the generator kept up from their second to the run's end (`waitedCounts`): nothing
 * but the target kept them waiting.
 */
function judgeStep(b: StepSecond, o: LayerObjective, generatorBound: boolean, waitedCounts: boolean): StepJudgement | 'met' | undefined {
  const attempts = generatorBound ? b.attempts - b.clockOnly : b.attempts;
  const unanswered = waitedCounts && !generatorBound ? b.waitedOver(o.p95Ms) : 0;
  if (attempts + unanswered < MIN_ATTEMPTS_PER_SECOND) return undefined;
  const errorRate = attempts ? (generatorBound ? b.failed - b.clockOnly : b.failed) / attempts : 0;
  const judged = attempts >= MIN_ATTEMPTS_PER_SECOND;
  if (judged && errorRate > o.maxErrorRate) return { reason: 'error rate', errorRate, p95Ms: b.latencyMs(95) };
  if (generatorBound) return undefined;
  if (judged && slowerThan(b, o)) return { reason: 'p95 latency', errorRate, p95Ms: b.latencyMs(95) };
  if (unanswered && cutOffSlower(b, o)) return { reason: 'p95 latency', errorRate, p95Ms: b.withWaitedMs(95, 'latency'), atLeast: true };
  return judged ? 'met' : undefined;
}

/** The step whose success means a participant got through the layer; the last step that is not held when none is marked. */
export function goalOf(series: Series, layer: Layer): StepDecl | undefined {
  const steps = series.steps.filter((d) => d.layer === layer && !d.browser);
  return steps.find((d) => d.goal !== undefined) ?? [...steps].reverse().find((d) => !d.held) ?? steps[steps.length - 1];
}

/** End of the burst's arrival window, in run seconds: the phase starting at the first bell, else the largest. */
export function burstEndSecond(run: RunInfo): number {
  const phases = run.scenario.phases;
  const burst = phases.find((p) => p.startMs === 0) ?? [...phases].sort((a, b) => b.participants - a.participants)[0];
  return burst ? (run.firstBellAtMs + burst.startMs + burst.durationMs) / 1000 : 0;
}

/** One layer's protocol steps in a series, and its per-second figures: load offered to it and goodput through it. */
export class LayerView {
  /** Browser users are witnesses, not load: the verdict rests on the protocol users' steps. */
  readonly steps: StepDecl[];
  readonly first: StepDecl | undefined;
  readonly goal: StepDecl | undefined;

  constructor(readonly layer: Layer, readonly series: Series, readonly objective: LayerObjective) {
    this.steps = series.steps.filter((d) => d.layer === layer && !d.browser);
    this.first = this.steps.find((d) => !d.held) ?? this.steps[0];
    this.goal = goalOf(series, layer);
  }

  bucketOf(sec: number, d: StepDecl): StepSecond | undefined {
    return this.series.seconds.get(sec)?.get(declKey(d));
  }

  /**
   * Participants offered to the layer in second `sec`: those whose journey entered it then, whichever of its steps
   * came first (a journey may skip a step, such as a login when its session still holds). Series from before entries
   * were kept count the layer's first step.
   */
  offered(sec: number): number {
    if (this.series.entries) {
      let n = 0;
      for (const d of this.steps) n += this.bucketOf(sec, d)?.entries ?? 0;
      return n;
    }
    const b = this.first ? this.bucketOf(sec, this.first) : undefined;
    return b ? b.attempts + b.aborted + b.generator : 0;
  }

  /** Participants through the layer's goal step, by intended start in second `sec`. */
  goodput(sec: number): number {
    return this.goal ? (this.bucketOf(sec, this.goal)?.ok ?? 0) : 0;
  }

  /** Participants through the layer's goal step, completed in second `sec`. */
  served(sec: number): number {
    return this.goal ? this.series.done(sec, this.goal) : 0;
  }

  /**
   * Attempts of the steps that bring participants in (by intended second; heartbeats are no evidence that new
   * participants get through), those the run's end stopped past the objective's p95 too, and whether every step with
   * attempts, heartbeats too, met the objective.
   */
  check(sec: number): SecondCheck {
    let attempts = 0;
    let met = true;
    for (const d of this.steps) {
      const b = this.bucketOf(sec, d);
      if (!b) continue;
      if (cutOffSlower(b, this.objective)) met = false;
      if (!d.held) attempts += b.waitedOver(this.objective.p95Ms);
      if (b.attempts === 0) continue;
      if (!d.held) attempts += b.attempts;
      if (b.failed / b.attempts > this.objective.maxErrorRate || slowerThan(b, this.objective)) met = false;
    }
    return { attempts, met };
  }

  failed(sec: number): number {
    return this.series.merged(sec, (d) => d.layer === this.layer && !d.browser).failed;
  }

  /** New participants the target itself turned away in second `sec` (by intended start): its failures of the steps that bring them in, timeouts apart. */
  refused(sec: number): number {
    let n = 0;
    for (const d of this.steps) {
      if (d.held) continue;
      const b = this.bucketOf(sec, d);
      if (b) n += b.failed - b.clockOnly;
    }
    return n;
  }
}

type Violation = StepJudgement & { step: string };
/**
 * The layer's seconds judged: per second violating (true), compliant (false) or not judged (undefined), and the
 * first violation of each violating second; and the same for each of its steps on its own.
 */
export type Judged = { state: (boolean | undefined)[]; firstViolation: Violation[]; byStep: (boolean | undefined)[][] };

/** Per second: violating (true), compliant (false) or not judged (undefined); and the first violation of each violating second. */
function judgeSeconds(v: LayerView, last: number, suspect: Set<number>, keptUp: number): Judged {
  const state: (boolean | undefined)[] = [];
  const firstViolation: Violation[] = [];
  const byStep: (boolean | undefined)[][] = v.steps.map(() => []);
  for (let sec = 0; sec <= last; sec++) {
    const bound = suspect.has(sec);
    v.steps.forEach((d, k) => {
      const b = v.bucketOf(sec, d);
      const x = b ? judgeStep(b, v.objective, bound, sec >= keptUp) : undefined;
      if (x === undefined) return;
      byStep[k]![sec] = x !== 'met';
      if (x === 'met') {
        state[sec] ??= false;
      } else if (state[sec] !== true) {
        state[sec] = true;
        firstViolation[sec] = { step: d.step, ...x };
      }
    });
  }
  return { state, firstViolation, byStep };
}

/**
 * Capacity by completions: the highest rate of participants through the layer, counted by the second they
 * completed, held in every second of CAPACITY_SECONDS. It is the target's when the layer was saturated near that
 * rate (more offered than completed, or its objective broken); else a lower bound, held down by the generator
 * (its seconds there were suspect) or by the load the scenario offered.
 */
function capacityOf(v: LayerView, state: (boolean | undefined)[], last: number, suspect: Set<number>, breakAt: number): Capacity | undefined {
  const windows: { second: number; perSec: number; saturated: boolean; generator: boolean }[] = [];
  for (let sec = 0; sec + CAPACITY_SECONDS - 1 <= last; sec++) {
    let low = Infinity;
    let offered = 0;
    let served = 0;
    let broke = false;
    let generator = false;
    for (let k = sec; k < sec + CAPACITY_SECONDS; k++) {
      const s = v.served(k);
      low = Math.min(low, s);
      served += s;
      offered += v.offered(k);
      broke ||= state[k] === true;
      generator ||= suspect.has(k);
    }
    if (low > 0) windows.push({ second: sec, perSec: low, saturated: broke || offered > SATURATED_OFFERED * served, generator });
  }
  if (windows.length === 0) return undefined;
  const best = windows.reduce((a, b) => (b.perSec > a.perSec ? b : a));
  const near = windows.filter((w) => w.perSec >= CAPACITY_NEAR * best.perSec);
  // Saturated near its best rate; or broken at a load not far above it (a collapse: past the edge, completions fall).
  // Only where the generator kept up: a stalled generator sends less and reads late, which looks the same.
  const saturated = near.some((w) => w.saturated && !w.generator) || (breakAt >= 0 && !suspect.has(breakAt) && v.offered(breakAt) <= CAPACITY_PINNED * best.perSec);
  const limitedBy = saturated ? 'target' : near.some((w) => w.generator) ? 'generator' : 'load';
  return { perSec: best.perSec, lowerBound: !saturated, second: best.second, limitedBy };
}

/**
 * Knee: offered keeps coming but the layer completes clearly less of it, for KNEE_SECONDS in a row. What is offered
 * in a second completes a little later (a layer of several steps takes a moment), so it is set against what
 * completed KNEE_LAG_SECONDS later. Seconds with little load are skipped: there a single participant crossing a
 * second boundary looks like a shortfall.
 */
function kneeOf(v: LayerView, run: RunInfo, last: number, suspect: Set<number>, peakOffered: number): LayerResult['knee'] {
  const kneeFloor = Math.max(MIN_ATTEMPTS_PER_SECOND, 0.1 * peakOffered);
  for (let sec = 0, streak = 0; sec <= last; sec++) {
    const o = v.offered(sec);
    const short = !suspect.has(sec) && o >= kneeFloor && v.served(sec + KNEE_LAG_SECONDS) < KNEE_SHARE * o;
    streak = short ? streak + 1 : 0;
    if (streak === KNEE_SECONDS) {
      const at = sec - KNEE_SECONDS + 1;
      return { second: at, clock: clockAt(run.scenario, run.firstBellAtMs, at), offeredPerSec: v.offered(at), goodputPerSec: v.served(at + KNEE_LAG_SECONDS) };
    }
  }
  return undefined;
}

/** What users saw in `from..to` (inclusive): the layer's failures by kind, and their count. */
function failuresIn(v: LayerView, from: number, to: number): { kinds: Record<string, number>; failed: number } {
  const kinds: Record<string, number> = {};
  let failed = 0;
  for (let sec = from; sec <= to; sec++) {
    const m = v.series.merged(sec, (d) => d.layer === v.layer && !d.browser);
    failed += m.failed;
    for (const [k, n] of Object.entries(m.failures)) kinds[k] = (kinds[k] ?? 0) + n;
  }
  return { kinds, failed };
}

/** The first second from which the generator kept up to the end: the one after its last suspect second. */
function keptUpFrom(suspect: Set<number>): number {
  let last = -1;
  for (const sec of suspect) last = Math.max(last, sec);
  return last + 1;
}

/**
 * Attempts of the layer in `from..to` (by intended start) that the run stopped after they had waited longer than its
 * objective's p95, where the generator kept up from their second to the end (from `keptUp` on).
 */
function unansweredIn(v: LayerView, from: number, to: number, keptUp: number): number {
  let n = 0;
  for (let sec = Math.max(from, keptUp); sec <= to; sec++) for (const d of v.steps) n += v.bucketOf(sec, d)?.waitedOver(v.objective.p95Ms) ?? 0;
  return n;
}

/** The last second in which the layer had attempts. */
function lastLoaded(v: LayerView, last: number): number {
  for (let sec = last; sec >= 0; sec--) if (v.check(sec).attempts > 0) return sec;
  return last;
}

/** The break point of a layer that broke at `breakAt`: what users saw then and while broken, how long it lasted, and whether it recovered. */
function breakPointOf(v: LayerView, run: RunInfo, judged: Judged, breakAt: number, last: number, suspect: Set<number>, conc: Concurrency, keptUp: number): BreakPoint {
  // It recovered for good: after its last violating second, not at a lull between two waves (reloads every 30 s).
  let lastBad = breakAt;
  for (let sec = breakAt; sec <= last; sec++) if (judged.state[sec] === true) lastBad = sec;
  const recoveredAt = recoveryFrom(lastBad + 1, last, (sec) => v.check(sec), suspect);
  const brokenUntil = recoveredAt ?? lastLoaded(v, last) + 1;
  const window = failuresIn(v, breakAt, brokenUntil - 1);
  const fv = judged.firstViolation[breakAt]!;
  return {
    second: breakAt,
    clock: clockAt(run.scenario, run.firstBellAtMs, breakAt),
    offeredPerSec: v.offered(breakAt),
    step: fv.step, reason: fv.reason, errorRate: fv.errorRate, p95Ms: fv.p95Ms, ...(fv.atLeast ? { p95AtLeast: true } : {}),
    unanswered: unansweredIn(v, breakAt, last, keptUp),
    concurrency: (conc.held[breakAt] ?? 0) + (conc.inFlight[breakAt] ?? 0),
    held: conc.held[breakAt] ?? 0,
    symptomsAtBreak: symptoms(failuresIn(v, breakAt, breakAt).kinds),
    symptoms: symptoms(window.kinds),
    failedAttempts: window.failed,
    generatorBehind: suspect.has(breakAt),
    brokenForSec: Math.max(1, brokenUntil - breakAt),
    recovered: recoveredAt !== null,
    ...(recoveredAt !== null ? { recoveredAtSecond: recoveredAt } : {}),
    recoveryAfterBurstSec: Math.max(0, Math.round(brokenUntil - burstEndSecond(run))),
  };
}

/** Participants holding a connection (any layer) and attempts under way (any layer), at each second's end. */
export interface Concurrency {
  held: number[];
  inFlight: number[];
}

/** A layer's result with what the run's other findings need of it: its judged seconds and its view of the series. */
export type LayerAnalysis = LayerResult & { judgedSeconds: (boolean | undefined)[]; view: LayerView };

/** The layer's failed share over the run, the target's answers counted everywhere and timeouts only where the generator kept up. */
function failedShares(v: LayerView, last: number, suspect: Set<number>): { share: number; withBound: number; clockBound: number; spokenBound: number } {
  let attempts = 0;
  let failed = 0;
  let clockBound = 0;
  let spokenBound = 0;
  for (let sec = 0; sec <= last; sec++) {
    for (const d of v.steps) {
      const b = v.bucketOf(sec, d);
      if (!b) continue;
      const bound = suspect.has(sec) ? b.clockOnly : 0;
      attempts += b.attempts - bound;
      failed += b.failed - bound;
      clockBound += bound;
      if (suspect.has(sec)) spokenBound += b.failed - b.clockOnly;
    }
  }
  return { share: attempts ? failed / attempts : 0, withBound: attempts + clockBound ? (failed + clockBound) / (attempts + clockBound) : 0, clockBound, spokenBound };
}

export function analyseLayer(layer: Layer, series: Series, run: RunInfo, last: number, suspect: Set<number>, conc: Concurrency): LayerAnalysis {
  const v = new LayerView(layer, series, run.scenario.objectives[layer]);
  const total = series.total((d) => d.layer === layer && !d.browser);
  const own = series.concurrency(last, layer);
  let peakOffered = 0;
  let peakGood = 0;
  for (let sec = 0; sec <= last; sec++) {
    peakOffered = Math.max(peakOffered, v.offered(sec));
    peakGood = Math.max(peakGood, v.goodput(sec));
  }
  const keptUp = keptUpFrom(suspect);
  const judged = judgeSeconds(v, last, suspect, keptUp);
  const breakAt = breakStart(judged, last);
  const shares = failedShares(v, last, suspect);
  const peakHeld = maxOf(own.held, 0);
  // A limit on connections stands at a count of held participants, whatever the arrivals did around it.
  const limit = peakHeld > 0 ? connectionLimit(own.held, (sec) => v.refused(sec), last, LIMIT_SECONDS) : undefined;
  const wasJudged = judged.state.some((x) => x !== undefined);
  const unanswered = unansweredIn(v, 0, last, keptUp);
  // More than the 5 % of attempts a p95 leaves were still unanswered past it at the end: the p95 was over the objective.
  const over = shares.share > v.objective.maxErrorRate || unanswered > 0.05 * (total.attempts + unanswered);
  const state: LayerState = breakAt >= 0 ? 'broke' : !wasJudged ? 'not-judged' : over || limit ? 'missed' : shares.withBound > v.objective.maxErrorRate ? 'unclear' : 'met';
  const result: LayerAnalysis = {
    judgedSeconds: judged.state, view: v,
    layer, state, objective: v.objective, unit: UNITS[layer], attempts: total.attempts, failed: total.failed,
    failedShare: Math.round(shares.share * 10_000) / 10_000, timeoutsWhileGeneratorBound: shares.clockBound, failedWhileGeneratorBound: shares.spokenBound, judged: wasJudged,
    met: state === 'met', peakOfferedPerSec: peakOffered, peakGoodputPerSec: peakGood, peakHeld, unanswered,
  };
  // A limit on held connections is the layer's limit; a rate completed under it is not its capacity.
  const capacity = limit ? undefined : capacityOf(v, judged.state, last, suspect, breakAt);
  if (capacity) result.capacity = capacity;
  const knee = kneeOf(v, run, last, suspect, peakOffered);
  if (knee) result.knee = knee;
  if (breakAt >= 0) result.breakPoint = breakPointOf(v, run, judged, breakAt, last, suspect, conc, keptUp);
  if (limit) result.connectionLimit = limit;
  return result;
}

/** Per second of a layer: offered, goodput, served, outcomes of the steps that bring participants in, heartbeats apart, held and in flight. */
export function timelineOf(v: LayerView, last: number): LayerTimeline {
  const { layer, series, goal } = v;
  const own = series.concurrency(last, layer);
  const t: LayerTimeline = { offered: [], goodput: [], served: [], ok: [], failed: [], failures: {}, beats: [], beatsFailed: [], held: own.held, inFlight: own.inFlight, p50: [], p95: [], p99: [], serviceP95: [] };
  const r = (x: number) => Math.round(x * 10) / 10;
  for (let sec = 0; sec <= last; sec++) {
    const m = series.merged(sec, (d) => d.layer === layer && !d.browser && !d.held);
    const beats = series.merged(sec, (d) => d.layer === layer && !d.browser && d.held === true);
    t.offered.push(v.offered(sec));
    t.goodput.push(goal ? (series.seconds.get(sec)?.get(declKey(goal))?.ok ?? 0) : 0);
    t.served.push(goal ? series.done(sec, goal) : 0);
    t.ok.push(m.ok);
    t.failed.push(m.failed);
    t.beats.push(beats.ok);
    t.beatsFailed.push(beats.failed);
    for (const [k, v] of Object.entries(m.failures)) (t.failures[k] ??= new Array<number>(last + 1).fill(0))[sec] = v;
    const all = series.merged(sec, (d) => d.layer === layer && !d.browser);
    t.p50.push(r(all.latencyMs(50)));
    t.p95.push(r(all.latencyMs(95)));
    t.p99.push(r(all.latencyMs(99)));
    t.serviceP95.push(r(all.serviceMs(95)));
  }
  return t;
}

/**
 * Where the layer broke: the first second of a violation sustained for SUSTAIN_SECONDS judged seconds, of the layer
 * as a whole or of one of its steps on its own. A step judged only now and then (the bursts of a held-participant
 * ramp, with the heartbeats of those already in between) breaks on its own judged seconds: the others' seconds do
 * not interrupt it.
 */
export function breakStart(j: Judged, last: number): number {
  const starts = [violationStarts(j.state, last)[0], ...j.byStep.map((st) => violationStarts(st, last)[0])].filter((x): x is number => x !== undefined);
  return starts.length ? minOf(starts) : -1;
}

/** Every second at which a violation sustained for SUSTAIN_SECONDS judged seconds begins (unjudged seconds neither break nor count). */
export function violationStarts(state: readonly (boolean | undefined)[], last: number): number[] {
  const starts: number[] = [];
  let runStart = -1;
  let streak = 0;
  for (let sec = 0; sec <= last; sec++) {
    if (state[sec] === true) {
      if (streak === 0) runStart = sec;
      streak++;
      if (streak === SUSTAIN_SECONDS) starts.push(runStart);
    } else if (state[sec] === false) streak = 0;
  }
  return starts;
}
