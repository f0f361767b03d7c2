// The scenario model: a traffic pattern in time as plain typed data, and its validation.
import { FirstbellError } from '../lib/errors.js';

/** The three layers a platform is judged on, in the order a participant meets them. */
export const LAYERS = ['admission', 'broker', 'media'] as const;
export type Layer = (typeof LAYERS)[number];

/** What one layer must deliver, judged second by second per step. */
export interface LayerObjective {
  /** Highest share of failed attempts in one second, 0..1 (0.01 = 1 %). */
  maxErrorRate: number;
  /** Highest 95th percentile latency in one second, in ms, measured from the intended start. */
  p95Ms: number;
}

/** How arrivals are spread inside one phase. */
export type ArrivalCurve =
  /** The same rate from the start of the phase to its end. */
  | { kind: 'uniform' }
  /** A rate that rises (or falls) linearly from `fromRate` to `toRate`; only the ratio matters. */
  | { kind: 'ramp'; fromRate: number; toRate: number }
  /**
   * Synchronised clocks and a long tail: the rate rises linearly over `riseMs` (clock skew between
   * devices), then decays exponentially with half-life `halfLifeMs` (people who click later).
   */
  | { kind: 'first-bell'; riseMs: number; halfLifeMs: number };

/** One block of arrivals. Every arrival runs the target's journey and stays until the run ends. */
export interface Phase {
  /** Shown in the plan and the report, e.g. "baseline" or "burst". */
  name: string;
  /** Start relative to the first bell, in ms; negative for participants already there before it. */
  startMs: number;
  /** Length of the arrival window, in ms. */
  durationMs: number;
  /** Participants arriving in this phase, at scale 1.0. */
  participants: number;
  /** Shape of the arrival rate inside the window. */
  curve: ArrivalCurve;
  /**
   * A timetable's bell: the classes (conferences, by index) whose pupils arrive in this phase. Participants are
   * dealt to them in proportion to their pupils, and carry that class and school as their identity.
   */
  classes?: { conference: number; pupils: number }[];
  /** When the participants of this phase leave (their lesson ends), ms from the first bell; default: they stay until the run ends. */
  leaveAtMs?: number;
  /** The timetable's bell ("HH:MM") this phase's pupils come at. */
  bell?: string;
}

/** A timetable's bell: the lessons that begin at it. */
export interface Bell {
  /** When it rings, ms from the first bell. */
  atMs: number;
  /** Its time of day, "HH:MM". */
  clock: string;
  /** Pupils due at it, at scale 1.0, and the classes they are in. */
  participants: number;
  classes: number;
}

/** What a participant does after its journey failed (a failed step, or a dropped conference). */
export type RetryPolicy =
  /** Gives up at once. */
  | { kind: 'none' }
  /** Reloads the page every `everyMs` after a failure, at most `maxTries` journeys in all. */
  | { kind: 'reload'; everyMs: number; maxTries: number }
  /** Waits base × 2^(try-1), capped at maxMs, with full jitter (a random share of it), at most `maxTries` journeys in all. */
  | { kind: 'backoff'; baseMs: number; maxMs: number; maxTries: number };

/** How a participant behaves between and during steps. */
export interface ClientBehaviour {
  /** After a failed journey. Default: none. */
  retry?: RetryPolicy;
  /** Pause between two steps of a journey, in ms. Default 200. */
  thinkTimeMs: number;
  /** An attempt that has not completed after this long counts as a timeout, in ms. Default 30000. */
  stepTimeoutMs: number;
  /** Interval of the keep-alive message a held participant sends, in ms. Default 5000. */
  heartbeatMs: number;
}

