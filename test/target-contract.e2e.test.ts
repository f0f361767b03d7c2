// One contract, every built-in target: each passes the same suite against a real server on loopback.
import { createServer as createTcpServer, type Server as TcpServer, type Socket } from 'node:net';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stepDecls } from '../api/vu.js';
import type { Sample } from '../api/sample.js';
import { EXIT, main } from '../cli.js';
import { startJanusFarms } from '../fixtures/janus.js';
import { startReferencePlatform } from '../fixtures/reference-platform.js';
import { buildSchedule } from '../plan/schedule.js';
import { readSamples } from '../run-folder/run-folder.js';
import type { PlatformInput } from '../api/journey.js';
import { platformOfInput } from '../modules/platform.js';
import { TARGET_KINDS, type TargetKind } from '../targets/index.js';
import type { Platform } from '../targets/platform.js';
import { Engine } from '../users/engine.js';
import { HealthMonitor } from '../users/health.js';
import { runScenario } from '../users/run.js';
import { captureIo, steadyScenario, tempDir } from './helpers.js';
import { fakeBbb, fakeMoodle, listen } from './servers/lms.js';

interface Case {
  kind: TargetKind;
  /** A server that speaks the target's protocol, and the spec of the target aimed at `url`. */
  start(): Promise<{ url: string; close(): Promise<void> }>;
  spec(url: string): PlatformInput;
  /** The target's URL scheme, for the silent and the dead addresses. */
  scheme: 'http' | 'ws';
  /** Extra flags `run` needs for this kind. */
  flags?: string[];
}

const BBB_SECRET = 'contract-secret';
const CASES: Case[] = [
  {
    kind: 'reference', scheme: 'http',
    start: async () => {
      const p = await startReferencePlatform();
      return { url: p.url, close: () => p.close() };
    },
    spec: (url) => ({ journey: 'reference', target: url }),
  },
  {
    kind: 'janus', scheme: 'ws',
    start: async () => {
      const [farm] = await startJanusFarms(1);
      return { url: farm!.wsUrl, close: () => farm!.stop() };
    },
    spec: (url) => ({ journey: 'janus', target: url }),
  },
  {
    kind: 'bbb', scheme: 'http', flags: ['--bbb-secret', BBB_SECRET],
    start: () => fakeBbb(BBB_SECRET, 'sha1'),
    spec: (url) => ({ journey: 'bbb', target: `${url}/bigbluebutton/`, options: { secret: BBB_SECRET } }),
  },
  {
    kind: 'moodle', scheme: 'http',
    start: () => fakeMoodle(),
    spec: (url) => ({ journey: 'moodle', target: url, options: { join: '/mod/bigbluebuttonbn/bbb_view.php?action=join&id={n}' } }),
  },
  {
    kind: 'http', scheme: 'http',
    start: () => listen((_req, res) => res.writeHead(200, { 'content-type': 'text/plain' }).end('ok')),
    spec: (url) => ({ journey: 'http', target: `${url}/` }),
  },
];

/** A server that accepts connections and never says a word: every step against it stays under way. */
let silent: TcpServer;
let silentPort = 0;
const held = new Set<Socket>();
beforeAll(async () => {
  silent = createTcpServer((s) => {
    held.add(s);
    s.on('error', () => undefined);
  });
  await new Promise<void>((r) => silent.listen(0, '127.0.0.1', r));
  silentPort = (silent.address() as AddressInfo).port;
});
afterAll(async () => {
  for (const s of held) s.destroy();
  await new Promise((r) => silent.close(r));
});

/** A port nothing listens on. */
async function deadPort(): Promise<number> {
  const s = createTcpServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const port = (s.address() as AddressInfo).port;
  await new Promise((r) => s.close(r));
  return port;
}

/** The first step of a journey against `target`, stopped by the run after 300 ms. */
async function stoppedMidStep(target: Platform): Promise<Sample[]> {
  const scenario = steadyScenario(1, 1_000, []);
  const samples: Sample[] = [];
  const t0 = performance.now();
  const monitor = new HealthMonitor(100);
  const engine = new Engine({
    scenario, seed: 1, target, schedule: buildSchedule(scenario, 1), origin: target.url.origin.replace(/^ws/, 'http'),
    clock: () => performance.now() - t0, maxActive: 10, lateThresholdMs: 100, monitor, emit: (s) => samples.push(s),
  });
  await engine.run(new AbortController().signal);
  await new Promise((r) => setTimeout(r, 300));
  engine.stopAll(new Error('the run ended'));
  await engine.settle(2_000);
  monitor.stop();
  expect(engine.active).toBe(0);
  return samples;
}

it('covers every built-in kind', () => {
  expect(CASES.map((c) => c.kind).sort()).toEqual([...TARGET_KINDS].sort());
});

describe.each(CASES)('the $kind journey keeps the journey contract', (c) => {
  let server: { url: string; close(): Promise<void> };
  beforeAll(async () => {
    server = await c.start();
  }, 60_000);
  afterAll(async () => {
    await server.close();
  });

  it('runs journeys that end, each participant through its goal step, with only declared steps in their declared layers', async () => {
    const platform = c.spec(server.url);
    const declared = new Map((await platformOfInput(platform)).decls.map((d) => [d.step, d]));
    const r = await runScenario({ scenario: steadyScenario(10, 1_000, [], { heartbeatMs: 1_000 }, 1_500), seed: 1, platform, outDir: tempDir() });
    expect(r.info.status).toBe('completed');
    expect(r.info.generator).toMatchObject({ arrivalsPlanned: 10, arrivalsSent: 10 });
    const goal = [...declared.values()].find((d) => d.goal === 'journey')!;
    const through = new Set<number>();
    for await (const s of readSamples(r.dir)) {
      expect(declared.get(s.step)?.layer, `${s.layer}.${s.step}`).toBe(s.layer);
      if (s.step === goal.step && s.outcome === 'ok') through.add(s.user);
    }
    expect(through.size).toBe(10);
    expect(r.series.journeys).toMatchObject({ arrived: 10, joined: 10 });
  });

  it('ends a step under way as aborted when the run stops it, and ends the participant', async () => {
    const target = await platformOfInput(c.spec(`${c.scheme}://127.0.0.1:${silentPort}`));
    const samples = await stoppedMidStep(target);
    const first = target.decls[0]!;
    expect(samples).toEqual([expect.objectContaining({ user: 0, layer: first.layer, step: first.step, outcome: 'aborted' })]);
  });

  it('exits 3 when the target does not answer before the start', async () => {
    const d = captureIo();
    const url = String(c.spec(`${c.scheme}://127.0.0.1:${await deadPort()}`).target);
    expect(await main(['run', 'monday-0800', '--target', url, '--target-kind', c.kind, '--scale', '0.001', '--out', tempDir(), '--no-progress', ...(c.flags ?? [])], d.io)).toBe(EXIT.unreachable);
    expect(d.err()).toMatch(/did not answer before the start: connection refused/);
  });
});
