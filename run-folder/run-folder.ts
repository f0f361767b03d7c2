// The run folder: its file names, the records in it, and the readers of its files, down to a whole run folder read once
// (what ran, its series from series.json or rebuilt from the raw samples, health and browser users).
import { createReadStream, existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { LAYERS, type Layer, type ResolvedScenario } from '../scenarios/model.js';
import { OUTCOMES, type Outcome, type Sample } from '../api/sample.js';
import type { StepDecl } from '../api/vu.js';
import type { BrowserJourney, BrowserSecond, FaultRecord, MediaSecond } from './records.js';
import { Series, type SeriesJson } from './series.js';
import { FirstbellError } from '../lib/errors.js';

export const FILES = {
  run: 'run.json',
  samples: 'samples.csv',
  health: 'health.csv',
  series: 'series.json',
  summary: 'summary.json',
  report: 'report.html',
  junit: 'junit.xml',
  /** Browser users: one JSON line per journey. */
  browsers: 'browsers.jsonl',
  /** Browser users: their media every second. */
  media: 'media.csv',
  /** Browser users: CPU and memory of the browser's processes and of the machine, every second. */
  browserHealth: 'browser-health.csv',
  /** What was watched of the platform (--watch), one row a second. */
  watch: 'watch.csv',
} as const;

/** A participant started this much after its planned arrival started late: its second is the generator's, not the target's. */
export const LATE_MS = 100;

/** Generator health in one second of the run. */
export interface HealthSecond {
  /** Second index from the run start. */
  t: number;
  /** Event-loop delay p99 and max in this second, ms. */
  loopLagP99Ms: number;
  loopLagMaxMs: number;
  /**
   * CPU used in this second by the generator process, or with worker processes by the busiest of them, in % of one
   * core: user and system time of every thread, as the kernel counts it (a worker is measured from /proc by the run's
   * process, so a worker too busy to report still shows its CPU).
   */
  cpuPct: number;
  /** CPU of every generator process together in this second, in % of one core (absent in run folders from before it was kept). */
  cpuTotalPct?: number;
  /** How late arrivals were dispatched against the schedule in this second, p99 and max, ms. */
  sendLagP99Ms: number;
  sendLagMaxMs: number;
  /** Arrivals dispatched, late (beyond the late threshold) and dropped (cap reached) in this second. */
  arrivals: number;
  late: number;
  dropped: number;
  /** Participants with a journey or a hold under way at the end of the second. */
  active: number;
  /** Resident memory of the generator, MB (with worker processes: all of them together). */
  rssMb: number;
  /** What the journey's code threw in this second outside any step (from a timer, or a promise nobody awaited), by message; absent when nothing. */
  uncaught?: { message: string; count: number }[];
}

/** Adds another sending process's second to `h`: CPU and lags are the busiest process's (each has one event loop); counts and the total CPU add up. */
export function addProcessHealth(h: HealthSecond, w: HealthSecond): void {
  h.cpuTotalPct = (h.cpuTotalPct ?? h.cpuPct) + (w.cpuTotalPct ?? w.cpuPct);
  h.cpuPct = Math.max(h.cpuPct, w.cpuPct);
  h.loopLagP99Ms = Math.max(h.loopLagP99Ms, w.loopLagP99Ms);
  h.loopLagMaxMs = Math.max(h.loopLagMaxMs, w.loopLagMaxMs);
  h.sendLagP99Ms = Math.max(h.sendLagP99Ms, w.sendLagP99Ms);
  h.sendLagMaxMs = Math.max(h.sendLagMaxMs, w.sendLagMaxMs);
  h.arrivals += w.arrivals;
  h.late += w.late;
  h.dropped += w.dropped;
  if (w.uncaught) h.uncaught = [...(h.uncaught ?? []), ...w.uncaught];
}

/** Counts by message added up over lists (processes, seconds, shards), most frequent first. */
export function countsByMessage(lists: readonly (readonly { message: string; count: number }[])[]): { message: string; count: number }[] {
  const all = new Map<string, number>();
  for (const list of lists) for (const e of list) all.set(e.message, (all.get(e.message) ?? 0) + e.count);
  return [...all].map(([message, count]) => ({ message, count })).sort((x, y) => y.count - x.count);
}

export type RunStatus = 'running' | 'completed' | 'interrupted' | 'failed';

/** One shard's own record of itself. */
export interface ShardInfo {
  /** 1 to count. */
  index: number;
  count: number;
  /** The shared instant of t = 0, ISO 8601. */
  startAt: string;
  /** How late this shard's clock started against startAt, ms (measured on its own machine's clock). */
  startSkewMs?: number;
}

/** A shard as the merge found it. */
export interface MergedShard {
  index: number;
  /** Its run folder, as given to the merge. */
  dir: string;
  status: RunStatus;
  stopReason?: string;
  host: string;
  startSkewMs?: number;
  arrivalsPlanned: number;
  arrivalsSent: number;
  late: number;
  dropped: number;
  worstCpuPct: number;
  worstLoopLagMs: number;
  worstSendLagMs: number;
  /** Participants it sent whose samples are not in its folder: its samples file was cut short. */
  samplesMissing?: number;
}

/** A shard's run status in words: a run that never closed was killed. */
export function shardState(status: RunStatus): string {
  return status === 'running' ? 'killed before its end (its run never closed)' : status;
}

export interface MergedShards {
  count: number;
  startAt: string;
  members: MergedShard[];
  /** Shards that sent no run folder, or whose folder could not be read: their arrivals are not in the merged run. */
  missing: { index: number; why: string }[];
}

/** A source the run watched, as run.json records it. */
export interface WatchedSource {
  /** Its name in watch.csv's columns ("janus", "nginx", "pid1234"); a Prometheus's columns are its queries' names. */
  name: string;
  kind: 'pid' | 'process' | 'nginx' | 'prometheus';
  /** As given (`process:janus`, `nginx:http://…`), without credentials. */
  source: string;
  /** Its columns in watch.csv. */
  columns: string[];
  /** What reading it said when it failed, the first second each time it did, in order. */
  failures?: { message: string; second: number }[];
}

/** run.json: what ran, where, and how the generator fared. Written at the start and rewritten at the end. */
export interface RunInfo {
  tool: { name: 'firstbell'; version: string; node: string };
  /** Run id, also the folder name. */
  id: string;
  status: RunStatus;
  /** Why the run stopped early, when it did. */
  stopReason?: string;
  startedAt: string;
  endedAt?: string;
  host: { hostname: string; cpus: number; platform: string };
  scenario: ResolvedScenario;
  seed: number;
  /** The platform: its journey's kind ('journey' for a user's), its URL, and the journey's options but the secret ones. */
  target: { kind: string; url: string; options?: Record<string, string | number> };
  /** Wall-clock instant of t = 0 (ms since the epoch): every time in the run folder counts from it; lines them up with the target's own logs. */
  zeroEpochMs?: number;
  /** Offset of the first bell from the run start, ms. */
  firstBellAtMs: number;
  /** Planned end of measuring, ms from the run start. */
  plannedEndMs: number;
  /** Steps in journey order. */
  steps: StepDecl[];
  plan: { participants: number; peakArrivalsPerSec: number; phases: { name: string; participants: number; startMs: number; durationMs: number }[] };
  /** The target's local process, when one was watched (--target-pid), and when it exited (ms from t = 0). */
  targetProcess?: { pid: number; exitedAtMs?: number };
  /** Scheduled faults, as planned and as applied. */
  faults?: FaultRecord[];
  /** Where the samples came from when firstbell did not send the load itself: k6 result files. */
  source?: {
    kind: 'k6'; files: string[]; runners: number;
    /** Result files whose last line was cut short (a runner stopped while writing it), each named with its line: left out. */
    cut?: string[];
  };
  /** Browser users that ran beside the protocol users, when there were any. */
  browsers?: { count: number; cycleMs: number; endpoint?: string };
  /** This run was shard `index` of `count` (every count-th arrival), started at the shared instant `startAt`. */
  shard?: ShardInfo;
  /** This run folder was merged from shard run folders (firstbell merge): each shard's start skew and health, and those missing. */
  shards?: MergedShards;
  /** What the journey's code threw outside any step (from a timer, or a promise nobody awaited), by message and where. */
  uncaught?: { message: string; count: number }[];
  /** What was watched of the platform (--watch): each source, its columns in watch.csv, and what went wrong reading it. */
  watch?: WatchedSource[];
  /** Filled at the end. */
  generator?: {
    arrivalsPlanned: number; arrivalsSent: number; late: number; dropped: number; lateThresholdMs: number; maxActive: number;
    /** Processes that sent the load (1: the run's own). */
    workers?: number;
    /** Local addresses the connections were spread over, when they were. */
    localAddresses?: number;
    /** arrivalsSent is a floor, counted from the samples: some workers' own counts were lost in an overload. */
    sentAtLeast?: boolean;
  };
}

/** run.json, checked for what the analysis relies on; a damaged one is a RunFolderError naming the file and the fix. */
export function readRunInfo(dir: string): RunInfo {
  const path = join(dir, FILES.run);
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    throw new RunFolderError(`${path}: cannot be read (${(e as NodeJS.ErrnoException).code ?? String(e)}); give the folder of a run you may read`);
  }
  let run: RunInfo;
  try {
    run = JSON.parse(text) as RunInfo;
  } catch (e) {
    throw new RunFolderError(`${path}: is not JSON (${e instanceof Error ? e.message : String(e)}); the file is damaged, run again or restore it`);
  }
  const bad = (what: string) => new RunFolderError(`${path}: ${what}; the file is damaged, run again or restore it`);
  if (!run || typeof run !== 'object') throw bad('is not a run record');
  const span = Number(run.plannedEndMs);
  if (!Number.isFinite(span) || span < 0 || span > 7 * 24 * 3_600_000) throw bad(`plannedEndMs ${JSON.stringify(run.plannedEndMs)} is not a run's length in ms`);
  // The first bell may lie before the run's start (a timetable whose first pupils come before it) or after it.
  if (typeof run.firstBellAtMs !== 'number' || !Number.isFinite(run.firstBellAtMs) || Math.abs(run.firstBellAtMs) > span + 24 * 3_600_000) throw bad(`firstBellAtMs ${JSON.stringify(run.firstBellAtMs)} is not a time near the run`);
  if (!run.scenario || typeof run.scenario !== 'object' || !Array.isArray(run.scenario.phases) || !run.scenario.objectives) throw bad('has no scenario');
  if (!Array.isArray(run.steps)) throw bad('has no steps');
  return run;
}

