// Per-second series: mergeable HDR histograms and outcome counts per step per second.
import * as hdr from 'hdr-histogram-js';
import { LAYERS, type Layer } from '../scenarios/model.js';
import { failureKind, isHoldEvent, NOT_THE_TARGETS, UNANSWERED, type Sample } from '../api/sample.js';
import type { StepDecl } from '../api/vu.js';
import { maxOf } from '../lib/numbers.js';
import { newHistogram } from '../lib/histogram.js';

/** Latencies are recorded in microseconds with two significant digits (1 % resolution). */
const US_PER_MS = 1000;

/** Percentile `p` of `h` (µs), in ms; 0 when it holds nothing. */
function percentileMs(h: hdr.Histogram, p: number): number {
  return h.totalCount === 0 ? 0 : h.getValueAtPercentile(p) / US_PER_MS;
}

/** Values in `h` above `limit`, found by the ranks its percentiles give (to its 1 % resolution). */
function countOver(h: hdr.Histogram, limit: number): number {
  const n = h.totalCount;
  if (n === 0 || h.maxValue <= limit) return 0;
  // The smallest rank k (1..n) whose value is above the limit; every rank above it is too.
  let lo = 1;
  let hi = n;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (h.getValueAtPercentile((mid / n) * 100) > limit) hi = mid;
    else lo = mid + 1;
  }
  return n - lo + 1;
}

export function stepKey(layer: Layer, step: string): string {
  return `${layer}.${step}`;
}

const declKeys = new WeakMap<StepDecl, string>();
/** A declared step's key, made once for each declaration: an analysis asks for it every second of every step. */
export function declKey(d: StepDecl): string {
  let k = declKeys.get(d);
  if (k === undefined) declKeys.set(d, (k = stepKey(d.layer, d.step)));
  return k;
}

/** The percentiles a judgement reads of every second: worked out together the first time one of them is asked for. */
const USUAL_PERCENTILES = [50, 95, 99, 100];
/** An empty histogram to read from: never written to. */
const EMPTY = newHistogram();

/**
 * One step in one second; attempts are bucketed by the second of their intended start. Or, from Series.merged, a
 * read-only view of several such buckets of one second, which builds their merged histograms only when asked.
 */
export class StepSecond {
  /** Attempts that ended, ok or failed (aborted ones excluded). */
  attempts = 0;
  ok = 0;
  /** Attempts the run itself stopped (not the target's doing). */
  aborted = 0;
  /** Attempts the generator could not make (out of ports, files, buffers): not the target's doing either. */
  generator = 0;
  /** Attempts that were their participant's entry into the layer in their journey (its first step of the layer): participants offered to it. */
  entries = 0;
  /** Failed attempts by kind: "http_503", "timeout", … */
  failures: Record<string, number> = {};
  /** Latency from intended start, µs, over all ended attempts; encoded (`frozen`) while the second is cold. */
  private lat?: hdr.Histogram;
  /** Service time from actual start, µs, over all ended attempts; encoded likewise. */
  private svc?: hdr.Histogram;
  /** Both histograms as HdrHistogram compressed base64 (V2), while no sample comes to this second. */
  private frozen?: { latency: string; service: string };
  /** A view's buckets: its histograms are theirs merged, whenever read. */
  private parts?: readonly StepSecond[];
  /**
   * The usual percentiles (ms; latency's, then service time's; NaN until read) of a bucket that no sample changes
   * any more (frozen, or a view): a judgement made again and again over a long run reads them without decoding.
   */
  private memo?: Float64Array;
  /**
   * How long the attempts the run stopped had waited from their actual start, µs (made at the first of them): each
   * one's latency, had it been answered, was at least that.
   */
  waited: hdr.Histogram | undefined;

  /** A read-only view of `parts`, buckets of one second: their counts summed, their histograms merged when read. */
  static view(parts: readonly StepSecond[]): StepSecond {
    const v = new StepSecond();
    for (const b of parts) v.mergeCounts(b);
    v.parts = parts;
    return v;
  }

  add(s: Sample): void {
    this.memo = undefined;
    if (s.entry && s.outcome !== 'script_error' && s.outcome !== 'not_allowed') this.entries++;
    if (s.outcome === 'aborted') {
      this.aborted++;
      (this.waited ??= newHistogram()).recordValue(Math.max(1, Math.round((s.endMs - s.startMs) * US_PER_MS)));
      return;
    }
    if (s.outcome === 'generator') {
      this.generator++;
      return;
    }
    this.attempts++;
    if (s.outcome === 'ok') this.ok++;
    else {
      const k = failureKind(s.outcome, s.status);
      this.failures[k] = (this.failures[k] ?? 0) + 1;
    }
    this.latency.recordValue(Math.max(1, Math.round((s.endMs - s.intendedMs) * US_PER_MS)));
    this.service.recordValue(Math.max(1, Math.round((s.endMs - s.startMs) * US_PER_MS)));
  }

