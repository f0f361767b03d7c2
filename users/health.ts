// Generator health: event-loop lag, CPU and send lag of firstbell itself, one record per second.
import { monitorEventLoopDelay, type IntervalHistogram } from 'node:perf_hooks';
import * as hdr from 'hdr-histogram-js';
import type { HealthSecond } from '../run-folder/run-folder.js';

const round1 = (x: number) => Math.round(x * 10) / 10;

export class HealthMonitor {
  private loop: IntervalHistogram;
  private sendLag = hdr.build({ bitBucketSize: 32, numberOfSignificantValueDigits: 2 });
  private cpu = process.cpuUsage();
  private wall = performance.now();
  private arrivals = 0;
  private late = 0;
  private dropped = 0;

  constructor(private lateThresholdMs: number) {
    this.loop = monitorEventLoopDelay({ resolution: 10 });
    this.loop.enable();
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

  /** Closes the current second and starts the next. */
  take(t: number, active: number): HealthSecond {
    const cpu = process.cpuUsage(this.cpu);
    const now = performance.now();
    // A last, short second (the run's end) is measured over at least a quarter second, so it cannot show a spike.
    const elapsedUs = Math.max(250_000, (now - this.wall) * 1000);
    const rec: HealthSecond = {
      t,
      loopLagP99Ms: round1(this.loop.count ? Math.max(0, this.loop.percentile(99) / 1e6 - 10) : 0),
      loopLagMaxMs: round1(this.loop.count ? Math.max(0, this.loop.max / 1e6 - 10) : 0),
      cpuPct: Math.round(((cpu.user + cpu.system) / elapsedUs) * 100),
      cpuTotalPct: Math.round(((cpu.user + cpu.system) / elapsedUs) * 100),
      sendLagP99Ms: round1(this.sendLag.totalCount ? this.sendLag.getValueAtPercentile(99) / 1000 : 0),
      sendLagMaxMs: round1(this.sendLag.totalCount ? this.sendLag.maxValue / 1000 : 0),
      arrivals: this.arrivals,
      late: this.late,
      dropped: this.dropped,
      active,
      rssMb: Math.round(process.memoryUsage.rss() / 1e6),
    };
    this.loop.reset();
    this.sendLag.reset();
    this.cpu = process.cpuUsage();
    this.wall = now;
    this.arrivals = this.late = this.dropped = 0;
    return rec;
  }

  stop(): void {
    this.loop.disable();
  }
}
