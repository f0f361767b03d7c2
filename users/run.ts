// One run: preflight, the plan sent by its generator, samples to disk as they happen, and a run folder that always closes.
import { cpus, hostname } from 'node:os';
import { join } from 'node:path';
import { identities } from '../api/identity.js';
import { NetPolicy } from '../protocol/address-guard.js';
import { DEFAULT_MAX_ANSWER_BYTES } from '../protocol/answer-limits.js';
import type { StepDecl } from '../api/vu.js';
import type { Platform } from '../targets/platform.js';
import type { PlatformInput } from '../api/journey.js';
import { platformOfInput } from '../modules/platform.js';
import { armFaults, type ArmedFaults } from '../faults/faults.js';
import { VERSION } from '../lib/version.js';
import { loadRows, type Row } from '../modules/data.js';
import { SINGLE_PROCESS, buildPlan, type Plan } from '../plan/plan.js';
import type { Layout } from '../plan/limits.js';
import { shareOf, shareSize } from '../plan/shard.js';
import { BROWSER_HEALTH_HEADER, browserHealthLine, MEDIA_HEADER, mediaLine } from '../run-folder/records.js';
import {
  FILES, freshRunDir, HEALTH_HEADER, healthLine, LineSink, participantsWithSamples, RunFailedError, SAMPLE_HEADER, writeFileAtomic, writeFileReserved, WriteError,
  type HealthSecond, type RunInfo, type RunStatus,
} from '../run-folder/run-folder.js';
import { Series } from '../run-folder/series.js';
import { ProblemsError, type ResolvedScenario } from '../scenarios/model.js';
import type { WebClient } from '../api/web-client.js';
import { browserSteps, BrowserUsers, type BrowserUsersOptions } from './browser/canaries.js';
import { ProcessTreeMeter } from './browser/processes.js';
import { prepareForLoad, sourcePorts } from './engine.js';
import { InProcessGenerator, type Finished, type Generator } from './generator.js';
import { HealthMonitor } from './health.js';
import { Recorder } from './recorder.js';
import type { DispatchStats } from './scheduler.js';
import { epochNow, WorkerGenerator } from './workers.js';
import type { RunProgress } from './progress.js';

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

/** A run of a plan built beforehand (`buildPlan`), or of a scenario and seed with the layout given here (default: one process). */
export type RunOptions = RunSettings & { platform: PlatformInput } & PlanOrScenario;

/** A plan built beforehand, or a scenario and seed with the layout given here. */
export type PlanOrScenario = { plan: Plan } | ({ scenario: ResolvedScenario; seed: number } & Partial<Layout>);

/** What the run's own parts see: the settings and the platform built. */
type Settings = RunSettings & { target: Platform };

export const DEFAULT_MAX_ACTIVE = 50_000;

/** The live state once a second. */
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
  return `${stamp}-${plan.scenario.name}${shard ? `-shard-${shard.index}-of-${shard.count}` : ''}`;
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

export async function runScenario(o: RunOptions): Promise<RunResult> {
  return runOn(await platformOfInput(o.platform), o);
}

/** Runs on a platform built beforehand (the command line builds it from its flags). */
export async function runOn(target: Platform, o: RunSettings & PlanOrScenario): Promise<RunResult> {
  const run = await Run.prepare(planFor(o), { ...o, target });
  return run.measure();
}

/** What is up before the clock starts: the fault plan, the browsers and the generator. */
interface Prepared {
  faults: ArmedFaults;
  browsers?: BrowserUsers;
  gen: Generator;
  maxActive: number;
}

/** The sinks of a run folder that the run writes as it goes. */
interface Sinks {
  samples: LineSink;
  health: LineSink;
  media?: LineSink;
  journeys?: LineSink;
  browserHealth?: LineSink;
}

