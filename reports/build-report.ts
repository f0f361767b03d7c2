// Rebuilds every output of a run from its run folder alone.
import { join } from 'node:path';
import { analyse, type Analysis } from '../analysis/analysis.js';
import { FILES, readRunFolder } from '../run-folder/run-folder.js';
import { writeFileAtomic } from '../run-folder/writer.js';
import { renderReport } from './html.js';
import { junitXml, summaryJson } from './summary.js';

export interface BuiltReport {
  analysis: Analysis;
  reportPath: string;
}

/** Reads a run folder once and analyses it; nothing is written. `signal` stops a long read. */
export async function analyseFolder(dir: string, opts: { fromSamples?: boolean; signal?: AbortSignal } = {}): Promise<Analysis> {
  const f = await readRunFolder(dir, opts);
  return analyse(f.run, f.series, f.health, { journeys: f.journeys, media: f.media, health: f.browserHealth, ...(f.watch ? { watch: f.watch } : {}) });
}

/** Reads the run folder once, analyses it, and writes report.html, summary.json and junit.xml into it. */
export async function writeReport(dir: string, opts: { fromSamples?: boolean; signal?: AbortSignal } = {}): Promise<BuiltReport> {
  const analysis = await analyseFolder(dir, opts);
  const reportPath = join(dir, FILES.report);
  writeFileAtomic(reportPath, renderReport(analysis));
  writeFileAtomic(join(dir, FILES.summary), JSON.stringify(summaryJson(analysis), null, 2));
  writeFileAtomic(join(dir, FILES.junit), junitXml(analysis));
  return { analysis, reportPath };
}
