import { describe, expect, it } from 'vitest';
import { retryDelayMs } from './engine.js';

describe('retry behaviour', () => {
  it('gives up at once without a policy', () => {
    expect(retryDelayMs(undefined, 1, 7, 1)).toBeUndefined();
    expect(retryDelayMs({ kind: 'none' }, 1, 7, 1)).toBeUndefined();
  });

  it('reloads every N ms until the last try', () => {
    const p = { kind: 'reload', everyMs: 30_000, maxTries: 3 } as const;
    expect([1, 2, 3].map((t) => retryDelayMs(p, t, 7, 1))).toEqual([30_000, 30_000, undefined]);
  });

  it('backs off exponentially with full jitter under a cap, the same for the same participant and seed', () => {
    const p = { kind: 'backoff', baseMs: 1_000, maxMs: 8_000, maxTries: 10 } as const;
    for (let t = 1; t <= 6; t++) {
      const d = retryDelayMs(p, t, 42, 3)!;
      expect(d).toBeGreaterThanOrEqual(0);
      expect(d).toBeLessThan(Math.min(8_000, 1_000 * 2 ** (t - 1)));
      expect(retryDelayMs(p, t, 42, 3)).toBe(d);
    }
    const spread = new Set(Array.from({ length: 50 }, (_, id) => Math.round(retryDelayMs(p, 4, id, 3)!)));
    expect(spread.size).toBeGreaterThan(40);
  });
});