  /** The latency histogram, to write to: a frozen bucket is decoded and stays so until it freezes again. */
  get latency(): hdr.Histogram {
    if (this.parts) return this.histogram('latency');
    if (this.frozen) this.thaw();
    return (this.lat ??= newHistogram());
  }

  get service(): hdr.Histogram {
    if (this.parts) return this.histogram('service');
    if (this.frozen) this.thaw();
    return (this.svc ??= newHistogram());
  }

  /**
   * A histogram to read: the bucket's own; a frozen bucket's decoded, and a view's merged from its buckets, for this
   * reading only: kept, they would take 18 KB a step-second for as long as the series lives (a day of one step,
   * 1.5 GB). The usual percentiles are remembered instead (see percentile), and each total over the cold seconds is
   * kept as it grows (Series.total).
   */
  private histogram(kind: 'latency' | 'service'): hdr.Histogram {
    const own = kind === 'latency' ? this.lat : this.svc;
    if (own) return own;
    if (this.parts) {
      const h = newHistogram();
      for (const b of this.parts) h.add(b.histogram(kind));
      return h;
    }
    return this.frozen ? hdr.decodeFromCompressedBase64(this.frozen[kind], 32, false) : EMPTY;
  }

  /**
   * Keeps both histograms encoded until they are read again: a histogram's counts take 9 KB whatever it holds, its
   * encoding a few hundred bytes. A cold second (one that no more samples are expected for) costs that little.
   */
  freeze(): void {
    if (!this.frozen && !this.parts) this.frozen = { latency: hdr.encodeIntoCompressedBase64(this.latency), service: hdr.encodeIntoCompressedBase64(this.service) };
    this.lat = this.svc = undefined;
  }

  /** Whether it holds no decoded histogram: only their encodings (or, a view, its buckets). */
  get isFrozen(): boolean {
    return (this.frozen !== undefined || this.parts !== undefined) && !this.lat && !this.svc;
  }

  /** Makes the histograms writable again: a sample came to a cold second. */
  private thaw(): void {
    const lat = this.histogram('latency');
    const svc = this.histogram('service');
    this.frozen = undefined;
    (this.lat = newHistogram()).add(lat);
    (this.svc = newHistogram()).add(svc);
  }

  private mergeCounts(o: StepSecond): void {
    this.attempts += o.attempts;
    this.ok += o.ok;
    this.aborted += o.aborted;
    this.generator += o.generator;
    this.entries += o.entries;
    for (const [k, v] of Object.entries(o.failures)) this.failures[k] = (this.failures[k] ?? 0) + v;
    if (o.waited) (this.waited ??= newHistogram()).add(o.waited);
  }

  merge(o: StepSecond): void {
    if (this.parts) throw new Error('a merged view of a second is read only');
    this.memo = undefined;
    this.mergeCounts(o);
    this.latency.add(o.histogram('latency'));
    this.service.add(o.histogram('service'));
  }

  get failed(): number {
    return this.attempts - this.ok;
  }

  /** Failed attempts that only the generator's clock says failed (timeouts), and those the target answered or refused. */
  get clockOnly(): number {
    return this.failures.timeout ?? 0;
  }

  /** Latency percentile from intended start, in ms. */
  latencyMs(p: number): number {
    return this.percentile('latency', p);
  }

  serviceMs(p: number): number {
    return this.percentile('service', p);
  }

  /** Percentile `p` of a histogram, ms; the usual ones remembered where no sample changes the bucket any more. */
  private percentile(kind: 'latency' | 'service', p: number): number {
    const usual = USUAL_PERCENTILES.indexOf(p);
    if (usual < 0 || (!this.frozen && !this.parts)) return percentileMs(this.histogram(kind), p);
    const from = kind === 'latency' ? 0 : USUAL_PERCENTILES.length;
    const memo = (this.memo ??= new Float64Array(2 * USUAL_PERCENTILES.length).fill(Number.NaN));
    if (Number.isNaN(memo[from]!)) {
      const h = this.histogram(kind);
      for (const [i, q] of USUAL_PERCENTILES.entries()) memo[from + i] = percentileMs(h, q);
    }
    return memo[from + usual]!;
  }

