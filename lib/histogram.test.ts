import * as hdr from 'hdr-histogram-js';
import { describe, expect, it } from 'vitest';
import { newHistogram } from './histogram.js';

const library = (digits: 1 | 2 | 3) => hdr.build({ bitBucketSize: 32, numberOfSignificantValueDigits: digits, autoResize: true }) as hdr.JsHistogram;

describe('newHistogram', () => {
  it('puts every whole number where the library puts it', () => {
    for (const digits of [1, 2, 3] as const) {
      const ours = newHistogram(digits) as hdr.JsHistogram;
      const theirs = library(digits);
      // Every value up to 2^20, and the edges of every power of two up to 2^31 and beyond.
      const values: number[] = [];
      for (let v = 0; v <= 1 << 20; v++) values.push(v);
      for (let k = 20; k <= 34; k++) for (const d of [-2, -1, 0, 1, 2]) values.push(2 ** k + d);
      for (const v of values) if (ours.countsArrayIndex(v) !== theirs.countsArrayIndex(v)) expect.fail(`digits ${digits}, value ${v}: ${ours.countsArrayIndex(v)} against ${theirs.countsArrayIndex(v)}`);
    }
  });

  it('records as the library does: counts, percentiles, growth and encoding', () => {
    const ours = newHistogram(2);
    const theirs = library(2);
    let x = 12345;
    for (let i = 0; i < 50_000; i++) {
      // A spread of latencies from 1 µs to minutes, and a few values that are not whole numbers.
      x = (x * 1103515245 + 12345) % 2 ** 31;
      const v = i % 1000 === 0 ? (x % 1000) + 0.5 : 1 + (x % 2 ** (1 + (i % 28)));
      ours.recordValue(v);
      theirs.recordValue(v);
    }
    expect(ours.totalCount).toBe(theirs.totalCount);
    expect(ours.maxValue).toBe(theirs.maxValue);
    for (const p of [1, 50, 90, 95, 99, 99.9, 100]) expect(ours.getValueAtPercentile(p)).toBe(theirs.getValueAtPercentile(p));
    expect(hdr.encodeIntoCompressedBase64(ours)).toBe(hdr.encodeIntoCompressedBase64(theirs));
  });

  it('refuses a negative value as the library does', () => {
    expect(() => newHistogram().recordValue(-1)).toThrow(/negative/);
  });
});
