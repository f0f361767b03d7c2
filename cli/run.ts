// run, demo and whatif: a scenario sent against a target, its report built and its verdict printed; and how browser
// users get in, from the command line: a page and a selector (--page, --joined, --click), or a module (--web-client).
import { basename, join, resolve } from 'node:path';
import { Command, InvalidArgumentError, Option } from 'commander';
import { shownTarget, type Platform } from '../targets/platform.js';
import { platformOfInput } from '../modules/journey.js';
import { LAYERS, ProblemsError, type Layer, type ResolvedScenario } from '../scenarios/model.js';
import { defineWebClient, pageUrl, WebClientError, type WebClient } from '../api/web-client.js';
import { identityOf } from '../api/identity.js';
import { importDefault } from '../modules/bundle.js';
import { checkTypes } from '../modules/typecheck.js';
import { clockAt } from '../analysis/analysis.js';
import { spawnReferencePlatform } from '../fixtures/spawn.js';
import { writeReport } from '../reports/build-report.js';
import { compare } from '../reports/compare.js';
import { RunFailedError } from '../run-folder/run-folder.js';
import { WriteError } from '../run-folder/writer.js';
import { NO_WEB_CLIENT_HINT, processAlive, runOn, type Progress } from '../run/conductor.js';
import { JourneyMemoryError } from '../users/workers.js';
import { LivePage } from '../reports/live-child.js';
import { LIVE_HOST, LIVE_PORT, LiveListenError, liveHostWarning } from '../reports/live.js';
import { parseWatch, WATCH_FORMS } from '../watch/sources.js';
import { fixtureArgs, fixtureFlags, type FixtureFlags } from './fixture.js';
import { describePlan, planRunMeasured } from './plan.js';
import { parseShard, parseStartAt, type Shard } from '../plan/shard.js';
import { writeComparison } from './report.js';
import { scenarioOfTimetable, timetableFlags, type TimetableFlags } from './timetable.js';
import {
  allowTargetOption, EXIT, liveHostOption, liveOption, maxAnswerOption, requireTarget, writableFolder, faultFlags, fmt, type FaultFlags, localAddressOption, parseNumber, printVerdict, scaleOption, scenarioByName, seedOption, shownPath, targetFlags,
  targetOfFlags, UsageError, workersOption, type Io, type SetAction, type TargetKindFlags,
} from './shared.js';

function progressLine(p: Progress, s: ResolvedScenario, journeyLayers: readonly Layer[]): string {
  const layers = journeyLayers
    .map((l) => {
      const v = p.layers[l];
      return `${l} ${v.ended ? `${Math.round((v.failed / v.ended) * 100)}% err p95 ${v.p95Ms}ms` : '—'}`;
    })
    .join(' | ');
  return `[${String(p.t).padStart(3)}s ${clockAt(s, p.firstBellAtMs, p.t)}] sent ${fmt(p.sent)}/${fmt(p.planned)} late ${p.late} dropped ${p.dropped} active ${fmt(p.active)} | ${layers} | cpu ${p.health.cpuPct}% lag ${p.health.loopLagP99Ms}ms`;
}

function progressPrinter(io: Io, scenario: ResolvedScenario, enabled: boolean, layers: readonly Layer[]): { onProgress?: (p: Progress) => void; done: () => void } {
  if (!enabled) return { done: () => undefined };
  const tty = io.stderr.isTTY === true;
  let last = 0;
  return {
    onProgress: (p) => {
      const line = progressLine(p, scenario, layers);
      if (tty) io.stderr.write(`\r\x1b[2K${line.slice(0, 200)}`);
      else if (p.t - last >= 5 || p.t === 0) {
        last = p.t;
        io.stderr.write(line + '\n');
      }
    },
    done: () => tty && io.stderr.write('\n'),
  };
}

export interface RunFlags extends WebClientFlags, FaultFlags {
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
  targetPid?: number;
  maxAnswer: number;
  journeyHeap?: number;
  /** --watch sources and --watch-query name=promql, beside the scenario's own. */
  watch: string[];
  watchQuery: string[];
  /** --prometheus-remote-write <url>. */
  prometheusRemoteWrite?: string;
  /** --live [port]: the live page, on this port (true: the default one); --live-host: its address. */
  live?: number | true;
  liveHost?: string;
  /** The live page once started (by `withLive`), followed by each run of the command. */
  livePage?: LivePage;
  /** run only: this shard of the schedule (i/N), and the instant every shard starts at. */
  shard?: string;
  startAt?: string;
}

