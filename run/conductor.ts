// One run, conducted in stages: prepare (everything up before the clock starts), start (t = 0: the sends, the faults,
// the browsers), each second (its health record and the progress line), stop (the last second, then the load
// stopped) and close (the run folder completed, whatever happened). Samples go to disk as they happen, through the
// run folder's one writer.
import { TimeoutError } from '../api/errors.js';
import { identities } from '../api/identity.js';
import { DEFAULT_MAX_ANSWER_BYTES } from '../api/sample.js';
import { NetPolicy } from '../protocol/address-guard.js';
import type { StepDecl } from '../api/vu.js';
import { shownTarget, type Platform } from '../targets/platform.js';
import { armFaults, type ArmedFaults } from '../faults/faults.js';
import { loadRows, type Row } from '../modules/data.js';
import { SINGLE_PROCESS, buildPlan, type Plan } from '../plan/plan.js';
import type { Layout } from '../plan/limits.js';
import { shareOf, shareSize } from '../plan/shard.js';
import { browserHealthLine, mediaLine } from '../run-folder/records.js';
import { countsByMessage, healthLine, LATE_MS, participantsWithSamples, RunFailedError, type HealthSecond, type RunInfo, type RunStatus } from '../run-folder/run-folder.js';
import { RunFolderWriter, runInfoOf } from '../run-folder/writer.js';
import { Series } from '../run-folder/series.js';
import { ProblemsError, type ResolvedScenario } from '../scenarios/model.js';
import type { WebClient } from '../api/web-client.js';
import type { RunProgress } from './progress.js';
import { browserSteps, BrowserUsers, type BrowserUsersOptions } from '../users/browser/canaries.js';
import { ProcessTreeMeter } from '../users/browser/processes.js';
import { InProcessGenerator, prepareForLoad, sourcePorts, type Finished, type Generator } from '../users/engine.js';
import { catchJourneyErrors, HealthMonitor } from '../users/health.js';
import { Recorder } from '../users/recorder.js';
import type { DispatchStats } from '../users/scheduler.js';
import { WorkerGenerator } from '../users/workers.js';
import { epochNow } from '../lib/clock.js';
import { columnsOf, shownWatch, WATCH_FORMS, watchProblem, type WatchSpec } from '../watch/sources.js';
import { REMOTE_WRITE, Watcher } from '../watch/watcher.js';

/** How a run goes, whatever its plan. */
export interface RunSettings {
  /** Folder under which the run folder is made. */
  outDir: string;
  /** Name of the run folder; default: time stamp and scenario name. */
  runId?: string;
  /** Most participants under way at once; beyond it arrivals are dropped and counted. Default: the plan's participants, at least 50,000. */
  maxActive?: number;
  /** An arrival dispatched later than this counts as late, ms. Default 100. */
  lateThresholdMs?: number;
  /** Stops the run early (e.g. Ctrl-C); the run folder is still closed and marked interrupted. */
  signal?: AbortSignal;
  /** What to watch of the platform beside the load (--watch), each second into watch.csv. */
  watch?: WatchSpec[];
  /** A Prometheus remote-write URL: the run's own figures go there every second while it goes. */
  remoteWrite?: string;
  /** Hears of a watched source that fails, or reads again, in words (for the terminal). */
  onWatchNews?: (text: string) => void;
  /** Called once the run folder is made, before the clock starts (the live page follows it from there). */
  onFolder?: (dir: string) => void;
  /** Called once a second with the live state, for a progress line. */
  onProgress?: (p: Progress) => void;
  /** Time allowed for the preflight request, ms. Default 5000. */
  preflightTimeoutMs?: number;
  /** 'auto': faults the target can switch itself go to it, the rest to the fault proxy; 'proxy': all to the proxy. */
  faultsVia?: 'auto' | 'proxy';
  /** Browser users beside the protocol users (a few canaries in real Chromium). */
  browsers?: Omit<BrowserUsersOptions, 'stepTimeoutMs' | 'allowHosts' | 'net'>;
  /** How the browser users get in: default the target's own web client (`webClient` of the target or journey). */
  webClient?: WebClient;
  /** Hosts beyond loopback and the target that connections may go to (`--allow-target`); others are refused as `not_allowed`. */
  allowHosts?: string[];
  /** Most bytes of one answer (an HTTP body, a WebSocket message) a participant reads; beyond it the step fails as too_large. Default 8 MB. */
  maxAnswerBytes?: number;
  /** A local process of the target, watched during the run: its exit is the target going down. */
  targetPid?: number;
  /**
   * Heap of each process that runs a journey of the user's own, MB: past it that process ends and the run fails
   * naming it, with its report. Default: three quarters of the machine's memory shared among them, 512 to 4,096.
   */
  journeyHeapMb?: number;
}

