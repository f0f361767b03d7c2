// What every command shares: exit codes, the I/O it writes to, flag parsers, and scenario and target lookup.
import { InvalidArgumentError, Option, type Command } from 'commander';
import type { Target } from '../api/target.js';
import { existsSync, mkdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fsErrorText } from '../run-folder/run-folder.js';
import { loadScenarioFile, isScenarioFile } from '../modules/scenario.js';
import { journeyModuleTarget } from '../modules/target.js';
import { isLoopback } from '../plan/limits.js';
import { BUILT_IN_SCENARIOS, closestName, findScenario } from '../scenarios/index.js';
import { ProblemsError, resolveScenario, validateScenario, type ResolvedScenario, type Scenario } from '../scenarios/model.js';
import { applyObjectiveFlags } from '../scenarios/objective-flag.js';
import { FAULT_FLAG_FORM, parseFaultFlags } from '../scenarios/fault-flag.js';
import type { BbbChecksum } from '../targets/bbb.js';
import { targetFromSpec, TARGET_KINDS, type TargetKind } from '../targets/index.js';

/** Exit codes, as documented in the README. */
export const EXIT = { ok: 0, internal: 1, usage: 2, unreachable: 3, objectivesFailed: 99, interrupted: 130 } as const;

export interface Io {
  stdout: { write(s: string): unknown };
  stderr: { write(s: string): unknown; isTTY?: boolean };
  /** Aborted on Ctrl-C: the run stops cleanly and still writes its report. */
  signal?: AbortSignal;
  cwd?: string;
}

/** Bad flags or arguments: exit 2 with the message. */
export class UsageError extends Error {}

/** A command's result: its exit code. */
export type Action = () => Promise<number>;

/** Registers a command's action; the program runs it after parsing. */
export type SetAction = (a: Action) => void;

export const fmt = (n: number) => n.toLocaleString('en-US');

export function parseNumber(what: string, min: number, max: number, integer = false) {
  return (v: string): number => {
    const n = Number(v);
    if (v.trim() === '' || !Number.isFinite(n) || n < min || n > max || (integer && !Number.isInteger(n))) {
      throw new InvalidArgumentError(`${what} must be ${integer ? 'a whole number' : 'a number'} from ${min} to ${max}.`);
    }
    return n;
  };
}

export const scaleOption = () => new Option('--scale <fraction>', 'fraction of full scale (1.0 = 100,000 joins)').argParser(parseNumber('the scale', 0.0001, 1));
export const allowTargetOption = () =>
  new Option('--allow-target <host>', 'allow loading this non-loopback host (repeatable)').argParser((v: string, acc: string[] = []) => [...acc, v]).default([] as string[]);
export const workersOption = () =>
  new Option('--workers <n|auto>', 'processes that share the schedule; auto: every core from 500 arrivals/s on, and enough that none needs more files than it may open')
    .argParser((v: string) => (v === 'auto' ? 'auto' : parseNumber('--workers', 1, 64, true)(v)))
    .default('auto' as const);
export const localAddressOption = () =>
  new Option('--local-address <addresses>', 'spread connections over these local addresses: 127.0.1.1-127.0.1.20, a list, or a network like 127.0.2.0/28 (repeatable; default: as many 127.0.1.x as a loopback target needs)')
    .argParser((v: string, acc: string[] = []) => [...acc, v])
    .default([] as string[]);
/**
 * A folder the run folders go into, made if needed and tried with a small file before anything is sent: a file in
 * the way, a read-only or full file system, or a place like /proc is a usage error naming the folder and the fix.
 */
export function writableFolder(flag: string, dir: string, cwd = process.cwd()): string {
  const abs = resolve(cwd, dir);
  if (/^\/(proc|sys|dev)(\/|$)/.test(abs)) throw new UsageError(`${flag} ${dir} is inside /${abs.split('/')[1]}, which holds no files; give a folder on a disk`);
  try {
    if (existsSync(abs) && !statSync(abs).isDirectory()) throw new UsageError(`${flag} ${dir} is a file; give a folder for the run folders`);
    mkdirSync(abs, { recursive: true });
    const probe = join(abs, `.firstbell-write-test-${process.pid}`);
    try {
      writeFileSync(probe, 'firstbell');
    } finally {
      rmSync(probe, { force: true });
    }
  } catch (e) {
    if (e instanceof UsageError) throw e;
    throw new UsageError(`${flag} ${dir}: cannot write there: ${fsErrorText(e)}; give a folder you may write to`);
  }
  return abs;
}

