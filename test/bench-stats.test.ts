import { describe, expect, it } from 'vitest';
import { median, medianInterval } from '../bench/stats.mjs';

const ranks = (n: number) => Array.from({ length: n }, (_, i) => i + 1);

describe("the benchmark's statistics", () => {
  it('takes the median of the finite values', () => {
    expect(median([3, 1, 2])).toBe(2);
    expect(median([4, 1, 3, 2])).toBe(2.5);
    expect(median([NaN, 5, Infinity, 1])).toBe(3);
    expect(median([])).toBeNaN();
  });

  it("gives the sign test's ranks for a median's 95 % interval (the published table's)", () => {
    // n: [lower rank, upper rank], 1-based.
    for (const [n, lo, hi] of [[6, 1, 6], [10, 2, 9], [20, 6, 15], [30, 10, 21], [60, 22, 39], [100, 40, 61]] as const) {
      expect(medianInterval(ranks(n)), `n = ${n}`).toEqual([lo, hi]);
    }
    expect(medianInterval(ranks(5))).toBeUndefined();
  });

  it('lets one far value move the interval by one rank only', () => {
    const steady = Array.from({ length: 30 }, (_, i) => i / 1000);
    const spiked = [...steady.slice(0, 29), 0.5].sort((a, b) => a - b);
    expect(medianInterval(spiked)).toEqual(medianInterval(steady));
  });
});