class Run {
  private readonly lateThresholdMs: number;
  private readonly monitor: HealthMonitor;
  private readonly stop = new AbortController();
  private readonly recorder: Recorder;
  private readonly sinks: Sinks;
  private browserMeter?: ProcessTreeMeter;
  /** The first file of the run folder that could not be written. */
  private writeFailure?: WriteError;
  private readonly dir: string;
  private readonly info: RunInfo;
  private status: RunStatus = 'completed';
  private ticker?: NodeJS.Timeout;
  /** The second the next health record closes. */
  private nextT = 0;

  private readonly clock = () => epochNow() - this.t0Epoch;
  /** The wall-clock instant of t = 0, shared by every sending process. */
  private t0Epoch = epochNow();
  private series?: Series;

  private constructor(private plan: Plan, private o: Settings, private p: Prepared, private steps: StepDecl[]) {
    this.lateThresholdMs = o.lateThresholdMs ?? 100;
    this.monitor = new HealthMonitor(this.lateThresholdMs);
    const { dir, id } = freshRunDir(o.outDir, o.runId ?? defaultRunId(plan));
    this.dir = dir;
    this.info = this.runInfo(id);
    this.writeInfo();
    const browsers = p.browsers !== undefined;
    this.sinks = {
      samples: new LineSink(join(dir, FILES.samples), SAMPLE_HEADER),
      health: new LineSink(join(dir, FILES.health), HEALTH_HEADER),
      ...(browsers ? { media: new LineSink(join(dir, FILES.media), MEDIA_HEADER), journeys: new LineSink(join(dir, FILES.browsers), '') } : {}),
      ...(p.browsers?.pid() ? { browserHealth: new LineSink(join(dir, FILES.browserHealth), BROWSER_HEALTH_HEADER) } : {}),
    };
    this.recorder = new Recorder(new Series(steps, plan.scenario.joinWithinMs), (line) => this.sinks.samples.write(line));
  }

  /** Everything that must be up before the clock starts; nothing is left running when it fails. */
  static async prepare(plan: Plan, o: Settings): Promise<Run> {
    const { scenario, schedule, layout } = plan;
    // A data file that does not fit is the user's to fix, before anything reaches the target.
    const rows = scenario.data ? loadRows(scenario.data, schedule.offsetsMs.length) : undefined;
    // What cannot run is refused before anything is started (the fault proxy among it) or sent.
    const wantBrowsers = o.browsers !== undefined && o.browsers.count > 0;
    const client = o.webClient ?? o.target.webClient;
    if (wantBrowsers && !client) throw new ProblemsError([{ where: '--browsers', message: `the ${o.target.kind} target has no web client for browser users`, hint: NO_WEB_CLIENT_HINT }]);
    if (layout.workers > 1 && !o.target.spec) throw new Error(`a journey handed over as a definition cannot be built again in worker processes; give its module's path (or a built-in kind's name) as the journey, or run it with one worker`);
    const steps = [...o.target.decls, ...(wantBrowsers && client ? browserSteps(client) : [])];
    // Every connection of this run goes to loopback, the target or a host the user allowed, whoever names it; its own policy, not the process's.
    const net = new NetPolicy(allowedHosts(o), o.maxAnswerBytes ?? DEFAULT_MAX_ANSWER_BYTES);
    await o.target.preflight(AbortSignal.timeout(o.preflightTimeoutMs ?? 5_000));
    const maxActive = o.maxActive ?? Math.max(DEFAULT_MAX_ACTIVE, schedule.offsetsMs.length);
    const faults = await armFaults(o.target, scenario.faults ?? [], schedule.firstBellAtMs, o.faultsVia);
    // The browser is up before the clock starts, so its launch is not part of anything measured.
    const browsers = wantBrowsers ? new BrowserUsers({ ...o.browsers!, stepTimeoutMs: scenario.client.stepTimeoutMs, allowHosts: allowedHosts(o), net }) : undefined;
    let gen: Generator | undefined;
    const clock = () => run?.clock() ?? 0;
    let run: Run | undefined;
    try {
      await browsers?.open();
      gen = await startGenerator(plan, o, { origin: faults.origin, maxActive, clock, rows, net });
    } catch (e) {
      await browsers?.stop();
      await faults.stop();
      throw e;
    }
    run = new Run(plan, o, { faults, browsers, gen, maxActive }, steps);
    // t = 0 is a wall-clock instant every sending process shares; with workers a moment ahead, so each has it before it
    // comes; a shard's is the instant all shards share (--start-at).
    run.t0Epoch = plan.shard?.startAtEpochMs ?? epochNow() + (layout.workers > 1 ? 200 : 0);
    run.info.zeroEpochMs = Math.round(run.t0Epoch);
    run.writeInfo();
    return run;
  }

