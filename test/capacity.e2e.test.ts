import { describe, expect, it } from 'vitest';
import { poolFor, type PlatformConfigPatch } from '../fixtures/reference-platform.js';
import { analyse, type LayerResult } from '../analysis/analysis.js';
import { readHealth } from '../run-folder/run-folder.js';
import { join } from 'node:path';
import { EXIT, main } from '../cli.js';
import { captureIo, rampScenario, runScenario, tempDir, useReferencePlatform } from './helpers.js';

/** Acceptance tolerances against the configured truth: break points ±20 %, capacities ±15 %. */
const BREAK_TOLERANCE = 0.2;
const CAPACITY_TOLERANCE = 0.15;

const platform = useReferencePlatform();

/**
 * One ramp run. At one-second resolution a break point can be no finer than the ramp's rise per second,
 * so each ramp rises by about 5 to 6.5 % of the smallest capacity per second.
 */
async function rampAgainst(patch: PlatformConfigPatch, peakPerSec: number, durationMs = 20_000) {
  await platform().configure({ admission: poolFor(1000), broker: poolFor(1000), faults: { brokerDefect: 0 }, ...patch });
  const r = await runScenario({ scenario: rampScenario(peakPerSec, durationMs), seed: 3, platform: { journey: 'reference', target: platform().url }, outDir: tempDir() });
  const a = analyse(r.info, r.series, await readHealth(r.dir));
  const layer = (name: string) => a.layers.find((l) => l.layer === name)!;
  return { a, dir: r.dir, admission: layer('admission'), broker: layer('broker') };
}

/** Run folders by configuration, for the regression gate at the end. */
const dirs: Record<string, string> = {};

const off = (value: number, truth: number) => Math.abs(value - truth) / truth;

function expectBrokeAt(l: LayerResult, truth: number, headline: string): void {
  expect(l.breakPoint, headline).toBeDefined();
  expect(off(l.breakPoint!.offeredPerSec, truth), `${l.layer} broke at ${l.breakPoint!.offeredPerSec}/s, truth ${truth}/s`).toBeLessThanOrEqual(BREAK_TOLERANCE);
  expect(l.capacity, headline).toBeDefined();
  expect(l.capacity!.lowerBound).toBe(false);
  expect(off(l.capacity!.perSec, truth), `${l.layer} capacity ${l.capacity!.perSec}/s, truth ${truth}/s`).toBeLessThanOrEqual(CAPACITY_TOLERANCE);
}

describe('capacities and break points against the reference platform with known truth', () => {
  it('admission-bound (150 logins/s): admission breaks and its capacity is found; the broker meets its objective', async () => {
    const { a, admission, broker } = await rampAgainst({ admission: poolFor(150) }, 240, 25_000);
    expect(a.generator.dropped).toBe(0);
    expectBrokeAt(admission, 150, a.headline);
    expect(admission.breakPoint!.symptoms[0]!.label).toBe('503 Service Unavailable');
    expect(broker.met, a.headline).toBe(true);
    expect(a.verdict).toBe('failed');
  });

  it('broker-bound (100 joins/s): the broker breaks and its capacity is found; admission meets its objective', async () => {
    const { a, dir, admission, broker } = await rampAgainst({ broker: poolFor(100) }, 160, 25_000);
    dirs.broker100 = dir;
    expectBrokeAt(broker, 100, a.headline);
    expect(admission.met, a.headline).toBe(true);
    expect(a.verdict).toBe('failed');
    expect(a.users.neverJoined).toBeGreaterThan(0);
    expect(a.users.attemptsPerJoin!).toBeGreaterThan(1);
  });

  it('both under-sized (logins 240/s, joins 120/s): the broker breaks first, both capacities are found', async () => {
    const { a, dir, admission, broker } = await rampAgainst({ admission: poolFor(240), broker: poolFor(120) }, 300, 50_000);
    dirs.broker120 = dir;
    expectBrokeAt(broker, 120, a.headline);
    expectBrokeAt(admission, 240, a.headline);
    expect(broker.breakPoint!.second).toBeLessThan(admission.breakPoint!.second);
    expect(a.verdict).toBe('failed');
  });

  it('congestion collapse (the broker defect at 100 joins/s): goodput falls instead of levelling off, capacity still found', async () => {
    const { a, broker } = await rampAgainst({ broker: poolFor(100), faults: { brokerDefect: 100 } }, 160, 25_000);
    expectBrokeAt(broker, 100, a.headline);
    expect(broker.knee, a.headline).toBeDefined();
    // A collapse: at the end of the ramp the broker serves far less than its capacity.
    const goodput = a.timeline.layers.broker.goodput;
    const late = goodput.slice(a.timeline.firstBellSecond + 20, a.timeline.firstBellSecond + 25);
    expect(Math.max(...late)).toBeLessThan(0.5 * broker.capacity!.perSec);
    expect(a.verdict).toBe('failed');
  });

  it('neither under-sized: no break, every layer judged, capacities reported as lower bounds', async () => {
    const { a } = await rampAgainst({}, 120);
    expect(a.layers.filter((l) => l.judged).length).toBe(3);
    expect(a.verdict, a.headline).toBe('passed');
    expect(a.headline).toMatch(/^Every layer met its objective/);
    expect(a.layers.every((l) => l.capacity?.lowerBound === true)).toBe(true);
    expect(a.users.neverJoined).toBe(0);
    expect(a.users.attemptsPerJoin).toBe(1);
  });

  it('gates a capacity regression in CI: a broker that went from 120 to 100 joins/s fails --max-regression 10', async () => {
    expect(dirs.broker120 && dirs.broker100, 'needs the broker-bound and both-under-sized runs above').toBeTruthy();
    const c = captureIo();
    expect(await main(['compare', dirs.broker120!, dirs.broker100!, '--max-regression', '10', '--out', join(tempDir(), 'c.html')], c.io)).toBe(EXIT.objectivesFailed);
    expect(c.out()).toMatch(/^REGRESSION: .*broker capacity 1[0-3]\d\/s → \d+\/s \(-\d+(\.\d)? %\).*Regression beyond 10 % in broker\./);
    const same = captureIo();
    expect(await main(['compare', dirs.broker100!, dirs.broker100!, '--max-regression', '10', '--out', join(tempDir(), 'd.html')], same.io)).toBe(EXIT.ok);
    expect(same.out()).toMatch(/^NO REGRESSION: .*No layer regressed beyond 10 %\./);
  });
});
