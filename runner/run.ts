// One run: preflight, schedule, dispatch, samples to disk as they happen, and a run folder that always closes.
import { existsSync, mkdirSync } from 'node:fs';
import { cpus, hostname } from 'node:os';
import { join } from 'node:path';
import * as hdr from 'hdr-histogram-js';
import { LAYERS, type Layer, type ResolvedScenario, type RetryPolicy } from '../scenarios/model.js';
import { retryDelayMs } from './retry.js';
import { HealthMonitor } from './health.js';
import {
  FILES, HEALTH_HEADER, healthLine, LineSink, RunFailedError, SAMPLE_HEADER, sampleLine, writeFileAtomic,
  type HealthSecond, type RunInfo, type RunStatus,
} from './run-folder.js';
import { arrivalsPerSecond, buildSchedule, type Schedule } from './schedule.js';
import { armFaults } from './faults.js';
import { dispatch, type DispatchStats } from './scheduler.js';
import { Series } from './series.js';
import type { Sample } from './sample.js';
import type { Target } from './target.js';
import { VirtualUser } from './virtual-user.js';
import { BROWSER_STEPS, BrowserUsers, MEDIA_HEADER, mediaLine, type BrowserUsersOptions } from './browser/canaries.js';
import { VERSION } from './version.js';

export interface RunOptions {
  scenario: ResolvedScenario;
  seed: number;
  target: Target;
  /** Folder under which the run folder is made. */
  outDir: string;
  /** Name of the run folder; default: time stamp and scenario name. */
  runId?: string;
  /** Most participants under way at once; beyond it arrivals are dropped and counted. Default 50000. */
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
}

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

/** One participant: its journey, and journeys again after failures as its retry policy says. */
async function participant(target: Target, vu: VirtualUser, retry: RetryPolicy | undefined, seed: number): Promise<void> {
  for (let tryNo = 1; ; tryNo++) {
    const end = await target.journey(vu);
    if (end === 'joined' || end === 'stopped' || vu.stopped) return;
    const delay = retryDelayMs(retry, tryNo, vu.id, seed);
    if (delay === undefined) return;
    vu.waitBeforeNext(delay);
  }
}

