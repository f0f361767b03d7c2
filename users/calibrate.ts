// What one journey costs this machine's generator: a short run of it in this process against a platform of
// firstbell's own, timed by the CPU this process used.
import type { Platform } from '../targets/platform.js';
import type { JourneyCost } from '../plan/sizing.js';
import { evenSchedule } from '../plan/schedule.js';
import { Series } from '../run-folder/series.js';
import type { ResolvedScenario } from '../scenarios/model.js';
import { Engine, prepareForLoad } from './engine.js';
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
