// Load spread over worker processes: each sends every n-th arrival of the same schedule on a shared clock,
// streams its samples to the parent, and hands back its series (HDR histograms) to be merged.
import { fork, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { totalmem } from 'node:os';
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
import { maxOf } from '../lib/numbers.js';
import { loadProcessSpawn } from '../plan/limits.js';
import { clockAnchor } from '../lib/clock.js';

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

/** Parent to worker. `go`: t = 0 is `t0Epoch` on the parent's clock, whose anchor (lib/clock.ts) the worker takes. */
export type ToWorker = WorkerInit | { type: 'go'; t0Epoch: number; clockAnchor: number } | { type: 'stop'; reason: string; t: number };

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
  /** Seconds of the worker's series, handed back in pieces before 'done', which has the rest of it. */
  | { type: 'seconds'; seconds: SeriesJson['seconds'] }
  | { type: 'done'; series: SeriesJson; stats: DispatchStats }
  | { type: 'error'; message: string };

/** A worker that could not start or died mid-run; the run folder keeps what arrived until then. */
export class WorkerError extends FirstbellError {}

/** A worker whose journey held more memory than its heap cap: the journey's code to fix (or --journey-heap to raise). */
export class JourneyMemoryError extends FirstbellError {}

export interface WorkerHandlers {
  onSecond(index: number, s: WorkerSecond): void;
  onSamples(lines: string): void;
  /** A worker ended without handing back its results. */
  onLost(index: number, why: Error): void;
}

/**
 * The heap cap of each worker process, MB: three quarters of the machine's memory shared among them, at most
 * 4,096 and at least 512. A journey that holds more and more ends its own process there, never the run's.
 */
export function defaultHeapMb(workers: number): number {
  return Math.max(512, Math.min(4_096, Math.floor((totalmem() / 2 ** 20) * 0.75 / Math.max(1, workers))));
}

/** What V8 writes before it ends a process whose heap is full. */
const OUT_OF_MEMORY = /<--- Last few GCs --->|heap out of memory|Reached heap limit/;

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
  /** Seconds of each worker's series handed back so far. */
  private seconds: (SeriesJson['seconds'] | undefined)[] = [];
  private exited: Promise<void>[] = [];
  private lost = new Set<number>();
  private stopping = false;
  /** When each worker last sent anything (performance.now()). */
  private heard: number[] = [];

  private constructor(private h: WorkerHandlers) {}

  /**
   * Starts `inits.length` workers, each with a heap of at most `heapMb`, and resolves once each has built its schedule
   * and target. `holds`: whether the journey's participants hold connections (the workers' young generation is sized
   * by it, plan/limits.ts).
   */
  static async start(inits: WorkerInit[], h: WorkerHandlers, heapMb = defaultHeapMb(inits.length), timeoutMs = 30_000, holds = true): Promise<WorkerPool> {
    const pool = new WorkerPool(h);
    const entry = workerEntry();
    const ready = inits.map((init, k) => {
      const spawnAs = loadProcessSpawn([...process.execArgv, `--max-old-space-size=${heapMb}`], process.env, holds);
      const child = fork(entry, [], { stdio: ['ignore', 'inherit', 'pipe', 'ipc'], serialization: 'json', ...spawnAs });
      adoptChild('worker', child);
      // What the worker writes to stderr (a journey's console.error) goes on to the run's, but for V8's report of a full heap.
      let outOfMemory = false;
      child.stderr!.on('data', (d: Buffer) => {
        if (!outOfMemory && OUT_OF_MEMORY.test(d.toString('latin1'))) outOfMemory = true;
        if (!outOfMemory) process.stderr.write(d);
      });
      pool.children.push(child);
      pool.done.push(undefined);
      pool.exited.push(new Promise((r) => child.once('exit', () => r())));
      return new Promise<void>((resolve, reject) => {
        child.on('message', (m: FromWorker) => {
          pool.heard[k] = performance.now();
          switch (m.type) {
            case 'ready': return resolve();
            case 'second': return h.onSecond(k, m);
            case 'samples': return h.onSamples(m.lines);
            case 'seconds': return void Object.assign((pool.seconds[k] ??= {}), m.seconds);
            case 'done': pool.done[k] = { series: { ...m.series, seconds: Object.assign(pool.seconds[k] ?? {}, m.series.seconds) }, stats: m.stats }; return;
            case 'error': reject(new WorkerError(`worker ${k + 1}: ${m.message}`)); return pool.loseWorker(k, new WorkerError(m.message));
          }
        });
        child.once('exit', (code, signal) => {
          const why = outOfMemory
            ? new JourneyMemoryError(`worker ${k + 1} of ${inits.length} ran out of memory: its heap reached its cap of ${heapMb} MB (the journey's code held more and more), and it ended before the run did; fix the journey, or raise --journey-heap`)
            : new WorkerError(`worker ${k + 1} of ${inits.length} ended (${signal ?? `exit code ${code}`}) before the run did`);
          reject(why);
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

  private loseWorker(k: number, why: Error): void {
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

  /** Starts every worker's clock: t = 0 is `t0Epoch` on this process's clock, which the workers then read alike (lib/clock.ts). */
  go(t0Epoch: number): void {
    for (const c of this.children) c.send({ type: 'go', t0Epoch, clockAnchor: clockAnchor() } satisfies ToWorker);
  }

  /**
   * Stops the load: each worker closes second `lastSecond`, stops its participants, sends its last samples and its series. Resolves with
   * the series merged and the dispatch figures summed; workers that did not answer within `timeoutMs` are killed
   * and named in `missing`.
   */
  async stop(reason: string, lastSecond: number, timeoutMs = 15_000): Promise<{ series: Series; stats: DispatchStats; missing: number[]; stuck: number[] }> {
    this.stopping = true;
    const sent = performance.now();
    for (const c of this.children) if (c.connected) c.send({ type: 'stop', reason, t: lastSecond } satisfies ToWorker);
    // A worker answers a stop at once with its last second. One that says nothing at all is stuck (its event loop
    // blocked: an endless loop in the journey) and is ended after a moment, not after the full wait.
    const stuck: number[] = [];
    const ended = this.children.map((_, k) => Promise.race([this.exited[k]!, new Promise((r) => setTimeout(r, STUCK_GRACE_MS))]).then(() => {
      if ((this.heard[k] ?? 0) >= sent || this.children[k]!.exitCode !== null || this.children[k]!.signalCode !== null) return this.exited[k];
      stuck.push(k);
      this.killOne(k);
      return this.exited[k];
    }));
    await Promise.race([Promise.all(ended), new Promise((r) => setTimeout(r, timeoutMs).unref())]);
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
    return { series, stats, missing, stuck };
  }

  kill(): void {
    for (let k = 0; k < this.children.length; k++) this.killOne(k);
  }

  private killOne(k: number): void {
    const c = this.children[k]!;
    if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
  }
}

/** A worker that has said nothing this long after it was told to stop is stuck (it answers a stop at once when it can). */
const STUCK_GRACE_MS = 5_000;

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
  lost: Error | undefined;
  readonly active = 0;

  private constructor() {}

  /**
   * Starts the workers, each with its share of the plan and a heap of at most `heapMb`; resolves once all are ready.
   * `holds`: whether the journey's participants hold connections.
   */
  static async start(inits: WorkerInit[], clock: () => number, heapMb?: number, holds = true): Promise<WorkerGenerator> {
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
    }, heapMb, undefined, holds);
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
    h.cpuPct = maxOf(cpu, own);
    h.cpuTotalPct = cpu.reduce((a, b) => a + b, own);
    this.dispatched = this.latest.reduce((a, w) => ({ sent: a.sent + w.stats.sent, late: a.late + w.stats.late, dropped: a.dropped + w.stats.dropped }), { sent: 0, late: 0, dropped: 0 });
  }

  async finish(reason: unknown, lastSecond: number, closeLast: () => void, write: (lines: string) => void): Promise<Finished> {
    const now = this.clock();
    // Each worker sends its last second before stopping; give those a moment to come in.
    const stopping = this.pool.stop(String((reason as Error | undefined)?.message ?? 'stopped'), lastSecond, 30_000);
    await new Promise((r) => setTimeout(r, 300));
    closeLast();
    const merged = await stopping;
    this.flush(write);
    const n = this.pool.size;
    const why = merged.missing.map((k) => merged.stuck.includes(k)
      ? `worker ${k + 1} of ${n} stopped answering ${this.lastSeen[k] === undefined ? 'before its first second' : `${Math.max(0, Math.round((now - this.lastSeen[k]) / 1000))} s before the end`} and was ended (its event loop blocked: an endless loop in the journey's code, or a machine that starved it)`
      : `worker ${k + 1} of ${n} did not hand back its series within 30 s of the end (overloaded)`);
    // Workers that did not hand back their series keep their last reported counts.
    return { series: merged.series, stats: merged.missing.length ? this.dispatched : merged.stats, missing: merged.missing, ...(why.length ? { missingWhy: why.join('; ') } : {}) };
  }

  abort(_reason: unknown, write: (lines: string) => void): void {
    this.pool.kill();
    this.flush(write);
  }
}