/** How to give browser users a way in, for a target without a web client. */
export const NO_WEB_CLIENT_HINT =
  "give the page and when a pupil is in, e.g. --page 'http://127.0.0.1:8080/room?class={conference}&name={user}' --joined '#status[data-state=joined]', or a module with --web-client (defineWebClient), or a webClient in the journey; or pass --browsers 0";

/** Whether a local process is there (one we may not signal is there too). */
export function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** A plan built beforehand, or a scenario and seed with the layout given here. */
export type PlanOrScenario = { plan: Plan } | ({ scenario: ResolvedScenario; seed: number } & Partial<Layout>);

/** What the run's own parts see: the settings and the platform built. */
type Settings = RunSettings & { target: Platform };

const DEFAULT_MAX_ACTIVE = 50_000;

/** One second of a run, with what the command line's progress line shows besides. */
export interface Progress extends RunProgress {
  /** ms from the run start of the first bell. */
  firstBellAtMs: number;
  plannedEndMs: number;
  health: HealthSecond;
}

export interface RunResult {
  dir: string;
  info: RunInfo;
  series: Series;
}

/** The run folder's name: time stamp and scenario; a shard's is stamped with the shared start, so that its shards' folders sort together. */
function defaultRunId(plan: Plan): string {
  const { shard } = plan;
  const d = new Date(shard ? shard.startAtEpochMs : Date.now());
  const p = (n: number) => String(n).padStart(2, '0');
  const stamp = `${d.getFullYear()}${p(d.getMonth() + 1)}${p(d.getDate())}-${p(d.getHours())}${p(d.getMinutes())}${p(d.getSeconds())}`;
  // A whole run started at an instant (--start-at alone) is no shard of anything.
  return `${stamp}-${plan.scenario.name}${shard && shard.count > 1 ? `-shard-${shard.index}-of-${shard.count}` : ''}`;
}

/** The arrivals this run sends of its schedule: all, or its shard's. */
function plannedArrivals(plan: Plan): number {
  return shareSize(plan.schedule.offsetsMs.length, shareOf(plan.shard, 0, 1));
}

function planFor(o: PlanOrScenario): Plan {
  if ('plan' in o) return o.plan;
  return buildPlan(o.scenario, o.seed, () => ({
    workers: o.workers ?? SINGLE_PROCESS.workers, localAddresses: o.localAddresses ?? [],
  }));
}

/** Runs on a platform built beforehand (the command line builds it from its flags). */
export async function runOn(target: Platform, o: RunSettings & PlanOrScenario): Promise<RunResult> {
  const run = await Run.prepare(planFor(o), { ...o, target });
  o.onFolder?.(run.dir);
  return run.conduct();
}

/** What is up before the clock starts: the fault plan, the browsers, the generator, and the steps recorded. */
interface Prepared {
  faults: ArmedFaults;
  browsers?: BrowserUsers;
  gen: Generator;
  maxActive: number;
  steps: StepDecl[];
}

