// A target that answers too much, or breaks the WebSocket protocol: each participant reads a bounded amount, the
// step fails with its own outcome, and firstbell's processes stay small.
import { spawn } from 'node:child_process';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { processTree } from '../lib/process-tree.js';
import { PACKAGE_ROOT } from '../lib/version.js';
import { startHostile, type Hostile } from './servers/hostile.js';
import { runScenario, steadyScenario, tempDir } from './helpers.js';

let hostile: Hostile;
beforeAll(async () => {
  hostile = await startHostile();
});
afterAll(async () => {
  await hostile?.close();
});

const JOURNEY = `import { defineJourney } from 'firstbell';
export default defineJourney({
  steps: { big: 'admission', chunked: 'admission', frag: 'media', garbage: 'media', masked: 'media', held: 'media' },
  holds: false,
  async journey(vu) {
    await vu.step('big', (signal) => vu.http.request('GET', '/big', { signal }));
    await vu.step('chunked', (signal) => vu.http.request('GET', '/chunked', { signal }));
    await vu.step('frag', async (signal) => {
      const ws = await vu.ws('/frag', signal);
      await ws.waitFor(() => true, { signal, timeoutMs: 20_000 });
    });
    await vu.step('garbage', async (signal) => {
      const ws = await vu.ws('/garbage', signal);
      await ws.waitFor(() => true, { signal, timeoutMs: 20_000 });
    });
    await vu.step('masked', async (signal) => {
      const ws = await vu.ws('/masked', signal);
      await ws.waitFor(() => true, { signal, timeoutMs: 20_000 });
    });
    // The small held WebSocket firstbell keeps for heartbeats reads frames itself.
    await vu.step('held', async (signal) => {
      const ws = await vu.ws(new URL('/frag', vu.origin.replace('http', 'ws')).href, signal);
      await ws.waitFor(() => true, { signal, timeoutMs: 20_000 });
    });
    return 'joined';
  },
});
`;

describe('answers that are too large, and WebSocket peers that break the protocol', () => {
  it('fail their steps as too_large and ws_protocol at once, while the firstbell process tree stays under 500 MB', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'firstbell-hostile-'));
    writeFileSync(join(dir, 'journey.ts'), JOURNEY);
    writeFileSync(join(dir, 'hostile.json'), JSON.stringify({ name: 'hostile', journey: './journey.ts', phases: [{ name: 'few', startMs: 0, durationMs: 2_000, participants: 20, curve: { kind: 'uniform' } }], observeMs: 3_000, client: { stepTimeoutMs: 30_000 } }));
    const child = spawn(process.execPath, [join(PACKAGE_ROOT, 'dist', 'cli.js'), 'run', join(dir, 'hostile.json'), '--target', hostile.url, '--scale', '1', '--max-answer', '4MB', '--out', tempDir(), '--no-progress', '--json', '--no-typecheck'], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    let peakMb = 0;
    const meter = setInterval(() => {
      const mb = processTree(child.pid!).reduce((a, p) => a + p.rssPages * 4096, 0) / 1e6;
      peakMb = Math.max(peakMb, mb);
    }, 100);
    const code = await new Promise<number | null>((r) => child.once('exit', r));
    clearInterval(meter);
    expect([0, 99], err).toContain(code);
    const summary = JSON.parse(out) as { steps: { step: string; attempts: number; failed: number; p95Ms: number; failures: { kind: string }[] }[] };
    const kinds = Object.fromEntries(summary.steps.map((s) => [s.step, s.failures.map((f) => f.kind)]));
    console.info(`measured: peak resident memory of the firstbell process tree ${Math.round(peakMb)} MB; outcomes ${JSON.stringify(kinds)}`);
    expect(kinds).toEqual({ big: ['too_large'], chunked: ['too_large'], frag: ['too_large'], garbage: ['ws_protocol'], masked: ['ws_protocol'], held: ['too_large'] });
    for (const s of summary.steps) expect(s.failed, s.step).toBe(20);
    expect(peakMb).toBeLessThan(500);
  }, 120_000);
});