export async function runScenario(o: RunOptions): Promise<RunResult> {
  const maxActive = o.maxActive ?? 50_000;
  const lateThresholdMs = o.lateThresholdMs ?? 100;
  await o.target.preflight(AbortSignal.timeout(o.preflightTimeoutMs ?? 5_000));

  const schedule = buildSchedule(o.scenario, o.seed);
  const faults = await armFaults(o.target, o.scenario.faults ?? [], schedule.firstBellAtMs, o.faultsVia);
  const wantBrowsers = o.browsers !== undefined && o.browsers.count > 0;
  if (wantBrowsers && !o.target.webClient) throw new Error(`the ${o.target.kind} target has no web client for browser users`);
  const steps = wantBrowsers ? [...o.target.steps, ...BROWSER_STEPS] : o.target.steps;
  // The browser is up before the clock starts, so its launch is not part of anything measured.
  const browsers = wantBrowsers ? new BrowserUsers({ ...o.browsers!, stepTimeoutMs: o.scenario.client.stepTimeoutMs }) : undefined;
  try {
    await browsers?.open(faults.origin);
  } catch (e) {
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

  const t0 = performance.now();
  const clock = () => performance.now() - t0;
  const journeys = new Set<Promise<void>>();
  const users = new Set<VirtualUser>();
  const live = Object.fromEntries(LAYERS.map((l) => [l, { ended: 0, failed: 0, latency: hdr.build({ numberOfSignificantValueDigits: 2 }) }])) as Record<
    Layer, { ended: number; failed: number; latency: hdr.Histogram }
  >;
  const emit = (s: Sample) => {
    series.add(s);
    samples.write(sampleLine(s));
    if (s.outcome === 'aborted') return;
    const l = live[s.layer];
    l.ended++;
    if (s.outcome !== 'ok') l.failed++;
    l.latency.recordValue(Math.max(1, Math.round(s.endMs - s.intendedMs)));
  };
  const origin = faults.origin;

  const dispatched: DispatchStats = { sent: 0, late: 0, dropped: 0 };
  let status: RunStatus = 'completed';

  const second = () => {
    // Samples that cannot be written make the run worthless: stop it, and say why.
    const sinkError = samples.error ?? healthSink.error;
    if (sinkError && !stop.signal.aborted) stop.abort(new Error(`cannot write the run folder: ${sinkError.message}`));
    const t = Math.round(clock() / 1000) - 1;
    const h = monitor.take(t, journeys.size);
    healthSink.write(healthLine(h));
    const layers = Object.fromEntries(
      LAYERS.map((l) => {
        const v = live[l];
        const out = { ended: v.ended, failed: v.failed, p95Ms: v.latency.totalCount ? v.latency.getValueAtPercentile(95) : 0 };
        v.ended = v.failed = 0;
        v.latency.reset();
        return [l, out];
      }),
    ) as Progress['layers'];
    try {
      o.onProgress?.({ t, firstBellAtMs: schedule.firstBellAtMs, plannedEndMs: schedule.endMs, planned: schedule.offsetsMs.length, ...dispatched, active: journeys.size, layers, health: h });
    } catch {
      // A broken progress display must not stop the measurement.
    }
  };
  const ticker = setInterval(second, 1000);
  faults.start(clock);
  browsers?.start({ origin, client: o.target.webClient!, clock, emit, journey: (j) => journeySink!.write(JSON.stringify(j)), media: (m) => mediaSink!.write(mediaLine(m)) });
  const endTimer = setTimeout(() => stop.abort(new Error('planned end')), schedule.endMs);

  try {
    await dispatch(
      schedule,
      {
        clock,
        maxActive,
        lateThresholdMs,
        active: () => journeys.size,
        start: (i, lag) => {
          monitor.dispatched(lag);
          const vu = new VirtualUser({ id: schedule.participantIds[i]!, arrivalMs: schedule.offsetsMs[i]!, origin, client: o.scenario.client, clock, emit });
          users.add(vu);
          const p: Promise<void> = participant(o.target, vu, o.scenario.client.retry, o.seed)
            .catch(() => undefined)
            .finally(() => {
              journeys.delete(p);
              users.delete(vu);
            });
          journeys.add(p);
        },
        onDropped: () => monitor.droppedOne(),
      },
      stop.signal,
      dispatched,
    );
    if (!stop.signal.aborted) await new Promise((r) => stop.signal.addEventListener('abort', r, { once: true }));
    if (o.signal?.aborted) status = 'interrupted';
    if (samples.error ?? healthSink.error) throw stop.signal.reason;
    // The last health record closes the measured time; the teardown that follows is not the generator under load.
    clearInterval(ticker);
    second();
    const browsersDone = browsers?.stop();
    for (const vu of users) vu.stop(stop.signal.reason);
    await browsersDone;
    // Journeys see the abort and end; give stragglers a moment, then move on regardless.
    await Promise.race([Promise.allSettled([...journeys]), new Promise((r) => setTimeout(r, 3_000).unref())]);
  } catch (err) {
    status = 'failed';
    info.stopReason = err instanceof Error ? err.message : String(err);
    stop.abort(err);
    for (const vu of users) vu.stop(err);
    await browsers?.stop();
    throw new RunFailedError(dir, err);
  } finally {
    clearInterval(ticker);
    clearTimeout(endTimer);
    await faults.stop();
    o.signal?.removeEventListener('abort', onExternalStop);
    monitor.stop();
    samples.close();
    healthSink.close();
    mediaSink?.close();
    journeySink?.close();
    writeFileAtomic(join(dir, FILES.series), JSON.stringify(series.toJSON()));
    info.status = status;
    if (status === 'interrupted') info.stopReason = `interrupted at ${(clock() / 1000).toFixed(1)} s of ${(schedule.endMs / 1000).toFixed(1)} s`;
    info.endedAt = new Date().toISOString();
    info.generator = { arrivalsPlanned: schedule.offsetsMs.length, arrivalsSent: dispatched.sent, late: dispatched.late, dropped: dispatched.dropped, lateThresholdMs, maxActive };
    writeInfo();
  }
  return { dir, info, series };
}
