// What one journey costs this machine's generator: a short run of it in this process against a platform of
// firstbell's own, timed by the CPU this process used.
import type { Platform } from '../targets/platform.js';
import type { JourneyCost } from '../plan/sizing.js';
import { evenSchedule } from '../plan/schedule.js';
import { Series } from '../run-folder/series.js';
import type { ResolvedScenario } from '../scenarios/model.js';
import { performance as perf } from 'node:perf_hooks';
import { Worker } from 'node:worker_threads';
import { answerEveryRequest, Engine, prepareForLoad, WARM_ANSWER } from './engine.js';
import { HealthMonitor } from './health.js';
import { Recorder } from './recorder.js';

/**
 * Runs `journeys` of the target's journey at `perSec` from this process (warmed up first, the same work per sample
 * as a run), stops them, and divides the CPU this process used (user and system) by the journeys begun.
 */
export async function calibrate(target: Platform, scenario: ResolvedScenario, o: { journeys?: number; perSec?: number; what: string }): Promise<JourneyCost> {
  const n = o.journeys ?? 1_000;
  const perSec = o.perSec ?? 250;
  const origin = target.url.origin;
  const client = { ...scenario.client, retry: undefined };
  await prepareForLoad({ origin, target, scenario, arrivals: n });
  const spanMs = (n / perSec) * 1000;
  const schedule = evenSchedule(n, spanMs);
  let begun = 0;
  const recorder = new Recorder(new Series(target.decls, scenario.joinWithinMs));
  const monitor = new HealthMonitor(100);
  const t0 = performance.now();
  const engine = new Engine({
    scenario: { ...scenario, client }, seed: 1, target, schedule, origin, clock: () => performance.now() - t0, maxActive: n, lateThresholdMs: 100, monitor,
    emit: (s) => {
      if (s.entry === 2) begun++;
      recorder.add(s);
    },
  });
  const cpu = process.cpuUsage();
  try {
    await engine.run(new AbortController().signal);
    // The last journeys finish their steps (think times included); those that hold are stopped after.
    await engine.settle(Math.max(1_000, client.thinkTimeMs * 10));
    engine.stopAll(new Error('calibrated'));
    await engine.settle(1_000);
  } finally {
    monitor.stop();
  }
  const used = process.cpuUsage(cpu);
  const cpuMs = (used.user + used.system) / 1000 / Math.max(1, begun);
  return { cpuMsPerJourney: Math.round(cpuMs * 100) / 100, source: `calibrated here: ${begun.toLocaleString('en-US')} journeys against ${o.what}` };
}

/** A loopback server on a thread of its own that answers every request as the warm-up's does; it posts its port. */
const STAND_IN = `
const { parentPort } = require('node:worker_threads');
const { createServer } = require('node:net');
const answerEveryRequest = ${answerEveryRequest.toString()};
const server = createServer((sock) => answerEveryRequest(sock, ${JSON.stringify(WARM_ANSWER)}));
server.listen(0, '127.0.0.1', () => parentPort.postMessage(server.address().port));
`;

/** Fewer of a calibration's steps than this ended well: the stand-in could not play the target for this journey. */
const CALIBRATION_OK_SHARE = 0.9;

/**
 * How long one arrival of the target's journey keeps a process's event loop busy, ms: `journeys` arrivals at
 * `perSec` against a loopback stand-in answering on a thread of its own, after as many again to warm the code up.
 * A process's event loop is what keeps or loses its arrivals' schedule. Undefined when fewer than nine in ten of
 * the journey's steps ended well against the stand-in (its answers are not what the journey needs).
 */
export async function loopMsPerArrival(target: Platform, scenario: ResolvedScenario, perSec: number, journeys = 2_000): Promise<number | undefined> {
  const standIn = new Worker(STAND_IN, { eval: true });
  try {
    const port = await new Promise<number>((resolve, reject) => {
      standIn.once('message', resolve);
      standIn.once('error', reject);
    });
    const origin = `http://127.0.0.1:${port}`;
    await timedArrivals(target, scenario, origin, journeys, perSec);
    return await timedArrivals(target, scenario, origin, journeys, perSec);
  } finally {
    await standIn.terminate();
  }
}

/** One batch of a calibration: the event loop's busy ms per arrival, or undefined (see loopMsPerArrival). */
async function timedArrivals(target: Platform, scenario: ResolvedScenario, origin: string, n: number, perSec: number): Promise<number | undefined> {
  let steps = 0;
  let ok = 0;
  const monitor = new HealthMonitor(100);
  const t0 = performance.now();
  const engine = new Engine({
    scenario: { ...scenario, client: { ...scenario.client, retry: undefined, thinkTimeMs: 0 } }, seed: 1, target, schedule: evenSchedule(n, (n / perSec) * 1000), origin,
    clock: () => performance.now() - t0, maxActive: n, lateThresholdMs: 100, monitor,
    emit: (s) => {
      steps++;
      if (s.outcome === 'ok') ok++;
    },
  });
  const elu = perf.eventLoopUtilization();
  try {
    await engine.run(new AbortController().signal);
    await engine.settle(1_000);
  } finally {
    engine.stopAll(new Error('calibrated'));
    monitor.stop();
  }
  const busy = perf.eventLoopUtilization(elu).active;
  await engine.settle(1_000);
  return steps > 0 && ok >= steps * CALIBRATION_OK_SHARE ? busy / n : undefined;
}