/**
 * --target is required, and checked here rather than by commander: commander would name a missing --target before
 * a misspelt flag (--targt), which is the mistake to point at.
 */
export function requireTarget(target: string | undefined): asserts target is string {
  if (target === undefined) throw new UsageError("required option '--target <url>' not specified; give the platform's base URL, e.g. --target http://127.0.0.1:8080");
}

/** A size in bytes: "8MB", "512kB", "65536" (B, kB, MB, GB; powers of 1024). */
export function parseSize(flag: string, min = 1024) {
  return (v: string): number => {
    const m = /^(\d+(?:\.\d+)?)\s*(B|kB|KB|MB|GB)?$/.exec(v.trim());
    const n = m ? Math.round(Number(m[1]) * ({ B: 1, kB: 1024, KB: 1024, MB: 1024 ** 2, GB: 1024 ** 3 }[m[2] ?? 'B'] ?? 1)) : NaN;
    if (!(n >= min)) throw new InvalidArgumentError(`${flag} '${v}' is not a size of at least ${min} bytes; give one like 8MB or 512kB`);
    return n;
  };
}

export const seedOption = () => new Option('--seed <n>', 'seed of the schedule; the same seed gives the same arrivals').argParser(parseNumber('the seed', 0, 2 ** 31 - 1, true)).default(1);

/** --fault and --no-faults: faults added on the command line, and whether the scenario's own stay. */
export interface FaultFlags {
  fault?: string[];
  faults?: boolean;
}

export const faultFlags = (cmd: Command) =>
  cmd
    .addOption(new Option('--fault <spec>', `a fault to schedule, applied by the fault proxy in front of any target: ${FAULT_FLAG_FORM} (repeatable)`).argParser((v: string, acc: string[] = []) => [...acc, v]).default([] as string[]))
    .option('--no-faults', "run the scenario without its own faults (those given with --fault still apply)");

/**
 * A built-in scenario by name, a scenario file (.ts, .js, .json), or a timetable (.csv, .txt) when `timetable`
 * makes one into a scenario; with --objective flags and --data applied.
 */
export async function scenarioByName(name: string, scale: number, objectiveFlags: string[] = [], dataFile?: string, timetable?: (file: string) => Scenario, faultFlags: FaultFlags = {}): Promise<ResolvedScenario> {
  const isTimetable = timetable !== undefined && /\.(csv|txt)$/i.test(name);
  const s = isTimetable ? timetable(name) : isScenarioFile(name) ? await loadScenarioFile(name) : findScenario(name);
  if (!s) {
    const near = closestName(name, BUILT_IN_SCENARIOS.map((x) => x.name));
    throw new UsageError(
      `unknown scenario '${name}'${near ? `; did you mean '${near}'?` : ''} (built in: ${BUILT_IN_SCENARIOS.map((x) => x.name).join(', ')}; see 'firstbell list'; a scenario file's path ends in .ts, .js or .json, a timetable's in .csv or .txt)`,
    );
  }
  const problems = validateScenario(s).map((p) => ({ ...p, where: `scenario ${name}: ${p.where}` }));
  const { objectives, problems: flagProblems } = applyObjectiveFlags(s.objectives, objectiveFlags);
  const added = parseFaultFlags(faultFlags.fault ?? []);
  if (problems.length || flagProblems.length || added.problems.length) throw new ProblemsError([...problems, ...flagProblems, ...added.problems]);
  const data = dataFile !== undefined ? { ...s.data, csv: resolve(dataFile) } : s.data;
  // --no-faults drops the scenario's own faults; --fault adds to what is left.
  const faults = [...(faultFlags.faults === false ? [] : (s.faults ?? [])), ...added.faults];
  const { faults: _own, ...rest } = s;
  return resolveScenario({ ...rest, objectives, ...(data ? { data } : {}), ...(faults.length ? { faults } : {}) }, scale);
}

/** Settings of the BigBlueButton, Moodle and plain HTTP targets. */
export interface TargetFlags {
  bbbSecret?: string;
  bbbChecksum?: BbbChecksum;
  moodleJoin?: string;
  httpRequests?: number;
}

