// Reports as the package's API gives them: a run folder judged, its report and summary written, the verdict out.
import { join } from 'node:path';
import { FILES } from '../run-folder/run-folder.js';
import { writeReport } from './build-report.js';

/** A run folder's report: where it and summary.json are, and the verdict all of them give. */
export interface Report {
  reportPath: string;
  summaryPath: string;
  verdict: 'passed' | 'failed' | 'not-judged' | 'generator-bound';
  passed: boolean;
  /** The one sentence the report, the terminal and summary.json open with. */
  headline: string;
}

/** Judges a run folder and writes its report.html, summary.json and junit.xml into it. */
export async function buildReport(dir: string, opts: { signal?: AbortSignal } = {}): Promise<Report> {
  const { analysis, reportPath } = await writeReport(dir, opts);
  return { reportPath, summaryPath: join(dir, FILES.summary), verdict: analysis.verdict, passed: analysis.passed, headline: analysis.headline };
}