class Run {
  private readonly lateThresholdMs: number;
  private readonly monitor: HealthMonitor;
  /** Stops counting what the journey's code throws outside its steps (set from the start until the folder is closed). */
  private uncatch?: () => void;
  /** Aborted at the planned end, on a stop from outside, or when the run cannot go on; its reason says which. */
  private readonly ending = new AbortController();
  private readonly recorder: Recorder;
  private readonly folder: RunFolderWriter;
  private readonly info: RunInfo;
  private status: RunStatus = 'completed';
  /** The generator's sends, from start to their end. */
  private sends?: Promise<void>;
  /** The timer of the next second; the others (the planned end, the watch of the target) in `timers`. */
  private ticker?: NodeJS.Timeout;
  private readonly timers: NodeJS.Timeout[] = [];
  /** The second the next health record closes. */
  private nextT = 0;
  private browserMeter?: ProcessTreeMeter;
  private watcher?: Watcher;
  private series?: Series;
  readonly clock = () => epochNow() - this.t0Epoch;

  /** The run folder. */
  get dir(): string {
    return this.folder.dir;
  }

  /**
   * `t0Epoch`: the wall-clock instant of t = 0, shared by every sending process; `leadMs`, how far ahead of the
   * moment the processes are told it has to be, at the least (a shard's shared instant is never moved).
   */
  private constructor(private plan: Plan, private o: Settings, private p: Prepared, private t0Epoch: number, private readonly leadMs: number) {
    this.lateThresholdMs = o.lateThresholdMs ?? LATE_MS;
    this.monitor = new HealthMonitor(this.lateThresholdMs);
    this.folder = new RunFolderWriter(o.outDir, o.runId ?? defaultRunId(plan), { browsers: p.browsers !== undefined, browserHealth: p.browsers?.pid() !== undefined });
    this.info = this.runInfo();
    this.folder.info(this.info);
    this.recorder = new Recorder(new Series(p.steps, plan.scenario.joinWithinMs), this.folder.samples);
  }

  /** Stage 1: everything that must be up before the clock starts; what cannot run is refused first, and nothing is left running when it fails. */
  static async prepare(plan: Plan, o: Settings): Promise<Run> {
    const { scenario, schedule, layout } = plan;
    // A data file that does not fit is the user's to fix, before anything reaches the target. Its rows are kept
    // here only where this process sends the load: workers read their own participants' rows.
    const rows = scenario.data ? await loadRows(scenario.data, schedule.offsetsMs.length, sendsHere(plan, o.target) ? undefined : () => false) : undefined;
    const wantBrowsers = o.browsers !== undefined && o.browsers.count > 0;
    const client = o.webClient ?? o.target.webClient;
    if (wantBrowsers && !client) throw new ProblemsError([{ where: '--browsers', message: `the ${o.target.kind} target has no web client for browser users`, hint: NO_WEB_CLIENT_HINT }]);
    if (layout.workers > 1 && !o.target.spec) throw new Error(`a journey handed over as a definition cannot be built again in worker processes; give its module's path (or a built-in kind's name) as the journey, or run it with one worker`);
    const steps = [...o.target.decls, ...(wantBrowsers && client ? browserSteps(client) : [])];
    const watchWrong = o.watch?.length || o.remoteWrite ? watchProblem(o.watch ?? [], allowedHosts(o), processAlive, o.remoteWrite) : undefined;
    if (watchWrong) {
      const where = /^--\S+/.exec(watchWrong)![0];
      throw new ProblemsError([{ where, message: watchWrong.slice(where.length + 1), hint: where === '--watch' ? WATCH_FORMS : 'e.g. --prometheus-remote-write http://127.0.0.1:9090/api/v1/write' }]);
    }
    // Every connection of this run goes to loopback, the target or a host the user allowed, whoever names it; its own policy, not the process's.
    const net = new NetPolicy(allowedHosts(o), o.maxAnswerBytes ?? DEFAULT_MAX_ANSWER_BYTES);
    // A timer that keeps the process alive (AbortSignal.timeout's does not): a preflight that never settles still ends.
    const preflight = new AbortController();
    const limitMs = o.preflightTimeoutMs ?? 5_000;
    const limit = setTimeout(() => preflight.abort(new TimeoutError(`no answer within ${limitMs} ms`)), limitMs);
    await o.target.preflight(preflight.signal).finally(() => clearTimeout(limit));
    const maxActive = o.maxActive ?? Math.max(DEFAULT_MAX_ACTIVE, schedule.offsetsMs.length);
    const faults = await armFaults(o.target, scenario.faults ?? [], schedule.firstBellAtMs, o.faultsVia);
    // The browser is up before the clock starts, so its launch is not part of anything measured.
    const browsers = wantBrowsers ? new BrowserUsers({ ...o.browsers!, stepTimeoutMs: scenario.client.stepTimeoutMs, allowHosts: allowedHosts(o), net }) : undefined;
    let run: Run | undefined;
    try {
      await browsers?.open();
      const gen = await startGenerator(plan, o, { origin: faults.origin, maxActive, clock: () => run?.clock() ?? 0, rows, net });
      // t = 0 is a wall-clock instant every sending process shares; with workers a moment ahead, so each has it before it
      // comes; a shard's is the instant all shards share (--start-at).
      const leadMs = gen instanceof InProcessGenerator ? 0 : 200;
      const t0Epoch = plan.shard?.startAtEpochMs ?? epochNow() + leadMs;
      return (run = new Run(plan, o, { faults, browsers, gen, maxActive, steps }, t0Epoch, leadMs));
    } catch (e) {
      await browsers?.stop();
      await faults.stop();
      throw e;
    }
  }

