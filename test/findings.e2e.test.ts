// Findings that hold on any stack: loopback servers with a known limit of each kind, and firstbell's finding against the truth.
import { spawn } from 'node:child_process';
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { EXIT, main } from '../cli.js';
import { captureIo, tempDir } from './helpers.js';
import { startNginx } from './servers/nginx.js';
import { startHoldServer, startOutageServer, startQueueServer, startStallServer } from './servers/truth.js';

const JOURNEYS = new URL('./journeys/', import.meta.url).pathname;

type Phase = { name: string; startMs: number; durationMs: number; participants: number; curve: { kind: 'uniform' } | { kind: 'ramp'; fromRate: number; toRate: number } };

/** Runs a scenario (written as a user's JSON file) with a journey module against `target`; its summary and run.json. */
async function run(journey: string, target: string, phases: Phase[], extra: Record<string, unknown> = {}, args: string[] = []) {
  const dir = tempDir('firstbell-findings-');
  const file = join(dir, 'scenario.json');
  writeFileSync(file, JSON.stringify({ name: 'truth', description: 'a known limit', journey: join(JOURNEYS, journey), phases, observeMs: 3_000, ...extra }));
  const out = tempDir();
  const d = captureIo();
  const code = await main(['run', file, '--target', target, '--scale', '1', '--out', out, '--no-progress', '--json', ...args], d.io);
  const summary = JSON.parse(d.out()) as Record<string, any>;
  const folder = join(out, readdirSync(out)[0]!);
  return { code, err: d.err(), summary, run: JSON.parse(readFileSync(join(folder, 'run.json'), 'utf8')) as { zeroEpochMs: number } };
}

const steady = (perSec: number, forMs: number): Phase[] => [{ name: 'steady', startMs: 0, durationMs: forMs, participants: Math.round((perSec * forMs) / 1000), curve: { kind: 'uniform' } }];
const layer = (s: Record<string, any>, name: string) => (s.layers as Record<string, any>[]).find((l) => l.layer === name)!;
/** Prints a finding beside its truth, for the CI log. */
const measured = (what: string, found: number, truth: number, unit = '') => console.info(`measured: ${what} ${found}${unit} against the truth ${truth}${unit} (${(((found - truth) / truth) * 100).toFixed(1)} %)`);

function within(x: number, truth: number, share = 0.15): void {
  expect(x, `${x} against ${truth} ± ${share * 100} %`).toBeGreaterThanOrEqual(truth * (1 - share));
  expect(x, `${x} against ${truth} ± ${share * 100} %`).toBeLessThanOrEqual(truth * (1 + share));
}

/** A headline without the sentence on the generator's own seconds, which a busy machine may put first: the outage is told either way. */
const withoutGeneratorNote = (headline: string): string =>
  headline.replace(/^The generator was the bottleneck in \d+ s \([^)]*\); there only what the target answered counts, not its timeouts or latency\. /, '');

describe('a server that queues at a fixed service rate', () => {
  it('has the capacity it completes at saturation, not what it was offered', async () => {
    const server = await startQueueServer(100);
    try {
      // Offered rises to twice the service rate; every request is answered in turn, however long it waits.
      const r = await run('join.ts', server.url, [{ name: 'ramp', startMs: 0, durationMs: 16_000, participants: 1600, curve: { kind: 'ramp', fromRate: 0, toRate: 1 } }], {
        client: { thinkTimeMs: 0, stepTimeoutMs: 30_000 }, observeMs: 12_000,
      });
      expect(r.code, r.err).toBe(EXIT.objectivesFailed);
      const broker = layer(r.summary, 'broker');
      expect(broker.capacity, JSON.stringify(broker)).toMatchObject({ lowerBound: false, limitedBy: 'target' });
      measured('queueing server capacity', broker.capacity.perSec, 100, '/s');
      within(broker.capacity.perSec, 100);
      expect(broker.breakPoint.reason).toBe('p95 latency');
    } finally {
      await server.close();
    }
  }, 120_000);
});

describe('nginx with a connection limit in front of held WebSockets', () => {
  it('finds the limit as a count of held participants, not as a rate', async () => {
    const app = await startHoldServer();
    const nginx = await startNginx(app.url, { wsConns: 100 });
    try {
      const r = await run('hold.ts', nginx.url, steady(30, 9_000), { client: { heartbeatMs: 1_000 } });
      expect(r.code, r.err).toBe(EXIT.objectivesFailed);
      const media = layer(r.summary, 'media');
      expect(media.connectionLimit, JSON.stringify(media)).not.toBeNull();
      measured('nginx limit_conn', media.connectionLimit.held, 100, ' held');
      within(media.connectionLimit.held, 100);
      within(media.breakPoint.concurrency, 100);
      expect(r.summary.headline).toMatch(/refuses new connections beyond \d+ held/);
      expect(r.summary.targetDown).toBeNull();
    } finally {
      await nginx.stop();
      await app.close();
    }
  }, 120_000);
});

describe('a server that dies at a set number of connections', () => {
  it('says it went down, when (within a second), and that it did not come back', async () => {
    const server = await startHoldServer({ dieAt: 150 });
    try {
      const r = await run('hold.ts', server.url, steady(40, 8_000), { client: { heartbeatMs: 1_000 } });
      expect(r.code, r.err).toBe(EXIT.objectivesFailed);
      const down = r.summary.targetDown;
      expect(down, r.summary.headline).not.toBeNull();
      const truthMs = server.log.diedAtEpochMs! - r.run.zeroEpochMs;
      measured('server death at', down.atMs, Math.round(truthMs), ' ms');
      expect(Math.abs(down.atMs - truthMs), `reported ${down.atMs} ms, died at ${truthMs} ms`).toBeLessThanOrEqual(1_000);
      expect(down.backSecond).toBeNull();
      within(down.heldBefore, 150, 0.1);
      expect(down.how).toContain('connection refused');
      expect(withoutGeneratorNote(r.summary.headline)).toMatch(/^The target went down at \d\d:\d\d:\d\d with \d+ participants holding: .*did not come back/);
    } finally {
      await server.close();
    }
  }, 120_000);
});

