#!/usr/bin/env node
// The firstbell command line: a thin shell over the programmatic API; only this file exits the process.
import { mkdirSync, realpathSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Command, CommanderError, InvalidArgumentError, Option } from 'commander';
import { ConfigError, poolCapacityPerSec, poolFor, startReferencePlatform, type PlatformConfigPatch } from './fixtures/reference-platform.js';
import { spawnReferencePlatform } from './fixtures/spawn.js';
import { JanusSetupError, startJanusFarms } from './fixtures/janus.js';
import { BrowserSetupError } from './lib/chromium.js';
import { clockAt } from './analysis/analysis.js';
import { buildReport } from './reports/build-report.js';
import { compare, renderComparison } from './reports/compare.js';
import { openReport } from './reports/screenshot.js';
import { terminalSummary, summaryJson } from './reports/summary.js';
import { BUILT_IN_SCENARIOS, closestName, findScenario } from './scenarios/index.js';
import { applyObjectiveFlags } from './scenarios/objective-flag.js';
import { ProblemsError, resolveScenario, validateScenario, type ResolvedScenario } from './scenarios/model.js';
import { availableParallelism, networkInterfaces } from 'node:os';
import { isLoopback, layoutLoad, LocalAddressError, parseLocalAddresses, type LoadLayout } from './plan/limits.js';
import { RunFailedError, RunFolderError, writeFileAtomic } from './run-folder/run-folder.js';
import { planOf, runScenario, type Progress } from './users/run.js';
import { describeFault } from './faults/faults.js';
import { buildSchedule } from './plan/schedule.js';
import { TargetUnreachableError, type Target } from './api/target.js';
import { targetFromSpec, TARGET_KINDS, type TargetKind } from './targets/index.js';
import type { BbbChecksum } from './targets/bbb.js';
import { WorkerError } from './users/workers.js';
import { exportK6 } from './k6/export.js';
import { importK6, K6ImportError } from './k6/import.js';
import { VERSION } from './lib/version.js';

/** Exit codes, as documented in the README. */
export const EXIT = { ok: 0, internal: 1, usage: 2, unreachable: 3, objectivesFailed: 99, interrupted: 130 } as const;

export interface Io {
  stdout: { write(s: string): unknown };
  stderr: { write(s: string): unknown; isTTY?: boolean };
  /** Aborted on Ctrl-C: the run stops cleanly and still writes its report. */
  signal?: AbortSignal;
  cwd?: string;
}

class UsageError extends Error {}

/** A command's result: its exit code. */
type Action = () => Promise<number>;

const fmt = (n: number) => n.toLocaleString('en-US');

function parseNumber(what: string, min: number, max: number, integer = false) {
  return (v: string): number => {
    const n = Number(v);
    if (v.trim() === '' || !Number.isFinite(n) || n < min || n > max || (integer && !Number.isInteger(n))) {
      throw new InvalidArgumentError(`${what} must be ${integer ? 'a whole number' : 'a number'} from ${min} to ${max}.`);
    }
    return n;
  };
}

const scaleOption = () => new Option('--scale <fraction>', 'fraction of full scale (1.0 = 100,000 joins)').argParser(parseNumber('the scale', 0.0001, 1));
const allowTargetOption = () =>
  new Option('--allow-target <host>', 'allow loading this non-loopback host (repeatable)').argParser((v: string, acc: string[] = []) => [...acc, v]).default([] as string[]);
const workersOption = () =>
  new Option('--workers <n|auto>', 'processes that share the schedule; auto: every core from 500 arrivals/s on, and enough that none needs more files than it may open')
    .argParser((v: string) => (v === 'auto' ? 'auto' : parseNumber('--workers', 1, 64, true)(v)))
    .default('auto' as const);
const localAddressOption = () =>
  new Option('--local-address <addresses>', 'spread connections over these local addresses: 127.0.1.1-127.0.1.20, a list, or a network like 127.0.2.0/28 (repeatable; default: as many 127.0.1.x as a loopback target needs)')
    .argParser((v: string, acc: string[] = []) => [...acc, v])
    .default([] as string[]);
const seedOption = () => new Option('--seed <n>', 'seed of the schedule; the same seed gives the same arrivals').argParser(parseNumber('the seed', 0, 2 ** 31 - 1, true)).default(1);

