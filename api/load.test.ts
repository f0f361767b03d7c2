import { describe, expect, it } from 'vitest';
import { buildSchedule } from '../plan/schedule.js';
import { resolveScenario } from '../scenarios/model.js';
import { defineScenario, load } from './load.js';

describe('load shapes', () => {
  it('make a ramp whose arrivals rise linearly from one rate to the other', () => {
    const s = resolveScenario(defineScenario({ name: 'r', phases: load.ramp({ fromPerSec: 0, toPerSec: 40, overMs: 10_000 }) }), 1);
    expect(s.phases).toEqual([{ name: 'ramp 0→40/s', startMs: 0, durationMs: 10_000, participants: 200, curve: { kind: 'ramp', fromRate: 0, toRate: 40 } }]);
    const perSec = Array.from({ length: 10 }, () => 0);
    for (const t of buildSchedule(s, 1).offsetsMs) perSec[Math.floor((t - buildSchedule(s, 1).firstBellAtMs) / 1000)]!++;
    // Second k has about 4k + 2 arrivals (tolerance: ±3 of the seeded spread).
    perSec.forEach((n, k) => expect(Math.abs(n - (4 * k + 2))).toBeLessThanOrEqual(3));
  });

  it('lay a staircase, a constant rate, a first bell and held steps end to end', () => {
    const phases = load.sequence(
      load.steps({ fromPerSec: 10, byPerSec: 10, count: 3, stepMs: 2_000 }),
      load.constant({ perSec: 5, forMs: 1_000 }),
      load.firstBell({ participants: 500, withinMs: 10_000 }),
      load.holdRamp({ by: 100, count: 2, stepMs: 5_000 }),
    );
    expect(phases.map((p) => [p.startMs, p.durationMs, p.participants, p.curve.kind])).toEqual([
      [0, 2_000, 20, 'uniform'], [2_000, 2_000, 40, 'uniform'], [4_000, 2_000, 60, 'uniform'],
      [6_000, 1_000, 5, 'uniform'],
      [7_000, 10_000, 500, 'first-bell'],
      [17_000, 1_000, 100, 'uniform'], [22_000, 1_000, 100, 'uniform'],
    ]);
  });

  it('fill in a scenario\'s defaults, so that a name and phases are enough', () => {
    const s = defineScenario({ name: 'min', phases: [load.constant({ perSec: 1, forMs: 1_000 })], objectives: { media: { p95Ms: 500 } } });
    expect(s).toMatchObject({ firstBell: '08:00:00', observeMs: 5_000, joinWithinMs: 10_000, population: { schools: 1, conferences: 1, participantsPerConference: 10 } });
    expect(s.objectives.media).toEqual({ maxErrorRate: 0.01, p95Ms: 500 });
    expect(s.client.thinkTimeMs).toBe(200);
  });
});
