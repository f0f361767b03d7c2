// Rebuilds every output of a run from its run folder alone.
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { FILES, readBrowserJourneys, readHealth, readMedia, readRunInfo, readSamples, RunFolderError, writeFileAtomic } from '../run-folder/run-folder.js';
import { Series, type SeriesJson } from '../run-folder/series.js';
import { analyse, type Analysis } from '../analysis/analysis.js';
import { renderReport } from './html.js';
import { junitXml, summaryJson } from './summary.js';

/** The series of a run: series.json when the run closed cleanly, else rebuilt from the raw samples. */
export async function loadSeries(dir: string, opts: { fromSamples?: boolean } = {}): Promise<Series> {
  const path = join(dir, FILES.series);
  if (!opts.fromSamples && existsSync(path)) {
    try {
      return Series.fromJSON(JSON.parse(readFileSync(path, 'utf8')) as SeriesJson);
    } catch {
      // A damaged series file is rebuilt from the samples, which are the source of truth.
    }
  }
  const run = readRunInfo(dir);
  const series = new Series(run.steps, run.scenario.joinWithinMs);
  for await (const s of readSamples(dir)) series.add(s);
  return series;
}

export interface BuiltReport {
  analysis: Analysis;
  reportPath: string;
}

export async function buildReport(dir: string, opts: { fromSamples?: boolean } = {}): Promise<BuiltReport> {
  if (!existsSync(join(dir, FILES.run))) throw new RunFolderError(`${dir}: no ${FILES.run} here; give the folder of a run (it holds run.json and samples.csv)`);
  const run = readRunInfo(dir);
  const series = await loadSeries(dir, opts);
  if (!existsSync(join(dir, FILES.series))) writeFileAtomic(join(dir, FILES.series), JSON.stringify(series.toJSON()));
  const analysis = analyse(run, series, await readHealth(dir), { journeys: readBrowserJourneys(dir), media: readMedia(dir) });
  const reportPath = join(dir, FILES.report);
  writeFileAtomic(reportPath, renderReport(analysis));
  writeFileAtomic(join(dir, FILES.summary), JSON.stringify(summaryJson(analysis), null, 2));
  writeFileAtomic(join(dir, FILES.junit), junitXml(analysis));
  return { analysis, reportPath };
}
