// One contract, every journey: each built-in kind and each example's journey passes the same suite against a real
// server on loopback, run by firstbell and by its exported k6 script (k6's modules stood in by Node.js).
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { createServer as createTcpServer, type Server as TcpServer, type Socket } from 'node:net';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Sample } from '../api/sample.js';
import { EXIT, main } from '../cli.js';
import { startJanusFarms } from '../fixtures/janus.js';
import { startReferencePlatform } from '../fixtures/reference-platform.js';
import { buildSchedule } from '../plan/schedule.js';
import { readSamples } from '../run-folder/run-folder.js';
import type { PlatformInput } from '../api/journey.js';
import { platformOfInput } from '../modules/journey.js';
import { TARGET_KINDS, type TargetKind } from '../targets/index.js';
import type { Platform } from '../targets/platform.js';
import { Engine } from '../users/engine.js';
import { HealthMonitor } from '../users/health.js';
import { exportJourneyK6 } from '../k6/export.js';
import { K6_META, K6_STEP_METRIC, K6_TAGS } from '../k6/names.js';
import { captureIo, runScenario, steadyScenario, tempDir } from './helpers.js';
import { runScript } from './k6-shim.js';
import { startSchoolApp } from './servers/school-app.js';
import { fakeBbb, fakeMoodle, listen } from './servers/lms.js';

interface Case {
  /** A built-in kind, or an example's folder. */
  name: string;
  journey: { kind: TargetKind } | { module: string };
  /** A server that speaks the journey's protocol. */
  start(): Promise<{ url: string; close(): Promise<void> }>;
  /** The target aimed at the server's URL. */
  target?(url: string): string;
  options?: Record<string, string>;
  /** The target's URL scheme, for the silent and the dead addresses. */
  scheme: 'http' | 'ws';
  /** Extra flags `run` needs for this journey. */
  flags?: string[];
  /** The environment an exported k6 script is given (`k6 run -e`): its secret options. */
  k6Env?: Record<string, string>;
}

const BBB_SECRET = 'contract-secret';
const EXAMPLES = new URL('../examples/', import.meta.url).pathname;
const reference = async () => {
  const p = await startReferencePlatform();
  return { url: p.url, close: () => p.close() };
};
const CASES: Case[] = [
  { name: 'reference', journey: { kind: 'reference' }, scheme: 'http', start: reference },
  {
    name: 'janus', journey: { kind: 'janus' }, scheme: 'ws',
    start: async () => {
      const [farm] = await startJanusFarms(1);
      return { url: farm!.wsUrl, close: () => farm!.stop() };
    },
  },
  {
    name: 'bbb', journey: { kind: 'bbb' }, scheme: 'http', flags: ['--bbb-secret', BBB_SECRET], options: { secret: BBB_SECRET }, k6Env: { FIRSTBELL_BBB_SECRET: BBB_SECRET },
    start: () => fakeBbb(BBB_SECRET, 'sha1'), target: (url) => `${url}/bigbluebutton/`,
  },
  { name: 'moodle', journey: { kind: 'moodle' }, scheme: 'http', start: () => fakeMoodle(), options: { join: '/mod/bigbluebuttonbn/bbb_view.php?action=join&id={n}' } },
  {
    name: 'http', journey: { kind: 'http' }, scheme: 'http', target: (url) => `${url}/`,
    start: () => listen((_req, res) => res.writeHead(200, { 'content-type': 'text/plain' }).end('ok')),
  },
  { name: 'examples/json-login', journey: { module: `${EXAMPLES}json-login/journey.ts` }, scheme: 'http', start: () => startSchoolApp() },
  { name: 'examples/form-login', journey: { module: `${EXAMPLES}form-login/journey.ts` }, scheme: 'http', start: reference },
  {
    name: 'examples/janus-rest', journey: { module: `${EXAMPLES}janus-rest/journey.ts` }, scheme: 'http',
    start: async () => {
      const [farm] = await startJanusFarms(1, { http: true });
      return { url: farm!.httpUrl!, close: () => farm!.stop() };
    },
  },
];

/** The platform a case's journey makes aimed at `url`. */
function spec(c: Case, url: string): PlatformInput {
  return { journey: 'kind' in c.journey ? c.journey.kind : c.journey.module, target: c.target?.(url) ?? url, ...(c.options ? { options: c.options } : {}) };
}