function scenarioByName(name: string, scale: number, objectiveFlags: string[] = []): ResolvedScenario {
  const s = findScenario(name);
  if (!s) {
    const near = closestName(name, BUILT_IN_SCENARIOS.map((x) => x.name));
    throw new UsageError(
      `unknown scenario '${name}'${near ? `; did you mean '${near}'?` : ''} (built in: ${BUILT_IN_SCENARIOS.map((x) => x.name).join(', ')}; see 'firstbell list')`,
    );
  }
  const problems = validateScenario(s).map((p) => ({ ...p, where: `scenario ${name}: ${p.where}` }));
  const { objectives, problems: flagProblems } = applyObjectiveFlags(s.objectives, objectiveFlags);
  if (problems.length || flagProblems.length) throw new ProblemsError([...problems, ...flagProblems]);
  return resolveScenario({ ...s, objectives }, scale);
}

/** Settings of the BigBlueButton, Moodle and plain HTTP targets. */
interface TargetFlags {
  bbbSecret?: string;
  bbbChecksum?: BbbChecksum;
  moodleJoin?: string;
  httpRequests?: number;
}

function targetFor(url: string, allowed: string[], kind: TargetKind = 'reference', flags: TargetFlags = {}): Target {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    throw new UsageError(`--target '${url}' is not a URL; give one like ${kind === 'janus' ? 'ws://127.0.0.1:8188' : 'http://127.0.0.1:8080'}`);
  }
  const schemes = kind === 'janus' ? ['ws:', 'wss:'] : ['http:', 'https:'];
  if (!schemes.includes(u.protocol)) throw new UsageError(`--target '${url}' must start with ${schemes.map((x) => `${x}//`).join(' or ')} for --target-kind ${kind}`);
  if (!isLoopback(u.hostname) && !allowed.includes(u.hostname)) {
    throw new UsageError(`refusing to load ${u.hostname}: only loopback targets are allowed by default; add --allow-target ${u.hostname} if you may load it`);
  }
  const bbbSecret = kind === 'bbb' ? flags.bbbSecret ?? process.env.FIRSTBELL_BBB_SECRET : undefined;
  if (kind === 'bbb' && !bbbSecret) throw new UsageError("--target-kind bbb needs the server's shared secret: --bbb-secret or FIRSTBELL_BBB_SECRET (on the server: bbb-conf --secret)");
  return targetFromSpec({ kind, url: u.href, bbbSecret, bbbChecksum: flags.bbbChecksum, moodleJoin: flags.moodleJoin, httpRequests: flags.httpRequests });
}

/** This machine's interface addresses, for checking --local-address. */
function machineAddresses(): Set<string> {
  return new Set(Object.values(networkInterfaces()).flatMap((l) => (l ?? []).map((a) => a.address)));
}

/** Worker processes and local addresses for a run, from the plan, the flags and this machine's limits. */
function layoutFor(s: ResolvedScenario, seed: number, targetHost: string, flags: { workers?: number | 'auto'; localAddress?: string[] }, holds = true): LoadLayout {
  const plan = planOf(s, buildSchedule(s, seed));
  let given: string[] | undefined;
  try {
    given = flags.localAddress?.length ? parseLocalAddresses(flags.localAddress, machineAddresses()) : undefined;
  } catch (e) {
    if (e instanceof LocalAddressError) throw new UsageError(e.message);
    throw e;
  }
  return layoutLoad({
    participants: plan.participants, peakArrivalsPerSec: plan.peakArrivalsPerSec, targetHost: targetHost.replace(/^\[|\]$/g, ''), cores: availableParallelism(),
    workers: flags.workers === 'auto' ? undefined : flags.workers, localAddresses: given, holds,
  });
}