/** A scheduled outage or impairment. Applied natively by a target that can, else by firstbell's fault proxy. */
export type Fault = {
  /** Start relative to the first bell, ms. */
  atMs: number;
  /** How long it lasts, ms. */
  forMs: number;
  /** Requests whose path starts with this are affected; default all. */
  pathPrefix?: string;
} & (
  /** Every affected request waits this much longer. */
  | { kind: 'latency'; addMs: number }
  /** A share of affected requests is answered with this status at once. */
  | { kind: 'errors'; status: 502 | 503 | 504; ratio: number }
  /** A share of affected connections is reset. */
  | { kind: 'reset'; ratio: number }
  /** Affected requests get no answer at all. */
  | { kind: 'blackhole' }
  /** Answers to affected requests trickle at this many bytes per second. */
  | { kind: 'bandwidth'; bytesPerSec: number }
  /** One of the platform's server farms fails: its media connections drop and new ones are refused. */
  | { kind: 'farm-down'; farm: number }
  /** The 2021 broker defect: past this many join requests per second, assignments stall for everyone (reference platform only). */
  | { kind: 'broker-defect'; threshold: number }
  /** Slow on-premises login servers: every login takes this much longer (reference platform only). */
  | { kind: 'slow-login'; addMs: number }
);

export const FAULT_KINDS = ['latency', 'errors', 'reset', 'blackhole', 'bandwidth', 'farm-down', 'broker-defect', 'slow-login'] as const;

/** The people behind the traffic; informational except where a target uses it. */
export interface Population {
  /** Schools on the platform. */
  schools: number;
  /** Conferences already running when the phases start, at scale 1.0. */
  conferences: number;
  /** Participants per conference (class size). */
  participantsPerConference: number;
  /** From a timetable: the schools' names, by school index. */
  schoolNames?: string[];
  /** From a timetable: each conference's class name and school index, by conference index. */
  classes?: { name: string; school: number }[];
}

export interface Scenario {
  /** Unique name, kebab-case, used on the command line. */
  name: string;
  /** One or two sentences for `firstbell list` and the report. */
  description: string;
  /** Wall-clock label of the first bell (t = 0), "HH:MM:SS". Default "08:00:00". */
  firstBell: string;
  population: Population;
  /** Arrival phases; together they form the schedule. */
  phases: Phase[];
  /** How long measuring goes on after the last arrival window closes, in ms. */
  observeMs: number;
  client: ClientBehaviour;
  /** Objectives per layer. */
  objectives: Record<Layer, LayerObjective>;
  /** A participant should be in its conference this long after arriving, at the latest, in ms; later counts as joined late. */
  joinWithinMs: number;
  /** Scheduled faults. Default none. */
  faults?: Fault[];
  /** From a timetable: its bells, each judged on its own in the report. */
  bells?: Bell[];
  /** A timetable with the quiet between bells cut: run time (atMs) and the time of day it stands for (wallMs), from the first bell, at each uncut stretch's start. */
  clockAnchors?: { atMs: number; wallMs: number }[];
  /** The journey module the scenario's participants run (an absolute path once loaded); default: the target kind's built-in journey. */
  journey?: string;
  /** Rows of data for the participants (credentials, rooms): participant n gets row n. */
  data?: DataSource;
  /** What to watch of the platform (`process:janus`, `nginx:<url>`, `prometheus:<url>` with named PromQL queries); --watch adds to it. */
  watch?: { sources: string[]; queries?: Record<string, string> };
}

/** A CSV file of rows for the participants; the first line names the columns. */
export interface DataSource {
  /** Path of the CSV file (absolute once loaded). */
  csv: string;
  /** Fewer rows than participants is an error unless this is true; then participant n gets row n mod rows. */
  reuse?: boolean;
  /** Column delimiter; default: found from the header line (`,` `;` or tab). */
  delimiter?: string;
}

/** A scenario with its scale applied: participant and conference counts are final. */
export interface ResolvedScenario extends Scenario {
  /** Fraction of full scale that the counts were multiplied by. */
  scale: number;
}

/** One thing wrong with an input, with where it is and how to fix it. */
export interface Problem {
  /** Where: a file and line, a flag, or a path inside a scenario such as "phases[1].durationMs". */
  where: string;
  /** What is wrong, including the bad value. */
  message: string;
  /** How to fix it. */
  hint: string;
}

export const DEFAULT_CLIENT: ClientBehaviour = { thinkTimeMs: 200, stepTimeoutMs: 30_000, heartbeatMs: 5_000 };

export const DEFAULT_OBJECTIVES: Record<Layer, LayerObjective> = {
  admission: { maxErrorRate: 0.01, p95Ms: 2_000 },
  broker: { maxErrorRate: 0.01, p95Ms: 2_000 },
  media: { maxErrorRate: 0.01, p95Ms: 1_000 },
};

