// Reads k6 results back (CSV or JSON lines, from one runner or many), merges them and makes a run folder of them.
import { closeSync, createReadStream, existsSync, openSync, readSync, statSync } from 'node:fs';
import { basename } from 'node:path';
import { createInterface } from 'node:readline';
import { parse } from 'csv-parse';
import { findScenario } from '../scenarios/index.js';
import { LAYERS, resolveScenario, type Layer, type Scenario } from '../scenarios/model.js';
import { healthLine, LATE_MS, type HealthSecond } from '../run-folder/run-folder.js';
import { arrivalsPerSecond, type Schedule } from '../plan/schedule.js';
import { RunFolderWriter, runInfoOf } from '../run-folder/writer.js';
import { isHoldEvent, OUTCOMES, type Outcome, type Sample } from '../api/sample.js';
import type { StepDecl } from '../api/vu.js';
import { buildPlan, type Plan } from '../plan/plan.js';
import { Series } from '../run-folder/series.js';
import { K6_META, K6_RUN_TAGS, K6_STEP_METRIC, K6_TAGS, stepsOfTag } from './names.js';
import { FirstbellError } from '../lib/errors.js';
import { shownTarget } from '../targets/platform.js';

/** A results file that is not what `firstbell import k6` reads; the message names the file and line. */
export class K6ImportError extends FirstbellError {}

/** The columns k6's CSV output starts with and ends with (tag columns in between depend on its settings). */
const CSV_FIRST = ['metric_name', 'timestamp', 'metric_value'];
const CSV_LAST = ['extra_tags', 'metadata'];

interface Point {
  metric: string;
  value: number;
  /** Unix ms. */
  timeMs: number;
  tags: Record<string, string>;
  metadata: Record<string, string>;
}

/** k6 writes extra tags and metadata in CSV as k=v&k=v, unescaped. */
function pairs(text: string | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  for (const part of (text ?? '').split('&')) {
    const eq = part.indexOf('=');
    if (eq > 0) out[part.slice(0, eq)] = part.slice(eq + 1);
  }
  return out;
}

function csvTime(v: string): number {
  if (/^\d+$/.test(v)) {
    // Unix time in seconds (k6's default), ms, µs or ns, told apart by size.
    const n = Number(v);
    return n < 1e11 ? n * 1000 : n < 1e14 ? n : n < 1e17 ? n / 1000 : n / 1e6;
  }
  return Date.parse(v);
}

/** Where a file's whole lines end: its size, or just past its last newline when its last line was cut short. */
interface Extent {
  end: number;
  /** JSON lines (the first character is `{`), else CSV. */
  json: boolean;
  /** The last line, without its newline: k6 ends every line with one, so a runner was stopped while writing it. */
  torn?: string;
}

/** One k6 line is a few hundred bytes: a far longer one is not k6's, and is not read whole. */
const MAX_LINE = 64 * 1024;

function extentOf(path: string): Extent {
  const size = statSync(path).size;
  const tail = Buffer.alloc(Math.min(size, MAX_LINE));
  const first = Buffer.alloc(1);
  const fd = openSync(path, 'r');
  try {
    readSync(fd, first, 0, 1, 0);
    readSync(fd, tail, 0, tail.length, size - tail.length);
  } finally {
    closeSync(fd);
  }
  const json = first.toString() === '{';
  if (tail.length === 0 || tail[tail.length - 1] === 0x0a) return { end: size, json };
  const nl = tail.lastIndexOf(0x0a);
  if (nl < 0 && tail.length < size) return { end: size, json };
  return { end: size - tail.length + nl + 1, json, torn: tail.subarray(nl + 1).toString('utf8') };
}

