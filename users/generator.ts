// The generator of one run, whichever processes send its load: this one (InProcessGenerator) or workers (WorkerGenerator).
import type { Sample } from '../api/sample.js';
import type { HealthSecond } from '../run-folder/run-folder.js';
import type { Series } from '../run-folder/series.js';
import { Engine, type EngineOptions } from './engine.js';
import type { HealthMonitor } from './health.js';
import type { LiveLayers } from './recorder.js';
import type { DispatchStats } from './scheduler.js';

/** What a generator hands back when the load has stopped. */
export interface Finished {
  /** The series of every process merged; undefined when the run's own recorder holds it all (one process). */
  series?: Series;
  /** Arrivals sent, late and dropped, over all processes. */
  stats: DispatchStats;
  /** Processes that did not hand back their series in time (counted from 0). */
  missing: number[];
}

/** The processes that send a run's load, seen from the run: one interface for one process or many. */
export interface Generator {
  /** Participants under way in this process. */
  readonly active: number;
  /** Why a sending process was lost mid-run, once one was. */
  readonly lost: string | undefined;
  /** Arrivals sent, late and dropped so far, as last reported. */
  stats(): DispatchStats;
  /**
   * Sends the load from the shared instant t = 0 (epoch ms); resolves once this process has sent its share. This
   * process's samples go to `io.emit`, its dispatch figures to `io.monitor`.
   */
  run(t0Epoch: number, signal: AbortSignal, io: { monitor: HealthMonitor; emit: (s: Sample) => void }): Promise<void>;
  /** True once every sending process has reported second `t`. */
  complete(t: number): boolean;
  /**
   * Adds the other processes' figures up to second `t` to this process's health record and live figures, and
   * hands over the sample lines they sent; `nowMs` is the run clock, for processes that have gone silent.
   */
  collect(t: number, h: HealthSecond, live: LiveLayers, write: (lines: string) => void, nowMs: number): void;
  /**
   * Stops the load after the run's last second: `closeLast` closes that second once every process had the
   * chance to report it; resolves when the processes have stopped their participants and handed back their results.
   */
  finish(reason: unknown, lastSecond: number, closeLast: () => void, write: (lines: string) => void): Promise<Finished>;
  /** Ends the load at once after a failure; hands over what sample lines came in. */
  abort(reason: unknown, write: (lines: string) => void): void;
}

/** The load sent from the run's own process. */
export class InProcessGenerator implements Generator {
  private engine?: Engine;
  readonly lost = undefined;

  constructor(private o: Omit<EngineOptions, 'monitor' | 'emit'>) {}

  get active(): number {
    return this.engine?.active ?? 0;
  }

  stats(): DispatchStats {
    return this.engine?.stats ?? { sent: 0, late: 0, dropped: 0 };
  }

  run(_t0Epoch: number, signal: AbortSignal, io: { monitor: HealthMonitor; emit: (s: Sample) => void }): Promise<void> {
    this.engine = new Engine({ ...this.o, ...io });
    return this.engine.run(signal);
  }

  complete(): boolean {
    return true;
  }

  collect(): void {
    // Every sample of this process went through the run's recorder already.
  }

  async finish(reason: unknown, _lastSecond: number, closeLast: () => void): Promise<Finished> {
    closeLast();
    this.engine?.stopAll(reason);
    // Journeys see the abort and end; give stragglers a moment, then move on regardless.
    await this.engine?.settle(3_000);
    return { stats: this.stats(), missing: [] };
  }

  abort(reason: unknown): void {
    this.engine?.stopAll(reason);
  }
}