const CLOCK = /^([01]\d|2[0-3]):[0-5]\d:[0-5]\d$/;

/** What is wrong with one fault; `at` names it, e.g. "faults[0]". */
export function faultProblems(f: Fault, at: string): Problem[] {
  const problems: Problem[] = [];
  const bad = (where: string, message: string, hint: string) => problems.push({ where, message, hint });
  const positive = (where: string, v: number) => {
    if (!Number.isFinite(v) || v <= 0) bad(where, `${JSON.stringify(v)} is not a positive number`, `set ${where} to a number > 0`);
  };
  if (!(FAULT_KINDS as readonly string[]).includes(f.kind)) bad(`${at}.kind`, `"${f.kind}" is not a fault kind`, `use one of ${FAULT_KINDS.join(', ')}`);
  if (!Number.isFinite(f.atMs)) bad(`${at}.atMs`, `${JSON.stringify(f.atMs)} is not a number`, 'give the start in ms relative to the first bell');
  positive(`${at}.forMs`, f.forMs);
  if ((f.kind === 'errors' || f.kind === 'reset') && !(f.ratio > 0 && f.ratio <= 1)) bad(`${at}.ratio`, `${f.ratio} is outside (0, 1]`, 'give the share of affected requests, e.g. 0.5');
  if (f.kind === 'errors' && ![502, 503, 504].includes(f.status)) bad(`${at}.status`, `${f.status} is not 502, 503 or 504`, 'use a gateway error status');
  if (f.kind === 'latency' || f.kind === 'slow-login') positive(`${at}.addMs`, f.addMs);
  if (f.kind === 'bandwidth') positive(`${at}.bytesPerSec`, f.bytesPerSec);
  if (f.kind === 'farm-down' && !(Number.isInteger(f.farm) && f.farm >= 0)) bad(`${at}.farm`, `${f.farm} is not a farm index`, 'farms count from 0');
  if (f.kind === 'broker-defect') positive(`${at}.threshold`, f.threshold);
  return problems;
}

/** Every problem in a scenario, not just the first. */
/** The most one run plans: participants over all phases, phases, and ms any time of a scenario lies from its first bell. */
const SCENARIO_LIMITS = { participants: 10_000_000, phases: 1_000_000, spanMs: 7 * 24 * 3_600_000 } as const;

