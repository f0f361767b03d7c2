// One run: preflight, schedule, dispatch, samples to disk as they happen, and a run folder that always closes.
import { existsSync, mkdirSync } from 'node:fs';
import { cpus, hostname } from 'node:os';
import { join } from 'node:path';
import type { Layer, ResolvedScenario } from '../scenarios/model.js';
import { Engine, LiveLayers, prepareForLoad } from './engine.js';
import { HealthMonitor } from './health.js';
import {
  FILES, HEALTH_HEADER, healthLine, LineSink, readSamples, RunFailedError, SAMPLE_HEADER, sampleLine, writeFileAtomic,
  type HealthSecond, type RunInfo, type RunStatus,
} from '../run-folder/run-folder.js';
import { arrivalsPerSecond, buildSchedule, type Schedule } from '../plan/schedule.js';
import { armFaults } from '../faults/faults.js';
import type { DispatchStats } from './scheduler.js';
import { Series } from '../run-folder/series.js';
import type { Sample } from '../api/sample.js';
import type { Target } from '../api/target.js';
import { epochNow, WorkerPool, type WorkerSecond } from './workers.js';
import { BROWSER_STEPS, BrowserUsers, MEDIA_HEADER, mediaLine, type BrowserUsersOptions } from './browser/canaries.js';
import { VERSION } from '../lib/version.js';

export interface RunOptions {
  scenario: ResolvedScenario;
  seed: number;
  target: Target;
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
  browsers?: Omit<BrowserUsersOptions, 'stepTimeoutMs'>;
  /** Worker processes that share the schedule (every n-th arrival each); 1 (default) sends from this process. Needs a target with a spec. */
  workers?: number;
  /** Local addresses to spread the participants' connections over (participant id modulo their count). */
  localAddresses?: string[];
  /** all (default): every connection is bound to its address; held: only the connection a joined participant holds. */
  localAddressesFor?: 'all' | 'held';
}

export const DEFAULT_MAX_ACTIVE = 50_000;

/** The live state once a second. */
export interface Progress {
  /** Seconds since the run start. */
  t: number;
  /** ms from the run start of the first bell. */
  firstBellAtMs: number;
  plannedEndMs: number;
  planned: number;
  sent: number;
  late: number;
  dropped: number;
  active: number;
  /** Per layer in the last second: ended attempts, failed ones, and p95 latency in ms. */
  layers: Record<Layer, { ended: number; failed: number; p95Ms: number }>;
  health: HealthSecond;
}

export interface RunResult {
  dir: string;
  info: RunInfo;
  series: Series;
}

function defaultRunId(scenario: string): string {
  const d = new Date();
  const p = (n: number) => String(n).padStart(2, '0');
  return `${d.getFullYear()}${p(d.getMonth() + 1)}${p(d.getDate())}-${p(d.getHours())}${p(d.getMinutes())}${p(d.getSeconds())}-${scenario}`;
}

function freshDir(outDir: string, id: string): { dir: string; id: string } {
  let candidate = id;
  for (let k = 2; existsSync(join(outDir, candidate)); k++) candidate = `${id}-${k}`;
  const dir = join(outDir, candidate);
  mkdirSync(dir, { recursive: true });
  return { dir, id: candidate };
}

/** The plan in numbers, before anything is sent. */
export function planOf(scenario: ResolvedScenario, schedule: Schedule): RunInfo['plan'] {
  return {
    participants: schedule.offsetsMs.length,
    peakArrivalsPerSec: Math.max(0, ...arrivalsPerSecond(schedule)),
    phases: scenario.phases.map((p) => ({ name: p.name, participants: p.participants, startMs: p.startMs, durationMs: p.durationMs })),
  };
}