/** The shard a run sends (--shard, --start-at); undefined for a whole run that starts when it is ready. */
export function shardOfFlags(flags: Pick<RunFlags, 'shard' | 'startAt'>, now = Date.now()): Shard | undefined {
  if (flags.shard === undefined && flags.startAt === undefined) return undefined;
  if (flags.startAt === undefined) throw new UsageError(`--shard ${flags.shard}: shards start together at one instant; add --start-at, e.g. --start-at ${new Date(Math.ceil(now / 60_000 + 2) * 60_000).toISOString().replace('.000', '')} on every shard`);
  const part = flags.shard === undefined ? { index: 1, count: 1 } : parseShard(flags.shard);
  if (typeof part === 'string') throw new UsageError(part);
  const at = parseStartAt(flags.startAt);
  if (typeof at === 'string') throw new UsageError(at);
  if (at <= now) throw new UsageError(`--start-at ${flags.startAt} was ${((now - at) / 1000).toFixed(1)} s ago; give an instant far enough ahead for every shard to be ready (a few seconds on one machine, a minute for pods)`);
  if (at - now > 7 * 24 * 3_600_000) throw new UsageError(`--start-at ${flags.startAt} is more than 7 days ahead; give the instant the shards start at`);
  return { ...part, startAtEpochMs: at };
}

/** Runs one scenario, builds its report and prints the verdict; returns the run folder and analysis. */
export async function runOnce(io: Io, scenario: ResolvedScenario, target: Platform, flags: RunFlags) {
  const outDir = writableFolder('--out', flags.out, io.cwd);
  const webClient = await webClientOfFlags(flags, io.cwd);
  if (webClient && flags.browsers === 0) throw new UsageError(`${flags.webClient !== undefined ? '--web-client' : '--page'} says how browser users get in, but there are none; add --browsers N (e.g. --browsers 2)`);
  if (flags.browsers > 0 && !webClient && !target.webClient) throw new UsageError(`--browsers: the ${target.kind} target has no web client for browser users; ${NO_WEB_CLIENT_HINT}`);
  const shard = shardOfFlags(flags);
  const watch = parseWatch([...(scenario.watch?.sources ?? []), ...flags.watch], [...Object.entries(scenario.watch?.queries ?? {}).map(([k, q]) => `${k}=${q}`), ...flags.watchQuery]);
  if (typeof watch === 'string') throw new UsageError(watch);
  const plan = await planRunMeasured(scenario, flags.seed, target, { ...flags, shardOf: shard });
  io.stderr.write(describePlan(plan, `${target.kind} ${shownTarget(target.url)}`, flags.browsers) + '\n');
  if (shard) io.stderr.write(`waiting for ${new Date(shard.startAtEpochMs).toISOString()} (in ${((shard.startAtEpochMs - Date.now()) / 1000).toFixed(1)} s) to start${shard.count > 1 ? ` shard ${shard.index} of ${shard.count}` : ''}\n`);
  // The progress line shows the layers the journey has.
  const steps = target.decls;
  const progress = progressPrinter(io, scenario, flags.progress, LAYERS.filter((l) => steps.some((d) => d.layer === l)));
  const result = await runOn(target, {
    plan, outDir, maxActive: flags.maxActive,
    signal: io.signal, onProgress: progress.onProgress, onFolder: (dir) => flags.livePage?.follow(dir), faultsVia: flags.faultsVia, targetPid: flags.targetPid, webClient, allowHosts: flags.allowTarget, maxAnswerBytes: flags.maxAnswer,
    journeyHeapMb: flags.journeyHeap, watch, remoteWrite: flags.prometheusRemoteWrite, onWatchNews: (text) => io.stderr.write(`${io.stderr.isTTY ? '\n' : ''}${text}\n`),
    browsers: flags.browsers > 0 ? { count: flags.browsers, cycleMs: flags.browserCycle * 1000, chromium: flags.chromium, endpoint: flags.browserEndpoint } : undefined,
  })
    .catch(async (err: unknown) => {
      if (!(err instanceof RunFailedError)) throw err;
      // A run that failed part-way still gets a report of what ran, where it can be written.
      const built = await writeReport(err.dir).catch((e: unknown) => (e instanceof Error ? e : new Error(String(e))));
      if (!(built instanceof Error)) flags.livePage?.final(built.reportPath);
      const where = built instanceof Error ? `; the report could not be written (${built.message}); what ran is in ${err.dir}` : `; report of what ran: ${built.reportPath}`;
      // A folder that cannot be written (a full disk, a read-only file system) is the user's to fix.
      if (err.cause instanceof WriteError) throw new UsageError(`the run stopped: ${err.message}${where}; free some space or give another --out`);
      // A journey that held more memory than its cap is the user's to fix.
      if (err.cause instanceof JourneyMemoryError) throw new UsageError(`the run stopped: ${err.message}${where}`);
      throw new Error(`the run failed part-way: ${err.message}${where}`);
    })
    .finally(progress.done);
  const { analysis, reportPath } = await writeReport(result.dir).catch((e: unknown) => {
    if (!(e instanceof WriteError)) throw e;
    throw new UsageError(`the run ended, but its report could not be written: ${e.message}; what ran is in ${result.dir}: free some space and run 'firstbell report ${result.dir}'`);
  });
  flags.livePage?.final(reportPath);
  printVerdict(io, analysis, shownPath(io, reportPath), flags.json);
  return { dir: result.dir, analysis, interrupted: result.info.status === 'interrupted' };
}

