// What-if and compare on the reference platform, and the same run as k6 runners would have sent it back.
import { existsSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { Sample } from '../api/sample.js';
import { EXIT, main } from '../cli.js';
import { K6_RUN_TAGS, K6_STEP_METRIC } from '../k6/names.js';
import { writeReport } from '../reports/build-report.js';
import { readSamples } from '../run-folder/run-folder.js';
import { builtInFile, captureIo, tempDir } from './helpers.js';
import { csvRow, jsonLine, K6_CSV_HEADER, REFERENCE_STEPS } from './k6-results.js';

/** The what-if's run folders, which the k6 import below reads as the native run (a monday-0800 costs 60 s to make). */
const out = tempDir();
/**
 * The built-ins as files, their baseline at the built-in's rate over 10 s instead of 25 s and without their late
 * joiners (30 s of a few arrivals a second after the burst): the burst as built in, the slots as built in but 12 s
 * apart instead of 20 (2 s of quiet between two instead of 10).
 */
const files = tempDir();

describe('what-if and compare on the reference platform', () => {
  it('shows monday-0800-staggered meeting the objectives that monday-0800 breaks, and gates a regression', { timeout: 400_000 }, async () => {
    const c = captureIo();
    const rc = await main(['whatif', builtInFile(files, 'monday-0800', { sameRate: true, without: 'late joiners' }), builtInFile(files, 'monday-0800-staggered', { sameRate: true, without: 'late joiners', slotSpacingMs: 12_000 }), '--scale', '0.015', '--out', out, '--no-progress'], c.io);
    expect(rc, c.err()).toBe(EXIT.ok);
    const text = c.out();
    expect(text).toMatch(/^FAILED: (The generator was the bottleneck in \d+ s \([^)]*\); there only what the target answered counts, not its timeouts or latency\. )?The broker layer broke at 08:00:0\d at \d+ joins\/s offered/m);
    expect(text).toMatch(/^PASSED: Every layer met its objective/m);
    // Without a gate a what-if sets the runs side by side, by the names they were given: what the participants got, then capacity.
    expect(text).toMatch(/^COMPARED: monday-0800-staggered\.ts \(passed\) against monday-0800\.ts \(failed\): journeys per participant [\d.]+ (in both|→ [\d.]+); .*monday-0800\.ts: broker broken \d+ s from 08:00:0\d, (recovered|not recovered by the end); monday-0800-staggered\.ts: nothing broken; joined \d+ of \d+ → \d+ of \d+\. .*broker held in this run, broke in the base at \d+ joins\/s/m);
    const [plain, staggered] = readdirSync(out).sort((a, b) => (a.includes('staggered') ? 1 : 0) - (b.includes('staggered') ? 1 : 0));
    expect(existsSync(join(out, staggered!, 'compare.html'))).toBe(true);

    // Two different scenarios are not a regression test: compare says so unless told --force, and writes nothing into either run.
    const before = statSync(join(out, plain!, 'report.html')).mtimeMs;
    const r = captureIo();
    expect(await main(['compare', join(out, plain!), join(out, staggered!)], r.io)).toBe(EXIT.usage);
    expect(r.err()).toContain('are not the same test (scenario monday-0800 against monday-0800-staggered)');
    // Without --max-regression compare only reports; the staggered run never offered the load the plain one broke at.
    const g = captureIo();
    expect(await main(['compare', join(out, plain!), join(out, staggered!), '--force', '--out', join(out, 'again.html')], g.io)).toBe(EXIT.ok);
    expect(existsSync(join(out, 'again.html'))).toBe(true);
    expect(statSync(join(out, plain!, 'report.html')).mtimeMs).toBe(before);
  });
  it('merges two k6 runners, one CSV and one JSON, into a run with the same report as the native run', async () => {
    // The what-if's monday-0800 run is the native one; two k6 runners would have sent the same participants.
    const native = join(out, readdirSync(out).find((d) => d.endsWith('-monday-0800'))!);
    const nativeReport = await writeReport(native);
    const url = nativeReport.analysis.run.target.url;
    const samples: Sample[] = [];
    for await (const s of readSamples(native)) if (s.outcome !== 'aborted') samples.push(s);
    // What two k6 runners would have written, each with its share of the participants.
    const runTags = { [K6_RUN_TAGS.scenario]: 'monday-0800', [K6_RUN_TAGS.scale]: '0.015', [K6_RUN_TAGS.seed]: '1', [K6_RUN_TAGS.target]: url + '/', [K6_RUN_TAGS.kind]: 'reference', ...REFERENCE_STEPS };
    const t0 = Date.parse('2026-01-11T06:59:30Z');
    const dir = tempDir();
    const csv = join(dir, 'runner-0.csv');
    const json = join(dir, 'runner-1.json');
    writeFileSync(
      csv,
      [K6_CSV_HEADER, `http_req_duration,${t0 / 1000},12.5,,,,true,,GET,login_page,HTTP/1.1,arrivals,,200,,,${url}/login,firstbell_scenario=monday-0800,`,
        ...samples.filter((s) => s.user % 2 === 0).map((s) => csvRow(s, t0, runTags)),
        `dropped_iterations,${t0 / 1000 + 31},2.000000,,,,,,,,,arrivals,,,,,,,`].join('\n') + '\n',
    );
    writeFileSync(
      json,
      [JSON.stringify({ type: 'Metric', data: { name: K6_STEP_METRIC, type: 'trend', contains: 'time', thresholds: [], submetrics: null }, metric: K6_STEP_METRIC }),
        ...samples.filter((s) => s.user % 2 === 1).map((s) => jsonLine(s, t0, runTags))].join('\n') + '\n',
    );
    const c = captureIo();
    const into = tempDir();
    const code = await main(['import', 'k6', csv, json, '--out', into], c.io);
    expect(c.err()).toBe('');
    expect(code).toBe(nativeReport.analysis.passed ? EXIT.ok : EXIT.objectivesFailed);
    expect(c.out()).toContain(`imported ${samples.length.toLocaleString('en-US')} samples from 2 runners (2 iterations dropped by k6)`);
    expect(c.out()).toMatch(/k6 +broker threshold (passed|FAILED) on every runner.s samples together: p95/);
    const imported = await writeReport(join(into, readdirSync(into)[0]!));
    const a = imported.analysis;
    const n = nativeReport.analysis;
    // k6 keeps its generator health to itself: layers compare exactly where firstbell's own run left no second out.
    if (n.generator.suspectSeconds.length === 0) {
      expect(a.verdict).toBe(n.verdict);
      expect(a.layers.map((l) => [l.layer, l.met, l.breakPoint?.second ?? null])).toEqual(n.layers.map((l) => [l.layer, l.met, l.breakPoint?.second ?? null]));
    } else expect(a.verdict).toBe('failed');
    expect(a.users.joined).toBe(n.users.joined);
    expect(a.steps.map((s) => [s.step, s.attempts, s.failed])).toEqual(n.steps.map((s) => [s.step, s.attempts, s.failed]));
    expect(a.run.source).toEqual({ kind: 'k6', files: ['runner-0.csv', 'runner-1.json'], runners: 2 });
    expect(a.generator.dropped).toBe(2);
    const html = readFileSync(imported.reportPath, 'utf8');
    for (const id of ['id="verdict"', 'chart-admission-load', 'chart-broker-latency', 'chart-media-load', '<h2>Steps</h2>']) expect(html).toContain(id);
  });

});
