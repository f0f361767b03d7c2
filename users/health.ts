// Generator health: event-loop lag, CPU and send lag of firstbell itself, one record per second.
import { monitorEventLoopDelay, type IntervalHistogram } from 'node:perf_hooks';
import { newHistogram } from '../lib/histogram.js';
import type { HealthSecond } from '../run-folder/run-folder.js';
import { CpuTrack, secondPct } from '../lib/cpu-track.js';
import { messageOf } from '../api/sample.js';

const round1 = (x: number) => Math.round(x * 10) / 10;

export class HealthMonitor {
  private loop: IntervalHistogram;
  private sendLag = newHistogram(2);
  private arrivals = 0;
  private late = 0;
  private dropped = 0;
  /** Record t is second t of this clock (ms from t = 0; until startClock, from this monitor's creation). */
  private clock: () => number;
  private track = new CpuTrack();
  /** What the journey's code threw outside any step in this second, by message (at most UNCAUGHT_KINDS kinds). */
  private uncaught?: Map<string, number>;

  constructor(private lateThresholdMs: number) {
    this.loop = monitorEventLoopDelay({ resolution: 10 });
    this.loop.enable();
    const created = performance.now();
    this.clock = () => performance.now() - created;
    this.track.mark(0, usedMs());
  }

  /** One arrival dispatched `lagMs` after its scheduled instant. */
  dispatched(lagMs: number): void {
    this.arrivals++;
    if (lagMs > this.lateThresholdMs) this.late++;
    this.sendLag.recordValue(Math.max(1, Math.round(lagMs * 1000)));
  }

  droppedOne(): void {
    this.dropped++;
  }

  /** Something the journey's code threw outside any step: kept by message and where it was thrown. */
  uncaughtError(err: unknown): void {
    const m = (this.uncaught ??= new Map());
    const frame = err instanceof Error ? /\n\s+at (?:.*\()?(\S+?:\d+:\d+)\)?/.exec(err.stack ?? '')?.[1] : undefined;
    const key = frame ? `${messageOf(err)} (at ${frame})` : messageOf(err);
    if (m.has(key) || m.size < UNCAUGHT_KINDS) m.set(key, (m.get(key) ?? 0) + 1);
    else m.set(OTHER_UNCAUGHT, (m.get(OTHER_UNCAUGHT) ?? 0) + 1);
  }

  /** From now on, record t is second t of `clock` (ms from t = 0): a record taken late still has its own second's CPU. */
  startClock(clock: () => number): void {
    this.clock = clock;
    this.track = new CpuTrack();
    this.track.mark(clock(), usedMs());
  }

  /** Closes the current second and starts the next. */
  take(t: number, active: number): HealthSecond {
    // A record taken late still has its own second's CPU; a last, short second is measured over at least a quarter second.
    const at = this.clock();
    this.track.mark(at, usedMs());
    const cpuPct = secondPct(this.track, t, at);
    const rec: HealthSecond = {
      t,
      loopLagP99Ms: round1(this.loop.count ? Math.max(0, this.loop.percentile(99) / 1e6 - 10) : 0),
      loopLagMaxMs: round1(this.loop.count ? Math.max(0, this.loop.max / 1e6 - 10) : 0),
      cpuPct,
      cpuTotalPct: cpuPct,
      sendLagP99Ms: round1(this.sendLag.totalCount ? this.sendLag.getValueAtPercentile(99) / 1000 : 0),
      sendLagMaxMs: round1(this.sendLag.totalCount ? this.sendLag.maxValue / 1000 : 0),
      arrivals: this.arrivals,
      late: this.late,
      dropped: this.dropped,
      active,
      rssMb: Math.round(process.memoryUsage.rss() / 1e6),
      ...(this.uncaught ? { uncaught: [...this.uncaught].map(([message, count]) => ({ message, count })) } : {}),
    };
    this.uncaught = undefined;
    this.loop.reset();
    this.sendLag.reset();
    this.arrivals = this.late = this.dropped = 0;
    return rec;
  }

  stop(): void {
    this.loop.disable();
  }
}

const UNCAUGHT_KINDS = 5;
const OTHER_UNCAUGHT = 'other errors';

/**
 * Keeps what the journey's code throws outside any step (an exception from a timer, a rejected promise nobody awaited)
 * from ending the process, counting it in `monitor`'s seconds instead; returns the function that stops doing so.
 */
export function catchJourneyErrors(monitor: HealthMonitor): () => void {
  const caught = (err: unknown) => monitor.uncaughtError(err);
  process.on('uncaughtException', caught);
  process.on('unhandledRejection', caught);
  return () => {
    process.off('uncaughtException', caught);
    process.off('unhandledRejection', caught);
  };
}

/** CPU this process has used since it started (user and system), ms. */
function usedMs(): number {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1000;
}
