// Load spread over worker processes: each sends every n-th arrival of the same schedule on a shared clock,
// streams its samples to the parent, and hands back its series (HDR histograms) to be merged.
import { fork, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { adoptChild } from '../lib/children.js';
import { CpuMeter } from '../lib/process-tree.js';
import type { ResolvedScenario } from '../scenarios/model.js';
import type { Finished, Generator } from './engine.js';
import type { EncodedLayers, LiveLayers } from './recorder.js';
import { addProcessHealth, type HealthSecond } from '../run-folder/run-folder.js';
import type { DispatchStats, Share } from './scheduler.js';
import { Series, type SeriesJson } from '../run-folder/series.js';
import type { PlatformSpec } from '../targets/platform.js';
import { PACKAGE_ROOT } from '../lib/version.js';
import { FirstbellError } from '../lib/errors.js';

/** Wall-clock milliseconds with sub-ms resolution, comparable across processes of one machine. */
const ORIGIN = performance.timeOrigin;
export const epochNow = (): number => ORIGIN + performance.now();

export interface WorkerInit {
  type: 'init';
  scenario: ResolvedScenario;
  seed: number;
  target: PlatformSpec;
  origin: string;
  index: number;
  count: number;
  /** The arrivals this worker sends: every share.count-th from share.index. */
  share: Share;
  maxActive: number;
  lateThresholdMs: number;
  localAddresses?: string[];
  /** Hosts beyond loopback that connections may go to: the target and --allow-target. */
  allowedHosts: string[];
  /** Most bytes of one answer a participant reads. */
  maxAnswerBytes: number;
}

/** Parent to worker. */
export type ToWorker = WorkerInit | { type: 'go'; t0Epoch: number } | { type: 'stop'; reason: string; t: number };

export interface WorkerSecond {
  type: 'second';
  /** Which worker. */
  index: number;
  t: number;
  health: HealthSecond;
  layers: EncodedLayers;
  stats: DispatchStats;
}

/** Worker to parent. */
export type FromWorker =
  | { type: 'ready' }
  | WorkerSecond
  | { type: 'samples'; lines: string }
  | { type: 'done'; series: SeriesJson; stats: DispatchStats }
  | { type: 'error'; message: string };

/** A worker that could not start or died mid-run; the run folder keeps what arrived until then. */
export class WorkerError extends FirstbellError {}

export interface WorkerHandlers {
  onSecond(index: number, s: WorkerSecond): void;
  onSamples(lines: string): void;
  /** A worker ended without handing back its results. */
  onLost(index: number, why: string): void;
}

/** The worker entry point, from the built package. */
function workerEntry(): string {
  const entry = join(PACKAGE_ROOT, 'dist', 'users', 'worker.js');
  if (!existsSync(entry)) throw new WorkerError(`${entry} is missing; run 'npm run build' (setup.sh does) before using --workers`);
  return entry;
}

/** The worker processes of one run. */
export class WorkerPool {
  private children: ChildProcess[] = [];
  private done: ({ series: SeriesJson; stats: DispatchStats } | undefined)[] = [];
  private exited: Promise<void>[] = [];
  private lost = new Set<number>();
  private stopping = false;

  private constructor(private h: WorkerHandlers) {}

  /** Starts `inits.length` workers and resolves once each has built its schedule and target. */
  static async start(inits: WorkerInit[], h: WorkerHandlers, timeoutMs = 30_000): Promise<WorkerPool> {
    const pool = new WorkerPool(h);
    const entry = workerEntry();
    const ready = inits.map((init, k) => {
      const child = fork(entry, [], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'], serialization: 'json' });
      adoptChild('worker', child);
      pool.children.push(child);
      pool.done.push(undefined);
      pool.exited.push(new Promise((r) => child.once('exit', () => r())));
      return new Promise<void>((resolve, reject) => {
        child.on('message', (m: FromWorker) => {
          switch (m.type) {
            case 'ready': return resolve();
            case 'second': return h.onSecond(k, m);
            case 'samples': return h.onSamples(m.lines);
            case 'done': pool.done[k] = { series: m.series, stats: m.stats }; return;
            case 'error': reject(new WorkerError(`worker ${k + 1}: ${m.message}`)); return pool.loseWorker(k, m.message);
          }
        });
        child.once('exit', (code, signal) => {
          const why = `worker ${k + 1} of ${inits.length} ended (${signal ?? `exit code ${code}`}) before the run did`;
          reject(new WorkerError(why));
          if (!pool.done[k]) pool.loseWorker(k, why);
        });
        child.send(init satisfies ToWorker);
      });
    });
    const timer = new Promise<never>((_, rej) => setTimeout(() => rej(new WorkerError(`the workers were not ready within ${timeoutMs / 1000} s`)), timeoutMs).unref());
    try {
      await Promise.race([Promise.all(ready), timer]);
    } catch (e) {
      pool.kill();
      throw e;
    }
    return pool;
  }

  private loseWorker(k: number, why: string): void {
    if (this.lost.has(k) || this.stopping) return;
    this.lost.add(k);
    this.h.onLost(k, why);
  }

  get size(): number {
    return this.children.length;
  }

  /** The workers' process ids, in worker order. */
  get pids(): (number | undefined)[] {
    return this.children.map((c) => c.pid);
  }

  /** Starts every worker's clock: t = 0 is `t0Epoch` (see epochNow). */
  go(t0Epoch: number): void {
    for (const c of this.children) c.send({ type: 'go', t0Epoch } satisfies ToWorker);
  }

  /**
   * Stops the load: each worker closes second `lastSecond`, stops its participants, sends its last samples and its series. Resolves with
   * the series merged and the dispatch figures summed; workers that did not answer within `timeoutMs` are killed
   * and named in `missing`.
   */
  async stop(reason: string, lastSecond: number, timeoutMs = 15_000): Promise<{ series: Series; stats: DispatchStats; missing: number[] }> {
    this.stopping = true;
    for (const c of this.children) if (c.connected) c.send({ type: 'stop', reason, t: lastSecond } satisfies ToWorker);
    await Promise.race([Promise.all(this.exited), new Promise((r) => setTimeout(r, timeoutMs).unref())]);
    this.kill();
    const series = new Series();
    const stats: DispatchStats = { sent: 0, late: 0, dropped: 0 };
    const missing: number[] = [];
    this.done.forEach((d, k) => {
      if (!d) return void missing.push(k);
      series.merge(Series.fromJSON(d.series));
      stats.sent += d.stats.sent;
      stats.late += d.stats.late;
      stats.dropped += d.stats.dropped;
    });
    return { series, stats, missing };
  }

  kill(): void {
    for (const c of this.children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
  }
}

/** The load sent from worker processes: their seconds merged into the run's, their samples into its file. */
export class WorkerGenerator implements Generator {
  private pool!: WorkerPool;
  /** Records in by second, not yet merged. */
  private fromWorkers = new Map<number, WorkerSecond[]>();
  /** Each worker's latest record: its running totals. */
  private latest: WorkerSecond[] = [];
  /** When each worker was last heard from, on the run clock. */
  private lastSeen: number[] = [];
  private samples: string[] = [];
  private dispatched: DispatchStats = { sent: 0, late: 0, dropped: 0 };
  private clock: () => number = () => 0;
  /** The workers' CPU, measured from /proc by this process: a worker too busy to report is measured all the same. */
  private cpu?: CpuMeter;
  lost: string | undefined;
  readonly active = 0;

  private constructor() {}

  /** Starts the workers, each with its share of the plan; resolves once all are ready. */
  static async start(inits: WorkerInit[], clock: () => number): Promise<WorkerGenerator> {
    const g = new WorkerGenerator();
    g.clock = clock;
    g.pool = await WorkerPool.start(inits, {
      onSecond: (k, sec) => {
        g.lastSeen[k] = clock();
        const list = g.fromWorkers.get(sec.t) ?? [];
        list.push(sec);
        g.fromWorkers.set(sec.t, list);
        g.latest[k] = sec;
      },
      onSamples: (lines) => g.samples.push(lines),
      onLost: (_k, why) => (g.lost ??= why),
    });
    return g;
  }

  stats(): DispatchStats {
    return this.dispatched;
  }

  async run(t0Epoch: number): Promise<void> {
    // The workers record their own samples and health and report them each second.
    this.cpu = new CpuMeter(this.pool.pids, this.clock);
    this.pool.go(t0Epoch);
  }

  complete(t: number): boolean {
    return new Set((this.fromWorkers.get(t) ?? []).map((w) => w.index)).size >= this.pool.size;
  }

  private flush(write: (lines: string) => void): void {
    for (const lines of this.samples.splice(0)) write(lines);
  }

  collect(t: number, h: HealthSecond, live: LiveLayers, write: (lines: string) => void, nowMs: number): void {
    this.flush(write);
    const own = h.cpuPct;
    const cpu = this.cpu?.take(t) ?? [];
    // A worker's record that came in after its second was written counts in this one: nothing is lost, it is late.
    const got: WorkerSecond[] = [];
    for (const [k, list] of this.fromWorkers) {
      if (k > t) continue;
      got.push(...list);
      this.fromWorkers.delete(k);
    }
    for (const w of got) {
      live.addEncoded(w.layers);
      addProcessHealth(h, w.health);
    }
    for (let k = 0; k < this.pool.size; k++) {
      const w = this.latest[k];
      h.active += w?.health.active ?? 0;
      h.rssMb += w?.health.rssMb ?? 0;
      if (got.some((x) => x.index === k)) continue;
      // A worker that has not reported this second is stalled: its loop lag is at least the time since it was last heard.
      const silentMs = Math.round(Math.max(0, nowMs - (this.lastSeen[k] ?? 0) - 1000));
      h.loopLagP99Ms = Math.max(h.loopLagP99Ms, silentMs);
      h.loopLagMaxMs = Math.max(h.loopLagMaxMs, silentMs);
    }
    // CPU as the kernel counts it, whether or not the workers' own reports came in.
    h.cpuPct = Math.max(own, ...cpu);
    h.cpuTotalPct = cpu.reduce((a, b) => a + b, own);
    this.dispatched = this.latest.reduce((a, w) => ({ sent: a.sent + w.stats.sent, late: a.late + w.stats.late, dropped: a.dropped + w.stats.dropped }), { sent: 0, late: 0, dropped: 0 });
  }

  async finish(reason: unknown, lastSecond: number, closeLast: () => void, write: (lines: string) => void): Promise<Finished> {
    // Each worker sends its last second before stopping; give those a moment to come in.
    const stopping = this.pool.stop(String((reason as Error | undefined)?.message ?? 'stopped'), lastSecond, 30_000);
    await new Promise((r) => setTimeout(r, 300));
    closeLast();
    const merged = await stopping;
    this.flush(write);
    // Workers that did not hand back their series keep their last reported counts.
    return { series: merged.series, stats: merged.missing.length ? this.dispatched : merged.stats, missing: merged.missing };
  }

  abort(_reason: unknown, write: (lines: string) => void): void {
    this.pool.kill();
    this.flush(write);
  }
}