describe('a server process that exits', () => {
  it('says it went down when its watched process exited', async () => {
    // A server in a process of its own that answers 200 and exits after its 120th request.
    const code = `const s = require('node:http').createServer((q, r) => { r.end('{}'); if (++n === 120) process.exit(0); }); let n = 0;
      s.listen(0, '127.0.0.1', () => console.log('http://127.0.0.1:' + s.address().port));`;
    const child = spawn(process.execPath, ['-e', code], { stdio: ['ignore', 'pipe', 'inherit'] });
    const url = await new Promise<string>((r) => child.stdout!.once('data', (d: Buffer) => r(String(d).trim())));
    let exitedAt = 0;
    child.once('exit', () => (exitedAt = Date.now()));
    const r = await run('join.ts', url, steady(30, 8_000), {}, ['--target-pid', String(child.pid)]);
    expect(r.code, r.err).toBe(EXIT.objectivesFailed);
    const down = r.summary.targetDown;
    expect(down, r.summary.headline).toMatchObject({ how: ['its process exited'], backSecond: null });
    expect(Math.abs(down.atMs - (exitedAt - r.run.zeroEpochMs))).toBeLessThanOrEqual(1_000);
    expect(withoutGeneratorNote(r.summary.headline)).toMatch(/^The target went down at \d\d:\d\d:\d\d: its process exited; it did not come back/);
  }, 60_000);

  it('refuses a pid that is not running, before anything is sent', async () => {
    const d = captureIo();
    const code = await main(['run', 'monday-0800', '--target', 'http://127.0.0.1:9', '--target-pid', '2147483646'], d.io);
    expect(code).toBe(EXIT.usage);
    expect(d.err()).toContain('no process 2147483646 is running on this machine');
  });
});

describe('an outage of a known length', () => {
  it('recovers after the outage, within 15 %', async () => {
    const server = await startOutageServer(150, 10_000);
    try {
      const r = await run('join.ts', server.url, steady(30, 24_000));
      expect(r.code, r.err).toBe(EXIT.objectivesFailed);
      const b = layer(r.summary, 'broker').breakPoint;
      expect(b, r.summary.headline).toMatchObject({ recovered: true, reason: 'error rate' });
      measured('outage length', b.brokenForSec, 10, ' s');
      within(b.brokenForSec, 10);
      expect(b.symptomsAtBreak[0].label).toBe('503 Service Unavailable');
    } finally {
      await server.close();
    }
  }, 120_000);

  it('claims no recovery where none happened', async () => {
    const server = await startOutageServer(150, Number.POSITIVE_INFINITY);
    try {
      const r = await run('join.ts', server.url, steady(30, 12_000));
      expect(r.code, r.err).toBe(EXIT.objectivesFailed);
      expect(layer(r.summary, 'broker').breakPoint).toMatchObject({ recovered: false });
      expect(r.summary.headline).toContain('not recovered by the end of the run');
    } finally {
      await server.close();
    }
  }, 120_000);
});

describe('a server that stalls at a set point, in a run shorter than the step timeout', () => {
  it('breaks where it stalled, counting the requests still unanswered at the end at what they had waited, and never passes', async () => {
    const server = await startStallServer(60);
    try {
      // 20 joins a second for 6 s; the 60th request, at about 3 s, is the first left waiting; the 30-s step timeout is never reached.
      const r = await run('join.ts', server.url, steady(20, 6_000));
      expect(r.code, r.err).toBe(EXIT.objectivesFailed);
      const broker = layer(r.summary, 'broker');
      const b = broker.breakPoint;
      expect(b, r.summary.headline).toMatchObject({ reason: 'p95 latency', p95AtLeast: true, recovered: false });
      const stalledAt = (server.log.outageFromEpochMs! - r.run.zeroEpochMs) / 1000;
      measured('stall', b.second, Math.floor(stalledAt), ' s');
      expect(Math.abs(b.second - Math.floor(stalledAt)), r.summary.headline).toBeLessThanOrEqual(1);
      // Every request it left waiting had waited over a second by the end (the last was sent 3 s before it): each is counted.
      expect(b.unanswered).toBe(server.log.held);
      expect(broker.unanswered).toBe(server.log.held);
      expect(r.summary.headline).toContain(`${server.log.held} of its attempts had no answer when the run ended, after waiting longer than the objective's p95 of`);
      expect(r.summary.users.cutOff).toBe(server.log.held);
    } finally {
      await server.close();
    }
  }, 60_000);
});

describe('a platform that answers nothing but 502', () => {
  it('is not passed: a run with nothing through exits 99, however few attempts there were', async () => {
    // nginx in front of an upstream that is not there answers 502 Bad Gateway to everything.
    const nginx = await startNginx('http://127.0.0.1:9');
    try {
      const r = await run('join.ts', nginx.url, steady(2, 7_000));
      expect(r.code, r.err).toBe(EXIT.objectivesFailed);
      expect(r.summary).toMatchObject({ passed: false, verdict: 'failed', users: { arrived: 14, joined: 0 } });
      expect(r.summary.headline).toContain('No participant got through');
      expect(r.summary.headline).toContain('502 Bad Gateway');
    } finally {
      await nginx.stop();
    }
  }, 60_000);
});