function describePlan(s: ResolvedScenario, seed: number, target: string | undefined, layout: LoadLayout, browsers = 0): string {
  const schedule = buildSchedule(s, seed);
  const plan = planOf(s, schedule);
  const phases = plan.phases.map((p) => `${p.name} ${fmt(p.participants)} from ${p.startMs / 1000} s over ${p.durationMs / 1000} s`).join(', ');
  const lines = [
    `plan: ${s.name} at scale ${s.scale}, seed ${seed}: ${fmt(plan.participants)} participants (${phases}; t = 0 s is ${s.firstBell})`,
    `      peak ${fmt(plan.peakArrivalsPerSec)} arrivals/s; measuring ends ${(schedule.endMs / 1000).toFixed(0)} s after the start; ${browsers ? `${browsers} browser user${browsers === 1 ? '' : 's'} beside the protocol users` : 'protocol users only'}${target ? `; target ${target}` : ''}`,
  ];
  const retry = s.client.retry;
  if (retry && retry.kind !== 'none') {
    lines.push(`      retries: ${retry.kind === 'reload' ? `reload every ${retry.everyMs / 1000} s` : `back off ${retry.baseMs / 1000} s doubling to ${retry.maxMs / 1000} s with full jitter`}, up to ${retry.maxTries} journeys`);
  }
  for (const f of s.faults ?? []) lines.push(`      fault: ${describeFault(f)} from ${f.atMs / 1000} s for ${f.forMs / 1000} s`);
  const files = layout.filesPerProcess === undefined ? '' : `, ${fmt(layout.filesPerProcess)} files each`;
  const addrs = layout.localAddresses;
  lines.push(
    `      generator: ${layout.workers} process${layout.workers === 1 ? '' : 'es'} (${layout.workersWhy}${files}); ` +
      (addrs.length === 0
        ? `connections from the system's source address (${fmt(layout.portsPerAddress)} ports)`
        : `${layout.localAddressesFor === 'held' ? 'held connections' : 'connections'} spread over ${addrs.length} local address${addrs.length === 1 ? '' : 'es'} ${addrs.length > 2 ? `${addrs[0]}…${addrs.at(-1)}` : addrs.join(', ')} (${layout.localAddressesWhy ?? 'as given'}; ${fmt(addrs.length * layout.portsPerAddress)} ports)`),
  );
  for (const w of layout.warnings) lines.push(`      warning: ${w}`);
  return lines.join('\n');
}

function progressLine(p: Progress, s: ResolvedScenario): string {
  const layers = (['admission', 'broker', 'media'] as const)
    .map((l) => {
      const v = p.layers[l];
      return `${l} ${v.ended ? `${Math.round((v.failed / v.ended) * 100)}% err p95 ${v.p95Ms}ms` : '—'}`;
    })
    .join(' | ');
  return `[${String(p.t).padStart(3)}s ${clockAt(s.firstBell, p.firstBellAtMs, p.t)}] sent ${fmt(p.sent)}/${fmt(p.planned)} late ${p.late} dropped ${p.dropped} active ${fmt(p.active)} | ${layers} | cpu ${p.health.cpuPct}% lag ${p.health.loopLagP99Ms}ms`;
}

function progressPrinter(io: Io, scenario: ResolvedScenario, enabled: boolean): { onProgress?: (p: Progress) => void; done: () => void } {
  if (!enabled) return { done: () => undefined };
  const tty = io.stderr.isTTY === true;
  let last = 0;
  return {
    onProgress: (p) => {
      const line = progressLine(p, scenario);
      if (tty) io.stderr.write(`\r\x1b[2K${line.slice(0, 200)}`);
      else if (p.t - last >= 5 || p.t === 0) {
        last = p.t;
        io.stderr.write(line + '\n');
      }
    },
    done: () => tty && io.stderr.write('\n'),
  };
}

interface RunFlags {
  objective: string[];
  faultsVia: 'auto' | 'proxy';
  scale?: number;
  seed: number;
  out: string;
  maxActive?: number;
  allowTarget: string[];
  json?: boolean;
  progress: boolean;
  browsers: number;
  browserCycle: number;
  chromium?: string;
  browserEndpoint?: string;
  workers: number | 'auto';
  localAddress: string[];
}

/** Runs one scenario, builds its report and prints the verdict; returns the run folder and analysis. */
async function runOnce(io: Io, scenario: ResolvedScenario, target: Target, flags: RunFlags) {
  const layout = layoutFor(scenario, flags.seed, target.url.hostname, flags, target.holds !== false);
  io.stderr.write(describePlan(scenario, flags.seed, `${target.kind} ${target.url.origin}`, layout, flags.browsers) + '\n');
  const progress = progressPrinter(io, scenario, flags.progress);
  const result = await runScenario({
    scenario, seed: flags.seed, target, outDir: resolve(io.cwd ?? process.cwd(), flags.out), maxActive: flags.maxActive,
    signal: io.signal, onProgress: progress.onProgress, faultsVia: flags.faultsVia, workers: layout.workers, localAddresses: layout.localAddresses, localAddressesFor: layout.localAddressesFor,
    browsers: flags.browsers > 0 ? { count: flags.browsers, cycleMs: flags.browserCycle * 1000, chromium: flags.chromium, endpoint: flags.browserEndpoint } : undefined,
  })
    .catch(async (err: unknown) => {
      if (!(err instanceof RunFailedError)) throw err;
      // A run that failed part-way still gets a report of what ran.
      const built = await buildReport(err.dir).catch(() => undefined);
      throw new Error(`the run failed part-way: ${err.message}${built ? `; report of what ran: ${built.reportPath}` : `; its samples are in ${err.dir}`}`);
    })
    .finally(progress.done);
  const { analysis, reportPath } = await buildReport(result.dir);
  const shown = relative(io.cwd ?? process.cwd(), reportPath) || reportPath;
  if (flags.json) io.stdout.write(JSON.stringify(summaryJson(analysis), null, 2) + '\n');
  else io.stdout.write(terminalSummary(analysis, shown) + '\n');
  return { dir: result.dir, analysis, interrupted: result.info.status === 'interrupted' };
}

