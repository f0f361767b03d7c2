// What every command shares: exit codes, the I/O it writes to, flag parsers, and scenario and target lookup.
import { InvalidArgumentError, Option, type Command } from 'commander';
import type { JourneyOption } from '../api/journey.js';
import { DEFAULT_MAX_ANSWER_BYTES } from '../api/sample.js';
import { existsSync, mkdirSync, realpathSync, rmSync, statfsSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fsErrorText } from '../run-folder/writer.js';
import { loadScenarioFile, isScenarioFile } from '../modules/scenario.js';
import { platformOfInput } from '../modules/journey.js';
import { BUILT_IN_SCENARIOS, closestName, findScenario } from '../scenarios/index.js';
import { ProblemsError, resolveScenario, validateScenario, type ResolvedScenario, type Scenario } from '../scenarios/model.js';
import { applyObjectiveFlags, FAULT_FLAG_FORM, parseFaultFlags } from '../scenarios/flags.js';
import { builtInJourney, TARGET_KINDS, type TargetKind } from '../targets/index.js';
import type { Platform } from '../targets/platform.js';
import { EXIT, FirstbellError } from '../lib/errors.js';
import type { Analysis } from '../analysis/model.js';
import { summaryJson, terminalSummary } from '../reports/summary.js';
import { LIVE_HOST, LIVE_PORT } from '../reports/live.js';

export { EXIT } from '../lib/errors.js';

export interface Io {
  stdout: { write(s: string): unknown };
  stderr: { write(s: string): unknown; isTTY?: boolean };
  /** Aborted on Ctrl-C: the run stops cleanly and still writes its report. */
  signal?: AbortSignal;
  cwd?: string;
}

/** Bad flags or arguments: exit 2 with the message. */
export class UsageError extends FirstbellError {}

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

/** --live [port]: the live page of a run as it goes (run, demo, whatif, and report following a run folder). */
export const liveOption = (what = 'a live page of the run as it goes') =>
  new Option('--live [port]', `${what}, on http://${LIVE_HOST}:<port>/ (default port ${LIVE_PORT}; 0: any free one); at the run's end it becomes the report`).argParser(parseNumber('--live', 0, 65_535, true));

/** --live-host: where the live page listens, loopback unless told otherwise. */
export const liveHostOption = () => new Option('--live-host <address>', `address the live page listens on (default ${LIVE_HOST}); another one makes the page reachable from other machines, with a warning`);

/** --scale: every command takes a scenario at scale 1 (as written, what `plan` shows) unless it says otherwise. */
export const scaleOption = (fallback: number | undefined = 1) => {
  const o = new Option('--scale <fraction>', "fraction of the scenario's participants (1.0: as written; the built-in scenarios' 100,000 joins)").argParser(parseNumber('the scale', 0.0001, 1));
  return fallback === undefined ? o : o.default(fallback);
};
export const allowTargetOption = () =>
  new Option('--allow-target <host>', 'allow loading this non-loopback host (repeatable)').argParser((v: string, acc: string[] = []) => [...acc, v]).default([] as string[]);
export const maxAnswerOption = () =>
  new Option('--max-answer <size>', 'most bytes of one answer a participant reads (an HTTP body, a WebSocket message), e.g. 8MB or 512kB; beyond it the step fails as too_large')
    .argParser(parseSize('--max-answer'))
    .default(DEFAULT_MAX_ANSWER_BYTES, '8MB');
export const workersOption = () =>
  new Option('--workers <n|auto>', 'processes that share the schedule; auto: every core from 500 arrivals/s on, and enough that none needs more files than it may open')
    .argParser((v: string) => (v === 'auto' ? 'auto' : parseNumber('--workers', 1, 64, true)(v)))
    .default('auto' as const);
export const localAddressOption = () =>
  new Option('--local-address <addresses>', 'spread connections over these local addresses: 127.0.1.1-127.0.1.20, a list, or a network like 127.0.2.0/28 (repeatable; default: as many 127.0.1.x as a loopback target needs)')
    .argParser((v: string, acc: string[] = []) => [...acc, v])
    .default([] as string[]);