/** A run that failed part-way; its folder holds what ran until then. */
export class RunFailedError extends Error {
  constructor(readonly dir: string, cause: unknown) {
    super(cause instanceof Error ? cause.message : String(cause), { cause });
  }
}

export const SAMPLE_HEADER = 'intended_ms,start_ms,end_ms,user,layer,step,outcome,status,entry';
export const HEALTH_HEADER = 'second,loop_lag_p99_ms,loop_lag_max_ms,cpu_pct,send_lag_p99_ms,send_lag_max_ms,arrivals,late,dropped,active,rss_mb,cpu_total_pct';

/** A time in ms to 0.1 ms ("1234.5", or "1234" when whole): cheaper than toFixed on the hot path. */
const ms1 = (x: number) => Math.round(x * 10) / 10;

/** A sample's line of samples.csv as text; a run writes the same bytes with CsvBytes, without making the string. */
export function sampleLine(s: Sample): string {
  return `${ms1(s.intendedMs)},${ms1(s.startMs)},${ms1(s.endMs)},${s.user},${s.layer},${s.step},${s.outcome},${s.status},${s.entry ?? 0}`;
}

export function healthLine(h: HealthSecond): string {
  return [h.t, h.loopLagP99Ms, h.loopLagMaxMs, h.cpuPct, h.sendLagP99Ms, h.sendLagMaxMs, h.arrivals, h.late, h.dropped, h.active, h.rssMb, h.cpuTotalPct ?? h.cpuPct].join(',');
}