async function runAndReport(io: Io, scenario: ResolvedScenario, target: Target, flags: RunFlags, demo: boolean): Promise<number> {
  const r = await runOnce(io, scenario, target, flags);
  if (r.interrupted) return EXIT.interrupted;
  if (demo) return EXIT.ok;
  return r.analysis.passed ? EXIT.ok : EXIT.objectivesFailed;
}

/** Runs a target given by --target, or the reference platform started for the purpose. */
async function withTarget<T>(io: Io, url: string | undefined, allowed: string[], fixtureArgs: string[], fn: (t: Target) => Promise<T>): Promise<T> {
  if (url !== undefined) return fn(targetFor(url, allowed));
  const platform = await spawnReferencePlatform(fixtureArgs);
  io.stderr.write(`reference platform at ${platform.url}\n`);
  try {
    return await fn(targetFromSpec({ kind: 'reference', url: platform.url }));
  } finally {
    await platform.stop();
  }
}

type FixtureFlags = { loginCapacity?: number; joinCapacity?: number; mediaNodes?: number; upstreamTimeout?: number; media?: 'janus' | 'stand-in' };

function fixtureArgs(o: FixtureFlags): string[] {
  return [
    ...(o.media !== undefined ? ['--media', o.media] : []),
    ...(o.loginCapacity !== undefined ? ['--login-capacity', String(o.loginCapacity)] : []),
    ...(o.joinCapacity !== undefined ? ['--join-capacity', String(o.joinCapacity)] : []),
    ...(o.mediaNodes !== undefined ? ['--media-nodes', String(o.mediaNodes)] : []),
    ...(o.upstreamTimeout !== undefined ? ['--upstream-timeout', String(o.upstreamTimeout)] : []),
  ];
}

function fixturePatch(o: FixtureFlags): PlatformConfigPatch {
  const patch: PlatformConfigPatch = {};
  if (o.loginCapacity !== undefined) patch.admission = poolFor(o.loginCapacity);
  if (o.joinCapacity !== undefined) patch.broker = poolFor(o.joinCapacity);
  if (o.mediaNodes !== undefined) patch.media = { nodes: o.mediaNodes };
  if (o.upstreamTimeout !== undefined) patch.gateway = { upstreamTimeoutMs: o.upstreamTimeout };
  return patch;
}

function fixtureFlags(cmd: Command): Command {
  return cmd
    .addOption(new Option('--login-capacity <perSec>', 'logins per second the admission layer serves').argParser(parseNumber('the login capacity', 1, 1e6)))
    .addOption(new Option('--join-capacity <perSec>', 'joins per second the broker assigns').argParser(parseNumber('the join capacity', 1, 1e6)))
    .addOption(new Option('--media-nodes <n>', 'media nodes the broker assigns to').argParser(parseNumber('the media node count', 1, 1000, true)))
    .addOption(new Option('--upstream-timeout <ms>', 'the gateway answers 504 after this long').argParser(parseNumber('the upstream timeout', 1, 600_000)))
    .addOption(new Option('--media <kind>', 'media layer of the reference platform: janus (two Janus farms, real WebRTC) or stand-in (a WebSocket echo, no Janus needed)').choices(['janus', 'stand-in']));
}

