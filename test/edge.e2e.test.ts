// Verdicts at the edge of the machine: the generator near its own limit never blames the target, and a target's
// real limits and death are found whatever the load's shape. Each test knows its target's truth.
import { spawn, type ChildProcess } from 'node:child_process';
import { readdirSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { load } from '../api/load.js';
import { EXIT, main } from '../cli.js';
import { writeReport } from '../reports/build-report.js';
import { readRunInfo } from '../run-folder/run-folder.js';
import { captureIo, tempDir } from './helpers.js';
import { startNginx } from './servers/nginx.js';
import { startHoldServer } from './servers/truth.js';

const JOURNEYS = new URL('./journeys/', import.meta.url).pathname;
const WS_TARGET = new URL('./servers/ws-target.mjs', import.meta.url).pathname;

/** The WebSocket target in a process of its own; its URL once it listens. */
async function startTarget(env: Record<string, string>): Promise<{ url: string; child: ChildProcess; probe: () => Promise<{ joins: number; pings: number }> }> {
  const child = spawn(process.execPath, [WS_TARGET], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'inherit'] });
  const url = await new Promise<string>((r) => child.stdout!.once('data', (d: Buffer) => r(String(d).trim())));
  return { url, child, probe: async () => (await (await fetch(`${url}/probe`, { signal: AbortSignal.timeout(5_000) })).json()) as { joins: number; pings: number } };
}

const children: ChildProcess[] = [];
afterEach(() => {
  for (const c of children.splice(0)) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
});

/** Runs a scenario file (JSON, with a journey from test/journeys) against `target`; its summary, run folder and run.json. */
async function run(scenario: Record<string, unknown>, target: string, args: string[] = []) {
  const dir = tempDir('firstbell-edge-');
  const file = join(dir, 'scenario.json');
  writeFileSync(file, JSON.stringify({ description: 'a known truth', observeMs: 2_000, ...scenario, journey: join(JOURNEYS, String(scenario.journey)) }));
  const out = tempDir();
  const d = captureIo();
  const code = await main(['run', file, '--target', target, '--scale', '1', '--out', out, '--no-progress', '--json', ...args], d.io);
  const folder = join(out, readdirSync(out)[0]!);
  return { code, err: d.err(), summary: JSON.parse(d.out()) as Record<string, any>, folder, info: readRunInfo(folder) };
}

const layer = (s: Record<string, any>, name: string) => (s.layers as Record<string, any>[]).find((l) => l.layer === name)!;

describe('join-and-leave cycles at the rate that stalled the workers', () => {
  it('keep their schedule with thousands in flight, and never call a target that kept answering down or limited', async () => {
    // Each join is answered after 2 s (about 1,000 participants in flight) and the target keeps its side of a
    // connection open 30 s after the participant left: 500 new connections a second fill the ports of one source
    // address within 30 s, where every connect used to cost the kernel a search of them all.
    const t = await startTarget({ MODE: 'cycle', DELAY_MS: '2000', LINGER_MS: '30000' });
    children.push(t.child);
    const r = await run({
      name: 'ws-cycles', journey: 'ws-cycle.ts', phases: [{ name: 'steady', startMs: 0, durationMs: 50_000, participants: 25_000, curve: { kind: 'uniform' } }],
      client: { thinkTimeMs: 0, stepTimeoutMs: 10_000 }, objectives: { media: { maxErrorRate: 0.01, p95Ms: 5_000 } },
    }, t.url);
    const g = r.info.generator!;
    console.info(`measured: ${g.arrivalsSent} of ${g.arrivalsPlanned} sent, ${g.late} late (${((g.late / g.arrivalsSent) * 100).toFixed(1)} %), ${r.summary.generator.suspectSeconds.length} generator-bound seconds; ${r.summary.verdict}`);
    // The target stayed up and kept answering, all along and after.
    expect(t.child.exitCode).toBeNull();
    expect(() => process.kill(t.child.pid!, 0)).not.toThrow();
    expect((await t.probe()).joins).toBeGreaterThanOrEqual(24_000);
    expect(r.summary.targetDown, r.summary.headline).toBeNull();
    expect(r.summary.silence).toBeNull();
    expect(layer(r.summary, 'media').connectionLimit).toBeNull();
    // At least 95 % of the arrivals left within 100 ms of their instant.
    expect(g.arrivalsSent).toBe(25_000);
    expect(g.late / g.arrivalsSent).toBeLessThanOrEqual(0.05);
    expect(r.summary.verdict, r.summary.headline).not.toBe('failed');
  }, 120_000);
});

