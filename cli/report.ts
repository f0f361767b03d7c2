// report and compare: outputs rebuilt from run folders alone.
import { existsSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { Command, Option } from 'commander';
import { analyseFolder, writeReport } from '../reports/build-report.js';
import { compare, renderComparison } from '../reports/compare.js';
import { openReport } from '../reports/screenshot.js';
import { writeFileAtomic } from '../run-folder/writer.js';
import { EXIT, liveHostOption, liveOption, parseNumber, printVerdict, UsageError, type Io, type SetAction } from './shared.js';
import { LIVE_HOST, LIVE_PORT, LiveListenError, liveHostWarning, LiveServer } from '../reports/live.js';
import { FILES } from '../run-folder/run-folder.js';

/** Writes compare.html and prints the verdict; exit 99 on a regression. */
export function writeComparison(io: Io, c: ReturnType<typeof compare>, path: string, json: boolean | undefined): number {
  writeFileAtomic(path, renderComparison(c));
  if (json) io.stdout.write(JSON.stringify({ verdict: c.verdict, passed: c.passed, headline: c.headline, maxRegressionPct: c.maxRegressionPct ?? null, figures: c.figures, layers: c.layers.map((l) => ({ layer: l.layer, capacityChangePct: l.capacityChangePct, regressed: l.regressed, note: l.note })) }, null, 2) + '\n');
  else io.stdout.write(`${c.verdict.toUpperCase().replace('-', ' ')}: ${c.headline}\ncomparison: ${path}\n`);
  return c.passed ? EXIT.ok : EXIT.objectivesFailed;
}

/**
 * report --live: a run folder another process writes, followed on the live page until its run closes; then its
 * report (the run's own, or written here when the run wrote none) and the verdict, as `report` gives them.
 */
async function followLive(io: Io, dir: string, o: { live?: number | true; liveHost?: string; json?: boolean }): Promise<number> {
  const host = o.liveHost ?? LIVE_HOST;
  const server = await LiveServer.listen({ host, port: o.live === true ? LIVE_PORT : o.live }).catch((e: unknown) => {
    throw e instanceof LiveListenError ? new UsageError(e.message) : e;
  });
  try {
    io.stderr.write(`live page: ${server.url}\n`);
    const warning = liveHostWarning(host, server.url);
    if (warning) io.stderr.write(`${warning}\n`);
    if (!existsSync(join(dir, FILES.run))) io.stderr.write(`waiting for ${join(dir, FILES.run)}: no run writes into ${dir} yet (Ctrl-C stops waiting)\n`);
    server.follow(dir);
    await until(() => server.runClosed, io.signal);
    if (io.signal?.aborted) return EXIT.interrupted;
    // The run's process writes its report just after it closes the folder; a run that ended without one gets it here.
    const reportPath = join(dir, FILES.report);
    const closedAt = statSync(join(dir, FILES.run)).mtimeMs;
    const fresh = () => existsSync(reportPath) && statSync(reportPath).mtimeMs >= closedAt;
    await until(fresh, io.signal, REPORT_WAIT_MS);
    const analysis = fresh() ? await analyseFolder(dir, { signal: io.signal }) : (await writeReport(dir, { signal: io.signal })).analysis;
    server.final(reportPath);
    const code = printVerdict(io, analysis, reportPath, o.json);
    // The pages open fetch the report before the page's address goes.
    await new Promise((r) => setTimeout(r, 1_500));
    return code;
  } finally {
    await server.close();
  }
}

/** How long report --live waits for the report of a run that has closed its folder, ms. */
const REPORT_WAIT_MS = 15_000;

/** Resolves once `done()` holds, `signal` aborts, or `limitMs` has passed; checked four times a second. */
function until(done: () => boolean, signal?: AbortSignal, limitMs = Infinity): Promise<void> {
  const end = Date.now() + limitMs;
  return new Promise((resolve) => {
    const check = () => {
      if (done() || signal?.aborted || Date.now() >= end) resolve();
      else setTimeout(check, 250);
    };
    check();
  });
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
    .addOption(liveOption('follow a run that another process is writing into the folder, on a live page'))
    .addOption(liveHostOption())
    .action((dir: string, o: { fromSamples?: boolean; json?: boolean; screenshot?: string; chromium?: string; live?: number | true; liveHost?: string }) =>
      setAction(async () => {
        if (o.live !== undefined) return followLive(io, resolve(io.cwd ?? process.cwd(), dir), o);
        if (o.liveHost !== undefined) throw new UsageError('--live-host says where the live page listens, but there is none; add --live (e.g. --live 5680)');
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