/**
 * Runs `fn` with the live page when --live asks for it: its process started and its URL printed before anything
 * else, and ended when `fn` has (a moment later, so that the pages open can fetch the report).
 */
export async function withLive<T>(io: Io, flags: RunFlags, fn: (flags: RunFlags) => Promise<T>): Promise<T> {
  if (flags.live === undefined) {
    if (flags.liveHost !== undefined) throw new UsageError('--live-host says where the live page listens, but there is none; add --live (e.g. --live 5680)');
    return fn(flags);
  }
  const host = flags.liveHost ?? LIVE_HOST;
  const page = await LivePage.start(host, flags.live === true ? LIVE_PORT : flags.live).catch((e: unknown) => {
    throw e instanceof LiveListenError ? new UsageError(e.message) : e;
  });
  io.stderr.write(`live page: ${page.url}\n`);
  const warning = liveHostWarning(host, page.url);
  if (warning) io.stderr.write(`${warning}\n`);
  try {
    return await fn({ ...flags, livePage: page });
  } finally {
    await new Promise((r) => setTimeout(r, LIVE_GRACE_MS));
    await page.stop();
  }
}

/** How long the live page stays up after the command's last report, for the pages open to fetch it, ms. */
const LIVE_GRACE_MS = 1_500;

async function runAndReport(io: Io, scenario: ResolvedScenario, target: Platform, flags: RunFlags, demo: boolean): Promise<number> {
  const r = await runOnce(io, scenario, target, flags);
  if (r.interrupted) return EXIT.interrupted;
  if (demo) return EXIT.ok;
  return r.analysis.passed ? EXIT.ok : EXIT.objectivesFailed;
}

/** Runs a target given by --target, or the reference platform started for the purpose. */
export async function withTarget<T>(io: Io, url: string | undefined, allowed: string[], fixtureArgs: string[], fn: (t: Platform, pid?: number) => Promise<T>, given?: Platform): Promise<T> {
  if (given) return fn(given);
  if (url !== undefined) return fn(await platformOfInput({ journey: 'reference', target: url }, { allowHosts: allowed }));
  const platform = await spawnReferencePlatform(fixtureArgs);
  io.stderr.write(`reference platform at ${platform.url}\n`);
  try {
    // The platform firstbell started is watched: if it dies, the report says so.
    return await fn(await platformOfInput({ journey: 'reference', target: platform.url }), platform.child.pid);
  } finally {
    await platform.stop();
  }
}

export interface WebClientFlags {
  page?: string;
  joined?: string;
  click?: string;
  failedSelector?: string;
  webClient?: string;
  /** False: --no-typecheck. */
  typecheck?: boolean;
}

/** The flags that say how browser users get in, for targets without a web client of their own or to replace it. */
/** The scale of the demo, and of a whatif on the reference platform firstbell starts: what fits two cores beside it. */
const DEMO_SCALE = 0.015;

export const webClientFlags = (cmd: Command) =>
  cmd
    .option('--page <url>', "browser users' first page, with {user} {conference} {school} {class} … from the participant, e.g. 'http://127.0.0.1:8080/room?class={conference}&name={user}' (needs --joined)")
    .option('--joined <selector>', "what the page shows once a pupil is in, e.g. '#status[data-state=joined]'")
    .option('--click <selector>', 'what a pupil clicks on the page to join, if the page does not join by itself')
    .addOption(new Option('--failed-selector <selector>', 'what the page shows when a pupil could not get in (its text is the reason)'))
    .option('--web-client <file>', 'a module whose default export is defineWebClient({...}): the browser journey in code');