  /**
   * Percentile `p` of latency (or of service time) with the attempts the run stopped counted at what they had
   * waited, ms: a lower bound, since each of those would have waited longer still.
   */
  withWaitedMs(p: number, of: 'latency' | 'service'): number {
    if (!this.waited) return this.percentile(of, p);
    const h = newHistogram();
    h.add(this.histogram(of));
    h.add(this.waited);
    return percentileMs(h, p);
  }

  /** Attempts the run stopped after they had waited more than `ms`. */
  waitedOver(ms: number): number {
    return this.waited ? countOver(this.waited, ms * US_PER_MS) : 0;
  }

  toJSON(): StepSecondJson {
    return {
      attempts: this.attempts, ok: this.ok, aborted: this.aborted, failures: this.failures,
      ...(this.generator ? { generator: this.generator } : {}), ...(this.entries ? { entries: this.entries } : {}),
      ...(this.frozen ?? { latency: hdr.encodeIntoCompressedBase64(this.histogram('latency')), service: hdr.encodeIntoCompressedBase64(this.histogram('service')) }),
      ...(this.waited ? { waited: hdr.encodeIntoCompressedBase64(this.waited) } : {}),
    };
  }

  static fromJSON(j: StepSecondJson): StepSecond {
    const b = new StepSecond();
    b.attempts = j.attempts;
    b.ok = j.ok;
    b.aborted = j.aborted;
    b.generator = j.generator ?? 0;
    b.entries = j.entries ?? 0;
    b.failures = { ...j.failures };
    b.frozen = { latency: j.latency, service: j.service };
    if (j.waited) (b.waited = newHistogram()).add(hdr.decodeFromCompressedBase64(j.waited, 32, false));
    return b;
  }
}

export interface StepSecondJson {
  attempts: number;
  ok: number;
  aborted: number;
  generator?: number;
  entries?: number;
  failures: Record<string, number>;
  /** HdrHistogram compressed base64 (V2), µs. */
  latency: string;
  service: string;
  /** The attempts the run stopped: how long each had waited, µs (absent when none). */
  waited?: string;
}

/** Participants as whole journeys: who got in, how fast, and who did not. Mergeable counts. */
export interface JourneyCounts {
  /** Participants that made at least one attempt. */
  arrived: number;
  /** Participants whose journey goal step succeeded. */
  joined: number;
  /** Joined, but later than the scenario's join objective after their arrival. */
  joinedLate: number;
  /** Attempts of the journey goal step (each retry counts). */
  goalAttempts: number;
  /** Not joined, and their last attempt failed: they never got in. The rest of those not joined were cut off by the run's end. */
  failedNotJoined: number;
  /** Journeys begun, retries included (0 in series from before journeys were counted). */
  journeys: number;
}

/**
 * What happened in one second of the run by the clock, not by intended start: attempts that ended in it (answered
 * by the target or not), successes by the second they completed, attempts begun and ended (in flight), holds
 * begun and lost. Mergeable by summing.
 */
export interface EndSecond {
  /** Attempts ending in this second with an answer from the target (ok, any HTTP status, an unexpected answer). */
  answered: number;
  /** Attempts ending in this second without one, by kind: refused, reset, timeout, dns, tls. */
  unanswered: Record<string, number>;
  /** When the first of each kind ended, ms from the run start. */
  firstMs: Record<string, number>;
  /** For the timeouts among them: when the earliest of them was sent, ms from the run start (the target kept silent from then). */
  firstSentMs?: number;
  /** Attempts ending in this second that the generator could not make (out of ports, files, buffers). */
  generator?: number;
  /** Successful attempts by step key, counted in the second they completed. */
  done: Record<string, number>;
  /** Per layer: attempts begun minus attempts ended in this second (held steps' heartbeats apart). */
  flight: Partial<Record<Layer, number>>;
  /** Per layer: holds begun in this second. */
  held: Partial<Record<Layer, number>>;
  /** Per layer: holds that ended in this second, lost or left as planned. */
  released: Partial<Record<Layer, number>>;
}

const newEndSecond = (): EndSecond => ({ answered: 0, unanswered: {}, firstMs: {}, done: {}, flight: {}, held: {}, released: {} });

function addTo<K extends string>(r: Partial<Record<K, number>>, k: K, n: number): void {
  r[k] = (r[k] ?? 0) + n;
}