describe('the janus kind against the same WebSocket peers', () => {
  it('names a reserved opcode and a masked server frame ws_protocol, and endless fragments too_large, as the reference kind does (probe 11)', async () => {
    const kinds: Record<string, unknown> = {};
    for (const path of ['/garbage', '/masked', '/frag']) {
      const platform = { journey: 'janus', target: `${hostile.url.replace(/^http/, 'ws')}${path}` };
      const r = await runScenario({ scenario: steadyScenario(2, 1_000, []), seed: 1, platform, outDir: tempDir(), maxAnswerBytes: 1_000_000 });
      kinds[path] = r.series.total((d) => d.step === 'connect').failures;
    }
    expect(kinds).toEqual({ '/garbage': { ws_protocol: 2 }, '/masked': { ws_protocol: 2 }, '/frag': { too_large: 2 } });
  }, 60_000);
});

describe("each run's network policy is its own", () => {
  it('keeps two runs in one process apart: the one with a 1 kB answer limit fails a 4 kB answer as too_large while the other, at the same time, reads it', async () => {
    const server = createServer((_req, res) => res.end('x'.repeat(4_096)));
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/`;
    try {
      const scenario = steadyScenario(10, 1_000, []);
      const [small, large] = await Promise.all([
        runScenario({ scenario, seed: 1, platform: { journey: 'http', target: url }, outDir: tempDir(), maxAnswerBytes: 1_024 }),
        runScenario({ scenario, seed: 1, platform: { journey: 'http', target: url }, outDir: tempDir() }),
      ]);
      const requests = (r: typeof small) => r.series.total((d) => d.step === 'request');
      expect(requests(small)).toMatchObject({ attempts: 10, failed: 10, failures: { too_large: 10 } });
      expect(requests(large)).toMatchObject({ attempts: 10, failed: 0 });
    } finally {
      server.close();
    }
  });
});

describe("a journey's own preflight", () => {
  const journey = (preflight: string) => `import { defineJourney } from 'firstbell';
export default defineJourney({
  steps: { login: 'admission' },
  holds: false,
  preflight: ${preflight},
  async journey(vu) {
    await vu.step('login', (signal) => vu.http.request('GET', '/', { signal }));
    return 'joined';
  },
});
`;

  it('that never settles ends the run before the start as a target that did not answer (exit 3, not exit 0; probe 2)', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'firstbell-preflight-'));
    writeFileSync(join(dir, 'j.ts'), journey('() => new Promise<void>(() => undefined)'));
    const child = spawn(process.execPath, [join(PACKAGE_ROOT, 'dist', 'cli.js'), 'run', 'monday-0800', '--journey', join(dir, 'j.ts'), '--target', 'http://127.0.0.1:9/', '--scale', '0.001', '--out', tempDir(), '--no-progress', '--no-typecheck'], { stdio: ['ignore', 'pipe', 'pipe'] });
    let err = '';
    child.stderr.on('data', (d: Buffer) => (err += d));
    const code = await new Promise<number | null>((r) => child.on('close', r));
    expect(code, err).toBe(3);
    expect(err).toContain("did not pass the journey's preflight before the start: no answer within 5000 ms");
  }, 30_000);

  it('that throws says why, as a target that did not answer (probe 2)', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'firstbell-preflight-'));
    writeFileSync(join(dir, 'j.ts'), journey("async () => { throw new Error('the login page is down for maintenance'); }"));
    await expect(runScenario({ scenario: steadyScenario(1, 1_000, []), seed: 1, platform: { journey: join(dir, 'j.ts'), target: 'http://127.0.0.1:9/' }, outDir: tempDir() }))
      .rejects.toThrow("target http://127.0.0.1:9 did not pass the journey's preflight before the start: the login page is down for maintenance");
  }, 30_000);
});