/** File systems that hold no files of their own, by their magic numbers (statfs). */
const PSEUDO_FS: Record<number, string> = { 0x9fa0: 'proc', 0x62656572: 'sys', 0x27e0eb: 'cgroup', 0x63677270: 'cgroup2', 0x64626720: 'debugfs', 0x74726163: 'tracefs', 0x73636673: 'securityfs' };

/**
 * A folder the run folders go into, made if needed and tried with a small file before anything is sent: a file in
 * the way, a read-only or full file system, or a place like /proc is a usage error naming the folder and the fix.
 */
export function writableFolder(flag: string, dir: string, cwd = process.cwd()): string {
  const abs = resolve(cwd, dir);
  // Where it really is, through links and second mounts: a file system that holds no files of its own is refused.
  let real = abs;
  while (!existsSync(real)) real = dirname(real);
  real = realpathSync(real);
  const pseudo = /^\/(proc|sys|dev)(\/|$)/.exec(real)?.[1] ?? PSEUDO_FS[statfsSync(real).type];
  if (pseudo) throw new UsageError(`${flag} ${dir} is inside ${real === abs || real.startsWith(`/${pseudo}`) ? `/${pseudo}` : `${real} (${pseudo})`}, which holds no files; give a folder on a disk`);
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
export async function scenarioByName(name: string, scale: number, objectiveFlags: string[] = [], dataFile?: string, timetable?: (file: string) => Scenario, faultFlags: FaultFlags & { typecheck?: boolean } = {}): Promise<ResolvedScenario> {
  const isTimetable = timetable !== undefined && /\.(csv|txt)$/i.test(name);
  const s = isTimetable ? timetable(name) : isScenarioFile(name) ? await loadScenarioFile(name, faultFlags.typecheck !== false) : findScenario(name);
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

/** --option name=value, repeated: a journey's options by name. */
function optionPairs(pairs: readonly string[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (const p of pairs) {
    const eq = p.indexOf('=');
    if (eq <= 0) throw new UsageError(`--option '${p}' is not name=value; give one like --option room=7`);
    out[p.slice(0, eq)] = p.slice(eq + 1);
  }
  return out;
}

/** The commander attribute of a flag: --bbb-secret → bbbSecret. */
const attributeOf = (flag: string) => flag.replace(/^--/, '').replace(/-([a-z])/g, (_, c: string) => c.toUpperCase());

/** Each built-in kind's option that has a flag of its own: the kind, the option's name and schema, the flag. */
function kindFlags(): { kind: TargetKind; name: string; option: JourneyOption; flag: string }[] {
  return TARGET_KINDS.flatMap((kind) =>
    Object.entries(builtInJourney(kind).options ?? {}).flatMap(([name, option]) => (option.flag ? [{ kind, name, option, flag: option.flag }] : [])),
  );
}

/** The option values a built-in kind was given by its own flags; a flag of another kind is a usage error. */
function builtInFlagValues(kind: TargetKind, o: Record<string, unknown>): Record<string, string | number> {
  const given: Record<string, string | number> = {};
  for (const f of kindFlags()) {
    const v = o[attributeOf(f.flag)];
    if (v === undefined) continue;
    if (f.kind !== kind) throw new UsageError(`${f.flag} is for --target-kind ${f.kind}, and this run talks to the target as ${kind}; leave it out or give --target-kind ${f.kind}`);
    given[f.name] = v as string | number;
  }
  return given;
}

/** The flags of the built-in kinds' options, from their option schemas. */
function builtInOptionFlags(): Option[] {
  return kindFlags().map(({ kind, option: o, flag }) => {
    const extra = [o.env ? `default: ${o.env}` : '', o.default !== undefined ? `default: ${String(o.default)}` : ''].filter(Boolean).join('; ');
    const opt = new Option(`${flag} <${o.type === 'number' ? 'n' : 'value'}>`, `${kind}: ${o.description}${extra ? ` (${extra})` : ''}`);
    return o.choices ? opt.choices([...o.choices]) : opt;
  });
}

/** The flags that say how to talk to a target, shared by run and plan. */
export function targetFlags(cmd: Command): Command {
  return journeyFlags(cmd)
    .option('--data <csv>', 'rows for the participants (credentials, rooms): participant n gets row n')
    .addOption(allowTargetOption());
}

/** The flags that choose the journey and give its options: --journey, --target-kind, --option and each built-in kind's own. */
export function journeyFlags(cmd: Command): Command {
  const kinds = TARGET_KINDS.map((k) => `${k} (${builtInJourney(k).description ?? k})`).join(', ');
  cmd
    .option('--journey <file>', "the platform's journey: a module that default-exports defineJourney({...}) (default: the scenario's journey, else --target-kind)")
    .addOption(new Option('--target-kind <kind>', `how to talk to the target, with a built-in journey: ${kinds}`).choices([...TARGET_KINDS]).default('reference'))
    .option('--no-typecheck', "load journey and scenario files without checking their types and step names first (faster: TypeScript is not loaded; a mistake then shows as a script error during the run)")
    .addOption(new Option('--option <name=value>', "one of the journey's options (repeatable); a built-in kind's also have flags of their own").argParser((v: string, acc: string[] = []) => [...acc, v]).default([] as string[]));
  for (const o of builtInOptionFlags()) cmd.addOption(o);
  return cmd;
}

export type TargetKindFlags = { targetKind: TargetKind; journey?: string; data?: string; allowTarget: string[]; option: string[]; typecheck?: boolean } & Record<string, unknown>;

/** The journey the flags and the scenario name (the flag's module, else the scenario's, else a built-in kind), and the options given for it. */
export function journeyOfFlags(o: TargetKindFlags, scenario: ResolvedScenario, cmd: Command, cwd = process.cwd()): { journey: { module: string } | { kind: TargetKind }; given: Record<string, string | number> } {
  const journey = o.journey !== undefined ? resolve(cwd, o.journey) : scenario.journey;
  if (journey && cmd.getOptionValueSource('targetKind') === 'cli') throw new UsageError(`--target-kind ${o.targetKind} and a journey module (${journey}) both say how to talk to the target; give one of them`);
  const pairs = optionPairs(o.option);
  if (!journey) return { journey: { kind: o.targetKind }, given: { ...builtInFlagValues(o.targetKind, o), ...pairs } };
  const kindFlag = kindFlags().find((f) => o[attributeOf(f.flag)] !== undefined);
  if (kindFlag) throw new UsageError(`${kindFlag.flag} is for --target-kind ${kindFlag.kind}; a journey module takes its options as --option name=value`);
  return { journey: { module: journey }, given: pairs };
}

/** The platform the flags and the scenario describe: a journey module (the flag's, else the scenario's), or a built-in kind. */
export async function targetOfFlags(o: TargetKindFlags, url: string, scenario: ResolvedScenario, cmd: Command): Promise<Platform> {
  const { journey, given } = journeyOfFlags(o, scenario, cmd);
  return platformOfInput({ journey: 'kind' in journey ? journey.kind : journey.module, target: url, options: given }, { allowHosts: o.allowTarget, typecheck: o.typecheck !== false });
}

/** A path as the terminal shows it: relative to the working folder, where it is below it. */
export function shownPath(io: Io, path: string): string {
  return relative(io.cwd ?? process.cwd(), path) || path;
}

/** The verdict on stdout (summary.json with --json, else `lines` and the terminal summary), and the exit code it gives. */
export function printVerdict(io: Io, analysis: Analysis, reportPath: string, json: boolean | undefined, lines: string[] = []): number {
  io.stdout.write(json ? `${JSON.stringify(summaryJson(analysis), null, 2)}\n` : [...lines, terminalSummary(analysis, reportPath), ''].join('\n'));
  return analysis.passed ? EXIT.ok : EXIT.objectivesFailed;
}
