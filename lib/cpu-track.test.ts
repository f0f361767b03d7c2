import { describe, expect, it } from 'vitest';
import { CpuTrack, secondPct } from './cpu-track.js';

describe('CPU per second of a clock', () => {
  it('spreads a stall read late over the seconds it fell in: no CPU-second is lost', () => {
    const track = new CpuTrack();
    track.mark(0, 0);
    track.mark(1_000, 100); // second 0 read on time: 10 %
    track.mark(5_000, 3_100); // seconds 1-3 read together, 2 s late: a busy 3 s and a quiet one
    const seconds = [0, 1, 2, 3, 4].map((t) => secondPct(track, t, 5_000));
    expect(seconds).toEqual([10, 75, 75, 75, 75]);
    // Every CPU-second is in some second: 3.1 s in all.
    expect(seconds.reduce((a, b) => a + b, 0) * 10).toBe(3_100);
  });

  it('measures a last, short second over what ran of it, at least a quarter second', () => {
    const track = new CpuTrack();
    track.mark(-500, 0);
    track.mark(1_500, 2_000);
    expect(secondPct(track, 0, 1_500)).toBe(100);
    expect(secondPct(track, 1, 1_500)).toBe(100);
    // The run ends 100 ms into second 2: measured over a quarter second, not a tenth.
    track.mark(2_000, 2_500);
    track.mark(2_100, 2_600);
    expect(secondPct(track, 2, 2_100)).toBe(40);
    // Nothing before the first mark counts.
    const late = new CpuTrack();
    late.mark(500, 10);
    late.mark(1_000, 510);
    expect(secondPct(late, 0, 1_000)).toBe(50);
  });
});