export async function runScenario(o: RunOptions): Promise<RunResult> {
  const lateThresholdMs = o.lateThresholdMs ?? 100;
  await o.target.preflight(AbortSignal.timeout(o.preflightTimeoutMs ?? 5_000));

  const schedule = buildSchedule(o.scenario, o.seed);
  const maxActive = o.maxActive ?? Math.max(DEFAULT_MAX_ACTIVE, schedule.offsetsMs.length);
  const faults = await armFaults(o.target, o.scenario.faults ?? [], schedule.firstBellAtMs, o.faultsVia);
  const wantBrowsers = o.browsers !== undefined && o.browsers.count > 0;
  if (wantBrowsers && !o.target.webClient) throw new Error(`the ${o.target.kind} target has no web client for browser users`);
  const steps = wantBrowsers ? [...o.target.steps, ...BROWSER_STEPS] : o.target.steps;
  // The browser is up before the clock starts, so its launch is not part of anything measured.
  const browsers = wantBrowsers ? new BrowserUsers({ ...o.browsers!, stepTimeoutMs: o.scenario.client.stepTimeoutMs }) : undefined;
  const workerCount = o.workers ?? 1;
  if (workerCount > 1 && !o.target.spec) throw new Error(`the ${o.target.kind} target was made by hand and cannot be rebuilt in worker processes; run it with one worker`);
  // Worker processes merge their second into the parent's; set up before the clock starts.
  const fromWorkers = new Map<number, WorkerSecond[]>();
  /** When each worker was last heard from, on the run clock. */
  const lastSeen: number[] = [];
  const workerSamples: string[] = [];
  let workerLost: string | undefined;
  let pool: WorkerPool | undefined;
  try {
    await browsers?.open(faults.origin);
    if (workerCount === 1) {
      await prepareForLoad({ origin: faults.origin, target: o.target, scenario: o.scenario, arrivals: schedule.offsetsMs.length });
    }
    if (workerCount > 1) {
      pool = await WorkerPool.start(
        Array.from({ length: workerCount }, (_, index) => ({
          type: 'init' as const, scenario: o.scenario, seed: o.seed, target: o.target.spec!, origin: faults.origin, index, count: workerCount,
          maxActive: Math.ceil(maxActive / workerCount), lateThresholdMs, localAddresses: o.localAddresses, localAddressesFor: o.localAddressesFor,
        })),
        {
          onSecond: (k, sec) => {
            lastSeen[k] = clock();
            const list = fromWorkers.get(sec.t) ?? [];
            list.push(sec);
            fromWorkers.set(sec.t, list);
            latest[k] = sec;
          },
          onSamples: (lines) => workerSamples.push(lines),
          onLost: (_k, why) => (workerLost ??= why),
        },
      );
    }
  } catch (e) {
    pool?.kill();
    await browsers?.stop();
    await faults.stop();
    throw e;
  }
  const { dir, id } = freshDir(o.outDir, o.runId ?? defaultRunId(o.scenario.name));
  const info: RunInfo = {
    tool: { name: 'firstbell', version: VERSION, node: process.version },
    id,
    status: 'running',
    startedAt: new Date().toISOString(),
    host: { hostname: hostname(), cpus: cpus().length, platform: `${process.platform}-${process.arch}` },
    scenario: o.scenario,
    seed: o.seed,
    target: { kind: o.target.kind, url: o.target.url.origin },
    firstBellAtMs: schedule.firstBellAtMs,
    plannedEndMs: schedule.endMs,
    steps,
    plan: planOf(o.scenario, schedule),
    faults: faults.records,
    ...(wantBrowsers ? { browsers: { count: o.browsers!.count, cycleMs: o.browsers!.cycleMs, ...(o.browsers!.endpoint ? { endpoint: o.browsers!.endpoint } : {}) } } : {}),
  };
  const writeInfo = () => writeFileAtomic(join(dir, FILES.run), JSON.stringify(info, null, 2));
  writeInfo();

  const samples = new LineSink(join(dir, FILES.samples), SAMPLE_HEADER);
  const healthSink = new LineSink(join(dir, FILES.health), HEALTH_HEADER);
  const series = new Series(steps, o.scenario.joinWithinMs);
  const mediaSink = wantBrowsers ? new LineSink(join(dir, FILES.media), MEDIA_HEADER) : undefined;
  const journeySink = wantBrowsers ? new LineSink(join(dir, FILES.browsers), '') : undefined;
  const monitor = new HealthMonitor(lateThresholdMs);
  const stop = new AbortController();
  const onExternalStop = () => stop.abort(new Error('interrupted'));
  o.signal?.addEventListener('abort', onExternalStop, { once: true });
  if (o.signal?.aborted) onExternalStop();

  const live = new LiveLayers();
  const emit = (x: Sample) => {
    series.add(x);
    samples.write(sampleLine(x));
    live.add(x);
  };
  const origin = faults.origin;
  // t = 0 is a wall-clock instant every worker process shares; a moment ahead, so each has it before it comes.
  const t0Epoch = epochNow() + (pool ? 200 : 0);
  const clock = () => epochNow() - t0Epoch;
  const engine = pool
    ? undefined
    : new Engine({ scenario: o.scenario, seed: o.seed, target: o.target, schedule, origin, clock, maxActive, lateThresholdMs, monitor, emit, localAddresses: o.localAddresses, localAddressesFor: o.localAddressesFor });
  let dispatched: DispatchStats = engine?.stats ?? { sent: 0, late: 0, dropped: 0 };
  /** Each worker's latest second: its running totals. */
  const latest: WorkerSecond[] = [];
  let status: RunStatus = 'completed';

  /** This process's second, merged with the workers' seconds of the same t. */
  const mergedSecond = (t: number): HealthSecond => {
    const h = monitor.take(t, engine?.active ?? 0);
    if (!pool) return h;
    for (const lines of workerSamples.splice(0)) samples.write(lines);
    // A worker's record that came in after its second was written counts in this one: nothing is lost, it is late.
    const got: WorkerSecond[] = [];
    for (const [k, list] of fromWorkers) {
      if (k > t) continue;
      got.push(...list);
      fromWorkers.delete(k);
    }
    for (const w of got) {
      live.addEncoded(w.layers);
      // CPU is the busiest process's (each has one event loop); counts and memory add up.
      h.cpuPct = Math.max(h.cpuPct, w.health.cpuPct);
      h.loopLagP99Ms = Math.max(h.loopLagP99Ms, w.health.loopLagP99Ms);
      h.loopLagMaxMs = Math.max(h.loopLagMaxMs, w.health.loopLagMaxMs);
      h.sendLagP99Ms = Math.max(h.sendLagP99Ms, w.health.sendLagP99Ms);
      h.sendLagMaxMs = Math.max(h.sendLagMaxMs, w.health.sendLagMaxMs);
      h.arrivals += w.health.arrivals;
      h.late += w.health.late;
      h.dropped += w.health.dropped;
    }
    for (let k = 0; k < pool.size; k++) {
      const w = latest[k];
      h.active += w?.health.active ?? 0;
      h.rssMb += w?.health.rssMb ?? 0;
      if (got.some((x) => x.index === k)) continue;
      // A worker that has not reported this second is stalled: its loop lag is at least the time since it was last heard.
      const silentMs = Math.round(Math.max(0, clock() - (lastSeen[k] ?? 0) - 1000));
      h.loopLagP99Ms = Math.max(h.loopLagP99Ms, silentMs);
      h.loopLagMaxMs = Math.max(h.loopLagMaxMs, silentMs);
    }
    dispatched = latest.reduce((a, w) => ({ sent: a.sent + w.stats.sent, late: a.late + w.stats.late, dropped: a.dropped + w.stats.dropped }), { sent: 0, late: 0, dropped: 0 });
    return h;
  };

  const second = (t: number) => {
    // Samples that cannot be written make the run worthless: stop it, and say why.
    const sinkError = samples.error ?? healthSink.error;
    if (sinkError && !stop.signal.aborted) stop.abort(new Error(`cannot write the run folder: ${sinkError.message}`));
    if (workerLost && !stop.signal.aborted) stop.abort(new Error(workerLost));
    const h = mergedSecond(t);
    healthSink.write(healthLine(h));
    const layers = live.take();
    try {
      o.onProgress?.({ t, firstBellAtMs: schedule.firstBellAtMs, plannedEndMs: schedule.endMs, planned: schedule.offsetsMs.length, ...dispatched, active: h.active, layers, health: h });
    } catch {
      // A broken progress display must not stop the measurement.
    }
  };
  // Seconds close on whole seconds of the run clock. With workers, a second is written once every worker has
  // reported it, or 2 s late without the silent ones (whose silence then shows as event-loop lag).
  let ticker: NodeJS.Timeout | undefined;
  /** The second the next record closes. */
  let nextT = 0;
  const complete = (t: number) => pool !== undefined && new Set((fromWorkers.get(t) ?? []).map((w) => w.index)).size >= pool.size;
  const arm = () => {
    const due = (nextT + 1) * 1000;
    ticker = setTimeout(() => {
      if (!pool || complete(nextT) || clock() >= due + 2_000) second(nextT++);
      arm();
    }, Math.max(1, pool ? Math.min(50, due + 2_000 - clock()) : due - clock()));
  };
  pool?.go(t0Epoch);
  // The parent's clock also starts at t0; until then it waits.
  await new Promise((r) => setTimeout(r, Math.max(0, -clock())));
  arm();
  faults.start(clock);
  browsers?.start({ origin, client: o.target.webClient!, clock, emit, journey: (j) => journeySink!.write(JSON.stringify(j)), media: (m) => mediaSink!.write(mediaLine(m)) });
  const endTimer = setTimeout(() => stop.abort(new Error('planned end')), schedule.endMs - clock());
  let finalSeries: Series = series;
  let seriesFromSamples = false;

  try {
    await engine?.run(stop.signal);
    if (!stop.signal.aborted) await new Promise((r) => stop.signal.addEventListener('abort', r, { once: true }));
    if (o.signal?.aborted) status = 'interrupted';
    if (samples.error ?? healthSink.error) throw stop.signal.reason;
    if (workerLost) throw new Error(workerLost);
    // The last health record closes the measured time; the teardown that follows is not the generator under load.
    clearTimeout(ticker);
    if (pool) {
      // Each worker sends its last second before stopping; give those a moment to come in.
      const stopping = pool.stop(String((stop.signal.reason as Error | undefined)?.message ?? 'stopped'), nextT, 30_000);
      await new Promise((r) => setTimeout(r, 300));
      second(nextT);
      const browsersDone = browsers?.stop();
      const merged = await stopping;
      await browsersDone;
      for (const lines of workerSamples.splice(0)) samples.write(lines);
      if (merged.missing.length) {
        // Their samples are in samples.csv up to their last flush; the report is rebuilt from those instead.
        seriesFromSamples = true;
        info.stopReason = `worker${merged.missing.length === 1 ? '' : 's'} ${merged.missing.map((k) => k + 1).join(', ')} of ${workerCount} did not hand back ${merged.missing.length === 1 ? 'its' : 'their'} series within 30 s of the end (overloaded); the report is built from the samples, of which their last 200 ms may be missing`;
      } else dispatched = merged.stats;
      merged.series.merge(series);
      finalSeries = merged.series;
      for (const d of steps) finalSeries.declare(d);
    } else {
      second(nextT);
      const browsersDone = browsers?.stop();
      engine!.stopAll(stop.signal.reason);
      await browsersDone;
      // Journeys see the abort and end; give stragglers a moment, then move on regardless.
      await engine!.settle(3_000);
    }
  } catch (err) {
    status = 'failed';
    info.stopReason = err instanceof Error ? err.message : String(err);
    stop.abort(err);
    engine?.stopAll(err);
    pool?.kill();
    for (const lines of workerSamples.splice(0)) samples.write(lines);
    await browsers?.stop();
    throw new RunFailedError(dir, err);
  } finally {
    clearTimeout(ticker);
    clearTimeout(endTimer);
    await faults.stop();
    o.signal?.removeEventListener('abort', onExternalStop);
    monitor.stop();
    samples.close();
    healthSink.close();
    mediaSink?.close();
    journeySink?.close();
    // With workers, a failed run has only part of the series here: the report rebuilds it from the samples instead.
    if ((status !== 'failed' || !pool) && !seriesFromSamples) writeFileAtomic(join(dir, FILES.series), JSON.stringify(finalSeries.toJSON()));
    // Workers that did not hand back their counts reported them last while overloaded, seconds behind: every
    // participant with a sample was sent, so the samples give a truer floor for the arrivals sent.
    let sentFloorFromSamples = false;
    if (seriesFromSamples) {
      const seen = new Set<number>();
      try {
        for await (const x of readSamples(dir)) seen.add(x.user);
      } catch {
        // An unreadable samples file leaves the workers' last counts as they are; the report will say why.
      }
      if (seen.size > dispatched.sent) [dispatched, sentFloorFromSamples] = [{ ...dispatched, sent: seen.size }, true];
    }
    info.status = status;
    if (status === 'interrupted') info.stopReason = `interrupted at ${(clock() / 1000).toFixed(1)} s of ${(schedule.endMs / 1000).toFixed(1)} s`;
    info.endedAt = new Date().toISOString();
    info.generator = {
      arrivalsPlanned: schedule.offsetsMs.length, arrivalsSent: dispatched.sent, late: dispatched.late, dropped: dispatched.dropped, lateThresholdMs, maxActive,
      workers: workerCount, ...(o.localAddresses?.length ? { localAddresses: o.localAddresses.length } : {}),
      ...(sentFloorFromSamples ? { sentAtLeast: true } : {}),
    };
    writeInfo();
  }
  return { dir, info, series: finalSeries };
}
