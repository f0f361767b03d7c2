import { describe, expect, it } from 'vitest';
import type { Sample } from '../api/sample.js';
import { CsvBytes } from './csv-bytes.js';
import { sampleLine } from './run-folder.js';

const base: Sample = { user: 0, layer: 'broker', step: 'join', intendedMs: 0, startMs: 0, endMs: 0, outcome: 'ok', status: 200, entry: 1 };

describe('samples.csv lines written as bytes', () => {
  it('writes every sample as sampleLine does', () => {
    const times = [0, -0, 0.04, 0.05, 0.15, 0.95, 0.96, 9.99, 10, 33.3, 1821.74, 1842, 1842.05, -0.04, -0.05, -0.25, -1234.56, 86_400_000.123, 2 ** 52 / 10, 2 ** 60, Number.NaN, Infinity, -Infinity];
    const samples: Sample[] = [];
    for (const t of times) samples.push({ ...base, intendedMs: t, startMs: t + 0.01, endMs: t * 3 });
    for (const user of [0, 7, 10, 99, 100, 123_456_789, 2 ** 53, -1, 1.5]) samples.push({ ...base, user });
    for (const status of [0, 101, 503, 999]) samples.push({ ...base, status, outcome: 'http' });
    samples.push({ ...base, entry: undefined }, { ...base, entry: 2, step: 'anmelden-übung', layer: 'admission' }, { ...base, step: '教室' });
    // Random ones too.
    let seed = 7;
    const rnd = () => ((seed = (seed * 16807) % 2147483647) / 2147483647);
    for (let i = 0; i < 2_000; i++) samples.push({ ...base, intendedMs: rnd() * 1e7 - 1e3, startMs: rnd() * 100, endMs: Math.round(rnd() * 1e5) / 10, user: Math.floor(rnd() * 1e6), status: Math.floor(rnd() * 600) });
    const c = new CsvBytes(16);
    for (const s of samples) c.sample(s);
    expect(c.takeText()).toBe(samples.map(sampleLine).join('\n'));
    expect(c.length).toBe(0);
  });

  it('keeps lines given as text beside the samples, in order, and grows past its first size', () => {
    const c = new CsvBytes(8);
    c.line('intended_ms,start_ms');
    c.sample(base);
    c.line('{"name":"Grüße"}');
    expect(c.bytes().toString('utf8')).toBe(`intended_ms,start_ms\n${sampleLine(base)}\n{"name":"Grüße"}\n`);
    c.clear();
    expect(c.takeText()).toBe('');
  });
});
