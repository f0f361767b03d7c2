import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WebSocketServer } from 'ws';
import { DEFAULT_CLIENT, type ResolvedScenario } from '../scenarios/model.js';
import { Engine } from './engine.js';
import { HealthMonitor } from './health.js';
import type { Sample } from '../api/sample.js';
import type { Schedule } from '../plan/schedule.js';
import { defineJourney } from '../api/journey.js';
import { platformOf } from '../targets/platform.js';
import { PING_PONG } from '../targets/reference.js';

/** A media node that confirms each join, answers heartbeats, and drops each participant's first connection after 300 ms. */
let http: Server;
let url: string;
const joins = new Map<string, number>();
beforeAll(async () => {
  http = createServer();
  const wss = new WebSocketServer({ server: http });
  wss.on('connection', (ws, req) => {
    const who = new URL(req.url!, 'http://x').searchParams.get('p')!;
    const n = (joins.get(who) ?? 0) + 1;
    joins.set(who, n);
    ws.send('{"type":"joined"}');
    ws.on('message', (d) => ws.send(String(d).replace('ping', 'pong')));
    if (n === 1) setTimeout(() => ws.terminate(), 300);
  });
  await new Promise<void>((r) => http.listen(0, '127.0.0.1', r));
  url = `ws://127.0.0.1:${(http.address() as AddressInfo).port}/media`;
});
afterAll(async () => {
  http.closeAllConnections();
  await new Promise((r) => http.close(r));
});

function schedule(n: number): Schedule {
  return {
    offsetsMs: Float64Array.from({ length: n }, (_, i) => i * 10),
    participantIds: Uint32Array.from({ length: n }, (_, i) => i),
    phaseOf: new Uint16Array(n),
    firstBellAtMs: 0, arrivalsEndMs: n * 10, endMs: n * 10, seed: 1,
  };
}

describe('the engine', () => {
  it('lets held participants go on without their journeys; a dropped one rejoins as its retry policy says, and the run ends them all', async () => {
    const target = platformOf(defineJourney({
      steps: { connect: { layer: 'media', goal: 'journey' }, heartbeat: { layer: 'media', held: true } },
      preflight: async () => undefined,
      async journey(vu) {
        const c = await vu.step('connect', (signal) => vu.ws(`${url}?p=${vu.id}`, signal));
        if (!c.ok) return 'failed';
        return vu.hold(c.value, 'heartbeat', PING_PONG);
      },
    }), new URL(url), {}, 'journey');
    const samples: Sample[] = [];
    const t0 = performance.now();
    const monitor = new HealthMonitor(100);
    const engine = new Engine({
      scenario: { population: { schools: 1, conferences: 2, participantsPerConference: 10 }, phases: [], client: { ...DEFAULT_CLIENT, thinkTimeMs: 0, heartbeatMs: 100, retry: { kind: 'reload', everyMs: 50, maxTries: 3 } } } as unknown as ResolvedScenario,
      seed: 1, target, schedule: schedule(20), origin: 'http://127.0.0.1:1', clock: () => performance.now() - t0,
      maxActive: 100, lateThresholdMs: 100, monitor, emit: (s) => samples.push(s),
    });
    await engine.run(new AbortController().signal);
    await new Promise((r) => setTimeout(r, 1_000));
    // Every participant holds again after its first connection was dropped.
    expect(engine.active).toBe(20);
    expect([...joins.values()]).toEqual(Array(20).fill(2));
    const beats = samples.filter((s) => s.step === 'heartbeat');
    expect(beats.filter((s) => s.outcome === 'reset').length).toBe(20);
    expect(beats.filter((s) => s.outcome === 'ok').length).toBeGreaterThan(20 * 5);
    engine.stopAll(new Error('run over'));
    await engine.settle(2_000);
    monitor.stop();
    expect(engine.active).toBe(0);
    expect(samples.filter((s) => s.step === 'connect').map((s) => s.outcome)).toEqual(Array(40).fill('ok'));
  });
});