export interface SeriesJson {
  /** Declared steps in journey order. */
  steps: StepDecl[];
  /** Second index from run start → step key → bucket. */
  seconds: Record<string, Record<string, StepSecondJson>>;
  journeys?: JourneyCounts & { timeToJoin: string; newUsers?: Record<string, number> };
  /** What the journey's code threw (script_error samples), by message. */
  scriptErrors?: Record<string, number>;
  /** Connections firstbell refused (not_allowed samples): to which address, by message. */
  notAllowed?: Record<string, number>;
  /** The generator's own failures (generator samples), by step and system error code. */
  generatorErrors?: Record<string, number>;
  /** True when the samples said where each journey entered each layer (StepSecond.entries, journeys); absent in older series. */
  entries?: boolean;
  /** Second index by the clock → what ended, completed, began and was held then. */
  clock?: Record<string, EndSecond>;
}

/**
 * Seconds after which a second of the series is cold: by then most of its attempts have ended, and a later one (a
 * timeout, a slow answer) thaws its bucket until the next second begins.
 */
const COLD_AFTER_S = 10;

/** Distinct script error messages kept; the rest count under one line. */
const SCRIPT_ERROR_KINDS = 20;

/** Counts a message, up to SCRIPT_ERROR_KINDS distinct ones; the rest under one line. */
function countMessage(m: Map<string, number>, message: string, n = 1): void {
  const key = m.has(message) || m.size < SCRIPT_ERROR_KINDS ? message : '(other messages)';
  m.set(key, (m.get(key) ?? 0) + n);
}

/** A participant's journey as its samples tell it: none seen yet, under way (its last attempt ok or failed), joined. */
const UNSEEN = 0;
const PENDING = 1;
const FAILED = 2;
const JOINED = 3;
/** Participant numbers below this are kept in arrays indexed by the number (a run numbers them from 0); any other in a map. */
const DENSE_USERS = 1 << 24;

/** Each participant's journey state and arrival, ms: 9 bytes a participant where the numbers are a run's own. */
class UserStates {
  private states = new Uint8Array(0);
  private arrivals = new Float64Array(0);
  private readonly others = new Map<number, { state: number; arrival: number }>();

  /** Whether `user` is kept in the arrays: a whole number from 0, below DENSE_USERS. */
  private static dense(user: number): boolean {
    return Number.isInteger(user) && user >= 0 && user < DENSE_USERS;
  }

  state(user: number): number {
    if (!UserStates.dense(user)) return this.others.get(user)?.state ?? UNSEEN;
    return user < this.states.length ? this.states[user]! : UNSEEN;
  }

  arrival(user: number): number {
    if (!UserStates.dense(user)) return this.others.get(user)?.arrival ?? 0;
    return user < this.arrivals.length ? this.arrivals[user]! : 0;
  }

  set(user: number, state: number, arrival: number): void {
    if (!UserStates.dense(user)) return void this.others.set(user, { state, arrival });
    if (user >= this.states.length) this.grow(user);
    this.states[user] = state;
    this.arrivals[user] = arrival;
  }

  private grow(user: number): void {
    let n = Math.max(1_024, this.states.length);
    while (n <= user) n *= 2;
    const states = new Uint8Array(n);
    states.set(this.states);
    const arrivals = new Float64Array(n);
    arrivals.set(this.arrivals);
    [this.states, this.arrivals] = [states, arrivals];
  }
}

/** Merges the buckets of `keys` in one second (`sec`, if it has any) into `out`. */
function mergeInto(out: StepSecond, sec: Map<string, StepSecond> | undefined, keys: readonly string[]): void {
  if (!sec) return;
  for (const k of keys) {
    const b = sec.get(k);
    if (b) out.merge(b);
  }
}

/** What `merged` gives for a second where no bucket matches: read only, like all it gives. */
const NO_ATTEMPTS = new StepSecond();