describe('a target killed at a known instant under load', () => {
  it('went down within a second of its death, from its own resets and refusals', async () => {
    const t = await startTarget({ MODE: 'hold' });
    children.push(t.child);
    const out = tempDir();
    const dir = tempDir('firstbell-edge-');
    writeFileSync(join(dir, 'scenario.json'), JSON.stringify({
      name: 'killed', journey: join(JOURNEYS, 'hold.ts'), observeMs: 2_000, client: { heartbeatMs: 1_000, stepTimeoutMs: 5_000 },
      phases: [{ name: 'steady', startMs: 0, durationMs: 10_000, participants: 400, curve: { kind: 'uniform' } }],
    }));
    // Killed 6 s into the run, by the run's own t = 0 (run.json has it as a wall-clock instant once the run starts).
    let killedAt = 0;
    const killer = setInterval(() => {
      const folder = readdirSync(out)[0];
      const zero = folder ? (readRunInfo(join(out, folder)).zeroEpochMs ?? 0) : 0;
      if (zero && Date.now() >= zero + 6_000) {
        t.child.kill('SIGKILL');
        killedAt = Date.now() - zero;
        clearInterval(killer);
      }
    }, 5);
    const d = captureIo();
    try {
      const code = await main(['run', join(dir, 'scenario.json'), '--target', t.url, '--scale', '1', '--out', out, '--no-progress', '--json'], d.io);
      expect(code).toBe(EXIT.objectivesFailed);
    } finally {
      clearInterval(killer);
    }
    const down = (JSON.parse(d.out()) as Record<string, any>).targetDown;
    console.info(`measured: target killed at ${killedAt} ms, reported down at ${down?.atMs} ms`);
    expect(down).toMatchObject({ evidence: 'target', backSecond: null });
    expect(Math.abs(down.atMs - killedAt)).toBeLessThanOrEqual(1_000);
  }, 60_000);
});

describe('nginx limit_conn 100 and a held-participant ramp in bursts', () => {
  it('finds the limit at 100 held and does not pass', async () => {
    const app = await startHoldServer();
    const nginx = await startNginx(app.url, { wsConns: 100 });
    try {
      // 20 more participants every 2 s up to 200, each step's arrive within 1 s: the documented way to find a connection limit.
      const r = await run({ name: 'hold-ramp', journey: 'hold.ts', phases: load.holdRamp({ by: 20, count: 10, stepMs: 2_000 }), client: { heartbeatMs: 1_000 } }, nginx.url);
      expect(r.code, r.summary.headline).toBe(EXIT.objectivesFailed);
      const media = layer(r.summary, 'media');
      console.info(`measured: limit_conn 100 found at ${media.connectionLimit?.held} held`);
      expect(media.connectionLimit.held).toBeGreaterThanOrEqual(85);
      expect(media.connectionLimit.held).toBeLessThanOrEqual(115);
      expect(media.state).toBe('broke');
      expect(media.capacity).toBeNull();
      expect(r.summary.passed).toBe(false);
      expect(r.summary.headline).toMatch(/refuses new connections beyond \d+ held/);
    } finally {
      await nginx.stop();
      await app.close();
    }
  }, 90_000);
});

describe('a journey whose login is skipped while its session holds', () => {
  it('counts the load offered to each layer as the attempts that reached it, and the journeys begun', async () => {
    // Logins set a session; joins fail 503 in the window 2 s to 5 s of the server's first join; pupils reload
    // after a failure and then skip the login.
    const seen = { logins: 0, profiles: 0, joins: 0, firstJoin: 0 };
    const server: Server = createServer((req, res) => {
      req.resume();
      const at = Date.now();
      if (req.url === '/api/login') return void (seen.logins++, res.writeHead(200, { 'set-cookie': `session=${seen.logins}; Path=/` }).end('{}'));
      if (req.url === '/api/me') return void (seen.profiles++, res.writeHead(/session=/.test(req.headers.cookie ?? '') ? 200 : 401).end('{}'));
      if (req.url === '/api/join') {
        seen.joins++;
        seen.firstJoin ||= at;
        const down = at - seen.firstJoin >= 2_000 && at - seen.firstJoin < 5_000;
        return void res.writeHead(down ? 503 : 200).end('{}');
      }
      res.writeHead(200).end('ok');
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    try {
      const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
      const r = await run({
        name: 'conditional', journey: 'conditional-login.ts', phases: [{ name: 'steady', startMs: 0, durationMs: 10_000, participants: 300, curve: { kind: 'uniform' } }],
        client: { thinkTimeMs: 20, retry: { kind: 'reload', everyMs: 1_000, maxTries: 5 } },
      }, url);
      const { analysis } = await writeReport(r.folder);
      const offered = (name: 'admission' | 'broker') => analysis.timeline.layers[name].offered.reduce((a, b) => a + b, 0);
      const admission = offered('admission');
      const broker = offered('broker');
      console.info(`measured: offered admission ${admission} against ${seen.profiles} journeys at it, broker ${broker} against ${seen.joins} joins; ${seen.logins} logins`);
      expect(seen.logins).toBeLessThan(seen.profiles);
      expect(Math.abs(admission - seen.profiles)).toBeLessThanOrEqual(0.02 * seen.profiles);
      expect(Math.abs(broker - seen.joins)).toBeLessThanOrEqual(0.02 * seen.joins);
      expect(analysis.users.attemptsPerUser).toBeGreaterThan(1);
      expect(Math.abs(analysis.users.attemptsPerUser - seen.profiles / 300)).toBeLessThanOrEqual(0.05);
    } finally {
      server.closeAllConnections();
      await new Promise((r) => server.close(r));
    }
  }, 60_000);
});

