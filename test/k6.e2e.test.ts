// k6 both ways: exported scripts type-check against @types/k6; k6 results (CSV and JSON, several runners) come back as a run.
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { BlockList, isIP } from 'node:net';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { EXIT, main } from '../cli.js';
import { BUILT_IN_SCENARIOS } from '../scenarios/index.js';
import { resolveScenario } from '../scenarios/model.js';
import { exportJourneyK6, k6Stages, K6_RUNTIME } from '../k6/export.js';
import { K6_RUN_TAGS, K6_STEP_METRIC, stepsOfTag } from '../k6/names.js';
import type { Sample } from '../api/sample.js';
import { PACKAGE_ROOT } from '../lib/version.js';
import { TARGET_KINDS, type TargetKind } from '../targets/index.js';
import { captureIo, tempDir } from './helpers.js';
import { csvRow, K6_CSV_HEADER, REFERENCE_STEPS } from './k6-results.js';
import { runScript } from './k6-shim.js';

const EXAMPLES = join(PACKAGE_ROOT, 'examples');

/**
 * Type-checks scripts against @types/k6 in one program (each file a module of its own); `firstbell` is the k6
 * runtime's, as esbuild bundles it.
 */
function typeCheck(scripts: Record<string, string>): { status: number | null; output: string } {
  const dir = tempDir('firstbell-k6-');
  for (const [name, text] of Object.entries(scripts)) writeFileSync(join(dir, name), text);
  writeFileSync(
    join(dir, 'tsconfig.json'),
    JSON.stringify({
      compilerOptions: {
        strict: true, noUncheckedIndexedAccess: true, noImplicitOverride: true, noEmit: true, skipLibCheck: true, target: 'es2020', module: 'esnext', moduleResolution: 'bundler', lib: ['es2020'],
        allowImportingTsExtensions: true, types: ['k6'], typeRoots: [join(PACKAGE_ROOT, 'node_modules/@types')], paths: { firstbell: [join(K6_RUNTIME, 'firstbell.ts')], 'node:crypto': [join(K6_RUNTIME, 'crypto.ts')] },
      },
      files: Object.keys(scripts),
    }),
  );
  const r = spawnSync(process.execPath, [join(PACKAGE_ROOT, 'node_modules/typescript/bin/tsc'), '-p', join(dir, 'tsconfig.json')], { encoding: 'utf8' });
  return { status: r.status, output: r.stdout + r.stderr };
}

/** A file that hands `journey` to the k6 runtime's participant, as the script's entry does: the journey checked with the runtime. */
function journeyCheck(journey: string): string {
  return `import journeyModule from ${JSON.stringify(journey)};
import { participant, type JourneyRun } from ${JSON.stringify(join(K6_RUNTIME, 'participant.ts'))};
import type { Arrival } from ${JSON.stringify(join(K6_RUNTIME, 'people.ts'))};
declare const run: JourneyRun;
declare const arrivals: readonly Arrival[];
declare const rows: readonly Record<string, string>[];
export function journey(): Promise<void> {
  return participant(journeyModule, run, arrivals, rows);
}
`;
}