export class Series {
  readonly steps: StepDecl[] = [];
  readonly seconds = new Map<number, Map<string, StepSecond>>();
  readonly journeys: JourneyCounts = { arrived: 0, joined: 0, joinedLate: 0, goalAttempts: 0, failedNotJoined: 0, journeys: 0 };
  /** Time from arrival to joining, µs. */
  readonly timeToJoin = newHistogram();
  /** Participants seen for the first time, by second of their first intended start (distinct users, unlike attempts). */
  readonly newUsers = new Map<number, number>();
  /** What the journey's code threw, by message: its script_error samples. */
  readonly scriptErrors = new Map<string, number>();
  /** Connections refused by the allow-list, by message: its not_allowed samples. */
  readonly notAllowed = new Map<string, number>();
  /** The generator's own failures, by step and system error code: its generator samples. */
  readonly generatorErrors = new Map<string, number>();
  /** True once a sample said where its journey entered its layer: offered load and journeys come from those marks. */
  entries = false;
  /** By the clock: per second, what ended, completed, began and was held then. */
  readonly clock = new Map<number, EndSecond>();
  /** Where each participant's journey stands, and its arrival (ingest state, not serialised). */
  private readonly users = new UserStates();
  private goalKey?: string;
  private browserKeys = new Set<string>();
  private heldKeys = new Set<string>();
  /** Keys of the declared steps, by layer and step: a sample finds its key without building a string. */
  private keys = new Map<string, Map<string, string>>();
  /** The latest second a sample was intended in; seconds before `coldBelow` are kept frozen (see StepSecond.freeze). */
  private newest = -1;
  private coldBelow = 0;
  /** Buckets of cold seconds that a late sample thawed: frozen again when the next second begins. */
  private thawed = new Set<StepSecond>();
  /** Views of several buckets of a cold second (see merged), by second and the steps they take in. */
  private views = new Map<number, Map<string, StepSecond>>();
  /** Per set of steps (see total): their buckets of the cold seconds below `upTo` merged. */
  private coldTotals = new Map<string, { upTo: number; keys: ReadonlySet<string>; sum: StepSecond }>();

  /** joinWithinMs: a participant joining later than this after arriving counts as joined late. */
  constructor(steps: StepDecl[] = [], private joinWithinMs = Number.POSITIVE_INFINITY) {
    for (const s of steps) this.declare(s);
  }

  /** The key of a step, declaring it when it is new. */
  private keyOf(layer: Layer, step: string): string {
    let byStep = this.keys.get(layer);
    if (!byStep) this.keys.set(layer, (byStep = new Map()));
    let key = byStep.get(step);
    if (key === undefined) {
      this.declare({ layer, step });
      key = byStep.get(step)!;
    }
    return key;
  }

  declare(s: StepDecl): void {
    if (!this.steps.some((d) => d.layer === s.layer && d.step === s.step)) this.steps.push(s);
    let byStep = this.keys.get(s.layer);
    if (!byStep) this.keys.set(s.layer, (byStep = new Map()));
    if (!byStep.has(s.step)) byStep.set(s.step, stepKey(s.layer, s.step));
    if (s.goal === 'journey') this.goalKey = stepKey(s.layer, s.step);
    if (s.browser) this.browserKeys.add(stepKey(s.layer, s.step));
    if (s.held) this.heldKeys.add(stepKey(s.layer, s.step));
  }

  private markHeld(layer: Layer, step: string, key: string): void {
    this.heldKeys.add(key);
    const d = this.steps.find((x) => x.layer === layer && x.step === step);
    if (d && !d.browser) d.held = true;
  }

  /** The clock second `sec`'s record. */
  at(sec: number): EndSecond {
    let e = this.clock.get(sec);
    if (!e) this.clock.set(sec, (e = newEndSecond()));
    return e;
  }

  /** Records a sample by the clock: when it began and ended, whether the target answered, a hold begun or lost. */
  private onClock(s: Sample, key: string): void {
    if (this.browserKeys.has(key)) return;
    const end = this.at(Math.max(0, Math.floor(s.endMs / 1000)));
    if (isHoldEvent(s.outcome)) {
      addTo(s.outcome === 'held' ? end.held : end.released, s.layer, 1);
      // A step held on is a heartbeat step, whether or not the target declared it so.
      if (s.outcome === 'held' && !this.heldKeys.has(key)) this.markHeld(s.layer, s.step, key);
      return;
    }
    if (s.outcome === 'generator') end.generator = (end.generator ?? 0) + 1;
    if (NOT_THE_TARGETS.has(s.outcome)) return;
    if (s.outcome === 'ok') end.done[key] = (end.done[key] ?? 0) + 1;
    if (UNANSWERED.has(s.outcome)) {
      end.unanswered[s.outcome] = (end.unanswered[s.outcome] ?? 0) + 1;
      end.firstMs[s.outcome] = Math.min(end.firstMs[s.outcome] ?? s.endMs, s.endMs);
      if (s.outcome === 'timeout') end.firstSentMs = Math.min(end.firstSentMs ?? s.startMs, s.startMs);
    } else if (s.outcome !== 'error') end.answered++;
    if (this.heldKeys.has(key)) return;
    addTo(end.flight, s.layer, -1);
    addTo(this.at(Math.max(0, Math.floor(s.startMs / 1000))).flight, s.layer, 1);
  }

