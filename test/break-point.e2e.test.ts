import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { poolFor } from '../fixtures/reference-platform.js';
import { spawnReferencePlatform, type SpawnedPlatform } from '../fixtures/spawn.js';
import { analyse } from '../reports/analysis.js';
import { readHealth } from '../runner/run-folder.js';
import { runScenario } from '../runner/run.js';
import { referenceTarget } from '../runner/targets/reference.js';
import { rampScenario, tempDir } from './helpers.js';

/** ±20 %: the acceptance tolerance for a detected break point against the configured capacity. */
const TOLERANCE = 0.2;

let platform: SpawnedPlatform;
beforeAll(async () => {
  platform = await spawnReferencePlatform();
});
afterAll(async () => {
  await platform?.stop();
});

/**
 * One ramp run. At one-second resolution a break point can be no finer than the ramp's rise per second,
 * so each ramp rises by at most about 8 % of the smallest capacity per second.
 */
async function rampAgainst(loginsPerSec: number, joinsPerSec: number, peakPerSec: number, durationMs = 20_000) {
  await platform.configure({ admission: poolFor(loginsPerSec), broker: poolFor(joinsPerSec) });
  const out = tempDir();
  const r = await runScenario({ scenario: rampScenario(peakPerSec, durationMs), seed: 3, target: referenceTarget(new URL(platform.url)), outDir: out });
  const a = analyse(r.info, r.series, await readHealth(r.dir));
  const layer = (name: string) => a.layers.find((l) => l.layer === name)!;
  return { a, admission: layer('admission'), broker: layer('broker') };
}

const within = (value: number, truth: number) => Math.abs(value - truth) / truth;

describe('break points against the reference platform with known capacities', () => {
  it('finds the admission break within 20 % of a 150 logins/s capacity when admission is the bottleneck', async () => {
    const { admission, broker, a } = await rampAgainst(150, 1000, 300);
    expect(a.generator.dropped).toBe(0);
    expect(admission.breakPoint, a.headline).toBeDefined();
    expect(within(admission.breakPoint!.offeredPerSec, 150), `admission broke at ${admission.breakPoint!.offeredPerSec}/s`).toBeLessThanOrEqual(TOLERANCE);
    expect(broker.met, a.headline).toBe(true);
  });

  it('finds the broker break within 20 % of a 100 joins/s capacity when the broker is the bottleneck', async () => {
    const { admission, broker, a } = await rampAgainst(1000, 100, 200);
    expect(broker.breakPoint, a.headline).toBeDefined();
    expect(within(broker.breakPoint!.offeredPerSec, 100), `broker broke at ${broker.breakPoint!.offeredPerSec}/s`).toBeLessThanOrEqual(TOLERANCE);
    expect(broker.breakPoint!.symptoms[0]!.label).toBe('503 Service Unavailable');
    expect(admission.met, a.headline).toBe(true);
  });

  it('finds both breaks within 20 % when both layers are under-sized (logins 240/s, joins 120/s)', async () => {
    const { admission, broker, a } = await rampAgainst(240, 120, 300, 30_000);
    expect(broker.breakPoint, a.headline).toBeDefined();
    expect(within(broker.breakPoint!.offeredPerSec, 120), `broker broke at ${broker.breakPoint!.offeredPerSec}/s`).toBeLessThanOrEqual(TOLERANCE);
    expect(admission.breakPoint, a.headline).toBeDefined();
    expect(within(admission.breakPoint!.offeredPerSec, 240), `admission broke at ${admission.breakPoint!.offeredPerSec}/s`).toBeLessThanOrEqual(TOLERANCE);
    expect(broker.breakPoint!.second).toBeLessThan(admission.breakPoint!.second);
  });

  it('reports no break when the burst stays below every capacity', async () => {
    const { a } = await rampAgainst(1000, 1000, 120);
    expect(a.layers.filter((l) => l.judged).length).toBe(3);
    expect(a.passed, a.headline).toBe(true);
    expect(a.headline).toMatch(/^Every layer met its objective/);
  });
});