export function buildProgram(io: Io, setAction: (a: Action) => void): Command {
  const program = new Command('firstbell')
    .description('Replays the Monday 8:00 burst against a school platform and writes a capacity report.')
    .version(VERSION)
    .showSuggestionAfterError(true)
    .exitOverride()
    .configureOutput({ writeOut: (s) => void io.stdout.write(s), writeErr: (s) => void io.stderr.write(s) })
    .addHelpText(
      'after',
      `
Exit codes: 0 objectives met, 1 internal error, 2 usage or config error, 3 target unreachable before start,
99 objectives failed, 130 interrupted.`,
    );

  const runFlags = (cmd: Command) =>
    cmd
      .addOption(seedOption())
      .option('--out <dir>', 'folder that receives the run folder', 'runs')
      .addOption(new Option('--max-active <n>', "most participants under way at once; beyond it arrivals are dropped and counted (default: the plan's participants, at least 50,000)").argParser(parseNumber('--max-active', 1, 10_000_000, true)))
      .option('--objective <layer.metric=value>', 'override an objective, e.g. broker.p95=1.5s or admission.errors=0.5% (repeatable)', (v: string, acc: string[]) => [...acc, v], [] as string[])
      .addOption(new Option('--faults-via <how>', "who applies the scenario's faults: auto (the target where it can, else the fault proxy) or proxy").choices(['auto', 'proxy']).default('auto'))
      .option('--json', 'print only summary.json on stdout')
      .option('--no-progress', 'no live progress line on stderr')
      .addOption(new Option('--browsers <n>', 'browser users (real Chromium, fake camera) joining through the web client beside the protocol users').argParser(parseNumber('--browsers', 0, 50, true)).default(0))
      .addOption(new Option('--browser-cycle <s>', 'seconds each browser user stays in its conference before it leaves and joins again').argParser(parseNumber('--browser-cycle', 2, 3600)).default(15))
      .option('--chromium <path>', 'Chromium for browser users (default: FIRSTBELL_CHROMIUM or /usr/bin/chromium)')
      .option('--browser-endpoint <url>', 'attach browser users to a running Chromium (ws://… from /json/version, or http://host:port) instead of launching one')
      .addOption(workersOption())
      .addOption(localAddressOption());

  runFlags(
    program
      .command('run')
      .description('run a scenario against a target and write the run folder and report')
      .argument('<scenario>', "built-in scenario name (see 'firstbell list')")
      .requiredOption('--target <url>', 'base URL of the platform, e.g. http://127.0.0.1:8080')
      .addOption(new Option('--target-kind <kind>', 'how to talk to the target: reference (the reference platform, or one built like it), janus (ws://host:8188), bbb (https://host/bigbluebutton/), moodle (https://host/) or http (GETs of the --target URL)').choices([...TARGET_KINDS]).default('reference'))
      .addOption(new Option('--http-requests <n>', 'http: GETs each participant sends on its keep-alive connection').argParser(parseNumber('--http-requests', 1, 1_000_000, true)).default(1))
      .option('--bbb-secret <secret>', 'BigBlueButton shared secret (default: FIRSTBELL_BBB_SECRET)')
      .addOption(new Option('--bbb-checksum <algorithm>', 'BigBlueButton checksum algorithm, as configured on the server').choices(['sha1', 'sha256', 'sha384', 'sha512']).default('sha1'))
      .option('--moodle-join <path>', "Moodle: where a pupil joins the lesson, e.g. '/mod/bigbluebuttonbn/bbb_view.php?action=join&id=7'")
      .addOption(allowTargetOption())
      .addOption(scaleOption().default(0.01)),
  ).action((name: string, o: RunFlags & TargetFlags & { target: string; scale: number; targetKind: TargetKind }) =>
    setAction(async () => {
      const scenario = scenarioByName(name, o.scale, o.objective);
      return runAndReport(io, scenario, targetFor(o.target, o.allowTarget, o.targetKind, o), o, false);
    }),
  );

  runFlags(
    fixtureFlags(
      program
        .command('demo')
        .description('start the reference platform (two Janus farms), replay monday-0800 at a scale that fits this machine with two browser users beside the protocol users, and write the report')
        .addOption(scaleOption().default(0.015)),
    ),
  ).action((o: RunFlags & FixtureFlags & { scale: number }, cmd: Command) =>
    setAction(async () => {
      const scenario = scenarioByName('monday-0800', o.scale, o.objective);
      const media = o.media ?? 'janus';
      // Two browser users by default, where the media is real.
      const browsers = media === 'janus' && cmd.getOptionValueSource('browsers') === 'default' ? 2 : o.browsers;
      if (browsers > 0 && media !== 'janus') throw new UsageError('--browsers: browser users need real media; drop --media stand-in or pass --browsers 0');
      return withTarget(io, undefined, [], fixtureArgs({ ...o, media }), (t) => runAndReport(io, scenario, t, { ...o, browsers, allowTarget: [] }, true));
    }),
  );

  program
    .command('report')
    .description('rebuild report.html, summary.json and junit.xml from a run folder alone')
    .argument('<run-dir>', 'a run folder (holds run.json and samples.csv)')
    .option('--from-samples', 'rebuild the series from the raw samples even when series.json is there')
    .option('--json', 'print only summary.json on stdout')
    .option('--screenshot <png>', 'also save a PNG of the report, taken offline in headless Chromium')
    .option('--chromium <path>', 'Chromium to use for --screenshot (default: FIRSTBELL_CHROMIUM or /usr/bin/chromium)')
    .action((dir: string, o: { fromSamples?: boolean; json?: boolean; screenshot?: string; chromium?: string }) =>
      setAction(async () => {
        const { analysis, reportPath } = await buildReport(resolve(io.cwd ?? process.cwd(), dir), { fromSamples: o.fromSamples });
        if (o.screenshot) {
          const check = await openReport(reportPath, { screenshot: resolve(io.cwd ?? process.cwd(), o.screenshot), chromium: o.chromium });
          if (check.consoleErrors.length || !check.rendered) throw new Error(`the report did not render cleanly: ${check.consoleErrors.join('; ') || 'charts never finished'}`);
        }
        io.stdout.write(o.json ? JSON.stringify(summaryJson(analysis), null, 2) + '\n' : terminalSummary(analysis, reportPath) + '\n');
        return analysis.passed ? EXIT.ok : EXIT.objectivesFailed;
      }),
    );

  const writeComparison = (c: ReturnType<typeof compare>, path: string, json: boolean | undefined): number => {
    writeFileAtomic(path, renderComparison(c));
    if (json) io.stdout.write(JSON.stringify({ passed: c.passed, headline: c.headline, maxRegressionPct: c.maxRegressionPct ?? null, layers: c.layers.map((l) => ({ layer: l.layer, capacityChangePct: l.capacityChangePct, regressed: l.regressed, note: l.note })) }, null, 2) + '\n');
    else io.stdout.write(`${c.passed ? 'NO REGRESSION' : 'REGRESSION'}: ${c.headline}\ncomparison: ${path}\n`);
    return c.passed ? EXIT.ok : EXIT.objectivesFailed;
  };

  program
    .command('compare')
    .description('compare a run with a base run: per-layer capacity change and both on one timeline')
    .argument('<base-dir>', 'the base run folder')
    .argument('<run-dir>', 'the run folder to judge against it')
    .addOption(new Option('--max-regression <pct>', 'exit 99 when a layer lost more than this much capacity, in %').argParser(parseNumber('--max-regression', 0, 100)))
    .option('--out <file>', 'where to write the comparison report (default: compare.html in the run folder)')
    .option('--json', 'print only the comparison as JSON on stdout')
    .action((baseDir: string, runDir: string, o: { maxRegression?: number; out?: string; json?: boolean }) =>
      setAction(async () => {
        const cwd = io.cwd ?? process.cwd();
        const base = await buildReport(resolve(cwd, baseDir));
        const run = await buildReport(resolve(cwd, runDir));
        return writeComparison(compare(base.analysis, run.analysis, o.maxRegression), resolve(cwd, o.out ?? `${resolve(cwd, runDir)}/compare.html`), o.json);
      }),
    );

  runFlags(
    fixtureFlags(
      program
        .command('whatif')
        .description('run a scenario and a mitigation of it one after the other and compare them (e.g. monday-0800 monday-0800-staggered)')
        .argument('<base>', 'the scenario as it happens')
        .argument('<variant>', 'the what-if scenario')
        .option('--target <url>', 'base URL of the platform; without it the reference platform is started')
        .addOption(allowTargetOption())
        .addOption(scaleOption().default(0.015)),
    ),
  ).action((baseName: string, variantName: string, o: RunFlags & { scale: number; target?: string; loginCapacity?: number; joinCapacity?: number }) =>
    setAction(async () => {
      const base = scenarioByName(baseName, o.scale, o.objective);
      const variant = scenarioByName(variantName, o.scale, o.objective);
      return withTarget(io, o.target, o.allowTarget, fixtureArgs(o), async (t) => {
        const a = await runOnce(io, base, t, o);
        if (a.interrupted) return EXIT.interrupted;
        const b = await runOnce(io, variant, t, o);
        if (b.interrupted) return EXIT.interrupted;
        writeComparison(compare(a.analysis, b.analysis), join(b.dir, 'compare.html'), o.json);
        return EXIT.ok;
      });
    }),
  );

  const exporter = program.command('export').description('hand a scenario to another engine (k6)');
  exporter
    .command('k6')
    .description('write a k6 TypeScript script (typed with @types/k6) and a k6-operator TestRun manifest for a scenario')
    .argument('<scenario>', 'built-in scenario name')
    .requiredOption('--target <url>', 'base URL of the platform the k6 runners will load')
    .addOption(new Option('--target-kind <kind>', 'how the runners talk to the target (the script plays the reference and Janus journeys)').choices(['reference', 'janus']).default('reference'))
    .addOption(allowTargetOption())
    .addOption(scaleOption().default(0.01))
    .addOption(seedOption())
    .addOption(new Option('--parallelism <n>', 'k6 runner pods in the TestRun').argParser(parseNumber('--parallelism', 1, 1000, true)).default(4))
    .option('--out <dir>', 'folder to write script.ts and testrun.yaml into (default: k6/<name>)')
    .action((name: string, o: { target: string; targetKind: 'reference' | 'janus'; allowTarget: string[]; scale: number; seed: number; parallelism: number; out?: string }) =>
      setAction(async () => {
        const scenario = scenarioByName(name, o.scale);
        const target = targetFor(o.target, o.allowTarget, o.targetKind);
        const e = exportK6({ scenario, seed: o.seed, target: target.url, targetKind: o.targetKind, parallelism: o.parallelism });
        const dir = resolve(io.cwd ?? process.cwd(), o.out ?? join('k6', e.name));
        mkdirSync(dir, { recursive: true });
        writeFileAtomic(join(dir, 'script.ts'), e.script);
        writeFileAtomic(join(dir, 'testrun.yaml'), e.manifest);
        io.stdout.write(`${join(dir, 'script.ts')}\n${join(dir, 'testrun.yaml')}\n`);
        io.stderr.write(`run it: k6 run --out csv=results.csv ${join(dir, 'script.ts')}   then: firstbell import k6 results.csv\n` + (scenario.faults?.length ? `note: the scenario's faults are not in the script; k6 only sends the load\n` : ''));
        return EXIT.ok;
      }),
    );

  const importer = program.command('import').description('read results of another engine (k6) into a run folder and report');
  importer
    .command('k6')
    .description('merge k6 results (--out csv or --out json, one file per runner) into a run folder and build its report')
    .argument('<results...>', 'k6 result files (CSV or JSON lines)')
    .option('--out <dir>', 'folder that receives the run folder', 'runs')
    .option('--json', 'print only summary.json on stdout')
    .action((files: string[], o: { out: string; json?: boolean }) =>
      setAction(async () => {
        const cwd = io.cwd ?? process.cwd();
        const r = await importK6(files.map((f) => resolve(cwd, f)), resolve(cwd, o.out));
        const { analysis, reportPath } = await buildReport(r.dir);
        if (o.json) io.stdout.write(JSON.stringify(summaryJson(analysis), null, 2) + '\n');
        else {
          io.stdout.write(`imported ${fmt(r.samples)} samples from ${r.runners} runner${r.runners === 1 ? '' : 's'} (${fmt(r.dropped)} iterations dropped by k6)\n`);
          for (const t of r.thresholds) {
            io.stdout.write(`  k6 thresholds on the merged data, ${t.layer.padEnd(9)} ${t.passed ? 'pass' : 'FAIL'}: p95 ${Math.round(t.p95Ms)} ms (< ${t.p95Limit}), errors ${(t.errorRate * 100).toFixed(2)} % (< ${(t.errorLimit * 100).toFixed(2)} %)\n`);
          }
          io.stdout.write(terminalSummary(analysis, relative(cwd, reportPath) || reportPath) + '\n');
        }
        return analysis.passed ? EXIT.ok : EXIT.objectivesFailed;
      }),
    );

  program
    .command('plan')
    .description('print the resolved plan of a scenario, and how this machine will send it, without sending anything')
    .argument('<scenario>', 'built-in scenario name')
    .addOption(scaleOption().default(1))
    .addOption(seedOption())
    .option('--target <url>', 'where the load would go (default: the reference platform on 127.0.0.1)')
    .addOption(workersOption())
    .addOption(localAddressOption())
    .action((name: string, o: { scale: number; seed: number; target?: string; workers: number | 'auto'; localAddress: string[] }) =>
      setAction(async () => {
        const s = scenarioByName(name, o.scale);
        let host = '127.0.0.1';
        if (o.target !== undefined) {
          try {
            host = new URL(o.target).hostname;
          } catch {
            throw new UsageError(`--target '${o.target}' is not a URL; give one like http://127.0.0.1:8080`);
          }
        }
        io.stdout.write(describePlan(s, o.seed, o.target, layoutFor(s, o.seed, host, o)) + '\n');
        return EXIT.ok;
      }),
    );

  program
    .command('list')
    .description('list the built-in scenarios')
    .action(() =>
      setAction(async () => {
        for (const s of BUILT_IN_SCENARIOS) io.stdout.write(`${s.name.padEnd(16)} ${s.description}\n`);
        return EXIT.ok;
      }),
    );

  fixtureFlags(
    program
      .command('fixture')
      .description('start the reference platform on loopback and print its URL; Ctrl-C stops it')
      .addOption(new Option('--port <port>', 'port to listen on (0 = any free one)').argParser(parseNumber('the port', 0, 65535, true)).default(8080))
      .option('--host <address>', 'loopback address to listen on', '127.0.0.1')
      .option('--quiet', 'print only the URL'),
  ).action((o: FixtureFlags & { port: number; host: string; quiet?: boolean }) =>
    setAction(async () => {
      if (!isLoopback(o.host)) throw new UsageError(`--host ${o.host}: the reference platform listens on loopback only; use an address in 127.0.0.0/8`);
      if (o.media === 'janus' && o.mediaNodes !== undefined) throw new UsageError('--media-nodes: with --media janus there is one media node per Janus farm (2); leave --media-nodes out');
      const farms = o.media === 'janus' ? await startJanusFarms(2) : [];
      const platform = await startReferencePlatform({ port: o.port, host: o.host, config: fixturePatch(o), janus: farms }).catch(async (e: unknown) => {
        await Promise.all(farms.map((f) => f.stop()));
        throw e;
      });
      io.stdout.write(`${platform.url}\n`);
      if (!o.quiet) {
        const c = platform.config();
        const media = farms.length ? `media: ${farms.length} Janus farms (${farms.map((f) => f.wsUrl).join(', ')})` : `${c.media.nodes} stand-in media nodes`;
        io.stderr.write(
          `reference platform: logins ${Math.round(poolCapacityPerSec(c.admission))}/s, joins ${Math.round(poolCapacityPerSec(c.broker))}/s, ${media}\n` +
            `control: GET/PUT ${platform.url}/_control (JSON), counters at ${platform.url}/_control/stats; Ctrl-C stops\n`,
        );
      }
      await new Promise<void>((res) => {
        if (io.signal?.aborted) return res();
        io.signal?.addEventListener('abort', () => res(), { once: true });
        process.once('SIGTERM', () => res());
      });
      await platform.close();
      await Promise.all(farms.map((f) => f.stop()));
      return EXIT.ok;
    }),
  );
  return program;
}

