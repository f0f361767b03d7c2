// report and compare: outputs rebuilt from run folders alone.
import { resolve } from 'node:path';
import { Command, Option } from 'commander';
import { analyseFolder, writeReport } from '../reports/build-report.js';
import { compare, renderComparison } from '../reports/compare.js';
import { openReport } from '../reports/screenshot.js';
import { writeFileAtomic } from '../run-folder/writer.js';
import { EXIT, parseNumber, printVerdict, UsageError, type Io, type SetAction } from './shared.js';

/** Writes compare.html and prints the verdict; exit 99 on a regression. */
export function writeComparison(io: Io, c: ReturnType<typeof compare>, path: string, json: boolean | undefined): number {
  writeFileAtomic(path, renderComparison(c));
  if (json) io.stdout.write(JSON.stringify({ verdict: c.verdict, passed: c.passed, headline: c.headline, maxRegressionPct: c.maxRegressionPct ?? null, figures: c.figures, layers: c.layers.map((l) => ({ layer: l.layer, capacityChangePct: l.capacityChangePct, regressed: l.regressed, note: l.note })) }, null, 2) + '\n');
  else io.stdout.write(`${c.verdict.toUpperCase().replace('-', ' ')}: ${c.headline}\ncomparison: ${path}\n`);
  return c.passed ? EXIT.ok : EXIT.objectivesFailed;
}

/** report and compare. */
export function addReportCommands(program: Command, io: Io, setAction: SetAction): void {
  program
    .command('report')
    .description('rebuild report.html, summary.json and junit.xml from a run folder alone')
    .argument('<run-dir>', 'a run folder (holds run.json and samples.csv)')
    .option('--from-samples', 'rebuild the series from the raw samples even when series.json is there')
    .option('--json', 'print only summary.json on stdout')
    .option('--screenshot <png>', 'also save a PNG of the report, taken offline in headless Chromium')
    .option('--chromium <path>', 'Chromium to use for --screenshot (default: FIRSTBELL_CHROMIUM or /usr/bin/chromium)')
    .action((dir: string, o: { fromSamples?: boolean; json?: boolean; screenshot?: string; chromium?: string }) =>
      setAction(async () => {
        const { analysis, reportPath } = await writeReport(resolve(io.cwd ?? process.cwd(), dir), { fromSamples: o.fromSamples, signal: io.signal });
        if (o.screenshot) {
          const check = await openReport(reportPath, { screenshot: resolve(io.cwd ?? process.cwd(), o.screenshot), chromium: o.chromium });
          if (check.consoleErrors.length || !check.rendered) throw new Error(`the report did not render cleanly: ${check.consoleErrors.join('; ') || 'charts never finished'}`);
        }
        return printVerdict(io, analysis, reportPath, o.json);
      }),
    );

  program
    .command('compare')
    .description('compare a run with a base run: per-layer capacity change and both on one timeline')
    .argument('<base-dir>', 'the base run folder')
    .argument('<run-dir>', 'the run folder to judge against it')
    .addOption(new Option('--max-regression <pct>', 'exit 99 when a layer lost more than this much capacity, in %').argParser(parseNumber('--max-regression', 0, 100)))
    .option('--out <file>', 'where to write the comparison report (default: compare.html in the run folder)')
    .option('--json', 'print only the comparison as JSON on stdout')
    .option('--force', 'compare runs of different scenarios, scales or seeds all the same')
    .action((baseDir: string, runDir: string, o: { maxRegression?: number; out?: string; json?: boolean; force?: boolean }) =>
      setAction(async () => {
        const cwd = io.cwd ?? process.cwd();
        // Both runs are read and analysed, not rewritten: the base run's folder stays as it is.
        const [base, run] = await Promise.all([analyseFolder(resolve(cwd, baseDir), { signal: io.signal }), analyseFolder(resolve(cwd, runDir), { signal: io.signal })]);
        const differ = (['name', 'scale'] as const).filter((k) => base.run.scenario[k] !== run.run.scenario[k]).map((k) => `${k === 'name' ? 'scenario' : k} ${base.run.scenario[k]} against ${run.run.scenario[k]}`);
        if (base.run.seed !== run.run.seed) differ.push(`seed ${base.run.seed} against ${run.run.seed}`);
        if (differ.length && !o.force) throw new UsageError(`${baseDir} and ${runDir} are not the same test (${differ.join(', ')}): a capacity change between them says nothing about a regression; run both with the same scenario, scale and seed, or give --force`);
        return writeComparison(io, compare(base, run, o.maxRegression), resolve(cwd, o.out ?? `${resolve(cwd, runDir)}/compare.html`), o.json);
      }),
    );
}
