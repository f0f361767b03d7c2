// The result model of an analysis: every output (report, summary, junit, comparison) is built from these.
import type { Layer, LayerObjective } from '../scenarios/model.js';
import type { BrowserJourney, BrowserSecond, FaultRecord, MediaSecond } from '../run-folder/records.js';
import type { HealthSecond, RunInfo, WatchData } from '../run-folder/run-folder.js';
import type { ConnectionLimit, TargetDown } from './findings.js';

export type { ConnectionLimit, TargetDown } from './findings.js';

/** A second counts towards a verdict only with at least this many ended attempts of a step. */
export const MIN_ATTEMPTS_PER_SECOND = 5;
/** A break point needs this many consecutive violating seconds. */
export const SUSTAIN_SECONDS = 2;
/** Capacity is the highest completion rate the layer held in every one of this many consecutive seconds. */
export const CAPACITY_SECONDS = 2;
/** A window is saturated when more than this multiple of what completed in it was offered (or the objective broke in it). */
export const SATURATED_OFFERED = 1.1;
/** A layer that broke at no more than this multiple of its best completion rate was saturated there (a collapse). */
export const CAPACITY_PINNED = 1.25;
/** Windows within this share of the best completion rate count as reaching it. */
export const CAPACITY_NEAR = 0.85;
/** A connection limit needs the held count to stand still while connects fail for this many seconds. */
export const LIMIT_SECONDS = 3;
/** The knee: the first of this many seconds in which the layer served less than KNEE_SHARE of what was offered. */
export const KNEE_SECONDS = 2;
/** What is offered in a second is set against what completed this many seconds later. */
export const KNEE_LAG_SECONDS = 1;
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
  /** The platform's watched signals that reached a limit of their own just before (--watch), in words. */
  signals?: string[];
  /** That second as a clock time, e.g. "08:00:02". */
  clock: string;
  /** Participants per second offered to the layer (attempts of its first step) in that second. */
  offeredPerSec: number;
  /** The step that violated first and how. */
  step: string;
  reason: 'error rate' | 'p95 latency';
  errorRate: number;
  p95Ms: number;
  /**
   * True when the p95 is a lower bound: attempts the run stopped, still unanswered, count at what they had waited
   * (each would have waited longer still).
   */
  p95AtLeast?: boolean;
  /** Attempts of the layer from the break on that the run's end stopped after they had waited longer than the objective's p95, unanswered. */
  unanswered: number;
  /** Participants connected when it broke (holding a connection, or with an attempt under way), at the break second's end. */
  concurrency: number;
  /** Of those, participants holding a connection. */
  held: number;
  /** What users saw in the break second itself, most common first. */
  symptomsAtBreak: Symptom[];
  /** What users saw over the whole broken window, most common first. */
  symptoms: Symptom[];
  /** Failed attempts while it was broken. */
  failedAttempts: number;
  /**
   * True when the generator was the bottleneck in the break second: its late sends reached the target together, a
   * burst the plan did not have, so the break may be of the generator's making as much as the target's.
   */
  generatorBehind: boolean;
  /** Seconds from the break until its recovery began, or until the layer's load ended when it did not recover. */
  brokenForSec: number;
  /**
   * True only when the layer met its objective again under load: at least RECOVERY_ATTEMPTS attempts over at least
   * RECOVERY_SECONDS seconds, every second of them meeting it. False: not recovered by the end of the run.
   */
  recovered: boolean;
  /** Run second at which the recovery began, when it did. */
  recoveredAtSecond?: number;
  /** Seconds from the end of the burst's arrival window until the broken window ended (0: before it). */
  recoveryAfterBurstSec: number;
}

/** The layer's capacity: the highest rate of participants through it, by the second they completed, held for CAPACITY_SECONDS. */
export interface Capacity {
  perSec: number;
  /** True when the layer was never saturated near this rate: its real capacity is at least this. */
  lowerBound: boolean;
  /** First second of the window in which it was held. */
  second: number;
  /**
   * What held it there: the target (more was offered than it completed, or its objective broke), the generator
   * (firstbell itself could not send more in those seconds), or the load (the scenario offered no more).
   */
  limitedBy: 'target' | 'generator' | 'load';
  /** The platform's watched signals that reached a limit of their own there (--watch), in words. */
  signals?: string[];
}

