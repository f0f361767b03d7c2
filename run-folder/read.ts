// Reading a whole run folder once: what ran, its series (series.json, or rebuilt from the raw samples), health and browser users.
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { BrowserJourney, BrowserSecond, MediaSecond } from './records.js';
import { FILES, runSpanMs, readBrowserHealth, readBrowserJourneys, readHealth, readMedia, readRunInfo, readSamples, RunFolderError, type HealthSecond, type RunInfo } from './run-folder.js';
import { Series, type SeriesJson } from './series.js';

/** Everything an analysis reads of a run. */
export interface RunFolder {
  dir: string;
  run: RunInfo;
  series: Series;
  health: HealthSecond[];
  journeys: BrowserJourney[];
  media: MediaSecond[];
  /** The browser's CPU and memory, and the machine's CPU, every second (browser users in a Chromium firstbell started). */
  browserHealth: BrowserSecond[];
}

/** The series of a run: series.json when the run closed cleanly, else rebuilt from the raw samples (never written back). */
export async function loadSeries(dir: string, run: RunInfo, opts: { fromSamples?: boolean; signal?: AbortSignal } = {}): Promise<Series> {
  const path = join(dir, FILES.series);
  if (!opts.fromSamples && existsSync(path)) {
    try {
      const j = JSON.parse(readFileSync(path, 'utf8')) as SeriesJson;
      // A series from before the clock record is rebuilt from the samples, which hold everything it needs; so is
      // one with a second outside the run (a damaged file), which the samples then name by line.
      const lastSecond = Math.ceil(runSpanMs(run) / 1000);
      const inside = (sec: string) => Number.isInteger(Number(sec)) && Number(sec) >= 0 && Number(sec) <= lastSecond;
      if (j.clock && Object.keys(j.seconds ?? {}).every(inside) && Object.keys(j.clock).every(inside)) return Series.fromJSON(j);
    } catch {
      // A damaged series file is rebuilt from the samples, which are the source of truth.
    }
  }
  const series = new Series(run.steps, run.scenario.joinWithinMs);
  for await (const s of readSamples(dir, { spanMs: runSpanMs(run), signal: opts.signal })) series.add(s);
  return series;
}

/** Reads a run folder; a folder without run.json is a RunFolderError that says what to give instead. */
export async function readRunFolder(dir: string, opts: { fromSamples?: boolean; signal?: AbortSignal } = {}): Promise<RunFolder> {
  if (!existsSync(join(dir, FILES.run))) throw new RunFolderError(`${dir}: no ${FILES.run} here; give the folder of a run (it holds run.json and samples.csv)`);
  const run = readRunInfo(dir);
  const series = await loadSeries(dir, run, opts);
  return { dir, run, series, health: await readHealth(dir, runSpanMs(run)), journeys: readBrowserJourneys(dir), media: readMedia(dir, runSpanMs(run)), browserHealth: await readBrowserHealth(dir) };
}