/** The --target URL, checked: its scheme for the kind, and a host that may be loaded. */
export function targetUrl(url: string, allowed: string[], kind: TargetKind | 'journey'): URL {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    throw new UsageError(`--target '${url}' is not a URL; give one like ${kind === 'janus' ? 'ws://127.0.0.1:8188' : 'http://127.0.0.1:8080'}`);
  }
  const schemes = kind === 'janus' || kind === 'journey' ? ['ws:', 'wss:', 'http:', 'https:'] : ['http:', 'https:'];
  if (!schemes.includes(u.protocol)) throw new UsageError(`--target '${url}' must start with ${schemes.map((x) => `${x}//`).join(' or ')} for --target-kind ${kind}`);
  if (!isLoopback(u.hostname) && !allowed.includes(u.hostname)) {
    throw new UsageError(`refusing to load ${u.hostname}: only loopback targets are allowed by default; add --allow-target ${u.hostname} if you may load it`);
  }
  return u;
}

/** A user's journey module aimed at --target. */
export async function journeyTargetFor(file: string, url: string, allowed: string[]): Promise<Target> {
  return journeyModuleTarget(resolve(file), targetUrl(url, allowed, 'journey'));
}

export function targetFor(url: string, allowed: string[], kind: TargetKind = 'reference', flags: TargetFlags = {}): Target {
  const u = targetUrl(url, allowed, kind);
  const bbbSecret = kind === 'bbb' ? flags.bbbSecret ?? process.env.FIRSTBELL_BBB_SECRET : undefined;
  if (kind === 'bbb' && !bbbSecret) throw new UsageError("--target-kind bbb needs the server's shared secret: --bbb-secret or FIRSTBELL_BBB_SECRET (on the server: bbb-conf --secret)");
  return targetFromSpec({ kind, url: u.href, bbbSecret, bbbChecksum: flags.bbbChecksum, moodleJoin: flags.moodleJoin, httpRequests: flags.httpRequests });
}


/** The flags that say how to talk to a target, shared by run and plan. */
export function targetFlags(cmd: Command): Command {
  return cmd
    .option('--journey <file>', "the platform's journey: a module that default-exports defineJourney({...}) (default: the scenario's journey, else --target-kind)")
    .option('--data <csv>', 'rows for the participants (credentials, rooms): participant n gets row n')
    .addOption(new Option('--target-kind <kind>', 'how to talk to the target: reference (the reference platform, or one built like it), janus (ws://host:8188), bbb (https://host/bigbluebutton/), moodle (https://host/) or http (GETs of the --target URL)').choices([...TARGET_KINDS]).default('reference'))
    .addOption(new Option('--http-requests <n>', 'http: GETs each participant sends on its keep-alive connection').argParser(parseNumber('--http-requests', 1, 1_000_000, true)).default(1))
    .option('--bbb-secret <secret>', 'BigBlueButton shared secret (default: FIRSTBELL_BBB_SECRET)')
    .addOption(new Option('--bbb-checksum <algorithm>', 'BigBlueButton checksum algorithm, as configured on the server').choices(['sha1', 'sha256', 'sha384', 'sha512']).default('sha1'))
    .option('--moodle-join <path>', "Moodle: where a pupil joins the lesson, e.g. '/mod/bigbluebuttonbn/bbb_view.php?action=join&id=7'")
    .addOption(allowTargetOption());
}

export type TargetKindFlags = TargetFlags & { targetKind: TargetKind; journey?: string; data?: string; allowTarget: string[] };

/** The target the flags and the scenario describe: a journey module (the flag's, else the scenario's), or a built-in kind. */
export async function targetOfFlags(o: TargetKindFlags, url: string, scenario: ResolvedScenario, cmd: Command): Promise<Target> {
  const journey = o.journey ?? scenario.journey;
  if (journey && cmd.getOptionValueSource('targetKind') === 'cli') throw new UsageError(`--target-kind ${o.targetKind} and a journey module (${journey}) both say how to talk to the target; give one of them`);
  return journey ? journeyTargetFor(journey, url, o.allowTarget) : targetFor(url, o.allowTarget, o.targetKind, o);
}