/** Where the layer stopped serving all that was offered. */
export interface Knee {
  second: number;
  clock: string;
  offeredPerSec: number;
  goodputPerSec: number;
}

/**
 * How a layer fared, in the one word every output (headline, card, terminal, summary.json, junit.xml) uses:
 * - broke: its objective was violated for SUSTAIN_SECONDS judged seconds in a row (see `breakPoint`);
 * - missed: it never broke so, but more of its attempts failed over the run than its objective allows, or it
 *   refused new connections at a limit (`connectionLimit`);
 * - down: the target went down while the layer had attempts, before it broke;
 * - unclear: what failed beyond its objective failed only by the generator's clock (timeouts) in seconds in which
 *   the generator was the bottleneck: it could not be told apart from the generator stalling;
 * - not-judged: no second had enough attempts of one of its steps;
 * - met: judged, and none of the above.
 */
export type LayerState = 'broke' | 'missed' | 'down' | 'unclear' | 'not-judged' | 'met';

export interface LayerResult {
  layer: Layer;
  state: LayerState;
  objective: LayerObjective;
  /** Unit of offered load, e.g. "joins/s". */
  unit: string;
  attempts: number;
  failed: number;
  /**
   * Share of its attempts that failed over the run, 0..1, counting what the target said (statuses, closes,
   * refusals, resets) everywhere and timeouts only in seconds in which the generator kept up.
   */
  failedShare: number;
  /** Its timeouts in seconds in which the generator was the bottleneck: no evidence either way. */
  timeoutsWhileGeneratorBound: number;
  /**
   * Its failures the target answered (statuses, closes, refusals, resets) in seconds in which the generator was the
   * bottleneck: evidence, but of load the generator may have bunched together.
   */
  failedWhileGeneratorBound: number;
  /** False when the layer saw too few attempts to judge. */
  judged: boolean;
  /** True when `state` is 'met'. */
  met: boolean;
  peakOfferedPerSec: number;
  /** Highest count of participants through the layer (its goal step ok) in one second. */
  peakGoodputPerSec: number;
  /** Most participants holding a connection on the layer at a second's end. */
  peakHeld: number;
  /**
   * Its attempts that the run's end stopped after they had waited longer than its objective's p95 with no answer
   * (where the generator kept up from their second to the end): over the objective, though never ended.
   */
  unanswered: number;
  capacity?: Capacity;
  knee?: Knee;
  breakPoint?: BreakPoint;
  /** New connections refused at a stable count of held participants: a connection limit, not a rate. */
  connectionLimit?: ConnectionLimit;
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

/** One bell of a timetable, judged on its own: from its ring to the next bell's. */
export interface BellResult {
  /** Its time of day, "HH:MM". */
  clock: string;
  /** Run second it rings at (the earliest school's clock). */
  second: number;
  /** Pupils due at it in this run, and their classes. */
  participants: number;
  classes: number;
  /** broke: a layer's objective was violated for two judged seconds in a row from this bell until the next; not-judged: no layer had a judged second then. */
  verdict: 'met' | 'broke' | 'not-judged';
  /** The layers that broke at this bell, with when and at what offered load. */
  broken: { layer: Layer; clock: string; offeredPerSec: number }[];
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
  /** Participants through the layer per second (goal step ok), by intended start. */
  goodput: number[];
  /** Participants through the layer per second by the second they completed: what the layer served. */
  served: number[];
  /** Attempts of the steps that bring participants in (heartbeats apart), by outcome. */
  ok: number[];
  failed: number[];
  /** Their failed attempts per second by kind. */
  failures: Record<string, number[]>;
  /** Heartbeats on held connections per second, answered and failed. */
  beats: number[];
  beatsFailed: number[];
  /** Participants holding a connection on the layer, and its attempts under way, at each second's end. */
  held: number[];
  inFlight: number[];
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
  /**
   * Seconds in which firstbell itself was the bottleneck (its health over a limit, a dropped arrival, or a failure of
   * its own): there only what the target answered counts, never its timeouts or latency.
   */
  suspectSeconds: number[];
  /** Attempts that failed on the generator's machine (out of local ports, files, buffers), by step and error code: never the target's. */
  ownFailures: { message: string; count: number }[];
  /**
   * Set when the load was not the plan, so the run confirms nothing: another engine (k6) left more than
   * SHORTFALL_SHARE of the planned arrivals unsent, or shards of a merged run are missing or did not finish (`shards`
   * names them).
   */
  shortfall?: { planned: number; dropped: number; unsent: number; share: number; shards?: string };
  note: string;
}

/** One layer's threshold of an exported k6 script (p95 and error rate over the whole run), judged on every runner's samples together. */
export interface K6Threshold {
  layer: Layer;
  p95Ms: number;
  p95Limit: number;
  errorRate: number;
  errorLimit: number;
  passed: boolean;
}

/** Of the planned arrivals, the share another engine may leave unsent before its run confirms nothing. */
export const SHORTFALL_SHARE = 0.01;

export interface Analysis {
  run: RunInfo;
  /**
   * passed: every judged layer met its objective, participants got through and the generator kept up; failed: a
   * layer broke, the target went down, no participant got through, or (results of k6) a threshold of the script
   * failed; generator-bound: no layer broke in the
   * seconds that count, but firstbell itself could not keep up in some; not-judged: no layer of the journey saw
   * enough attempts to judge.
   */
  verdict: 'passed' | 'failed' | 'not-judged' | 'generator-bound';
  passed: boolean;
  users: Users;
  headline: string;
  /** Results of k6: the script's thresholds on the layers that had attempts, judged on every runner's samples together. */
  k6Thresholds?: K6Threshold[];
  /** The layers the journey has (a layer without protocol steps is left out). */
  layers: LayerResult[];
  /** The target stopped answering at its address during the run. */
  targetDown?: TargetDown;
  /**
   * Nothing came back from the target for a while, but only the generator's clock says so and the generator was the
   * bottleneck then (`generatorSeconds`, first and last): it could not be told apart from the generator stalling.
   */
  silence?: TargetDown & { generatorSeconds: [number, number] };
  /** A timetable's bells, each judged on its own. */
  bells?: BellResult[];
  steps: StepRow[];
  timeline: {
    seconds: number[]; clocks: string[]; firstBellSecond: number; layers: Record<Layer, LayerTimeline>; suspectSeconds: number[];
    /** Distinct participants arriving per second (their first attempt), beside attempts offered. */
    newUsers: number[];
    /** Participants holding a connection on any layer, and attempts under way, at each second's end. */
    held: number[];
    inFlight: number[];
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
  /** Connections firstbell refused because their address is outside the allow-list (not_allowed samples), by step and address. */
  notAllowed: { message: string; count: number }[];
  /** The platform's own signals (--watch): the sources watched and what went wrong reading them. */
  watch?: { sources: { name: string; source: string; columns: string[] }[]; failures: string[]; data: WatchData };
  /** A run judged while it goes (the live page): its seconds up to `second` only, the rest not yet run. */
  live?: { second: number; plannedEndSecond: number };
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
  /** The same over every journey; what is shown where the scenario has no first bell (a constant rate, a ramp). */
  all: { joinMs: number | null; firstFrameMs: number | null; journeys: number };
  /** Whether the scenario rings a first bell (a phase with its curve): only then are "before" and "burst" shown. */
  bells: boolean;
  /** Over every second in a conference: mean received fps, total freezes, total packets lost. */
  meanFps: number | null;
  freezes: number;
  packetsLost: number;
  /** The worst failure the browser users met, as they saw it. */
  errors: { message: string; count: number }[];
  /**
   * The browser's processes on this machine (when firstbell started the browser): CPU in % of one core, memory,
   * the seconds in which the whole machine was busy, and whether it was the limit of the browser users' figures.
   */
  resources?: {
    meanCpuPct: number;
    peakCpuPct: number;
    peakRssMb: number;
    peakProcesses: number;
    busySeconds: number;
    /** The browser's share of the machine's CPU in its busy seconds, 0..1. */
    browserShareOfBusy: number;
    machineLimited: boolean;
    seconds: BrowserSecond[];
  };
}