  private runInfo(): RunInfo {
    const { target, browsers } = this.o;
    const { shard } = this.plan;
    const options = Object.keys(target.shownOptions).length ? { options: { ...target.shownOptions } } : {};
    return {
      ...runInfoOf(this.folder.id, this.plan, { target: { kind: target.kind, url: shownTarget(target.url), ...options }, steps: this.p.steps, status: 'running' }),
      zeroEpochMs: Math.round(this.t0Epoch),
      faults: this.p.faults.records,
      ...(this.p.browsers ? { browsers: { count: browsers!.count, cycleMs: browsers!.cycleMs, ...(browsers!.endpoint ? { endpoint: browsers!.endpoint } : {}) } } : {}),
      ...(shard ? { shard: { index: shard.index, count: shard.count, startAt: new Date(shard.startAtEpochMs).toISOString() } } : {}),
      ...(this.o.watch?.length ? { watch: this.o.watch.map((w) => ({ name: w.name, kind: w.kind, source: shownWatch(w), columns: columnsOf(w) })) } : {}),
    };
  }

  /** The watch of the platform, from before t = 0: its reads into watch.csv, its failures into run.json and the terminal. */
  private startWatch(): void {
    const specs = this.o.watch ?? [];
    const url = this.o.remoteWrite;
    if (!specs.length && !url) return;
    const remoteWrite = url ? { url, run: this.folder.id, scenario: this.plan.scenario.name } : undefined;
    this.watcher = Watcher.start({ dir: this.folder.dir, t0Epoch: this.t0Epoch, specs, allowedHosts: allowedHosts(this.o), ...(remoteWrite ? { remoteWrite } : {}) }, (m) => {
      if (m.name === REMOTE_WRITE) {
        this.say(m.type === 'failed' ? `prometheus remote write to ${url}: ${m.message}; the run goes on, its own files are complete` : `prometheus remote write to ${url}: written again`);
        return;
      }
      const w = this.info.watch?.find((x) => x.name === m.name);
      if (!w) return;
      if (m.type === 'failed') {
        const second = Math.max(0, Math.floor(this.clock() / 1000));
        if ((w.failures ??= []).length < 20) w.failures.push({ message: m.message, second });
        this.folder.keep(() => this.folder.info(this.info));
      }
      this.say(m.type === 'failed' ? `watch ${w.source}: ${m.message}; the load goes on` : `watch ${w.source}: read again`);
    });
  }

  /** A line for the terminal about the watch or the remote write. */
  private say(text: string): void {
    try {
      this.o.onWatchNews?.(text);
    } catch {
      // A broken display must not stop the measurement.
    }
  }