/** A quick check that a selector is one: Chromium would only say so at the first page. */
function checkSelector(flag: string, sel: string): void {
  if (!sel.trim() || /^[\d]/.test(sel.trim()) || (sel.split('[').length !== sel.split(']').length)) {
    throw new UsageError(`${flag} '${sel}' is not a CSS selector; give one like '#status[data-state=joined]' or '.in-class'`);
  }
}

/** The web client the flags describe, or undefined when they describe none. */
export async function webClientOfFlags(o: WebClientFlags, cwd = process.cwd()): Promise<WebClient | undefined> {
  const short = o.page !== undefined || o.joined !== undefined || o.click !== undefined || o.failedSelector !== undefined;
  if (o.webClient !== undefined && short) throw new UsageError('--web-client and --page/--joined/--click both say how browser users get in; give one of them');
  if (o.webClient !== undefined) {
    const file = resolve(cwd, o.webClient);
    const { value, bundle } = await importDefault(file, 'a web client', "end it with: export default defineWebClient({ url, joined, … }) (import { defineWebClient } from 'firstbell')");
    if (!value || (value as WebClient).kind !== 'web-client') {
      throw new ProblemsError([{ where: o.webClient, message: 'its default export is not a web client', hint: "export default defineWebClient({ url, joined, … }) (import { defineWebClient } from 'firstbell')" }]);
    }
    if (o.typecheck !== false) await checkTypes(file, bundle);
    return value as WebClient;
  }
  if (!short) return undefined;
  if (o.page === undefined) throw new UsageError('--joined/--click need --page: the first page browser users open');
  if (o.joined === undefined) throw new UsageError("--page needs --joined: what the page shows once a pupil is in, e.g. '#status[data-state=joined]'");
  checkSelector('--joined', o.joined);
  if (o.click !== undefined) checkSelector('--click', o.click);
  if (o.failedSelector !== undefined) checkSelector('--failed-selector', o.failedSelector);
  const click = o.click;
  try {
    const client = defineWebClient({
      url: o.page,
      joined: o.joined,
      ...(o.failedSelector ? { failed: o.failedSelector } : {}),
      ...(click ? { steps: { click: { layer: 'media' as const, run: async (page, _who, signal) => void (await (await page.waitForSelector(click, { signal, timeout: 0 }))?.click()) } } } : {}),
    });
    // A template with a field the participant has not is found now, not at the first page.
    pageUrl(client, identityOf(0, { schools: 1, participantsPerConference: 1 }), 'http://127.0.0.1/');
    return client;
  } catch (e) {
    if (e instanceof WebClientError) throw new UsageError(`--page: ${e.message.replace(/^web client: url /, '')}`);
    throw new UsageError(`--page '${o.page}' is not a URL: ${e instanceof Error ? e.message : String(e)}`);
  }
}

/** The flags every command that sends load takes. */
const runFlags = (cmd: Command) =>
  faultFlags(webClientFlags(cmd))
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
    .addOption(new Option('--target-pid <pid>', "the target's server process on this machine: its exit during the run is reported as the target going down").argParser(pidArg))
    .addOption(maxAnswerOption())
    .addOption(new Option('--journey-heap <MB>', "heap of each process that runs a journey of your own; past it that process ends and the run fails, naming it (default: 3/4 of the machine's memory shared among them, 512 to 4096)").argParser(parseNumber('--journey-heap', 64, 1_048_576, true)))
    .addOption(workersOption())
    .addOption(localAddressOption())
    .addOption(liveOption())
    .addOption(liveHostOption())
    .option('--watch <source>', `watch the platform beside the load, every second into watch.csv and the report (repeatable): ${WATCH_FORMS}`, (v: string, acc: string[]) => [...acc, v], [] as string[])
    .option('--prometheus-remote-write <url>', "send the run's own figures every second to a Prometheus remote-write endpoint, e.g. http://127.0.0.1:9090/api/v1/write (labelled with the run's id and scenario)")
    .option('--watch-query <name=promql>', "a named PromQL query of the --watch prometheus:… source (repeatable), e.g. 'janus_fds=process_open_fds{job=\"janus\"}'", (v: string, acc: string[]) => [...acc, v], [] as string[]);

function pidArg(v: string): number {
  const pid = parseNumber('--target-pid', 1, 2 ** 31 - 1, true)(v);
  if (!processAlive(pid)) throw new InvalidArgumentError(`no process ${pid} is running on this machine; give the pid of the target's server here (e.g. from pgrep), or leave the flag out`);
  return pid;
}