async function* lines(path: string): AsyncGenerator<{ line: string; n: number }> {
  const rl = createInterface({ input: createReadStream(path), crlfDelay: Infinity });
  let n = 0;
  for await (const line of rl) {
    n++;
    if (n === 1 || line === '') continue;
    yield { line, n };
  }
}

/** Thrown when a run folder's file cannot be read; names the file and line. */
export class RunFolderError extends FirstbellError {}

const OUTCOME_SET = new Set<string>(OUTCOMES);
const LAYER_SET = new Set<string>(LAYERS);

/**
 * The latest time a sample of a run can have, ms from its start: its planned end, the longest step after it, and a
 * minute for the stop. A time beyond it is a damaged file, not a measurement.
 */
export function runSpanMs(run: Pick<RunInfo, 'plannedEndMs' | 'scenario'>): number {
  return run.plannedEndMs + (run.scenario.client?.stepTimeoutMs ?? 30_000) + 60_000;
}

/**
 * Streams samples back; a torn last line (a crash mid-write) is skipped, any other bad line is an error naming the
 * file and line. With `spanMs`, a time outside 0..spanMs is one too. `signal` stops a long read (Ctrl-C).
 */
export async function* readSamples(dir: string, opts: { spanMs?: number; signal?: AbortSignal } = {}): AsyncGenerator<Sample> {
  const path = join(dir, FILES.samples);
  if (!existsSync(path)) throw new RunFolderError(`${path}: no samples file; is this a firstbell run folder?`);
  let pending: { line: string; n: number } | undefined;
  for await (const l of lines(path)) {
    if (pending) yield parseSample(pending.line, `${path}:${pending.n}`, opts.spanMs);
    pending = l;
    if (l.n % 10_000 === 0 && opts.signal?.aborted) throw new RunFolderError(`${path}: reading stopped at line ${l.n} (interrupted)`);
  }
  if (pending) {
    try {
      yield parseSample(pending.line, `${path}:${pending.n}`, opts.spanMs);
    } catch {
      // The final line may have been cut by a crash; everything before it stands.
    }
  }
}