/** The same scenario for every journey: ten participants in a second, heartbeats a second, 1.5 s after. */
const STEADY = steadyScenario(10, 1_000, [], { heartbeatMs: 1_000 }, 1_500);

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

it('covers every built-in kind and the journey of every example', () => {
  const kinds = CASES.flatMap((c) => ('kind' in c.journey ? [c.journey.kind] : []));
  expect(kinds.sort()).toEqual([...TARGET_KINDS].sort());
  const examples = readdirSync(EXAMPLES).filter((d) => existsSync(join(EXAMPLES, d, 'journey.ts')));
  expect(CASES.flatMap((c) => ('module' in c.journey ? [c.name] : [])).sort()).toEqual(examples.map((d) => `examples/${d}`).sort());
});

describe.each(CASES)('the $name journey keeps the journey contract', (c) => {
  let server: { url: string; close(): Promise<void> };
  beforeAll(async () => {
    server = await c.start();
  }, 60_000);
  afterAll(async () => {
    await server.close();
  });

  it('runs journeys that end, each participant through its goal step, with only declared steps in their declared layers', async () => {
    const platform = spec(c, server.url);
    const declared = new Map((await platformOfInput(platform)).decls.map((d) => [d.step, d]));
    const r = await runScenario({ scenario: STEADY, seed: 1, platform, outDir: tempDir() });
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
    const target = await platformOfInput(spec(c, `${c.scheme}://127.0.0.1:${silentPort}`));
    const samples = await stoppedMidStep(target);
    const first = target.decls[0]!;
    expect(samples).toEqual([expect.objectContaining({ user: 0, layer: first.layer, step: first.step, outcome: 'aborted' })]);
  });

  it('exits 3 when the target does not answer before the start', async () => {
    const d = captureIo();
    const url = String(spec(c, `${c.scheme}://127.0.0.1:${await deadPort()}`).target);
    const journey = 'kind' in c.journey ? ['--target-kind', c.journey.kind] : ['--journey', c.journey.module];
    expect(await main(['run', 'monday-0800', '--target', url, ...journey, '--scale', '0.001', '--out', tempDir(), '--no-progress', ...(c.flags ?? [])], d.io)).toBe(EXIT.unreachable);
    expect(d.err()).toMatch(/did not answer before the start: connection refused/);
  });

  it('runs the same journeys in its exported k6 script: declared steps only, each participant through its goal step', async () => {
    const platform = spec(c, server.url);
    const declared = new Map((await platformOfInput(platform)).decls.map((d) => [d.step, d]));
    const e = await exportJourneyK6({ scenario: STEADY, seed: 1, target: new URL(String(platform.target)), journey: c.journey, options: c.options, parallelism: 1 });
    const tags = (e.config.options as { tags: Record<string, string> }).tags;
    const { points } = await runScript(e.script, tempDir('firstbell-k6-'), buildSchedule(STEADY, 1).offsetsMs, tags, c.k6Env);
    const goal = [...declared.values()].find((d) => d.goal === 'journey')!;
    const through = new Set<number>();
    const steps = points.filter((p) => p.metric === K6_STEP_METRIC);
    expect(steps.length).toBeGreaterThanOrEqual(10);
    for (const p of steps) {
      const step = p.tags[K6_TAGS.step]!;
      expect(declared.get(step)?.layer, `${p.tags[K6_TAGS.layer]}.${step}`).toBe(p.tags[K6_TAGS.layer]);
      if (step === goal.step && p.tags[K6_TAGS.outcome] === 'ok') through.add(Number(p.metadata[K6_META.user]));
    }
    expect(through.size).toBe(10);
    // Held connections are kept: every beat of a held step answered, or one outstanding at the run's end aborted by it.
    const beats = steps.filter((p) => declared.get(p.tags[K6_TAGS.step]!)?.held).map((p) => p.tags[K6_TAGS.outcome]);
    expect(beats.filter((o) => o !== 'held' && o !== 'ok' && o !== 'aborted')).toEqual([]);
    if ([...declared.values()].some((d) => d.held)) expect(beats.filter((o) => o === 'held')).toHaveLength(10);
  });
});