async function* readCsv(path: string, end: number): AsyncGenerator<Point> {
  const parser = createReadStream(path, { end: end - 1 }).pipe(parse({ relax_column_count: false, skip_empty_lines: true, max_record_size: MAX_LINE }));
  let header: string[] | undefined;
  let line = 0;
  for await (const row of parser as AsyncIterable<string[]>) {
    line++;
    if (!header) {
      header = row;
      const ok = CSV_FIRST.every((c, i) => row[i] === c) && CSV_LAST.every((c, i) => row[row.length - 2 + i] === c);
      if (!ok) throw new K6ImportError(`${path}:1: not a k6 CSV header (expected ${CSV_FIRST.join(',')},…,${CSV_LAST.join(',')}); write results with 'k6 run --out csv=FILE'`);
      continue;
    }
    const value = Number(row[2]);
    const timeMs = csvTime(row[1] ?? '');
    if (!Number.isFinite(value) || !Number.isFinite(timeMs)) throw new K6ImportError(`${path}:${line}: metric_value '${row[2]}' or timestamp '${row[1]}' is not a number or time`);
    const tags: Record<string, string> = {};
    for (let i = 3; i < header.length - 2; i++) if (row[i]) tags[header[i]!] = row[i]!;
    Object.assign(tags, pairs(row[header.length - 2]));
    yield { metric: row[0]!, value, timeMs, tags, metadata: pairs(row[header.length - 1]) };
  }
}

async function* readJson(path: string, end: number): AsyncGenerator<Point> {
  const rl = createInterface({ input: createReadStream(path, { end: end - 1 }), crlfDelay: Infinity });
  let line = 0;
  for await (const text of rl) {
    line++;
    if (!text.trim()) continue;
    let o: { type?: string; metric?: string; data?: { time?: string; value?: number; tags?: Record<string, string> | null; metadata?: Record<string, string> } };
    try {
      o = JSON.parse(text) as typeof o;
    } catch {
      throw new K6ImportError(`${path}:${line}: not JSON; write results with 'k6 run --out json=FILE'`);
    }
    if (o.type === 'Metric') continue;
    if (o.type !== 'Point' || typeof o.metric !== 'string' || typeof o.data?.value !== 'number' || typeof o.data.time !== 'string') {
      throw new K6ImportError(`${path}:${line}: expected a k6 Metric or Point object`);
    }
    yield { metric: o.metric, value: o.data.value, timeMs: Date.parse(o.data.time), tags: o.data.tags ?? {}, metadata: o.data.metadata ?? {} };
  }
}

/**
 * CSV or JSON lines, told apart by the first character, up to the file's last whole line (`torn` is told of one cut
 * short); whatever goes wrong names the file. A file that changes while it is read is refused: k6 is still writing it.
 */
async function* readK6(path: string, torn: (file: string, line: string) => void, signal?: AbortSignal): AsyncGenerator<Point> {
  if (!existsSync(path)) throw new K6ImportError(`${path}: no such file`);
  const before = statSync(path);
  if (before.isDirectory()) throw new K6ImportError(`${path}: is a folder; give the k6 results files in it (k6 run --out csv=FILE)`);
  let n = 0;
  try {
    const extent = extentOf(path);
    const points = extent.end === 0 ? [] : extent.json ? readJson(path, extent.end) : readCsv(path, extent.end);
    for await (const p of points) {
      if (++n % 10_000 === 0 && signal?.aborted) throw new K6ImportError(`${path}: import stopped at point ${n} (interrupted)`);
      yield p;
    }
    if (extent.torn !== undefined) torn(path, extent.torn);
  } catch (e) {
    if (e instanceof K6ImportError) throw e;
    throw new K6ImportError(`${path}: not k6 results (${e instanceof Error ? e.message.split('\n')[0] : String(e)}); write them with 'k6 run --out csv=FILE' or '--out json=FILE'`);
  }
  const after = statSync(path);
  if (after.size !== before.size || after.mtimeMs !== before.mtimeMs) {
    throw new K6ImportError(`${path}: changed while it was read (${before.size} bytes, then ${after.size}): k6 is still writing it; import the results once k6 has finished`);
  }
}