const DAMAGED = 'the file is damaged; fix or remove the line, or run again';

/** One line of samples.csv; a line that is not one is a RunFolderError naming `where`. Read for every sample of a run: kept lean. */
export function parseSample(line: string, where: string, spanMs = Infinity): Sample {
  const f = line.split(',');
  const n = f.length;
  const layer = f[4]!;
  const outcome = f[6]!;
  const entry = f[8];
  // Eight columns in run folders from before the entry was kept.
  if ((n !== 8 && n !== 9) || !LAYER_SET.has(layer) || !OUTCOME_SET.has(outcome) || (entry !== undefined && entry !== '0' && entry !== '1' && entry !== '2')) {
    throw new RunFolderError(`${where}: not a sample line ("${line.slice(0, 80)}"); expected ${SAMPLE_HEADER}`);
  }
  const intendedMs = +f[0]!;
  const startMs = +f[1]!;
  const endMs = +f[2]!;
  const user = +f[3]!;
  const status = +f[7]!;
  const inRun = (v: number) => Number.isFinite(v) && v >= -1 && v <= spanMs;
  if (!(inRun(intendedMs) && inRun(startMs) && inRun(endMs))) {
    const k = !inRun(intendedMs) ? 0 : !inRun(startMs) ? 1 : 2;
    throw new RunFolderError(`${where}: ${['intendedMs', 'startMs', 'endMs'][k]} "${f[k]}" is not a time inside the run (0 to ${Math.round(spanMs)} ms); ${DAMAGED}`);
  }
  if (!Number.isInteger(user) || user < 0) throw new RunFolderError(`${where}: user "${f[3]}" is not a participant id; ${DAMAGED}`);
  if (!Number.isInteger(status) || status < 0 || status > 999) throw new RunFolderError(`${where}: status "${f[7]}" is not an HTTP status or 0; ${DAMAGED}`);
  const s: Sample = { intendedMs, startMs, endMs, user, layer: layer as Layer, step: f[5]!, outcome: outcome as Outcome, status };
  if (entry !== undefined) s.entry = +entry as 0 | 1 | 2;
  return s;
}

/** Participants with at least one sample in a run folder. */
export async function participantsWithSamples(dir: string, spanMs?: number): Promise<number> {
  const seen = new Set<number>();
  for await (const s of readSamples(dir, { spanMs })) seen.add(s.user);
  return seen.size;
}

/** Generator health; a torn line is skipped, a second outside the run (with `spanMs`) is an error naming file and line. */
export async function readHealth(dir: string, spanMs = Infinity): Promise<HealthSecond[]> {
  const path = join(dir, FILES.health);
  const out: HealthSecond[] = [];
  if (!existsSync(path)) return out;
  for await (const { line, n } of lines(path)) {
    const h = parseHealthLine(line, `${path}:${n}`, spanMs);
    if (h) out.push(h);
  }
  return out;
}

/** One line of health.csv; undefined for a torn line (a crash mid-write), a RunFolderError for a second outside the run. */
export function parseHealthLine(line: string, where: string, spanMs = Infinity): HealthSecond | undefined {
  const v = line.split(',').map(Number);
  // Eleven columns in run folders from before the total CPU was kept; a torn last line after a crash is skipped.
  if ((v.length !== 11 && v.length !== 12) || v.some((x) => !Number.isFinite(x))) return undefined;
  if (!Number.isInteger(v[0]) || v[0]! < 0 || v[0]! * 1000 > spanMs) throw new RunFolderError(`${where}: second "${v[0]}" is not inside the run; ${DAMAGED}`);
  const [t, a, b, c, d, e, f, g, h, i, j, k] = v as [number, number, number, number, number, number, number, number, number, number, number, number | undefined];
  return { t, loopLagP99Ms: a, loopLagMaxMs: b, cpuPct: c, sendLagP99Ms: d, sendLagMaxMs: e, arrivals: f, late: g, dropped: h, active: i, rssMb: j, ...(k === undefined ? {} : { cpuTotalPct: k }) };
}