  private runInfo(id: string): RunInfo {
    const { scenario, seed, schedule, summary } = this.plan;
    const b = this.p.browsers ? this.o.browsers! : undefined;
    return {
      tool: { name: 'firstbell', version: VERSION, node: process.version },
      id,
      status: 'running',
      startedAt: new Date().toISOString(),
      host: { hostname: hostname(), cpus: cpus().length, platform: `${process.platform}-${process.arch}` },
      scenario,
      seed,
      target: { kind: this.o.target.kind, url: this.o.target.url.origin, ...(Object.keys(this.o.target.shownOptions).length ? { options: { ...this.o.target.shownOptions } } : {}) },
      firstBellAtMs: schedule.firstBellAtMs,
      plannedEndMs: schedule.endMs,
      steps: this.steps,
      plan: summary,
      faults: this.p.faults.records,
      ...(b ? { browsers: { count: b.count, cycleMs: b.cycleMs, ...(b.endpoint ? { endpoint: b.endpoint } : {}) } } : {}),
      ...(this.plan.shard ? { shard: { index: this.plan.shard.index, count: this.plan.shard.count, startAt: new Date(this.plan.shard.startAtEpochMs).toISOString() } } : {}),
    };
  }

  private writeInfo(): void {
    writeFileReserved(join(this.dir, FILES.run), JSON.stringify(this.info, null, 2));
  }