const OUTCOME_SET = new Set<string>(OUTCOMES);
const LAYER_SET = new Set<string>(LAYERS);

/** One k6 step sample as a firstbell sample; undefined when the point is not one. */
function toSample(p: Point, where: string): Sample | undefined {
  if (p.metric !== K6_STEP_METRIC) return undefined;
  const layer = p.tags[K6_TAGS.layer];
  const outcome = p.tags[K6_TAGS.outcome];
  const at = Number(p.metadata[K6_META.at]);
  const user = Number(p.metadata[K6_META.user]);
  if (!layer || !LAYER_SET.has(layer) || !outcome || !OUTCOME_SET.has(outcome) || !p.tags[K6_TAGS.step] || !Number.isFinite(at) || !Number.isFinite(user)) {
    throw new K6ImportError(`${where}: a ${K6_STEP_METRIC} sample without its tags (${Object.values(K6_TAGS).join(', ')}) and metadata (${Object.values(K6_META).join(', ')}); use a script from 'firstbell export k6'`);
  }
  return { user, layer: layer as Layer, step: p.tags[K6_TAGS.step]!, intendedMs: at, startMs: at, endMs: at + p.value, outcome: outcome as Outcome, status: Number(p.tags[K6_TAGS.status] ?? 0) };
}

/**
 * Marks where each participant's journey entered a layer (samples in time order). A k6 iteration is one journey of
 * one participant, so its first step begins the journey and the first step of each layer enters it.
 */
function markEntries(samples: Sample[]): void {
  const seen = new Map<number, Set<Layer>>();
  for (const s of samples) {
    if (isHoldEvent(s.outcome)) continue;
    let layers = seen.get(s.user);
    if (!layers) seen.set(s.user, (layers = new Set()));
    s.entry = layers.size === 0 ? 2 : layers.has(s.layer) ? 0 : 1;
    layers.add(s.layer);
  }
}

export interface K6Import {
  dir: string;
  samples: number;
  runners: number;
  dropped: number;
  /** Result files whose last line was cut short, each named with its line: left out. */
  torn: string[];
}

/** Every firstbell sample of the results files, in time order, with k6's dropped iterations and the run's tags. */
async function readAll(files: string[], signal?: AbortSignal, given?: Scenario): Promise<{ samples: Sample[]; runTags: Record<string, string>; plan: Plan; dropped: number; firstTimeMs: number; torn: string[] }> {
  const samples: Sample[] = [];
  let runTags: Record<string, string> | undefined;
  let plan: Plan | undefined;
  let spanMs = Infinity;
  let dropped = 0;
  let firstTimeMs = Infinity;
  const torn: string[] = [];
  for (const file of files) {
    let n = 0;
    const cut = (f: string, line: string) => torn.push(`${basename(f)}: its last line was cut short (${line.length} bytes without the newline k6 ends each line with: a runner stopped while writing it) and is left out`);
    for await (const p of readK6(file, cut, signal)) {
      n++;
      if (p.metric === 'dropped_iterations') dropped += p.value;
      const where = `${file}:${n + 1}`;
      const s = toSample(p, where);
      if (!s) continue;
      if (!runTags) {
        runTags = p.tags;
        plan = planFromTags(runTags, where, given);
        spanMs = plan.schedule.endMs + plan.scenario.client.stepTimeoutMs + 60_000;
      }
      // A time outside the run is a damaged file: it would stretch the report over years.
      if (s.intendedMs < -1 || s.intendedMs > spanMs || s.endMs > spanMs || s.endMs < s.intendedMs) {
        throw new K6ImportError(`${where}: ${K6_META.at} ${s.intendedMs} and duration ${s.endMs - s.intendedMs} ms are not inside the run (0 to ${spanMs} ms); the file is damaged`);
      }
      firstTimeMs = Math.min(firstTimeMs, p.timeMs);
      samples.push(s);
    }
  }
  if (!runTags || !plan) throw new K6ImportError(`${files.join(', ')}: no ${K6_STEP_METRIC} samples; run a script written by 'firstbell export k6'`);
  samples.sort((a, b) => a.intendedMs - b.intendedMs);
  markEntries(samples);
  return { samples, runTags, plan, dropped, firstTimeMs, torn };
}