/** The browser's CPU and memory every second; a torn last line is skipped. */
export async function readBrowserHealth(dir: string): Promise<BrowserSecond[]> {
  const path = join(dir, FILES.browserHealth);
  const out: BrowserSecond[] = [];
  if (!existsSync(path)) return out;
  for await (const { line } of lines(path)) {
    const b = parseBrowserHealthLine(line);
    if (b) out.push(b);
  }
  return out;
}

/** One line of browser-health.csv; undefined for a torn one. */
export function parseBrowserHealthLine(line: string): BrowserSecond | undefined {
  const v = line.split(',').map(Number);
  if (v.length !== 5 || v.some((x) => !Number.isFinite(x))) return undefined;
  const [t, processes, cpuPct, rssMb, machineCpuPct] = v as [number, number, number, number, number];
  return { t, processes, cpuPct, rssMb, machineCpuPct };
}

/** The browser users' journeys; a torn last line is skipped. */
export function readBrowserJourneys(dir: string): BrowserJourney[] {
  const path = join(dir, FILES.browsers);
  if (!existsSync(path)) return [];
  const out: BrowserJourney[] = [];
  for (const line of readFileSync(path, 'utf8').split('\n')) {
    const j = parseJourneyLine(line);
    if (j) out.push(j);
  }
  return out;
}

/** One line of browsers.jsonl; undefined for an empty one or one cut by a crash. */
export function parseJourneyLine(line: string): BrowserJourney | undefined {
  if (!line.trim()) return undefined;
  try {
    return JSON.parse(line) as BrowserJourney;
  } catch {
    return undefined;
  }
}

/** The browser users' media seconds; a torn last line is skipped. */
export function readMedia(dir: string, spanMs = Infinity): MediaSecond[] {
  const path = join(dir, FILES.media);
  if (!existsSync(path)) return [];
  const out: MediaSecond[] = [];
  for (const [k, line] of readFileSync(path, 'utf8').split('\n').entries()) {
    const m = k === 0 ? undefined : parseMediaLine(line, `${path}:${k + 1}`, spanMs);
    if (m) out.push(m);
  }
  return out;
}

/** One line of media.csv (not its header); undefined for a torn one, a RunFolderError for a time outside the run. */
export function parseMediaLine(line: string, where: string, spanMs = Infinity): MediaSecond | undefined {
  const f = line.split(',');
  if (f.length !== 11) return undefined;
  if (!(Number(f[0]) >= 0 && Number(f[0]) <= spanMs)) throw new RunFolderError(`${where}: time "${f[0]}" is not inside the run; ${DAMAGED}`);
  const [t, user, journey, state, fps, frames, kin, kout, lost, jitter, freezes] = f as [string, string, string, string, string, string, string, string, string, string, string];
  return { tMs: Number(t), user: Number(user), journey: Number(journey), state, fps: Number(fps), framesDecoded: Number(frames), kbpsIn: Number(kin), kbpsOut: Number(kout), packetsLost: Number(lost), jitterMs: Number(jitter), freezes: Number(freezes) };
}

/** watch.csv: each column's value by run second (null where it could not be read, or before its first row). */
export interface WatchData {
  columns: string[];
  /** values[k][second]: column k in that second. */
  values: (number | null)[][];
}

/** An empty watch of these columns, to add rows to. */
export function emptyWatch(columns: string[]): WatchData {
  return { columns, values: columns.map(() => []) };
}

/** Adds one line of watch.csv (not its header) to `w`; a torn line is skipped, a second outside the run is a RunFolderError. */
export function addWatchLine(w: WatchData, line: string, where: string, spanMs = Infinity): void {
  const f = line.split(',');
  if (f.length !== w.columns.length + 1) return;
  const t = Number(f[0]);
  if (!Number.isInteger(t) || t < 0 || t * 1000 > spanMs) throw new RunFolderError(`${where}: second "${f[0]}" is not inside the run; ${DAMAGED}`);
  for (let k = 0; k < w.columns.length; k++) {
    const v = f[k + 1] === '' ? null : Number(f[k + 1]);
    w.values[k]![t] = v === null || Number.isFinite(v) ? v : null;
  }
}