  /** Closes second `t`: its health record (all processes merged) and the progress line. */
  private second(t: number): void {
    const { samples, health } = this.sinks;
    // Samples that cannot be written make the run worthless: stop it, and say why.
    const sinkError = samples.error ?? health.error;
    if (sinkError && !this.stop.signal.aborted) this.stop.abort(sinkError);
    if (this.p.gen.lost && !this.stop.signal.aborted) this.stop.abort(new Error(this.p.gen.lost));
    const h = this.monitor.take(t, this.p.gen.active);
    this.p.gen.collect(t, h, this.recorder.live, (lines) => samples.write(lines), this.clock());
    health.write(healthLine(h));
    if (this.browserMeter) this.sinks.browserHealth?.write(browserHealthLine(this.browserMeter.take(t)));
    const layers = this.recorder.live.take();
    const { schedule } = this.plan;
    try {
      this.o.onProgress?.({ t, firstBellAtMs: schedule.firstBellAtMs, plannedEndMs: schedule.endMs, planned: plannedArrivals(this.plan), ...this.p.gen.stats(), active: h.active, layers, health: h });
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

  /** Runs the plan from t = 0 to its end (or a stop), then closes the run folder whatever happened. */
  async measure(): Promise<RunResult> {
    const { gen, faults, browsers } = this.p;
    const onExternalStop = () => this.stop.abort(new Error('interrupted'));
    this.o.signal?.addEventListener('abort', onExternalStop, { once: true });
    if (this.o.signal?.aborted) onExternalStop();
    this.monitor.startClock(this.clock);
    const sendsFrom = gen.run(this.t0Epoch, this.stop.signal, { monitor: this.monitor, emit: this.recorder.add });
    // The run's clock starts at t0; until then it waits.
    await new Promise((r) => setTimeout(r, Math.max(0, -this.clock())));
    if (this.info.shard) {
      // How late this shard started against the instant all shards share.
      this.info.shard.startSkewMs = Math.round(this.clock() * 10) / 10;
      this.writeInfo();
    }
    this.arm();
    const watch = this.watchTarget();
    faults.start(this.clock);
    browsers?.start(this.browserContext());
    const browserPid = browsers?.pid();
    if (browserPid) this.browserMeter = new ProcessTreeMeter(browserPid);
    const endTimer = setTimeout(() => this.stop.abort(new Error('planned end')), this.plan.schedule.endMs - this.clock());
    let finished: Finished | undefined;
    try {
      await sendsFrom;
      if (!this.stop.signal.aborted) await new Promise((r) => this.stop.signal.addEventListener('abort', r, { once: true }));
      if (this.o.signal?.aborted) this.status = 'interrupted';
      if (this.sinks.samples.error ?? this.sinks.health.error) throw this.stop.signal.reason;
      if (gen.lost) throw new Error(gen.lost);
      finished = await this.finish();
    } catch (err) {
      await this.fail(err);
    } finally {
      clearTimeout(this.ticker);
      clearTimeout(endTimer);
      clearInterval(watch);
      await faults.stop();
      this.o.signal?.removeEventListener('abort', onExternalStop);
      await this.close(finished);
    }
    return { dir: this.dir, info: this.info, series: this.finalSeries(finished) };
  }

  /** Watches the target's local process, when one was named, and notes when it exited. */
  private watchTarget(): NodeJS.Timeout | undefined {
    const pid = this.o.targetPid;
    if (pid === undefined) return undefined;
    this.info.targetProcess = { pid };
    const timer = setInterval(() => {
      if (processAlive(pid)) return;
      this.info.targetProcess = { pid, exitedAtMs: Math.round(this.clock()) };
      clearInterval(timer);
    }, 50);
    timer.unref();
    return timer;
  }

  private browserContext() {
    const { scenario } = this.plan;
    const { journeys, media } = this.sinks;
    return {
      origin: this.p.faults.origin, client: (this.o.webClient ?? this.o.target.webClient)!, clock: this.clock, emit: this.recorder.add,
      identity: identities(scenario),
      journey: (j: unknown) => journeys!.write(JSON.stringify(j)),
      media: (m: Parameters<typeof mediaLine>[0]) => media!.write(mediaLine(m)),
    };
  }

  /** Stops the load after the last health record, which closes the measured time: the teardown is not the generator under load. */
  private async finish(): Promise<Finished> {
    clearTimeout(this.ticker);
    let browsersDone: Promise<void> | undefined;
    const write = (lines: string) => this.sinks.samples.write(lines);
    const finished = await this.p.gen.finish(this.stop.signal.reason, this.nextT, () => {
      this.second(this.nextT);
      browsersDone = this.p.browsers?.stop();
    }, write);
    await browsersDone;
    if (finished.missing.length) {
      const n = finished.missing.length;
      this.info.stopReason = `worker${n === 1 ? '' : 's'} ${finished.missing.map((k) => k + 1).join(', ')} of ${this.plan.layout.workers} did not hand back ${n === 1 ? 'its' : 'their'} series within 30 s of the end (overloaded); the report is built from the samples, of which their last 200 ms may be missing`;
    }
    return finished;
  }

  private async fail(err: unknown): Promise<never> {
    this.status = 'failed';
    this.info.stopReason = err instanceof Error ? err.message : String(err);
    this.stop.abort(err);
    this.p.gen.abort(err, (lines) => this.sinks.samples.write(lines));
    await this.p.browsers?.stop();
    throw new RunFailedError(this.dir, err);
  }

  /** The series of every process: the workers' merged with this process's own (its browser users), or this process's alone. */
  private finalSeries(finished: Finished | undefined): Series {
    if (this.series) return this.series;
    const merged = finished?.series;
    if (merged) {
      merged.merge(this.recorder.series);
      for (const d of this.steps) merged.declare(d);
    }
    return (this.series = merged ?? this.recorder.series);
  }

  /**
   * Closes the sinks and completes run.json; series.json only where the series is whole. Never throws: a file that
   * cannot be written (a full disk) is named in run.json's stop reason where that can still be written.
   */
  private async close(finished: Finished | undefined): Promise<void> {
    this.monitor.stop();
    for (const sink of Object.values(this.sinks)) {
      try {
        sink?.close();
      } catch (e) {
        this.writeFailure ??= new WriteError(sink!.path, e);
      }
    }
    const fromSamples = (finished?.missing.length ?? 0) > 0;
    // With workers, a failed run has only part of the series here: the report rebuilds it from the samples instead.
    const whole = finished !== undefined || this.plan.layout.workers === 1;
    try {
      if (whole && !fromSamples) writeFileAtomic(join(this.dir, FILES.series), JSON.stringify(this.finalSeries(finished).toJSON()));
    } catch (e) {
      // The report rebuilds the series from the samples.
      this.writeFailure ??= e as WriteError;
    }
    let dispatched = finished?.stats ?? this.p.gen.stats();
    // Workers that did not hand back their counts reported them last while overloaded, seconds behind: every
    // participant with a sample was sent, so the samples give a truer floor for the arrivals sent.
    const floor = fromSamples ? await sentFromSamples(this.dir) : 0;
    const sentAtLeast = floor > dispatched.sent;
    if (sentAtLeast) dispatched = { ...dispatched, sent: floor };
    this.completeInfo(dispatched, sentAtLeast);
    if (this.writeFailure && this.status === 'completed') {
      this.status = this.info.status = 'failed';
      this.info.stopReason = this.writeFailure.message;
    }
    try {
      this.writeInfo();
    } catch (e) {
      this.writeFailure ??= e as WriteError;
    }
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

/** Participants with at least one sample; 0 when the samples cannot be read (the report will say why). */
function sentFromSamples(dir: string): Promise<number> {
  return participantsWithSamples(dir).catch(() => 0);
}

/** Hosts beyond loopback that the run's connections may go to: the target's, and those the user allowed. */
function allowedHosts(o: Settings): string[] {
  return [o.target.url.hostname, ...(o.allowHosts ?? [])];
}

/** Readies the plan's sending processes: this one warmed up, or the workers each with their share. */
async function startGenerator(plan: Plan, o: Settings, g: { origin: string; maxActive: number; clock: () => number; rows?: readonly Row[]; net: NetPolicy }): Promise<Generator> {
  const { scenario, seed, schedule, layout } = plan;
  const { origin, maxActive, clock } = g;
  const lateThresholdMs = o.lateThresholdMs ?? 100;
  if (layout.workers === 1) {
    await prepareForLoad({ origin, target: o.target, scenario, arrivals: plannedArrivals(plan), net: g.net });
    return new InProcessGenerator({
      scenario, seed, target: o.target, net: g.net, schedule, share: shareOf(plan.shard, 0, 1), origin, clock, maxActive, lateThresholdMs,
      source: sourcePorts(layout.localAddresses, shareOf(plan.shard, 0, 1)), rows: g.rows, reuseRows: scenario.data?.reuse,
    });
  }
  const inits = Array.from({ length: layout.workers }, (_, index) => ({
    type: 'init' as const, scenario, seed, target: o.target.spec!, origin, index, count: layout.workers, share: shareOf(plan.shard, index, layout.workers),
    maxActive: Math.ceil(maxActive / layout.workers), lateThresholdMs, localAddresses: layout.localAddresses,
    allowedHosts: allowedHosts(o), maxAnswerBytes: g.net.maxAnswerBytes,
  }));
  return WorkerGenerator.start(inits, clock);
}