  /** Tracks whole journeys; samples of one participant arrive in journey order. */
  private follow(s: Sample, key: string): void {
    if (this.browserKeys.has(key)) return;
    if (s.entry === 2) this.journeys.journeys++;
    const was = this.goalKey ? this.users.state(s.user) : JOINED;
    if (was === JOINED) {
      if (this.goalKey && key === this.goalKey && s.outcome !== 'aborted') this.journeys.goalAttempts++;
      return;
    }
    let arrival: number;
    if (was === UNSEEN) {
      arrival = s.intendedMs;
      this.journeys.arrived++;
      const sec = Math.max(0, Math.floor(s.intendedMs / 1000));
      this.newUsers.set(sec, (this.newUsers.get(sec) ?? 0) + 1);
    } else arrival = this.users.arrival(s.user);
    const isGoal = key === this.goalKey;
    if (isGoal && s.outcome !== 'aborted') this.journeys.goalAttempts++;
    const failed = s.outcome !== 'ok' && s.outcome !== 'aborted';
    if (failed !== (was === FAILED)) this.journeys.failedNotJoined += failed ? 1 : -1;
    if (!isGoal || s.outcome !== 'ok') return this.users.set(s.user, failed ? FAILED : PENDING, arrival);
    this.journeys.joined++;
    if (s.endMs - arrival > this.joinWithinMs) this.journeys.joinedLate++;
    this.timeToJoin.recordValue(Math.max(1, Math.round((s.endMs - arrival) * US_PER_MS)));
    this.users.set(s.user, JOINED, arrival);
  }

  bucket(second: number, key: string): StepSecond {
    let sec = this.seconds.get(second);
    if (!sec) this.seconds.set(second, (sec = new Map()));
    let b = sec.get(key);
    if (!b) sec.set(key, (b = new StepSecond()));
    if (second < this.coldBelow) {
      this.thawed.add(b);
      this.views.delete(second);
    }
    return b;
  }

  /**
   * A sample intended in `second` arrived: when it is the first of a new second, the seconds COLD_AFTER_S before it
   * are frozen, so that a long run's series grows by a few hundred bytes a step-second rather than 18 KB.
   */
  private advance(second: number): void {
    if (second <= this.newest) return;
    this.newest = second;
    for (const b of this.thawed) b.freeze();
    this.thawed.clear();
    const below = second - COLD_AFTER_S;
    for (let t = this.coldBelow; t < below; t++) for (const b of this.seconds.get(t)?.values() ?? []) b.freeze();
    this.coldBelow = Math.max(this.coldBelow, below);
  }

  private countScriptError(message: string, n = 1): void {
    countMessage(this.scriptErrors, message, n);
  }

  add(s: Sample): void {
    if (s.entry !== undefined) this.entries = true;
    if (s.outcome === 'script_error') this.countScriptError(`${s.layer}.${s.step}: ${s.error ?? 'no message'}`);
    else if (s.outcome === 'not_allowed') countMessage(this.notAllowed, `${s.layer}.${s.step}: ${s.error ?? 'an address outside the allow-list'}`);
    else if (s.outcome === 'generator') countMessage(this.generatorErrors, `${s.layer}.${s.step}: ${s.error ?? 'a local resource ran out'}`);
    const key = this.keyOf(s.layer, s.step);
    this.onClock(s, key);
    if (isHoldEvent(s.outcome)) return;
    this.follow(s, key);
    const second = Math.max(0, Math.floor(s.intendedMs / 1000));
    this.advance(second);
    this.bucket(second, key).add(s);
    if (second < this.coldBelow) for (const c of this.coldTotals.values()) if (c.upTo > second && c.keys.has(key)) c.sum.add(s);
  }

  merge(o: Series): void {
    for (const d of o.steps) {
      this.declare(d);
      if (d.held) this.markHeld(d.layer, d.step, stepKey(d.layer, d.step));
    }
    for (const k of Object.keys(this.journeys) as (keyof JourneyCounts)[]) this.journeys[k] += o.journeys[k];
    this.timeToJoin.add(o.timeToJoin);
    for (const [sec, n] of o.newUsers) this.newUsers.set(sec, (this.newUsers.get(sec) ?? 0) + n);
    for (const [m, n] of o.scriptErrors) this.countScriptError(m, n);
    for (const [m, n] of o.notAllowed) countMessage(this.notAllowed, m, n);
    for (const [m, n] of o.generatorErrors) countMessage(this.generatorErrors, m, n);
    this.entries ||= o.entries;
    this.views.clear();
    this.coldTotals.clear();
    for (const [sec, m] of o.seconds) for (const [k, b] of m) this.bucket(sec, k).merge(b);
    for (const [sec, e] of o.clock) this.mergeClock(sec, e);
  }

