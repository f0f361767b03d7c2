// k6 both ways: exported scripts type-check against @types/k6; k6 results (CSV and JSON, several runners) come back as a run.
import { spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { EXIT, main } from '../cli.js';
import { buildReport } from '../reports/build-report.js';
import { BUILT_IN_SCENARIOS } from '../scenarios/index.js';
import { resolveScenario } from '../scenarios/model.js';
import { exportK6, K6_META, K6_RUN_TAGS, K6_STEP_METRIC, K6_TAGS, k6Stages } from '../k6/export.js';
import { readSamples } from '../run-folder/run-folder.js';
import { runScenario } from '../users/run.js';
import type { Sample } from '../api/sample.js';
import { referenceTarget } from '../targets/reference.js';
import { PACKAGE_ROOT } from '../lib/version.js';
import { captureIo, tempDir, useReferencePlatform } from './helpers.js';

function typeCheck(dir: string, script: string): { status: number | null; output: string } {
  writeFileSync(join(dir, 'script.ts'), script);
  writeFileSync(
    join(dir, 'tsconfig.json'),
    JSON.stringify({
      compilerOptions: { strict: true, noEmit: true, target: 'es2020', module: 'esnext', moduleResolution: 'bundler', lib: ['es2020'], types: ['k6'], typeRoots: [join(PACKAGE_ROOT, 'node_modules/@types')] },
      files: ['script.ts'],
    }),
  );
  const r = spawnSync(process.execPath, [join(PACKAGE_ROOT, 'node_modules/typescript/bin/tsc'), '-p', join(dir, 'tsconfig.json')], { encoding: 'utf8' });
  return { status: r.status, output: r.stdout + r.stderr };
}

describe('firstbell export k6', () => {
  it('writes a script that type-checks against @types/k6 for every built-in scenario, and for a Janus target', () => {
    const cases = [
      ...BUILT_IN_SCENARIOS.map((s) => ({ s, kind: 'reference' as const, url: 'http://127.0.0.1:8080' })),
      { s: BUILT_IN_SCENARIOS[0]!, kind: 'janus' as const, url: 'ws://127.0.0.1:8188' },
    ];
    for (const c of cases) {
      const e = exportK6({ scenario: resolveScenario(c.s, 0.01), seed: 1, target: new URL(c.url), targetKind: c.kind, parallelism: 4 });
      const r = typeCheck(tempDir('firstbell-k6-'), e.script);
      expect(r.output, `${c.s.name} (${c.kind})`).toBe('');
      expect(r.status).toBe(0);
      expect(e.script).toContain("executor\": \"ramping-arrival-rate\"");
      expect(e.manifest).toContain('kind: TestRun');
      expect(e.manifest).toContain('parallelism: 4');
    }
  });

  it('is checked for real: a script with a type error fails the same check', () => {
    const e = exportK6({ scenario: resolveScenario(BUILT_IN_SCENARIOS[0]!, 0.01), seed: 1, target: new URL('http://127.0.0.1:8080'), targetKind: 'reference', parallelism: 1 });
    const r = typeCheck(tempDir('firstbell-k6-'), e.script.replace("exec.scenario.iterationInTest", "exec.scenario.iterationInTests"));
    expect(r.status).not.toBe(0);
    expect(r.output).toContain('iterationInTests');
  });

  it('turns arrivals per second into arrival-rate stages, each jump a stage of duration 0', () => {
    expect(k6Stages([0, 0, 5, 5, 5, 2])).toEqual([
      { duration: '2s', target: 0 },
      { duration: '0s', target: 5 },
      { duration: '3s', target: 5 },
      { duration: '0s', target: 2 },
      { duration: '1s', target: 2 },
    ]);
  });

  it('writes script.ts and testrun.yaml from the command line', async () => {
    const out = tempDir();
    const c = captureIo();
    expect(await main(['export', 'k6', 'monday-0800', '--target', 'http://127.0.0.1:8080', '--scale', '0.02', '--parallelism', '8', '--out', out], c.io)).toBe(EXIT.ok);
    expect(readFileSync(join(out, 'script.ts'), 'utf8')).toContain('"firstbell_scale": "0.02"');
    expect(readFileSync(join(out, 'testrun.yaml'), 'utf8')).toContain('parallelism: 8');
  });
});

/** A sample as k6 writes it from the exported script, in its CSV columns. */
function csvRow(s: Sample, t0: number, runTags: Record<string, string>): string {
  const extra = { ...runTags, [K6_TAGS.layer]: s.layer, [K6_TAGS.step]: s.step, [K6_TAGS.outcome]: s.outcome, [K6_TAGS.status]: String(s.status) };
  const metadata = { [K6_META.user]: String(s.user), [K6_META.at]: String(Math.round(s.startMs)) };
  const kv = (o: Record<string, string>) => Object.entries(o).map(([k, v]) => `${k}=${v}`).join('&');
  // metric_name,timestamp,metric_value,check,error,error_code,expected_response,group,method,name,proto,scenario,service,status,subproto,tls_version,url,extra_tags,metadata
  return [K6_STEP_METRIC, Math.floor((t0 + s.endMs) / 1000), (s.endMs - s.startMs).toFixed(6), '', '', '', '', '', '', '', '', 'arrivals', '', '', '', '', '', kv(extra), kv(metadata)].join(',');
}

function jsonLine(s: Sample, t0: number, runTags: Record<string, string>): string {
  return JSON.stringify({
    metric: K6_STEP_METRIC,
    type: 'Point',
    data: {
      time: new Date(t0 + s.endMs).toISOString(),
      value: s.endMs - s.startMs,
      tags: { ...runTags, scenario: 'arrivals', [K6_TAGS.layer]: s.layer, [K6_TAGS.step]: s.step, [K6_TAGS.outcome]: s.outcome, [K6_TAGS.status]: String(s.status) },
      metadata: { [K6_META.user]: String(s.user), [K6_META.at]: String(Math.round(s.startMs)) },
    },
  });
}

const K6_CSV_HEADER = 'metric_name,timestamp,metric_value,check,error,error_code,expected_response,group,method,name,proto,scenario,service,status,subproto,tls_version,url,extra_tags,metadata';

describe('firstbell import k6', () => {
  const platform = useReferencePlatform(['--join-capacity', '60']);

  it('merges two runners, one CSV and one JSON, into a run with the same report as the native run', async () => {
    const scenario = resolveScenario(BUILT_IN_SCENARIOS.find((s) => s.name === 'monday-0800')!, 0.003);
    const native = await runScenario({ scenario, seed: 1, target: referenceTarget(new URL(platform().url)), outDir: tempDir() });
    const nativeReport = await buildReport(native.dir);
    const samples: Sample[] = [];
    for await (const s of readSamples(native.dir)) if (s.outcome !== 'aborted') samples.push(s);
    // What two k6 runners would have written, each with its share of the participants.
    const runTags = { [K6_RUN_TAGS.scenario]: 'monday-0800', [K6_RUN_TAGS.scale]: '0.003', [K6_RUN_TAGS.seed]: '1', [K6_RUN_TAGS.target]: platform().url + '/', [K6_RUN_TAGS.kind]: 'reference' };
    const t0 = Date.parse('2026-01-11T06:59:30Z');
    const dir = tempDir();
    const csv = join(dir, 'runner-0.csv');
    const json = join(dir, 'runner-1.json');
    writeFileSync(
      csv,
      [K6_CSV_HEADER, `http_req_duration,${t0 / 1000},12.5,,,,true,,GET,login_page,HTTP/1.1,arrivals,,200,,,${platform().url}/login,firstbell_scenario=monday-0800,`,
        ...samples.filter((s) => s.user % 2 === 0).map((s) => csvRow(s, t0, runTags)),
        `dropped_iterations,${t0 / 1000 + 31},2.000000,,,,,,,,,arrivals,,,,,,,`].join('\n') + '\n',
    );
    writeFileSync(
      json,
      [JSON.stringify({ type: 'Metric', data: { name: K6_STEP_METRIC, type: 'trend', contains: 'time', thresholds: [], submetrics: null }, metric: K6_STEP_METRIC }),
        ...samples.filter((s) => s.user % 2 === 1).map((s) => jsonLine(s, t0, runTags))].join('\n') + '\n',
    );
    const c = captureIo();
    const out = tempDir();
    const code = await main(['import', 'k6', csv, json, '--out', out], c.io);
    expect(c.err()).toBe('');
    expect(code).toBe(nativeReport.analysis.passed ? EXIT.ok : EXIT.objectivesFailed);
    expect(c.out()).toContain(`imported ${samples.length.toLocaleString('en-US')} samples from 2 runners (2 iterations dropped by k6)`);
    expect(c.out()).toMatch(/k6 thresholds on the merged data, broker +(pass|FAIL)/);
    const imported = await buildReport(join(out, (await import('node:fs')).readdirSync(out)[0]!));
    const a = imported.analysis;
    const n = nativeReport.analysis;
    expect(a.verdict).toBe(n.verdict);
    expect(a.layers.map((l) => [l.layer, l.met, l.breakPoint?.second ?? null])).toEqual(n.layers.map((l) => [l.layer, l.met, l.breakPoint?.second ?? null]));
    expect(a.users.joined).toBe(n.users.joined);
    expect(a.steps.map((s) => [s.step, s.attempts, s.failed])).toEqual(n.steps.map((s) => [s.step, s.attempts, s.failed]));
    expect(a.run.source).toEqual({ kind: 'k6', files: ['runner-0.csv', 'runner-1.json'], runners: 2 });
    expect(a.generator.dropped).toBe(2);
    const html = readFileSync(imported.reportPath, 'utf8');
    for (const id of ['id="verdict"', 'chart-admission-load', 'chart-broker-latency', 'chart-media-load', '<h2>Steps</h2>']) expect(html).toContain(id);
  });

  it('names the file and line of a result that is not k6 output, and exits 2', async () => {
    const dir = tempDir();
    const bad = join(dir, 'results.csv');
    writeFileSync(bad, 'time,value\n1,2\n');
    const c = captureIo();
    expect(await main(['import', 'k6', bad], c.io)).toBe(EXIT.usage);
    expect(c.err()).toBe(`error: ${bad}:1: not a k6 CSV header (expected metric_name,timestamp,metric_value,…,extra_tags,metadata); write results with 'k6 run --out csv=FILE'\n`);
    const plain = join(dir, 'plain.csv');
    writeFileSync(plain, `${K6_CSV_HEADER}\nhttp_req_duration,1700000000,12.5,,,,true,,GET,x,HTTP/1.1,default,,200,,,http://127.0.0.1/,,\n`);
    const c2 = captureIo();
    expect(await main(['import', 'k6', plain], c2.io)).toBe(EXIT.usage);
    expect(c2.err()).toBe(`error: ${plain}: no ${K6_STEP_METRIC} samples; run a script written by 'firstbell export k6'\n`);
  });

  it('checks the run tags and times of the results, names the file and line, and exits 2 (never PASSED, never a hang)', async () => {
    const dir = tempDir();
    const sample: Sample = { user: 0, layer: 'admission', step: 'login', intendedMs: 1000, startMs: 1000, endMs: 1010, outcome: 'ok', status: 200 };
    const tags = (o: Record<string, string>) => ({ [K6_RUN_TAGS.scenario]: 'monday-0800', [K6_RUN_TAGS.scale]: '0.003', [K6_RUN_TAGS.seed]: '1', [K6_RUN_TAGS.target]: 'http://127.0.0.1:8080/', [K6_RUN_TAGS.kind]: 'reference', ...o });
    const cases: [string, string, string][] = [
      ['scale-abc.csv', csvRow(sample, 1.7e12, tags({ [K6_RUN_TAGS.scale]: 'abc' })), `tag ${K6_RUN_TAGS.scale} 'abc' is not a scale between 0 and 10`],
      ['scale-0.csv', csvRow(sample, 1.7e12, tags({ [K6_RUN_TAGS.scale]: '0' })), `tag ${K6_RUN_TAGS.scale} '0' is not a scale`],
      ['scale-neg.csv', csvRow(sample, 1.7e12, tags({ [K6_RUN_TAGS.scale]: '-1' })), `tag ${K6_RUN_TAGS.scale} '-1' is not a scale`],
      ['scale-huge.csv', csvRow(sample, 1.7e12, tags({ [K6_RUN_TAGS.scale]: '1e9' })), `tag ${K6_RUN_TAGS.scale} '1e9' is not a scale`],
      ['target.csv', csvRow(sample, 1.7e12, tags({ [K6_RUN_TAGS.target]: 'not a url' })), `tag ${K6_RUN_TAGS.target} 'not a url' is not a URL`],
      ['time.csv', csvRow({ ...sample, intendedMs: 1e13, startMs: 1e13, endMs: 1e13 + 5 }, 1.7e12, tags({})), 'are not inside the run'],
    ];
    for (const [name, row, want] of cases) {
      const f = join(dir, name);
      writeFileSync(f, `${K6_CSV_HEADER}\n${row}\n`);
      const c = captureIo();
      const started = Date.now();
      expect(await main(['import', 'k6', f, '--out', tempDir()], c.io), name).toBe(EXIT.usage);
      expect(Date.now() - started, name).toBeLessThan(10_000);
      expect(c.err(), name).toContain(`${f}:2: `);
      expect(c.err(), name).toContain(want);
    }
    const binary = join(dir, 'binary.csv');
    writeFileSync(binary, Buffer.from(Array.from({ length: 4096 }, (_, i) => (i * 7919) % 256)));
    const folder = join(dir, 'a-folder');
    (await import('node:fs')).mkdirSync(folder);
    const long = join(dir, 'one-line.csv');
    writeFileSync(long, 'x'.repeat(2_000_000));
    for (const [f, want] of [[binary, `${binary}:`], [folder, `${folder}: is a folder`], [long, `${long}: not k6 results`]] as const) {
      const c = captureIo();
      expect(await main(['import', 'k6', f, '--out', tempDir()], c.io), f).toBe(EXIT.usage);
      expect(c.err(), f).toContain(want);
      expect(c.err(), f).not.toContain('internal error');
    }
  });
});
