import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { Sample } from '../api/sample.js';
import { LineSink, WriteError, writeSeriesFile } from './writer.js';
import { readSeriesJson } from './run-folder.js';
import { Series } from './series.js';

describe('the line sink of a run folder', () => {
  it.runIf(existsSync('/dev/full'))('keeps a failed write (disk full) as its error instead of throwing from a timer', () => {
    const sink = new LineSink('/dev/full', 'header');
    const code = () => ((sink.error?.cause as NodeJS.ErrnoException | undefined)?.code);
    expect(code()).toBe('ENOSPC');
    expect(sink.error?.message).toBe('cannot write /dev/full: no space left on device (ENOSPC)');
    sink.write('a line');
    sink.flush();
    sink.close();
    expect(code()).toBe('ENOSPC');
  });
});

describe('series.json', () => {
  const dir = mkdtempSync(join(tmpdir(), 'firstbell-series-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  const sample = (over: Partial<Sample>): Sample => ({ user: 1, layer: 'broker', step: 'join', intendedMs: 1_000, startMs: 1_000, endMs: 1_100, outcome: 'ok', status: 0, ...over });
  const series = () => {
    const s = new Series([{ layer: 'admission', step: 'login' }, { layer: 'broker', step: 'join', goal: 'journey' }]);
    for (let k = 0; k < 40; k++) {
      s.add(sample({ user: k, step: 'login', layer: 'admission', intendedMs: k * 250, startMs: k * 250, endMs: k * 250 + 20 + k, entry: 2 }));
      s.add(sample({ user: k, intendedMs: k * 250 + 30, startMs: k * 250 + 30, endMs: k * 250 + 90 + k, outcome: k % 7 ? 'ok' : 'http', status: k % 7 ? 0 : 503 }));
    }
    return s;
  };

  it('is JSON as a whole, laid out a second a line, and reads back as the series it was', async () => {
    const s = series();
    const path = join(dir, 'series.json');
    writeSeriesFile(path, s);
    const text = readFileSync(path, 'utf8');
    const lines = text.trimEnd().split('\n');
    expect(lines[0]!.endsWith('"seconds":{')).toBe(true);
    expect(lines.at(-1)).toBe('}}');
    expect(lines.length).toBe(2 + [...s.jsonSeconds()].length);
    expect(JSON.parse(text)).toEqual(s.toJSON());
    expect(await readSeriesJson(path)).toEqual(s.toJSON());
    expect(readdirSync(dir).filter((f) => f.endsWith('.tmp'))).toEqual([]);
    // Read back, it counts as it did.
    const back = Series.fromJSON(await readSeriesJson(path));
    expect(back.toJSON().seconds).toEqual(s.toJSON().seconds);
    expect(back.timeToJoin.getValueAtPercentile(50)).toBe(s.timeToJoin.getValueAtPercentile(50));
    const [a, b] = [back.total(() => true), s.total(() => true)];
    expect([a.attempts, a.ok, a.failures, a.latency.getValueAtPercentile(99)]).toEqual([b.attempts, b.ok, b.failures, b.latency.getValueAtPercentile(99)]);
  });

  it('without seconds, and in one piece as older runs wrote it', async () => {
    const empty = new Series();
    const path = join(dir, 'empty.json');
    writeSeriesFile(path, empty);
    expect(await readSeriesJson(path)).toEqual(empty.toJSON());
    const old = join(dir, 'old.json');
    writeFileSync(old, JSON.stringify(series().toJSON()));
    expect(await readSeriesJson(old)).toEqual(series().toJSON());
  });

  it('cut short, or with more after its end, is not believed', async () => {
    const path = join(dir, 'cut.json');
    writeSeriesFile(path, series());
    const text = readFileSync(path, 'utf8');
    writeFileSync(path, text.slice(0, text.lastIndexOf('\n}}')));
    await expect(readSeriesJson(path)).rejects.toThrow('ends before its last second');
    writeFileSync(path, text + '"99":{}\n');
    await expect(readSeriesJson(path)).rejects.toThrow('more after the end of the series');
  });

  it('that cannot be written leaves no temporary file and names the file', () => {
    const path = join(dir, 'no-such-folder', 'series.json');
    expect(() => writeSeriesFile(path, series())).toThrow(WriteError);
    expect(() => writeSeriesFile(path, series())).toThrow(`cannot write ${path}: no such file or folder (ENOENT)`);
  });
});