  private mergeClock(sec: number, e: EndSecond): void {
    const x = this.at(sec);
    x.answered += e.answered;
    for (const [k, n] of Object.entries(e.unanswered)) addTo(x.unanswered, k, n);
    for (const [k, ms] of Object.entries(e.firstMs ?? {})) x.firstMs[k] = Math.min(x.firstMs[k] ?? ms, ms);
    if (e.firstSentMs !== undefined) x.firstSentMs = Math.min(x.firstSentMs ?? e.firstSentMs, e.firstSentMs);
    if (e.generator) x.generator = (x.generator ?? 0) + e.generator;
    for (const [k, n] of Object.entries(e.done)) addTo(x.done, k, n);
    for (const [k, n] of Object.entries(e.flight) as [Layer, number][]) addTo(x.flight, k, n);
    for (const [k, n] of Object.entries(e.held) as [Layer, number][]) addTo(x.held, k, n);
    for (const [k, n] of Object.entries(e.released ?? {}) as [Layer, number][]) addTo(x.released, k, n);
  }

  /** Successes of a step completed in clock second `sec`. */
  done(sec: number, d: StepDecl): number {
    return this.clock.get(sec)?.done[declKey(d)] ?? 0;
  }

  /**
   * Per second 0..last, at the second's end: participants holding a connection on `layer` (or on any layer), and
   * attempts of its steps under way.
   */
  concurrency(last: number, layer?: Layer): { held: number[]; inFlight: number[] } {
    const held: number[] = [];
    const inFlight: number[] = [];
    let h = 0;
    let f = 0;
    for (let sec = 0; sec <= last; sec++) {
      const e = this.clock.get(sec);
      for (const l of layer ? [layer] : LAYERS) {
        h += (e?.held[l] ?? 0) - (e?.released[l] ?? 0);
        f += e?.flight[l] ?? 0;
      }
      held.push(h);
      inFlight.push(f);
    }
    return { held, inFlight };
  }

  /** Last second that holds any bucket, or -1. */
  get lastSecond(): number {
    return maxOf(this.seconds.keys(), -1);
  }

  /** The keys of the declared steps that `filter` takes, in declaration order, and one string that names the set. */
  private chosen(filter: (d: StepDecl) => boolean): { keys: string[]; name: string } {
    const keys: string[] = [];
    let name = '';
    for (const [i, d] of this.steps.entries()) {
      if (!filter(d)) continue;
      keys.push(declKey(d));
      name += `${i},`;
    }
    return { keys, name };
  }

  /**
   * All buckets of one step (or of every step of a layer) merged into one, for a second. Read only: where one bucket
   * matches, it is that bucket itself, where none does, an empty one shared by all, and where several do in a cold
   * second, a view of them kept for the next reading (an analysis asks for every second of the run several times, a
   * live page at every update; a new bucket each time made most of its cost).
   */
  merged(second: number, filter: (d: StepDecl) => boolean): StepSecond {
    const sec = this.seconds.get(second);
    if (!sec) return NO_ATTEMPTS;
    let one: StepSecond | undefined;
    let parts: StepSecond[] | undefined;
    for (const d of this.steps) {
      const b = filter(d) ? sec.get(declKey(d)) : undefined;
      if (!b) continue;
      if (!one) one = b;
      else (parts ??= [one]).push(b);
    }
    if (!parts) return one ?? NO_ATTEMPTS;
    if (second >= this.coldBelow) {
      const out = new StepSecond();
      for (const b of parts) out.merge(b);
      return out;
    }
    const { name } = this.chosen(filter);
    let views = this.views.get(second);
    if (!views) this.views.set(second, (views = new Map()));
    let v = views.get(name);
    if (!v) views.set(name, (v = StepSecond.view(parts)));
    return v;
  }

  /**
   * A step's buckets over the whole run merged into one (a new bucket, the caller's own). The cold seconds' part is
   * kept per set of steps and grows by the seconds that turned cold since: a judgement made again and again (a live
   * page's) reads each second into it once.
   */
  total(filter: (d: StepDecl) => boolean): StepSecond {
    const { keys, name } = this.chosen(filter);
    let c = this.coldTotals.get(name);
    if (!c) this.coldTotals.set(name, (c = { upTo: 0, keys: new Set(keys), sum: new StepSecond() }));
    for (; c.upTo < this.coldBelow; c.upTo++) mergeInto(c.sum, this.seconds.get(c.upTo), keys);
    const out = new StepSecond();
    out.merge(c.sum);
    for (const [second, sec] of this.seconds) if (second >= this.coldBelow) mergeInto(out, sec, keys);
    return out;
  }