/** The plan the results were sent from, rebuilt from the scenario, scale and seed the run's tags name; each checked. */
function planFromTags(runTags: Record<string, string>, where: string, given?: Scenario): Plan {
  const name = runTags[K6_RUN_TAGS.scenario] ?? '';
  if (given && given.name !== name) throw new K6ImportError(`${where}: the results are of scenario '${name}', the scenario file given with --scenario is '${given.name}'; give the file the script was exported from`);
  const found = given ?? findScenario(name);
  if (!found) throw new K6ImportError(`${where}: the results name scenario '${name}', which is not built in; give the scenario file the script was exported from with --scenario FILE`);
  const scaleTag = runTags[K6_RUN_TAGS.scale];
  const scale = Number(scaleTag);
  // Scale 10 is 1.28 million participants: more than one import can hold, and more than any export is meant for.
  if (!(scale > 0 && scale <= 10)) throw new K6ImportError(`${where}: tag ${K6_RUN_TAGS.scale} '${scaleTag ?? ''}' is not a scale between 0 and 10; the results were not written by 'firstbell export k6', or were changed`);
  const seedTag = runTags[K6_RUN_TAGS.seed] ?? '1';
  const seed = Number(seedTag);
  if (!Number.isInteger(seed) || seed < 0 || seed >= 2 ** 31) throw new K6ImportError(`${where}: tag ${K6_RUN_TAGS.seed} '${seedTag}' is not a seed (a whole number from 0); the results were changed`);
  const target = runTags[K6_RUN_TAGS.target];
  if (target !== undefined && !URL.canParse(target)) throw new K6ImportError(`${where}: tag ${K6_RUN_TAGS.target} '${target}' is not a URL; the results were changed`);
  const plan = buildPlan(resolveScenario(found, scale), seed);
  const plannedTag = runTags[K6_RUN_TAGS.planned];
  if (plannedTag !== undefined && Number(plannedTag) !== plan.schedule.offsetsMs.length) {
    throw new K6ImportError(`${where}: the results planned ${plannedTag} arrivals, firstbell's plan of ${name} at scale ${scale}, seed ${seed} has ${plan.schedule.offsetsMs.length}; export and import with the same firstbell version`);
  }
  return plan;
}

/**
 * Merges the results of one or many k6 runners into a run folder under outDir: run.json (the scenario
 * named by the results' tags), samples.csv in time order, an empty health.csv (k6 keeps its own).
 */
export async function importK6(files: string[], outDir: string, runId?: string, signal?: AbortSignal, scenarioFile?: Scenario): Promise<K6Import> {
  if (!files.length) throw new K6ImportError('no results files given');
  const { samples, runTags, plan, dropped, firstTimeMs, torn } = await readAll(files, signal, scenarioFile);
  const { scenario, schedule } = plan;
  const url = new URL(runTags[K6_RUN_TAGS.target] ?? 'http://unknown.invalid/');
  const { kind, steps } = stepsOf(runTags, files);

  const id = runId ?? `${new Date(firstTimeMs).toISOString().replace(/[-:]/g, '').replace('T', '-').slice(0, 15)}-${scenario.name}-k6`;
  const folder = new RunFolderWriter(outDir, id);
  const { dir } = folder;
  for (const s of samples) folder.samples.sample(s);
  const starts = startHealth(samples, schedule);
  for (const h of starts) folder.health.write(healthLine(h));
  folder.close();
  if (folder.failure) throw folder.failure;
  const series = new Series(steps, scenario.joinWithinMs);
  for (const s of samples) series.add(s);
  const host = { hostname: `k6, ${files.length} runner${files.length === 1 ? '' : 's'}`, cpus: 0, platform: 'k6' };
  folder.info({
    ...runInfoOf(folder.id, plan, { target: { kind, url: shownTarget(url) }, steps, status: 'completed', startedAt: new Date(firstTimeMs).toISOString(), host }),
    endedAt: new Date(firstTimeMs + (samples[samples.length - 1]?.endMs ?? 0)).toISOString(),
    generator: {
      arrivalsPlanned: schedule.offsetsMs.length, arrivalsSent: new Set(samples.map((s) => s.user)).size, late: starts.reduce((n, h) => n + h.late, 0), dropped,
      lateThresholdMs: LATE_MS, maxActive: 0,
    },
    source: { kind: 'k6', files: files.map((f) => basename(f)), runners: files.length, ...(torn.length ? { cut: torn } : {}) },
  });
  folder.series(series);
  return { dir, samples: samples.length, runners: files.length, dropped, torn };
}