  /** The stages after prepare: start, each second until the end or a stop, stop, and close whatever happened. */
  async conduct(): Promise<RunResult> {
    const onExternalStop = () => this.ending.abort(new Error('interrupted'));
    this.o.signal?.addEventListener('abort', onExternalStop, { once: true });
    if (this.o.signal?.aborted) onExternalStop();
    let finished: Finished | undefined;
    try {
      await this.start();
      await this.untilEnd();
      finished = await this.stop();
    } catch (err) {
      await this.fail(err);
    } finally {
      for (const t of [this.ticker, ...this.timers]) clearTimeout(t);
      await this.p.faults.stop();
      this.o.signal?.removeEventListener('abort', onExternalStop);
      await this.close(finished);
      // After the files are closed: the remote write's last push reads them to their end.
      await this.watcher?.stop();
    }
    return { dir: this.folder.dir, info: this.info, series: this.finalSeries(finished) };
  }

  /** Stage 2, t = 0: the sends from the shared instant, then the seconds, the watch of the target, the faults and the browsers. */
  private async start(): Promise<void> {
    const { gen, faults, browsers } = this.p;
    // Writing the folder may have taken the lead away (a disk busy writing back): t = 0 moves on, so that no
    // process hears of it after it has come and the first second's arrivals are not late for that.
    if (!this.plan.shard && this.clock() > -this.leadMs / 2) {
      this.t0Epoch = epochNow() + this.leadMs;
      this.info.zeroEpochMs = Math.round(this.t0Epoch);
      this.folder.keep(() => this.folder.info(this.info));
    }
    this.monitor.startClock(this.clock);
    this.uncatch = catchJourneyErrors(this.monitor);
    this.sends = gen.run(this.t0Epoch, this.ending.signal, { monitor: this.monitor, emit: this.recorder.add });
    this.startWatch();
    // The run's clock starts at t0; until then it waits.
    await new Promise((r) => setTimeout(r, Math.max(0, -this.clock())));
    if (this.info.shard) {
      // How late this shard started against the instant all shards share.
      this.info.shard.startSkewMs = Math.round(this.clock() * 10) / 10;
      this.folder.info(this.info);
    }
    this.arm();
    this.watchTarget();
    faults.start(this.clock);
    browsers?.start(this.browserContext());
    const browserPid = browsers?.pid();
    if (browserPid) this.browserMeter = new ProcessTreeMeter(browserPid);
    this.timers.push(setTimeout(() => this.ending.abort(new Error('planned end')), this.plan.schedule.endMs - this.clock()));
  }

  /** Until the planned end or a stop; a run folder that cannot be written, or a worker lost, fails the run. */
  private async untilEnd(): Promise<void> {
    await this.sends;
    if (!this.ending.signal.aborted) await new Promise((r) => this.ending.signal.addEventListener('abort', r, { once: true }));
    if (this.o.signal?.aborted) this.status = 'interrupted';
    if (this.folder.sinkError) throw this.ending.signal.reason;
    if (this.p.gen.lost) throw this.p.gen.lost;
  }

  /** Stage 3, each second `t`: its health record (all processes merged) and the progress line. */
  private second(t: number): void {
    const { gen } = this.p;
    // Samples that cannot be written make the run worthless: stop it, and say why.
    const sinkError = this.folder.sinkError;
    if (sinkError && !this.ending.signal.aborted) this.ending.abort(sinkError);
    if (gen.lost && !this.ending.signal.aborted) this.ending.abort(gen.lost);
    const h = this.monitor.take(t, gen.active);
    gen.collect(t, h, this.recorder.live, (lines) => this.folder.samples.write(lines), this.clock());
    if (h.uncaught) this.keepUncaught(h.uncaught);
    this.folder.health.write(healthLine(h));
    if (this.browserMeter) this.folder.browserHealth?.write(browserHealthLine(this.browserMeter.take(t)));
    const layers = this.recorder.live.take();
    const { schedule } = this.plan;
    try {
      this.o.onProgress?.({ t, firstBellAtMs: schedule.firstBellAtMs, plannedEndMs: schedule.endMs, planned: plannedArrivals(this.plan), ...gen.stats(), active: h.active, layers, health: h });
    } catch {
      // A broken progress display must not stop the measurement.
    }
  }

