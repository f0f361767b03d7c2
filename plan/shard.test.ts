import { describe, expect, it } from 'vitest';
import { parseShard, parseStartAt, shareOf, shareSize } from './shard.js';

describe('shards', () => {
  it('reads i/N and an ISO instant with its zone, and names the fix otherwise', () => {
    expect(parseShard('2/4')).toEqual({ index: 2, count: 4 });
    expect(parseShard('0/4')).toMatch(/from 1 to 4/);
    expect(parseShard('5/4')).toMatch(/from 1 to 4/);
    expect(parseShard('two')).toMatch(/is not i\/N/);
    expect(parseStartAt('2026-12-02T08:00:00Z')).toBe(Date.UTC(2026, 11, 2, 8));
    expect(parseStartAt('2026-12-02T09:00:00+01:00')).toBe(Date.UTC(2026, 11, 2, 8));
    expect(parseStartAt('2026-12-02T08:00:00')).toMatch(/with its zone/);
    expect(parseStartAt('tomorrow')).toMatch(/ISO 8601/);
  });

  it("sends every arrival once over N shards of W workers each", () => {
    const n = 1_003;
    for (const [shards, workers] of [[1, 1], [2, 1], [3, 2], [4, 3]] as const) {
      const sent: number[] = [];
      for (let i = 1; i <= shards; i++) {
        let mine = 0;
        for (let w = 0; w < workers; w++) {
          const share = shareOf({ index: i, count: shards }, w, workers);
          for (let k = share.index; k < n; k += share.count) sent.push(k);
          mine += shareSize(n, share);
        }
        expect(mine).toBe(shareSize(n, shareOf({ index: i, count: shards }, 0, 1)));
      }
      expect(sent.sort((a, b) => a - b)).toEqual(Array.from({ length: n }, (_, k) => k));
    }
  });
});