/**
 * k6's starts against the plan, as firstbell records its own dispatch each second: the arrivals planned in that second,
 * how many of them k6 started more than LATE_MS late, and how late (send lag p99 and max). k6 numbers its
 * iterations in the order it starts them, across runners, and the script makes its n-th the plan's n-th arrival:
 * that participant's first step starts at the latest by the end of its share of its second (k6 spreads a second's
 * arrivals over it). CPU and event-loop lag are not in k6's results and stay 0.
 */
function startHealth(samples: readonly Sample[], schedule: Schedule): HealthSecond[] {
  const first = new Map<number, number>();
  for (const s of samples) if (!first.has(s.user)) first.set(s.user, s.intendedMs);
  const perSecond = arrivalsPerSecond(schedule);
  // The second of the plan's n-th arrival, and its latest start.
  const secondOf = new Uint32Array(schedule.offsetsMs.length);
  const dueBy = new Float64Array(schedule.offsetsMs.length);
  for (let sec = 0, k = 0; sec < perSecond.length; sec++) {
    const n = perSecond[sec]!;
    for (let j = 0; j < n; j++, k++) {
      secondOf[k] = sec;
      dueBy[k] = sec * 1000 + ((j + 1) * 1000) / n;
    }
  }
  const lags: number[][] = perSecond.map(() => []);
  // The participant of the n-th arrival is the schedule's, as the script numbers them.
  const rankOf = new Uint32Array(schedule.participantIds.length);
  schedule.participantIds.forEach((id, n) => (rankOf[id] = n));
  for (const [user, startMs] of first) {
    if (user >= rankOf.length) continue;
    const n = rankOf[user]!;
    lags[secondOf[n]!]!.push(Math.max(0, startMs - dueBy[n]!));
  }
  const at = (xs: number[], p: number) => xs[Math.min(xs.length - 1, Math.ceil((p / 100) * xs.length) - 1)] ?? 0;
  const round1 = (x: number) => Math.round(x * 10) / 10;
  return lags.map((xs, t) => {
    xs.sort((a, b) => a - b);
    return {
      t, loopLagP99Ms: 0, loopLagMaxMs: 0, cpuPct: 0, sendLagP99Ms: round1(at(xs, 99)), sendLagMaxMs: round1(xs[xs.length - 1] ?? 0),
      arrivals: xs.length, late: xs.filter((x) => x > LATE_MS).length, dropped: 0, active: 0, rssMb: 0,
    };
  });
}

/** The steps the results were recorded under, from the script's steps tag. */
function stepsOf(runTags: Record<string, string>, files: string[]): { kind: string; steps: StepDecl[] } {
  const kind = runTags[K6_RUN_TAGS.kind] ?? 'journey';
  const tag = runTags[K6_RUN_TAGS.steps];
  const steps = stepsOfTag(tag ?? '');
  if (!steps) throw new K6ImportError(`${files.join(', ')}: tag ${K6_RUN_TAGS.steps} '${tag ?? ''}' is not a journey's steps; the results were not written by 'firstbell export k6', or were changed`);
  return { kind, steps };
}

