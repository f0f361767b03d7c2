import { afterEach, describe, expect, it, vi } from 'vitest';
import type { Schedule } from '../plan/schedule.js';
import { HeapMode, LEAD_MS, SETTLE_MS } from './heap-mode.js';
import { dispatch } from './scheduler.js';

describe('the heap kept for memory in pauses of the schedule', () => {
  afterEach(() => {
    vi.useRealTimers();
  });

  it('the dispatcher tells when it pauses for a second or more, and when it has sent its last arrival', async () => {
    const t0 = performance.now();
    const clock = () => performance.now() - t0;
    const schedule = { offsetsMs: Float64Array.from([0, 10, 20, 1_300]) } as unknown as Schedule;
    const idle: { at: number; until: number }[] = [];
    const started: number[] = [];
    await dispatch(schedule, {
      clock, maxActive: 10, lateThresholdMs: 10, active: () => 0, start: (i) => started.push(i), onDropped: () => undefined,
      idle: (until) => idle.push({ at: Math.round(clock()), until }),
    }, new AbortController().signal);
    expect(started).toEqual([0, 1, 2, 3]);
    // Not the 10 ms between the first ones: the wait after the third, and the end.
    expect(idle.map((x) => x.until)).toEqual([1_300, Number.POSITIVE_INFINITY]);
    expect(idle[0]!.at).toBeLessThan(300);
  });

  it('optimises for memory from a settling time after the last arrival until shortly before the next', () => {
    vi.useFakeTimers();
    let now = 0;
    const flags: string[] = [];
    const mode = new HeapMode(() => now, (f) => flags.push(f));
    // A pause too short to settle and come back: nothing changes.
    mode.idle(SETTLE_MS + LEAD_MS - 1);
    vi.advanceTimersByTime(60_000);
    expect(flags).toEqual([]);
    now = 10_000;
    mode.idle(now + 20_000);
    vi.advanceTimersByTime(SETTLE_MS - 1);
    expect(mode.optimisingForMemory).toBe(false);
    vi.advanceTimersByTime(1);
    expect([mode.optimisingForMemory, flags]).toEqual([true, ['--optimize-for-size']]);
    vi.advanceTimersByTime(20_000 - LEAD_MS - SETTLE_MS);
    expect([mode.optimisingForMemory, flags]).toEqual([false, ['--optimize-for-size', '--no-optimize-for-size']]);
    // After the last arrival it stays so until the run stops.
    now = 40_000;
    mode.idle(Number.POSITIVE_INFINITY);
    vi.advanceTimersByTime(3_600_000);
    expect(mode.optimisingForMemory).toBe(true);
    mode.stop();
    expect(flags).toEqual(['--optimize-for-size', '--no-optimize-for-size', '--optimize-for-size', '--no-optimize-for-size']);
    mode.stop();
    expect(flags).toHaveLength(4);
  });
});