export function validateScenario(s: Scenario): Problem[] {
  const problems: Problem[] = [];
  const bad = (where: string, message: string, hint: string) => problems.push({ where, message, hint });
  const { participants: maxParticipants, phases: maxPhases, spanMs } = SCENARIO_LIMITS;
  // What does not fit one run is refused before anything is built for it: no schedule of a billion arrivals.
  const inSpan = (where: string, v: number | undefined) => {
    if (v !== undefined && Math.abs(v) > spanMs) bad(where, `${v} ms is more than a run spans (7 days)`, `give ${where} in ms, at most ${spanMs}`);
  };
  if (s.phases.length > maxPhases) {
    bad('phases', `${s.phases.length} phases are more than one run takes (${maxPhases})`, 'merge phases of the same shape, or split the day into several scenarios');
    return problems;
  }
  const total = s.phases.reduce((a, p) => a + (Number.isFinite(p.participants) ? p.participants : 0), 0);
  if (total > maxParticipants) bad('phases', `${total} participants in all are more than one run plans (${maxParticipants.toLocaleString('en-US')})`, 'lower the counts, or split the population into scenarios run on several machines');
  inSpan('observeMs', s.observeMs);
  const positive = (where: string, v: number, allowZero = false) => {
    if (!Number.isFinite(v) || v < 0 || (!allowZero && v === 0)) {
      bad(where, `${JSON.stringify(v)} is not a ${allowZero ? 'non-negative' : 'positive'} number`, `set ${where} to a number ${allowZero ? '>= 0' : '> 0'}`);
    }
  };
  if (!/^[a-z0-9][a-z0-9-]*$/.test(s.name)) bad('name', `"${s.name}" is not kebab-case`, 'use lower-case letters, digits and dashes');
  if (!CLOCK.test(s.firstBell)) bad('firstBell', `"${s.firstBell}" is not a time of day`, 'write it as HH:MM:SS, e.g. "08:00:00"');
  if (s.phases.length === 0) bad('phases', 'there are no phases', 'add at least one phase with participants');
  s.phases.forEach((p, i) => {
    const at = `phases[${i}]`;
    if (!Number.isFinite(p.startMs)) bad(`${at}.startMs`, `${JSON.stringify(p.startMs)} is not a number`, 'give the start in ms relative to the first bell');
    inSpan(`${at}.startMs`, p.startMs);
    inSpan(`${at}.durationMs`, p.durationMs);
    inSpan(`${at}.leaveAtMs`, p.leaveAtMs);
    positive(`${at}.durationMs`, p.durationMs);
    positive(`${at}.participants`, p.participants, true);
    if (p.curve.kind === 'ramp') {
      positive(`${at}.curve.fromRate`, p.curve.fromRate, true);
      positive(`${at}.curve.toRate`, p.curve.toRate, true);
      if (p.curve.fromRate + p.curve.toRate === 0) bad(`${at}.curve`, 'a ramp from 0 to 0 has no arrivals', 'make fromRate or toRate greater than 0');
    } else if (p.curve.kind === 'first-bell') {
      positive(`${at}.curve.riseMs`, p.curve.riseMs, true);
      positive(`${at}.curve.halfLifeMs`, p.curve.halfLifeMs);
    }
    if (p.leaveAtMs !== undefined && !(p.leaveAtMs > p.startMs)) bad(`${at}.leaveAtMs`, `${JSON.stringify(p.leaveAtMs)} is not after the phase's start (${p.startMs})`, 'give the time its participants leave, in ms from the first bell, after they arrive');
    const conferences = s.population.classes?.length ?? s.population.conferences;
    (p.classes ?? []).forEach((c, k) => {
      if (!Number.isInteger(c.conference) || c.conference < 0 || (s.population.classes && c.conference >= conferences)) bad(`${at}.classes[${k}].conference`, `${JSON.stringify(c.conference)} is not a class of population.classes`, `give an index from 0 to ${conferences - 1}`);
      positive(`${at}.classes[${k}].pupils`, c.pupils, true);
    });
  });
  positive('observeMs', s.observeMs, true);
  positive('joinWithinMs', s.joinWithinMs);
  positive('client.thinkTimeMs', s.client.thinkTimeMs, true);
  positive('client.stepTimeoutMs', s.client.stepTimeoutMs);
  positive('client.heartbeatMs', s.client.heartbeatMs);
  const retry = s.client.retry;
  if (retry && retry.kind !== 'none') {
    positive('client.retry.maxTries', retry.maxTries);
    if (retry.kind === 'reload') positive('client.retry.everyMs', retry.everyMs);
    else {
      positive('client.retry.baseMs', retry.baseMs);
      positive('client.retry.maxMs', retry.maxMs);
    }
  }
  (s.faults ?? []).forEach((f, i) => problems.push(...faultProblems(f, `faults[${i}]`)));
  for (const layer of Object.keys(s.objectives) as Layer[]) {
    const o = s.objectives[layer];
    if (!(o.maxErrorRate >= 0 && o.maxErrorRate <= 1)) bad(`objectives.${layer}.maxErrorRate`, `${o.maxErrorRate} is outside 0..1`, 'give a share, e.g. 0.01 for 1 %');
    positive(`objectives.${layer}.p95Ms`, o.p95Ms);
  }
  return problems;
}

/** Applies a scale to participant and conference counts; durations and rates of change stay. */
export function resolveScenario(s: Scenario, scale: number): ResolvedScenario {
  const scaled = (n: number) => (n === 0 ? 0 : Math.max(1, Math.round(n * scale)));
  return {
    ...s,
    scale,
    population: { ...s.population, conferences: scaled(s.population.conferences) },
    phases: s.phases.map((p) => ({ ...p, participants: scaled(p.participants) })),
  };
}

/** A scenario, CSV or flag set with problems; carries every problem found, not just the first. */
export class ProblemsError extends FirstbellError {
  constructor(readonly problems: Problem[]) {
    super(problems.map((p) => `${p.where}: ${p.message} (${p.hint})`).join('\n'));
  }
}
