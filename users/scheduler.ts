// The open-model dispatcher: starts each arrival at its scheduled instant, whatever the target does.
import type { Schedule } from '../plan/schedule.js';

export interface DispatchStats {
  sent: number;
  late: number;
  dropped: number;
}

import type { Share } from '../plan/shard.js';

export type { Share };

export interface SchedulerOptions {
  /** ms from the run start, monotonic. */
  clock: () => number;
  /** Participants with a journey or hold under way; an arrival beyond this is dropped, not delayed. */
  maxActive: number;
  /** An arrival dispatched more than this late counts as late, ms. */
  lateThresholdMs: number;
  /** Only these arrivals; default all. */
  share?: Share;
  active: () => number;
  /** Starts one arrival; must not throw. */
  start: (index: number, lagMs: number) => void;
  onDropped: (index: number) => void;
  /** Told when the schedule sends nothing for IDLE_REPORT_MS or more: until when (run time, ms; Infinity after the last). */
  idle?: (untilMs: number) => void;
}

/** A wait for the next arrival at least this long is reported to `idle`, ms. */
export const IDLE_REPORT_MS = 1_000;

/** Most time one turn of the dispatcher spends starting arrivals before the event loop reads its sockets, ms. */
export const DISPATCH_SLICE_MS = 10;

/**
 * Walks the schedule in order. Each wake-up fires the arrivals that are due, so a stalled event loop produces late
 * arrivals (measured and counted), never missing ones. A backlog of due arrivals is started in slices of
 * DISPATCH_SLICE_MS with the event loop's I/O between them: answers already in are read (and timed) before more
 * connections are opened, and the process keeps reporting its health. `stats` is kept current as it goes.
 */
export function dispatch(schedule: Schedule, o: SchedulerOptions, signal: AbortSignal, stats: DispatchStats = { sent: 0, late: 0, dropped: 0 }): Promise<DispatchStats> {
  const n = schedule.offsetsMs.length;
  const stride = o.share?.count ?? 1;
  let i = o.share?.index ?? 0;
  return new Promise((resolve) => {
    let timer: NodeJS.Timeout | undefined;
    const finish = () => {
      clearTimeout(timer);
      signal.removeEventListener('abort', finish);
      resolve(stats);
    };
    signal.addEventListener('abort', finish, { once: true });
    const tick = () => {
      if (signal.aborted) return;
      const sliceEnd = performance.now() + DISPATCH_SLICE_MS;
      let now = o.clock();
      for (let k = 0; i < n && schedule.offsetsMs[i]! <= now; k++) {
        // The clock is read again every few arrivals: a start's lag is measured when it starts, not when the slice began.
        if ((k & 15) === 15) {
          if (performance.now() >= sliceEnd) return void setImmediate(tick);
          now = o.clock();
        }
        const lag = now - schedule.offsetsMs[i]!;
        if (o.active() >= o.maxActive) {
          stats.dropped++;
          o.onDropped(i);
        } else {
          stats.sent++;
          if (lag > o.lateThresholdMs) stats.late++;
          o.start(i, lag);
        }
        i += stride;
      }
      if (i >= n) {
        o.idle?.(Number.POSITIVE_INFINITY);
        return finish();
      }
      const wait = schedule.offsetsMs[i]! - o.clock();
      if (wait >= IDLE_REPORT_MS) o.idle?.(schedule.offsetsMs[i]!);
      timer = setTimeout(tick, Math.max(0, wait));
    };
    tick();
  });
}