describe('firstbell export k6', () => {
  it('bundles every built-in kind, and the reference journey for every built-in scenario, on the one road: its entry type-checks against @types/k6', async () => {
    const other: Record<Exclude<TargetKind, 'reference'>, { url: string; options?: Record<string, string> }> = {
      janus: { url: 'ws://127.0.0.1:8188' }, http: { url: 'http://127.0.0.1:8080/' },
      bbb: { url: 'http://127.0.0.1:8080/bigbluebutton/', options: { secret: 's' } }, moodle: { url: 'http://127.0.0.1:8080/', options: { join: '/mod/bigbluebuttonbn/bbb_view.php?action=join&id={n}' } },
    };
    const cases = [
      ...BUILT_IN_SCENARIOS.filter((x) => !x.client.retry || x.client.retry.kind === 'none').map((s) => ({ s, kind: 'reference' as TargetKind, url: 'http://127.0.0.1:8080', options: undefined })),
      ...Object.entries(other).map(([kind, o]) => ({ s: BUILT_IN_SCENARIOS[0]!, kind: kind as TargetKind, ...o })),
    ];
    expect(new Set(cases.map((c) => c.kind))).toEqual(new Set(TARGET_KINDS));
    const entries: Record<string, string> = {};
    for (const [k, c] of cases.entries()) {
      const e = await exportJourneyK6({ scenario: resolveScenario(c.s, 0.01), seed: 1, target: new URL(c.url), journey: { kind: c.kind }, options: c.options, parallelism: 4 });
      entries[`entry-${k}.ts`] = journeyCheck(e.journey);
      expect(e.script).toContain('executor": "ramping-arrival-rate"');
      expect(e.script).toContain(`"${K6_RUN_TAGS.kind}": "${c.kind}"`);
      const imports = [...e.script.matchAll(/^import .* from "([^"]+)";$/gm)].map((m) => m[1]!);
      expect(imports.every((m) => m === 'k6' || m.startsWith('k6/')), `${c.kind}: ${imports.join(', ')}`).toBe(true);
      expect(e.manifest).toContain('kind: TestRun');
      expect(e.manifest).toContain('parallelism: 4');
    }
    const r = typeCheck(entries);
    expect(r.output).toBe('');
    expect(r.status).toBe(0);
  });

  it('allocates a VU before the start for every participant that can be under way at once, for every built-in scenario at scale 1', async () => {
    // (A scenario with a retry policy is refused: k6 runs each participant's journey once.)
    for (const b of BUILT_IN_SCENARIOS.filter((x) => !x.client.retry || x.client.retry.kind === 'none')) {
      const scenario = resolveScenario(b, 1);
      const e = await exportJourneyK6({ scenario, seed: 1, target: new URL('http://127.0.0.1:8080'), journey: { kind: 'reference' }, parallelism: 4 });
      const options = e.config.options as { tags: Record<string, string>; scenarios: { arrivals: { preAllocatedVUs: number; maxVUs: number } } };
      // Every built-in journey holds until the end: all participants are under way at once by the last arrival.
      const participants = scenario.phases.reduce((a, p) => a + p.participants, 0);
      expect(options.scenarios.arrivals.preAllocatedVUs, b.name).toBeGreaterThanOrEqual(participants);
      expect(options.scenarios.arrivals.maxVUs, b.name).toBeGreaterThanOrEqual(options.scenarios.arrivals.preAllocatedVUs);
      expect(Number(options.tags[K6_RUN_TAGS.planned]), b.name).toBe(participants);
    }
  });

  it('is checked for real: an entry with a type error fails the same check', async () => {
    const e = await exportJourneyK6({ scenario: resolveScenario(BUILT_IN_SCENARIOS[0]!, 0.01), seed: 1, target: new URL('http://127.0.0.1:8080'), journey: { kind: 'reference' }, parallelism: 1 });
    const r = typeCheck({ 'entry.ts': journeyCheck(e.journey).replace('participant(journeyModule, run, arrivals, rows)', 'participant(journeyModule, run, arrivals, rows, 1)') });
    expect(r.status).not.toBe(0);
    expect(r.output).toContain('Expected');
  });

  it('has k6 itself refuse every address but loopback and the allowed ones (blacklistIPs), and says so where names keep it from that', async () => {
    const scenario = resolveScenario(BUILT_IN_SCENARIOS[0]!, 0.01);
    const target = new URL('http://127.0.0.1:8080');
    const e = await exportJourneyK6({ scenario, seed: 1, target, journey: { kind: 'reference' }, parallelism: 1, allowHosts: ['10.1.2.3', '2001:db8::5'] });
    // One list per family: k6 (Go's IPNet) never matches an IPv4 address against an IPv6 range, which Node's BlockList would.
    const blocked = { ipv4: new BlockList(), ipv6: new BlockList() };
    for (const c of (e.config.options as { blacklistIPs: string[] }).blacklistIPs) {
      const [net, len] = c.split('/') as [string, string];
      const family = isIP(net) === 6 ? 'ipv6' : 'ipv4';
      blocked[family].addSubnet(net, Number(len), family);
    }
    const isBlocked = (ip: string) => (isIP(ip) === 6 ? blocked.ipv6.check(ip, 'ipv6') : blocked.ipv4.check(ip, 'ipv4'));
    expect(['127.0.0.1', '127.9.9.9', '10.1.2.3', '::1', '2001:db8::5'].filter(isBlocked)).toEqual([]);
    expect(['0.0.0.0', '10.1.2.2', '10.1.2.4', '192.0.2.1', '255.255.255.255', '::', '2001:db8::4', 'fe80::1'].filter((ip) => !isBlocked(ip))).toEqual([]);
    const named = await exportJourneyK6({ scenario, seed: 1, target, journey: { kind: 'reference' }, parallelism: 1, allowHosts: ['school.example'] });
    expect((named.config.options as { blacklistIPs?: string[] }).blacklistIPs).toBeUndefined();
    expect(named.notes.join('\n')).toContain("school.example is a name: k6 keeps to the allow-list by the script's own checks");
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

  it('writes script.js and testrun.yaml from the command line', async () => {
    const out = tempDir();
    const c = captureIo();
    expect(await main(['export', 'k6', 'monday-0800', '--target', 'http://127.0.0.1:8080', '--scale', '0.02', '--parallelism', '8', '--out', out], c.io)).toBe(EXIT.ok);
    expect(readFileSync(join(out, 'script.js'), 'utf8')).toContain('"firstbell_scale": "0.02"');
    expect(readFileSync(join(out, 'testrun.yaml'), 'utf8')).toContain('parallelism: 8');
  });

  it('asks for the k6 its journeys need (1.2) in the header and the TestRun, and stops at load on a k6 whose catch gets the wrong value (k6 finding 3)', async () => {
    const out = tempDir();
    const c = captureIo();
    expect(await main(['export', 'k6', join(EXAMPLES, 'json-login/steady.json'), '--target', 'http://127.0.0.1:8080', '--out', out], c.io), c.err()).toBe(EXIT.ok);
    const script = readFileSync(join(out, 'script.js'), 'utf8');
    expect(script.split('\n').slice(0, 5).join('\n')).toContain('k6 >= 1.2');
    expect(readFileSync(join(out, 'testrun.yaml'), 'utf8')).toContain('image: grafana/k6:1.2.0');
    // An engine that hands the catch `this` instead of the error, as k6 before 1.2 does: the script stops as it loads.
    const faulty = script.replace('e !== self()', 'e === self()');
    expect(faulty).not.toBe(script);
    await expect(runScript(faulty, tempDir(), [], {})).rejects.toThrow(/this script needs k6 v1\.2\.0 or later/);
    // A correct one runs it.
    await expect(runScript(script, tempDir(), [], {})).resolves.toMatchObject({ points: [] });
  });
});

describe('firstbell import k6', () => {
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

  it('does not confirm a run in which k6 left more than 1 % of the planned arrivals unsent: exit 99, the shortfall first in the headline', async () => {
    const dir = tempDir();
    const runTags = { [K6_RUN_TAGS.scenario]: 'monday-0800', [K6_RUN_TAGS.scale]: '0.003', [K6_RUN_TAGS.seed]: '1', [K6_RUN_TAGS.target]: 'http://127.0.0.1:8080/', [K6_RUN_TAGS.kind]: 'reference', ...REFERENCE_STEPS, [K6_RUN_TAGS.planned]: '384' };
    // 300 of the 384 planned participants, each logged in at once; k6 dropped the other 84 for want of a free VU.
    const rows = Array.from({ length: 300 }, (_, user) => csvRow({ user, layer: 'admission', step: 'login', intendedMs: 1000 + user * 100, startMs: 1000 + user * 100, endMs: 1020 + user * 100, outcome: 'ok', status: 200 }, 1.7e12, runTags));
    const f = join(dir, 'results.csv');
    writeFileSync(f, [K6_CSV_HEADER, ...rows, 'dropped_iterations,1700000031,84.000000,,,,,,,,,arrivals,,,,,,,'].join('\n') + '\n');
    const c = captureIo();
    expect(await main(['import', 'k6', f, '--out', tempDir(), '--json'], c.io), c.err()).toBe(EXIT.objectivesFailed);
    const summary = JSON.parse(c.out().slice(c.out().indexOf('{'))) as { verdict: string; passed: boolean; headline: string };
    expect(summary.passed).toBe(false);
    expect(summary.headline).toMatch(/^Not confirmed: k6 left 84 of 384 planned arrivals unsent \(21\.9 %; 84 dropped for want of a free VU\)/);
  });

  it('checks the run tags and times of the results, names the file and line, and exits 2 (never PASSED, never a hang)', async () => {
    const dir = tempDir();
    const sample: Sample = { user: 0, layer: 'admission', step: 'login', intendedMs: 1000, startMs: 1000, endMs: 1010, outcome: 'ok', status: 200 };
    const tags = (o: Record<string, string>) => ({ [K6_RUN_TAGS.scenario]: 'monday-0800', [K6_RUN_TAGS.scale]: '0.003', [K6_RUN_TAGS.seed]: '1', [K6_RUN_TAGS.target]: 'http://127.0.0.1:8080/', [K6_RUN_TAGS.kind]: 'reference', ...REFERENCE_STEPS, ...o });
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

describe('firstbell export k6 of a user journey', () => {
  const journeys = readdirSync(EXAMPLES).map((d) => join(EXAMPLES, d, 'journey.ts')).filter((f) => existsSync(f));

  it("bundles every journey in examples/ with firstbell's k6 runtime into one script whose entry and runtime type-check against @types/k6", async () => {
    expect(journeys.length).toBeGreaterThanOrEqual(3);
    const scenario = resolveScenario(BUILT_IN_SCENARIOS[0]!, 0.002);
    const entries: Record<string, string> = {};
    for (const [k, journey] of journeys.entries()) {
      const e = await exportJourneyK6({ scenario, seed: 1, target: new URL('http://127.0.0.1:8080'), journey: { module: journey }, parallelism: 2 });
      entries[`entry-${k}.ts`] = journeyCheck(e.journey);
      // One script: k6's own modules are its only imports; nothing of Node.js.
      const imports = [...e.script.matchAll(/^import .* from "([^"]+)";$/gm)].map((m) => m[1]!);
      expect(imports.every((m) => m === 'k6' || m.startsWith('k6/')), `${journey}: ${imports.join(', ')}`).toBe(true);
      expect(e.script).toContain(`"${K6_RUN_TAGS.kind}": "journey"`);
      expect(e.manifest).toContain('file: script.js');
    }
    // The entries import the runtime, which is checked with them.
    const r = typeCheck(entries);
    expect(r.output).toBe('');
    expect(r.status).toBe(0);
    // A mistake in a use of k6 is caught by the same check.
    const broken = typeCheck({ 'broken.ts': `import http from 'k6/http';\nhttp.asyncRequest('GET', 'http://127.0.0.1/', null, { redirects: 'none' });\n` });
    expect(broken.status).not.toBe(0);
  });

  it('refuses at export what k6 cannot do, naming the file, the line and the way out (exit 2)', async () => {
    const dir = tempDir('firstbell-k6-');
    const journey = (body: string, head = "import { defineJourney } from 'firstbell';") =>
      `${head}\nexport default defineJourney({\n  steps: { login: 'admission' },\n  async journey(vu) {\n${body}\n    return 'joined';\n  },\n});\n`;
    const cases: [string, string, RegExp][] = [
      ['node.ts', journey("    await vu.step('login', async () => readFileSync('x'));", "import { defineJourney } from 'firstbell';\nimport { readFileSync } from 'node:fs';"), /node\.ts:2: imports node:fs, which k6 does not have/],
      ['crypto.ts', journey("    await vu.step('login', async () => randomBytes(8));", "import { defineJourney } from 'firstbell';\nimport { randomBytes } from 'node:crypto';"), /crypto\.ts:2: imports randomBytes from node:crypto, which a k6 script does not have.*createHash and createHmac/],
      ['url.ts', journey("    const u = new URL('/login', vu.origin);\n    await vu.step('login', (signal) => vu.http.request('GET', u.pathname, { signal }));"), /url\.ts:5: uses URL, which k6 does not have.*fix: use vu\.target and plain strings/],
      ['run.ts', journey("    await vu.step('login', async () => runScenario);", "import { defineJourney, runScenario } from 'firstbell';"), /imports runScenario from 'firstbell', which a k6 script does not have/],
    ];
    for (const [name, source, want] of cases) {
      writeFileSync(join(dir, name), source);
      const c = captureIo();
      expect(await main(['export', 'k6', 'monday-0800', '--journey', join(dir, name), '--target', 'http://127.0.0.1:8080', '--out', tempDir()], c.io), name).toBe(EXIT.usage);
      expect(c.err(), name).toMatch(want);
    }
    const retry = captureIo();
    expect(await main(['export', 'k6', join(EXAMPLES, 'json-login/outage-reload.ts'), '--target', 'http://127.0.0.1:8080', '--out', tempDir()], retry.io)).toBe(EXIT.usage);
    expect(retry.err()).toMatch(/client\.retry: k6 runs each participant's journey once/);
  });

  it("reads the results of a user journey's script back with its steps and goals from the tags, and its scenario file", async () => {
    const scenarioFile = join(EXAMPLES, 'json-login/steady.json');
    const out = tempDir();
    const c = captureIo();
    expect(await main(['export', 'k6', scenarioFile, '--target', 'http://127.0.0.1:8080', '--scale', '1', '--out', out], c.io), c.err()).toBe(EXIT.ok);
    const script = readFileSync(join(out, 'script.js'), 'utf8');
    const runTags = JSON.parse(/"tags": (\{[^}]*\})/.exec(script)![1]!) as Record<string, string>;
    expect(stepsOfTag(runTags[K6_RUN_TAGS.steps]!)).toEqual([
      { step: 'login', layer: 'admission' }, { step: 'lesson', layer: 'broker' }, { step: 'classroom', layer: 'media', goal: 'journey' }, { step: 'heartbeat', layer: 'media', held: true },
    ]);
    const rows = Array.from({ length: 100 }, (_, user) => ['login', 'lesson', 'classroom'].map((step, k) =>
      csvRow({ user, layer: (['admission', 'broker', 'media'] as const)[k]!, step, intendedMs: user * 50 + k * 20, startMs: user * 50 + k * 20, endMs: user * 50 + k * 20 + 10, outcome: 'ok', status: 0 }, 1.7e12, runTags),
    )).flat();
    const f = join(tempDir(), 'results.csv');
    writeFileSync(f, [K6_CSV_HEADER, ...rows].join('\n') + '\n');
    const without = captureIo();
    expect(await main(['import', 'k6', f, '--out', tempDir()], without.io)).toBe(EXIT.usage);
    expect(without.err()).toContain("scenario 'steady-pupils', which is not built in; give the scenario file the script was exported from with --scenario FILE");
    const r = captureIo();
    expect(await main(['import', 'k6', f, '--scenario', scenarioFile, '--out', tempDir(), '--json'], r.io), r.err()).toBe(EXIT.ok);
    const summary = JSON.parse(r.out()) as { users: { arrived: number; joined: number }; target: { kind: string } };
    expect(summary.users).toMatchObject({ arrived: 100, joined: 100 });
    expect(summary.target.kind).toBe('journey');
  });
});

describe('firstbell import k6 judges k6 as firstbell judges itself', () => {
  const scenarioFile = join(PACKAGE_ROOT, 'examples/json-login/steady.json');
  let runTags: Record<string, string>;
  let offsets: Float64Array;
  const STEPS = [['login', 'admission'], ['lesson', 'broker'], ['classroom', 'media']] as const;

  /** The results k6 would write for each participant of steady-pupils at scale 1 (its step `k` ending as `end(user, k)` says), starting when `start` says. */
  function results(start: (user: number, planned: number) => number, end: (user: number, k: number) => Partial<Sample> = () => ({})): string[] {
    return Array.from(offsets, (planned, user) => STEPS.map(([step, layer], k) => {
      const at = start(user, planned) + k * 20;
      return csvRow({ user, layer, step, intendedMs: at, startMs: at, endMs: at + 10, outcome: 'ok', status: 200, ...end(user, k) }, 1.7e12, runTags);
    })).flat();
  }

  async function importRows(rows: string[], tail = '\n'): Promise<{ code: number; out: string; err: string; summary?: Record<string, any> }> {
    const f = join(tempDir(), 'results.csv');
    writeFileSync(f, [K6_CSV_HEADER, ...rows].join('\n') + tail);
    const text = captureIo();
    const code = await main(['import', 'k6', f, '--scenario', scenarioFile, '--out', tempDir()], text.io);
    const json = captureIo();
    await main(['import', 'k6', f, '--scenario', scenarioFile, '--out', tempDir(), '--json'], json.io);
    return { code, out: text.out(), err: text.err(), summary: code === EXIT.usage ? undefined : (JSON.parse(json.out()) as Record<string, any>) };
  }

  it('sets up the script of steady-pupils', async () => {
    const out = tempDir();
    const c = captureIo();
    expect(await main(['export', 'k6', scenarioFile, '--target', 'http://127.0.0.1:8080', '--scale', '1', '--out', out], c.io), c.err()).toBe(EXIT.ok);
    runTags = JSON.parse(/"tags": (\{[^}]*\})/.exec(readFileSync(join(out, 'script.js'), 'utf8'))![1]!) as Record<string, string>;
    const { buildPlan } = await import('../plan/plan.js');
    const { loadScenarioFile } = await import('../modules/scenario.js');
    offsets = buildPlan(resolveScenario(await loadScenarioFile(scenarioFile), 1), 1).schedule.offsetsMs;
    expect(offsets.length).toBe(100);
  });

  it('marks the seconds in which k6 started participants late as generator-bound (starts shifted 500 ms in one second), never the target (k6 finding 1)', async () => {
    const onTime = await importRows(results((_, planned) => planned));
    expect(onTime.code, onTime.out + onTime.err).toBe(EXIT.ok);
    expect(onTime.summary!.generator).toMatchObject({ late: 0, suspectSeconds: [] });

    // The 20 participants the plan has in its third second start 500 ms late, bunched with the next second's.
    const late = await importRows(results((_, planned) => (Math.floor(planned / 1000) === 2 ? planned + 500 : planned)));
    expect(late.code).toBe(EXIT.objectivesFailed);
    expect(late.summary!.verdict).toBe('generator-bound');
    expect(late.summary!.generator).toMatchObject({ late: 20, suspectSeconds: [2] });
    expect(late.summary!.generator.worstSendLagMs).toBeGreaterThanOrEqual(450);
    expect(late.summary!.headline).toMatch(/^k6 started participants late \(behind the plan\) in 1 s \(08:00:02\)/);
    expect(late.summary!.generator.note).toContain('20 of them more than 100 ms after their place in the plan');
  });

  it("counts the script's thresholds in the verdict and the exit code, in one voice: a failed threshold is never PASSED (k6 finding 2)", async () => {
    // Three classroom joins of 100 fail, one in each of three seconds apart: no second breaks the media layer for
    // long, but over the whole run 3 % of its attempts failed, where the script's threshold allows under 1 %.
    const r = await importRows(results((_, planned) => planned, (user, k) => (k === 2 && user % 40 === 5 ? { outcome: 'http', status: 500 } : {})));
    expect(r.code).toBe(EXIT.objectivesFailed);
    expect(r.summary!.verdict).toBe('failed');
    expect(r.summary!.k6Thresholds).toEqual(expect.arrayContaining([expect.objectContaining({ layer: 'media', passed: false, errorRate: 0.03 }), expect.objectContaining({ layer: 'admission', passed: true })]));
    expect(r.summary!.headline).toContain("k6's thresholds failed over the whole run, on every runner's samples together: the media layer's p95 10 ms (limit 1000 ms), errors 3.00 % (limit 1.00 %)");
    expect(r.out).toMatch(/^FAILED: /m);
    expect(r.out).toMatch(/^ {2}k6 {8}media threshold FAILED on every runner's samples together: p95 10 ms \(limit 1000 ms\), errors 3\.00 % \(limit 1\.00 %\)$/m);
  });

  it('counts what a results file has when its last line is cut short, and names it; refuses a file k6 is still writing (k6 finding 4)', async () => {
    const rows = results((_, planned) => planned);
    const cut = rows[rows.length - 1]!.slice(0, 80);
    const r = await importRows([...rows.slice(0, -1), cut], '');
    expect(r.code, r.out + r.err).toBe(EXIT.ok);
    expect(r.out).toContain(`imported ${rows.length - 1} samples from 1 runner`);
    expect(r.out).toContain("note      results.csv: its last line was cut short (80 bytes without the newline k6 ends each line with: a runner stopped while writing it) and is left out");
    expect(r.summary!.generator.note).toContain('results.csv: its last line was cut short');
    // All 100 participants started: one missing sample does not make the run short of its plan.
    expect(r.summary!.users).toMatchObject({ arrived: 100 });

    // A file that grows while it is read.
    const f = join(tempDir(), 'growing.csv');
    const many = Array.from({ length: 40 }, () => rows).flat();
    writeFileSync(f, [K6_CSV_HEADER, ...many].join('\n') + '\n');
    const { appendFileSync } = await import('node:fs');
    const writer = setInterval(() => appendFileSync(f, `${rows[0]}\n`), 5);
    try {
      const c = captureIo();
      expect(await main(['import', 'k6', f, '--scenario', scenarioFile, '--out', tempDir()], c.io)).toBe(EXIT.usage);
      expect(c.err()).toMatch(new RegExp(`${f}: changed while it was read \\(\\d+ bytes, then \\d+\\): k6 is still writing it; import the results once k6 has finished`));
    } finally {
      clearInterval(writer);
    }
  });
});