  /**
   * Encodes again every cold second that holds decoded histograms (one a late attempt came to), keeping the
   * percentiles read: a series that is judged again and again (the live page's) then holds a few hundred bytes a
   * cold step-second however long the run.
   */
  compact(): void {
    for (let t = 0; t < this.coldBelow; t++) for (const b of this.seconds.get(t)?.values() ?? []) if (!b.isFrozen) b.freeze();
  }

  toJSON(): SeriesJson {
    const seconds: SeriesJson['seconds'] = {};
    for (const [sec, m] of this.jsonSeconds()) seconds[sec] = m;
    return { ...this.jsonHead(), seconds };
  }

  /**
   * Each second's buckets as series.json holds them, in order, one at a time: a long run's seconds are written and
   * handed on in pieces, never as one string (V8's strings end at 512 MB, about a million step-seconds).
   */
  *jsonSeconds(): Generator<[number, Record<string, StepSecondJson>]> {
    for (const [sec, m] of [...this.seconds].sort((a, b) => a[0] - b[0])) yield [sec, Object.fromEntries([...m].map(([k, b]) => [k, b.toJSON()]))];
  }

  /** The seconds of jsonSeconds gathered in parts of about `stepSeconds` buckets each (a second is never split). */
  *jsonSecondParts(stepSeconds: number): Generator<SeriesJson['seconds']> {
    let part: SeriesJson['seconds'] = {};
    let n = 0;
    for (const [sec, buckets] of this.jsonSeconds()) {
      part[sec] = buckets;
      n += Object.keys(buckets).length;
      if (n < stepSeconds) continue;
      yield part;
      part = {};
      n = 0;
    }
    if (n) yield part;
  }

  /** Everything of series.json but its seconds (see jsonSeconds). */
  jsonHead(): Omit<SeriesJson, 'seconds'> {
    const order = (d: StepDecl) => LAYERS.indexOf(d.layer);
    return {
      steps: [...this.steps].sort((a, b) => order(a) - order(b)),
      journeys: { ...this.journeys, timeToJoin: hdr.encodeIntoCompressedBase64(this.timeToJoin), newUsers: Object.fromEntries(this.newUsers) },
      ...(this.scriptErrors.size ? { scriptErrors: Object.fromEntries(this.scriptErrors) } : {}),
      ...(this.notAllowed.size ? { notAllowed: Object.fromEntries(this.notAllowed) } : {}),
      ...(this.generatorErrors.size ? { generatorErrors: Object.fromEntries(this.generatorErrors) } : {}),
      ...(this.entries ? { entries: true } : {}),
      clock: Object.fromEntries([...this.clock].sort((a, b) => a[0] - b[0])),
    };
  }

  static fromJSON(j: SeriesJson): Series {
    const s = new Series(j.steps);
    if (j.journeys) {
      const { timeToJoin, newUsers, ...counts } = j.journeys;
      Object.assign(s.journeys, counts);
      // Series from before journeys were counted have none.
      s.journeys.journeys = (counts as Partial<JourneyCounts>).journeys ?? 0;
      for (const [sec, n] of Object.entries(newUsers ?? {})) s.newUsers.set(Number(sec), n);
      s.timeToJoin.add(hdr.decodeFromCompressedBase64(timeToJoin, 32, false));
    }
    // Each second's buckets as they were written, still encoded.
    for (const [sec, m] of Object.entries(j.seconds)) s.seconds.set(Number(sec), new Map(Object.entries(m).map(([k, b]) => [k, StepSecond.fromJSON(b)])));
    // A finished run's seconds are all cold: read, they are decoded once and kept in the views and totals.
    s.newest = s.lastSecond;
    s.coldBelow = s.newest + 1;
    for (const [m, n] of Object.entries(j.scriptErrors ?? {})) s.countScriptError(m, n);
    for (const [m, n] of Object.entries(j.notAllowed ?? {})) countMessage(s.notAllowed, m, n);
    for (const [m, n] of Object.entries(j.generatorErrors ?? {})) countMessage(s.generatorErrors, m, n);
    s.entries = j.entries === true;
    for (const [sec, e] of Object.entries(j.clock ?? {})) s.mergeClock(Number(sec), e);
    return s;
  }
}
