import { describe, expect, it } from 'vitest';
import { resolveScenario } from '../scenarios/model.js';
import { monday0800 } from '../scenarios/monday-0800.scenario.js';
import { arrivalOffsets, arrivalsPerSecond, buildSchedule } from './schedule.js';

const scenario = resolveScenario(monday0800, 0.01);

describe('the schedule', () => {
  it('is the same for the same seed, arrival by arrival', () => {
    const a = buildSchedule(scenario, 42);
    const b = buildSchedule(scenario, 42);
    expect(Array.from(a.offsetsMs)).toEqual(Array.from(b.offsetsMs));
    expect(Array.from(a.participantIds)).toEqual(Array.from(b.participantIds));
  });

  it('differs for another seed but keeps the exact count and phase windows', () => {
    const a = buildSchedule(scenario, 1);
    const b = buildSchedule(scenario, 2);
    expect(Array.from(a.offsetsMs)).not.toEqual(Array.from(b.offsetsMs));
    expect(a.offsetsMs.length).toBe(250 + 1000 + 30);
    expect(b.offsetsMs.length).toBe(a.offsetsMs.length);
  });

  it('places the first bell at the start of the burst and keeps arrivals ordered', () => {
    const s = buildSchedule(scenario, 7);
    expect(s.firstBellAtMs).toBe(30_000);
    for (let i = 1; i < s.offsetsMs.length; i++) expect(s.offsetsMs[i]!).toBeGreaterThanOrEqual(s.offsetsMs[i - 1]!);
    const burst = Array.from(s.offsetsMs).filter((_, i) => s.phaseOf[i] === 1);
    expect(Math.min(...burst)).toBeGreaterThanOrEqual(30_000);
    expect(Math.max(...burst)).toBeLessThan(40_000);
  });

  it('gives the burst the first-bell shape: a peak within 3 s of the bell and a long tail', () => {
    const s = buildSchedule(scenario, 7);
    const perSec = arrivalsPerSecond(s).slice(30, 40);
    const peakAt = perSec.indexOf(Math.max(...perSec));
    expect(peakAt).toBeLessThanOrEqual(2);
    expect(perSec[9]!).toBeGreaterThan(0);
    expect(perSec[9]!).toBeLessThan(perSec[peakAt]! / 5);
  });

  it('follows a linear ramp: the last fifth holds about nine times the first fifth when the rate goes 0 to 1', () => {
    let seed = 0.5;
    const t = arrivalOffsets({ kind: 'ramp', fromRate: 0, toRate: 1 }, 10_000, 10_000, () => (seed = (seed * 9301 + 49297) % 233280 / 233280));
    const first = Array.from(t).filter((x) => x < 2000).length;
    const last = Array.from(t).filter((x) => x >= 8000).length;
    expect(last / first).toBeGreaterThan(8.5);
    expect(last / first).toBeLessThan(9.5);
  });
});