/** run, demo and whatif. */
export function addRunCommands(program: Command, io: Io, setAction: SetAction): void {
  const run = runFlags(
    program
      .command('run')
      .description('run a scenario against a target and write the run folder and report')
      .argument('<scenario>', "built-in scenario name (see 'firstbell list'), a scenario file (.ts, .js or .json), or a timetable (.csv, .txt; see 'firstbell timetable')")
      .option('--target <url>', 'base URL of the platform, e.g. http://127.0.0.1:8080 (required)')
      .addOption(scaleOption())
      .option('--shard <i/N>', "send only shard i of N: every N-th arrival of the schedule from the i-th on (needs --start-at; merge the shards' run folders with 'firstbell merge')")
      .option('--start-at <instant>', 'start t = 0 at this wall-clock instant, ISO 8601 with its zone (e.g. 2026-12-02T08:00:00Z); every shard of a run gets the same'),
  );
  timetableFlags(targetFlags(run)).action((name: string, o: RunFlags & TargetKindFlags & TimetableFlags & { target: string; scale: number }, cmd: Command) =>
    setAction(async () => {
      requireTarget(o.target);
      const scenario = await scenarioByName(name, o.scale, o.objective, o.data, (f) => scenarioOfTimetable(f, o, io.cwd), o);
      const target = await targetOfFlags(o, o.target, scenario, cmd);
      return withLive(io, o, (flags) => runAndReport(io, scenario, target, flags, false));
    }),
  );

  runFlags(
    fixtureFlags(
      program
        .command('demo')
        .description('start the reference platform (two Janus farms), replay monday-0800 at a scale that fits this machine with two browser users beside the protocol users, and write the report')
        .addOption(scaleOption(DEMO_SCALE)),
    ),
  ).action((o: RunFlags & FixtureFlags & { scale: number }, cmd: Command) =>
    setAction(async () => {
      const scenario = await scenarioByName('monday-0800', o.scale, o.objective, undefined, undefined, o);
      const media = o.media ?? 'janus';
      // Two browser users by default, where the media is real.
      const browsers = media === 'janus' && cmd.getOptionValueSource('browsers') === 'default' ? 2 : o.browsers;
      if (browsers > 0 && media !== 'janus') throw new UsageError('--browsers: browser users need real media; drop --media stand-in or pass --browsers 0');
      return withLive(io, o, (flags) => withTarget(io, undefined, [], fixtureArgs({ ...flags, media }), (t, pid) => runAndReport(io, scenario, t, { ...flags, browsers, allowTarget: [], targetPid: o.targetPid ?? pid }, true)));
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
        .option('--journey <file>', "the platform's journey module (needs --target)")
        .option('--no-typecheck', "load journey and scenario files without type-checking them against firstbell's types first")
        .addOption(allowTargetOption())
        .addOption(scaleOption(undefined).default(undefined, `1; ${DEMO_SCALE} when it starts the reference platform, as the demo`)),
    ),
  ).action((baseName: string, variantName: string, o: RunFlags & { scale?: number; target?: string; journey?: string; loginCapacity?: number; joinCapacity?: number; typecheck?: boolean }) =>
    setAction(async () => {
      // The reference platform firstbell starts shares this machine: as the demo, a scale that fits it.
      const scale = o.scale ?? (o.target === undefined ? DEMO_SCALE : 1);
      const base = await scenarioByName(baseName, scale, o.objective, undefined, undefined, o);
      const variant = await scenarioByName(variantName, scale, o.objective, undefined, undefined, o);
      const journey = o.journey ?? base.journey;
      if (journey && o.target === undefined) throw new UsageError(`a journey module (${journey}) needs --target: the reference platform firstbell starts has its own journey`);
      const own = journey && o.target !== undefined ? await platformOfInput({ journey, target: o.target }, { allowHosts: o.allowTarget, typecheck: o.typecheck !== false }) : undefined;
      return withLive(io, o, (live) => withTarget(io, o.target, o.allowTarget, fixtureArgs(o), async (t, pid) => {
        const flags = { ...live, targetPid: o.targetPid ?? pid };
        const a = await runOnce(io, base, t, flags);
        if (a.interrupted) return EXIT.interrupted;
        const b = await runOnce(io, variant, t, flags);
        if (b.interrupted) return EXIT.interrupted;
        // The runs go by the names they were given: a built-in scenario's, or the file's.
        writeComparison(io, compare(a.analysis, b.analysis, undefined, { base: basename(baseName), run: basename(variantName) }), join(b.dir, 'compare.html'), o.json);
        return EXIT.ok;
      }, own));
    }),
  );
}