/** Runs the CLI in-process and returns its exit code; never exits the process. */
export async function main(argv: string[], io: Io): Promise<number> {
  let action: Action | undefined;
  const program = buildProgram(io, (a) => (action = a));
  try {
    await program.parseAsync(argv, { from: 'user' });
    if (!action) return EXIT.ok;
    return await action();
  } catch (err) {
    if (err instanceof CommanderError) {
      if (err.code === 'commander.helpDisplayed' || err.code === 'commander.version' || err.code === 'commander.help') return EXIT.ok;
      if (err.code === 'commander.executeSubCommandAsync') return EXIT.internal;
      return EXIT.usage; // commander has already printed its one-line error
    }
    if (err instanceof UsageError || err instanceof RunFolderError || err instanceof ConfigError || err instanceof JanusSetupError || err instanceof BrowserSetupError || err instanceof K6ImportError || err instanceof WorkerError) {
      io.stderr.write(`error: ${err.message}\n`);
      return EXIT.usage;
    }
    if (err instanceof ProblemsError) {
      io.stderr.write(`error: ${err.problems.length} problem(s):\n${err.problems.map((p) => `  ${p.where}: ${p.message}; fix: ${p.hint}`).join('\n')}\n`);
      return EXIT.usage;
    }
    if (err instanceof TargetUnreachableError) {
      io.stderr.write(`error: ${err.message}; start the platform or fix --target ('firstbell fixture' starts the reference platform)\n`);
      return EXIT.unreachable;
    }
    io.stderr.write(`error: internal error: ${err instanceof Error ? err.message : String(err)}${process.env.FIRSTBELL_DEBUG ? `\n${(err as Error).stack}` : ' (set FIRSTBELL_DEBUG=1 for the stack)'}\n`);
    return EXIT.internal;
  }
}

const invokedDirectly = process.argv[1] !== undefined && realpathSync(process.argv[1]) === fileURLToPath(import.meta.url);
if (invokedDirectly) {
  const stop = new AbortController();
  let interrupts = 0;
  process.on('SIGINT', () => {
    if (++interrupts > 1) process.exit(EXIT.interrupted);
    process.stderr.write('\ninterrupted: stopping the run and writing the report (Ctrl-C again to quit at once)\n');
    stop.abort();
  });
  main(process.argv.slice(2), { stdout: process.stdout, stderr: process.stderr, signal: stop.signal }).then(
    // Exit once stdout has drained, so a piped --json result is never cut short.
    (code) => process.stdout.write('', () => process.exit(code)),
    (err) => {
      process.stderr.write(`error: internal error: ${String(err)}\n`);
      process.exit(EXIT.internal);
    },
  );
}