  /**
   * Seconds close on whole seconds of the run clock, once every sending process has reported that second, or
   * 2 s late without the silent ones (whose silence then shows as event-loop lag).
   */
  private arm(): void {
    const due = (this.nextT + 1) * 1000;
    const tick = () => {
      const now = this.clock();
      if (this.p.gen.complete(this.nextT) || now >= due + 2_000) {
        this.second(this.nextT++);
        this.arm();
      } else this.ticker = setTimeout(tick, Math.max(1, Math.min(50, due + 2_000 - now)));
    };
    this.ticker = setTimeout(tick, Math.max(1, due - this.clock()));
  }

  /** What the journey's code threw outside its steps, added to run.json as it happens: a run killed later still has it. */
  private keepUncaught(errors: { message: string; count: number }[]): void {
    this.info.uncaught = countsByMessage([this.info.uncaught ?? [], errors]);
    this.folder.keep(() => this.folder.info(this.info));
  }

  /** Watches the target's local process, when one was named, and notes when it exited. */
  private watchTarget(): void {
    const pid = this.o.targetPid;
    if (pid === undefined) return;
    this.info.targetProcess = { pid };
    const timer = setInterval(() => {
      if (processAlive(pid)) return;
      this.info.targetProcess = { pid, exitedAtMs: Math.round(this.clock()) };
      clearInterval(timer);
    }, 50);
    timer.unref();
    this.timers.push(timer);
  }

  private browserContext() {
    const { scenario } = this.plan;
    const { journeys, media } = this.folder;
    return {
      origin: this.p.faults.origin, client: (this.o.webClient ?? this.o.target.webClient)!, clock: this.clock, emit: this.recorder.add,
      identity: identities(scenario),
      journey: (j: unknown) => journeys!.write(JSON.stringify(j)),
      media: (m: Parameters<typeof mediaLine>[0]) => media!.write(mediaLine(m)),
    };
  }

  /** Stage 4: the last health record closes the measured time, then the load stops: the teardown is not the generator under load. */
  private async stop(): Promise<Finished> {
    clearTimeout(this.ticker);
    let browsersDone: Promise<void> | undefined;
    const finished = await this.p.gen.finish(this.ending.signal.reason, this.nextT, () => {
      this.second(this.nextT);
      browsersDone = this.p.browsers?.stop();
    }, (lines) => this.folder.samples.write(lines));
    await browsersDone;
    if (finished.missing.length) {
      this.info.stopReason = `${finished.missingWhy ?? `${finished.missing.length} worker(s) did not hand back their series`}; the report is built from the samples, of which their last moments may be missing`;
    }
    return finished;
  }

  private async fail(err: unknown): Promise<never> {
    this.status = 'failed';
    this.info.stopReason = err instanceof Error ? err.message : String(err);
    this.ending.abort(err);
    this.p.gen.abort(err, (lines) => this.folder.samples.write(lines));
    await this.p.browsers?.stop();
    throw new RunFailedError(this.folder.dir, err);
  }

  /** The series of every process: the workers' merged with this process's own (its browser users), or this process's alone. */
  private finalSeries(finished: Finished | undefined): Series {
    if (this.series) return this.series;
    const merged = finished?.series;
    if (merged) {
      merged.merge(this.recorder.series);
      for (const d of this.p.steps) merged.declare(d);
    }
    return (this.series = merged ?? this.recorder.series);
  }