/** The watch's file, when the run watched anything. */
export function readWatch(dir: string, spanMs = Infinity): WatchData | undefined {
  const path = join(dir, FILES.watch);
  if (!existsSync(path)) return undefined;
  const [header, ...rows] = readFileSync(path, 'utf8').split('\n');
  if (!header?.startsWith('second,')) return undefined;
  const w = emptyWatch(header.split(',').slice(1));
  rows.forEach((line, i) => line && addWatchLine(w, line, `${path}:${i + 2}`, spanMs));
  return w;
}

/** Everything an analysis reads of a run. */
export interface RunFolder {
  dir: string;
  run: RunInfo;
  series: Series;
  health: HealthSecond[];
  journeys: BrowserJourney[];
  media: MediaSecond[];
  /** The browser's CPU and memory, and the machine's CPU, every second (browser users in a Chromium firstbell started). */
  browserHealth: BrowserSecond[];
  /** What was watched of the platform, when anything was. */
  watch?: WatchData;
}

/** Where series.json's seconds begin: the end of its first line (see writeSeriesFile). */
export const SERIES_SECONDS_OPEN = '"seconds":{';

/**
 * series.json read line by line as writeSeriesFile lays it out, a second a line, so that no part of it is one string
 * over V8's limit; a file in one piece (an older run's, or one rewritten by hand) is parsed whole. Throws on a file
 * that is not whole.
 */
export async function readSeriesJson(path: string): Promise<SeriesJson> {
  const lines = createInterface({ input: createReadStream(path, 'utf8'), crlfDelay: Infinity });
  let series: SeriesJson | undefined;
  let whole = '';
  let ended = false;
  for await (const line of lines) {
    if (ended) {
      if (line.trim()) throw new Error(`${path}: more after the end of the series`);
    } else if (series) {
      if (line === '}}') ended = true;
      else Object.assign(series.seconds, JSON.parse('{' + (line.endsWith(',') ? line.slice(0, -1) : line) + '}') as SeriesJson['seconds']);
    } else if (!whole && line.endsWith(SERIES_SECONDS_OPEN)) series = JSON.parse(line + '}}') as SeriesJson;
    else whole += line + '\n';
  }
  if (!series) return JSON.parse(whole) as SeriesJson;
  if (!ended) throw new Error(`${path} ends before its last second`);
  return series;
}

/** The series of a run: series.json when the run closed cleanly, else rebuilt from the raw samples (never written back). */
export async function loadSeries(dir: string, run: RunInfo, opts: { fromSamples?: boolean; signal?: AbortSignal } = {}): Promise<Series> {
  const path = join(dir, FILES.series);
  if (!opts.fromSamples && existsSync(path)) {
    try {
      const j = await readSeriesJson(path);
      // A series from before the clock record is rebuilt from the samples, which hold everything it needs; so is
      // one with a second outside the run (a damaged file), which the samples then name by line.
      const lastSecond = Math.ceil(runSpanMs(run) / 1000);
      const inside = (sec: string) => Number.isInteger(Number(sec)) && Number(sec) >= 0 && Number(sec) <= lastSecond;
      if (j.clock && Object.keys(j.seconds ?? {}).every(inside) && Object.keys(j.clock).every(inside)) return Series.fromJSON(j);
    } catch {
      // A damaged series file is rebuilt from the samples, which are the source of truth.
    }
  }
  const series = new Series(run.steps, run.scenario.joinWithinMs);
  for await (const s of readSamples(dir, { spanMs: runSpanMs(run), signal: opts.signal })) series.add(s);
  return series;
}

/** Reads a run folder; a folder without run.json is a RunFolderError that says what to give instead. */
export async function readRunFolder(dir: string, opts: { fromSamples?: boolean; signal?: AbortSignal } = {}): Promise<RunFolder> {
  if (!existsSync(join(dir, FILES.run))) throw new RunFolderError(`${dir}: no ${FILES.run} here; give the folder of a run (it holds run.json and samples.csv)`);
  const run = readRunInfo(dir);
  const series = await loadSeries(dir, run, opts);
  const watch = readWatch(dir, runSpanMs(run));
  return { dir, run, series, health: await readHealth(dir, runSpanMs(run)), journeys: readBrowserJourneys(dir), media: readMedia(dir, runSpanMs(run)), browserHealth: await readBrowserHealth(dir), ...(watch ? { watch } : {}) };
}
