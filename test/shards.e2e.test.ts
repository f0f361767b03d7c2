// firstbell's own shards: the pods' commands of `export k8s` run here as processes, merged into one run, against a
// single-process run of the same seed; a shard killed mid-run is named by the merge.
import { spawn } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, readdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EXIT, main } from '../cli.js';
import { readRunInfo, readSamples } from '../run-folder/run-folder.js';
import { captureIo, tempDir } from './helpers.js';
import { startSchoolApp, type SchoolApp } from './servers/school-app.js';

const ROOT = new URL('../', import.meta.url).pathname;
const STEADY = join(ROOT, 'examples/json-login/steady.json');

/** The shell line of a pod in a manifest written by export k8s (its one `args` entry). */
function podCommand(yaml: string): string {
  const m = /args:\n\s+- (".*")\n/.exec(yaml);
  if (!m) throw new Error('no args in the manifest');
  return JSON.parse(m[1]!) as string;
}

/** Runs a pod's command as a process: `firstbell` on the PATH, the volume and ConfigMap mounts as folders here. */
function pod(command: string, env: Record<string, string>, mounts: { runs: string; scenario: string; bin: string }): { done: Promise<{ code: number | null; signal: string | null; out: string; err: string }>; kill: () => void } {
  const local = command.replaceAll('/runs/', `${mounts.runs}/`).replaceAll('/scenario/', `${mounts.scenario}/`);
  const child = spawn('sh', ['-c', local], { env: { ...process.env, ...env, PATH: `${mounts.bin}:${process.env.PATH}` }, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  child.stdout.on('data', (d: Buffer) => (out += d));
  child.stderr.on('data', (d: Buffer) => (err += d));
  const done = new Promise<{ code: number | null; signal: string | null; out: string; err: string }>((r) => child.on('close', (code, signal) => r({ code, signal, out, err })));
  return { done, kill: () => child.kill('SIGKILL') };
}

/** Each participant's arrival as the samples have it: the intended start of its first step. */
async function arrivals(dir: string): Promise<Map<number, number>> {
  const first = new Map<number, number>();
  for await (const s of readSamples(dir)) {
    const had = first.get(s.user);
    if (had === undefined || s.intendedMs < had) first.set(s.user, s.intendedMs);
  }
  return first;
}

describe('shards on one machine, as the Kubernetes Job runs them', () => {
  let app: SchoolApp;
  let k8s: string;
  let runs: string;
  let mounts: { runs: string; scenario: string; bin: string };
  beforeAll(async () => {
    app = await startSchoolApp();
    k8s = tempDir('firstbell-k8s-');
    runs = tempDir('firstbell-runs-');
    const bin = tempDir('firstbell-bin-');
    // The image has firstbell on its PATH; here it is this package's build.
    writeFileSync(join(bin, 'firstbell'), `#!/bin/sh\nexec "${process.execPath}" "${join(ROOT, 'dist/cli.js')}" "$@"\n`);
    chmodSync(join(bin, 'firstbell'), 0o755);
    mounts = { runs, scenario: join(k8s, 'scenario'), bin };
  });
  afterAll(() => app?.close());

  it('export k8s writes an Indexed Job of N pods, the merge Job, the volume, start.sh and the scenario folder, and ships no file from outside that folder (probe 7)', async () => {
    const d = captureIo();
    const code = await main(['export', 'k8s', STEADY, '--target', app.url, '--scale', '1', '--shards', '2', '--out', k8s], d.io);
    expect(code, d.err()).toBe(EXIT.ok);
    const shards = readFileSync(join(k8s, 'shards.yaml'), 'utf8');
    expect(shards).toMatch(/completionMode: Indexed\n\s+completions: 2\n\s+parallelism: 2\n\s+backoffLimit: 0/);
    expect(podCommand(shards)).toContain('--shard "$((JOB_COMPLETION_INDEX + 1))/2" --start-at "$START_AT"');
    expect(readFileSync(join(k8s, 'merge.yaml'), 'utf8')).toContain('firstbell merge');
    expect(readFileSync(join(k8s, 'volume.yaml'), 'utf8')).toContain('ReadWriteMany');
    expect(readFileSync(join(k8s, 'start.sh'), 'utf8')).toContain('kubectl create configmap');
    expect(readdirSync(join(k8s, 'scenario')).sort()).toEqual(['journey.ts', 'outage-backoff.ts', 'outage-reload.ts', 'pupils.csv', 'ramp.ts', 'steady.json']);

    // A link in the scenario's folder is not followed into the ConfigMap.
    const linked = tempDir('firstbell-linked-');
    for (const f of ['steady.json', 'journey.ts', 'pupils.csv']) writeFileSync(join(linked, f), readFileSync(join(ROOT, 'examples/json-login', f)));
    symlinkSync('/etc/passwd', join(linked, 'passwd'));
    const link = captureIo();
    expect(await main(['export', 'k8s', join(linked, 'steady.json'), '--target', app.url, '--out', tempDir()], link.io)).toBe(EXIT.usage);
    expect(link.err()).toContain(`${join(linked, 'passwd')}: a symbolic link in the scenario's folder`);

    // A journey that imports code from outside its folder cannot run in the pods, which get that folder only.
    const parent = tempDir('firstbell-imports-');
    const inner = join(parent, 'scenario');
    mkdirSync(inner);
    writeFileSync(join(parent, 'shared.ts'), 'export const room = (n: number): string => `room-${n}`;\n');
    for (const f of ['steady.json', 'pupils.csv']) writeFileSync(join(inner, f), readFileSync(join(ROOT, 'examples/json-login', f)));
    writeFileSync(join(inner, 'journey.ts'), `import { room } from '../shared.ts';\n${readFileSync(join(ROOT, 'examples/json-login/journey.ts'), 'utf8')}\nexport const r = room(1);\n`);
    const outside = captureIo();
    expect(await main(['export', 'k8s', join(inner, 'steady.json'), '--target', app.url, '--out', tempDir()], outside.io)).toBe(EXIT.usage);
    expect(outside.err()).toContain(`${join(inner, 'journey.ts')}: imports ${join(parent, 'shared.ts')}, which the pods do not get: a ConfigMap carries only the files beside the scenario, no folders; put it beside journey.ts`);

    // A scenario that names a file outside its folder cannot be shipped in its ConfigMap.
    const bad = captureIo();
    expect(await main(['export', 'k8s', STEADY, '--target', 'http://10.0.0.9:8080', '--out', tempDir()], bad.io)).toBe(EXIT.usage);
    expect(bad.err()).toContain('--allow-target 10.0.0.9');
  });

  it("two shards 3 s ahead, merged, send a single process's arrivals; a shard killed mid-run is named and the merge is not confirmed", async () => {
    const shardCmd = podCommand(readFileSync(join(k8s, 'shards.yaml'), 'utf8'));
    const mergeCmd = podCommand(readFileSync(join(k8s, 'merge.yaml'), 'utf8'));
    // Both shards start 3 s after they are launched.
    const startAt = new Date(Date.now() + 3_000).toISOString();
    const ended = await Promise.all([0, 1].map((i) => pod(shardCmd, { JOB_COMPLETION_INDEX: String(i), START_AT: startAt }, mounts).done));
    expect(ended[0]!.code, ended[0]!.err).toBe(EXIT.ok);
    expect(ended[1]!.code, ended[1]!.err).toBe(EXIT.ok);
    for (const e of ended) expect(e.err).toMatch(/waiting for .* \(in [0-9.]+ s\)/);

    const folder = join(runs, 'firstbell-steady-pupils', startAt);
    const shardDirs = readdirSync(folder).filter((n) => n.includes('-shard-')).sort().map((n) => join(folder, n));
    expect(shardDirs).toHaveLength(2);
    for (const [k, dir] of shardDirs.entries()) {
      const info = readRunInfo(dir);
      expect(info.shard).toMatchObject({ index: k + 1, count: 2, startAt: new Date(startAt).toISOString() });
      expect(info.zeroEpochMs).toBe(Date.parse(startAt));
      expect(Math.abs(info.shard!.startSkewMs!)).toBeLessThanOrEqual(5);
      expect(info.generator).toMatchObject({ arrivalsPlanned: 50, arrivalsSent: 50 });
    }

    const merged = pod(mergeCmd, { START_AT: startAt }, mounts);
    const m = await merged.done;
    expect(m.code, m.err + m.out).toBe(EXIT.ok);
    expect(m.out).toContain('merged 2 of 2 shards');
    const mergedDir = readdirSync(folder).filter((n) => n.endsWith('-merged')).map((n) => join(folder, n))[0]!;
    expect(existsSync(join(mergedDir, 'report.html'))).toBe(true);
    const html = readFileSync(join(mergedDir, 'report.html'), 'utf8');
    expect(html).toContain('id="shards"');
    const info = readRunInfo(mergedDir);
    expect(info.shards?.members.map((s) => s.index)).toEqual([1, 2]);
    expect(info.generator).toMatchObject({ arrivalsPlanned: 100, arrivalsSent: 100 });

    // Meanwhile: another pair, whose shard 2 is killed 3 s into the run, and the same scenario and seed from one process.
    const otherRuns = tempDir('firstbell-runs-');
    const at2 = new Date(Date.now() + 6_000).toISOString();
    const pair = [0, 1].map((i) => pod(shardCmd, { JOB_COMPLETION_INDEX: String(i), START_AT: at2 }, { ...mounts, runs: otherRuns }));
    setTimeout(pair[1]!.kill, Date.parse(at2) + 3_000 - Date.now());
    const single = tempDir('firstbell-single-');
    const d = captureIo();
    const singleCode = await main(['run', STEADY, '--target', app.url, '--scale', '1', '--out', single, '--no-progress', '--json'], d.io);
    const singleDir = join(single, readdirSync(single)[0]!);
    // It shares the cores with the pair: its generator may fall behind (and then not judge), never the target fail.
    const singleVerdict = (JSON.parse(readFileSync(join(singleDir, 'summary.json'), 'utf8')) as { verdict: string }).verdict;
    expect(singleVerdict, d.err()).not.toBe('failed');
    expect(singleCode, d.err()).toBe(singleVerdict === 'passed' ? EXIT.ok : EXIT.objectivesFailed);
    // The same participants, each intended at the same instant.
    const a = await arrivals(mergedDir);
    const b = await arrivals(singleDir);
    expect(a.size).toBe(100);
    expect([...a.entries()].sort((x, y) => x[0] - y[0])).toEqual([...b.entries()].sort((x, y) => x[0] - y[0]));

    // Shard 1 with the killed shard 2: the merge names it, and the verdict is not confirmed.
    const [kept, killed] = await Promise.all(pair.map((p) => p.done));
    expect(killed!.signal, killed!.out + killed!.err).toBe('SIGKILL');
    const folder2 = join(otherRuns, 'firstbell-steady-pupils', at2);
    const dirs2 = readdirSync(folder2).sort().map((n) => join(folder2, n));
    // Four generators share the two cores here: the shard kept may find its own generator behind (and so not judge
    // the target), but never the target failing.
    const keptVerdict = (JSON.parse(readFileSync(join(dirs2[0]!, 'summary.json'), 'utf8')) as { verdict: string }).verdict;
    expect(keptVerdict, kept!.out + kept!.err).not.toBe('failed');
    expect(kept!.code, kept!.out + kept!.err).toBe(keptVerdict === 'passed' ? EXIT.ok : EXIT.objectivesFailed);
    const out = tempDir();
    const k = captureIo();
    const code = await main(['merge', ...dirs2, '--out', out], k.io);
    expect(code, k.err()).toBe(EXIT.objectivesFailed);
    expect(k.out()).toMatch(/shard 2: killed before its end/);
    expect(k.out()).toMatch(/Not confirmed: shard 2 of 2 was killed before its end/);
  }, 60_000);

  it('refuses what cannot be merged or sharded, naming the fix', async () => {
    const cases: [string[], RegExp][] = [
      [['run', STEADY, '--target', app.url, '--shard', '1/2'], /add --start-at/],
      [['run', STEADY, '--target', app.url, '--shard', '3/2', '--start-at', '2099-01-01T08:00:00Z'], /from 1 to 2/],
      [['run', STEADY, '--target', app.url, '--start-at', '2020-01-01T08:00:00Z'], /ago; give an instant far enough ahead/],
      [['run', STEADY, '--target', app.url, '--start-at', '2099-01-01 08:00'], /ISO 8601 instant with its zone/],
      [['merge', tempDir()], /no run.json here/],
    ];
    for (const [args, message] of cases) {
      const d = captureIo();
      expect(await main([...args, '--out', tempDir()], d.io), args.join(' ')).toBe(EXIT.usage);
      expect(d.err()).toMatch(message);
    }
  });
});