  /**
   * Stage 5: closes the files and completes run.json; series.json only where the series is whole. Never throws: a
   * file that cannot be written (a full disk) is named in run.json's stop reason where that can still be written.
   */
  private async close(finished: Finished | undefined): Promise<void> {
    this.monitor.stop();
    this.folder.close();
    const fromSamples = (finished?.missing.length ?? 0) > 0;
    // With workers, a failed run has only part of the series here: the report rebuilds it from the samples instead.
    const whole = finished !== undefined || this.p.gen instanceof InProcessGenerator;
    if (whole && !fromSamples) this.folder.keep(() => this.folder.series(this.finalSeries(finished)));
    let dispatched = finished?.stats ?? this.p.gen.stats();
    // Workers that did not hand back their counts reported them last while overloaded, seconds behind: every
    // participant with a sample was sent, so the samples give a truer floor for the arrivals sent.
    const floor = fromSamples ? await participantsWithSamples(this.folder.dir).catch(() => 0) : 0;
    const sentAtLeast = floor > dispatched.sent;
    if (sentAtLeast) dispatched = { ...dispatched, sent: floor };
    this.completeInfo(dispatched, sentAtLeast);
    if (this.folder.failure && this.status === 'completed') {
      this.status = this.info.status = 'failed';
      this.info.stopReason = this.folder.failure.message;
    }
    this.folder.keep(() => this.folder.info(this.info));
    this.uncatch?.();
  }

  private completeInfo(dispatched: DispatchStats, sentAtLeast: boolean): void {
    const { schedule, layout } = this.plan;
    this.info.status = this.status;
    if (this.status === 'interrupted') this.info.stopReason = `interrupted at ${(this.clock() / 1000).toFixed(1)} s of ${(schedule.endMs / 1000).toFixed(1)} s`;
    this.info.endedAt = new Date().toISOString();
    this.info.generator = {
      arrivalsPlanned: plannedArrivals(this.plan), arrivalsSent: dispatched.sent, late: dispatched.late, dropped: dispatched.dropped,
      lateThresholdMs: this.lateThresholdMs, maxActive: this.p.maxActive,
      workers: layout.workers, ...(layout.localAddresses.length ? { localAddresses: layout.localAddresses.length } : {}),
      ...(sentAtLeast ? { sentAtLeast: true } : {}),
    };
  }
}

/** Hosts beyond loopback that the run's connections may go to: the target's, and those the user allowed. */
function allowedHosts(o: Settings): string[] {
  return [o.target.url.hostname, ...(o.allowHosts ?? [])];
}

/** Readies the plan's sending processes: this one warmed up, or the workers each with their share. */
async function startGenerator(plan: Plan, o: Settings, g: { origin: string; maxActive: number; clock: () => number; rows?: readonly Row[]; net: NetPolicy }): Promise<Generator> {
  const { scenario, seed, schedule, layout } = plan;
  const { origin, maxActive, clock } = g;
  const lateThresholdMs = o.lateThresholdMs ?? LATE_MS;
  if (sendsHere(plan, o.target)) {
    const source = sourcePorts(layout.localAddresses, shareOf(plan.shard, 0, 1));
    await prepareForLoad({ origin, target: o.target, scenario, arrivals: plannedArrivals(plan), net: g.net, source });
    return new InProcessGenerator({
      scenario, seed, target: o.target, net: g.net, schedule, share: shareOf(plan.shard, 0, 1), origin, clock, maxActive, lateThresholdMs,
      source, rows: g.rows, reuseRows: scenario.data?.reuse,
    });
  }
  const inits = Array.from({ length: layout.workers }, (_, index) => ({
    type: 'init' as const, scenario, seed, target: o.target.spec!, origin, index, count: layout.workers, share: shareOf(plan.shard, index, layout.workers),
    maxActive: Math.ceil(maxActive / layout.workers), lateThresholdMs, localAddresses: layout.localAddresses,
    allowedHosts: allowedHosts(o), maxAnswerBytes: g.net.maxAnswerBytes,
  }));
  return WorkerGenerator.start(inits, clock, o.journeyHeapMb, o.target.holds);
}

/**
 * Whether the run's own process sends the load: one process is enough, and the journey is not the user's own. A
 * journey of the user's own runs apart from this process, with a heap cap: its endless loop or its memory cannot
 * keep this process from ending the run and writing the report.
 */
function sendsHere(plan: Plan, target: Platform): boolean {
  return plan.layout.workers === 1 && !runsApart(target);
}

/** Whether the platform's journey is the user's own code that worker processes can build again from its module. */
export function runsApart(target: Platform): boolean {
  return target.kind === 'journey' && target.spec !== undefined;
}
