import { describe, expect, it } from 'vitest';
import { BUILT_IN_SCENARIOS, findScenario } from './index.js';
import { resolveScenario, validateScenario, type Scenario } from './model.js';
import { monday0800 } from './monday-0800.scenario.js';

describe('the scenario model', () => {
  it('accepts every built-in scenario as it is', () => {
    for (const s of BUILT_IN_SCENARIOS) expect(validateScenario(s), s.name).toEqual([]);
    expect(findScenario('monday-0800')).toBe(monday0800);
    expect(BUILT_IN_SCENARIOS.map((s) => s.name)).toEqual(['monday-0800', 'monday-0800-staggered', 'monday-0800-retry-storm', 'monday-0800-backoff', 'tuesday-farm-down']);
  });

  it('reports every problem of a bad scenario with its path and a hint, not just the first', () => {
    const bad: Scenario = {
      ...monday0800,
      name: 'Bad Name',
      firstBell: '8 am',
      phases: [{ name: 'x', startMs: 0, durationMs: -5, participants: Number.NaN, curve: { kind: 'ramp', fromRate: 0, toRate: 0 } }],
      objectives: { ...monday0800.objectives, broker: { maxErrorRate: 2, p95Ms: 0 } },
    };
    const problems = validateScenario(bad);
    expect(problems.map((p) => p.where)).toEqual([
      'name', 'firstBell', 'phases[0].durationMs', 'phases[0].participants', 'phases[0].curve', 'objectives.broker.maxErrorRate', 'objectives.broker.p95Ms',
    ]);
    for (const p of problems) expect(p.hint.length).toBeGreaterThan(5);
  });

  it('scales participant and conference counts but keeps durations', () => {
    const s = resolveScenario(monday0800, 0.01);
    expect(s.scale).toBe(0.01);
    expect(s.phases.map((p) => p.participants)).toEqual([250, 1000, 30]);
    expect(s.population.conferences).toBe(25);
    expect(s.phases.map((p) => p.durationMs)).toEqual(monday0800.phases.map((p) => p.durationMs));
  });

  it('keeps at least one participant in a phase that had any', () => {
    const s = resolveScenario(monday0800, 0.0001);
    expect(s.phases.every((p) => p.participants >= 1)).toBe(true);
  });

  it('refuses what does not fit one run before anything is built for it (probe 8)', () => {
    const one = monday0800.phases[0]!;
    const where = (s: Scenario) => validateScenario(s).map((p) => `${p.where}: ${p.message}`);
    expect(where({ ...monday0800, observeMs: 1e12 })).toEqual(['observeMs: 1000000000000 ms is more than a run spans (7 days)']);
    expect(where({ ...monday0800, phases: [{ ...one, participants: 1e308 }] })).toEqual(['phases: 1e+308 participants in all are more than one run plans (10,000,000)']);
    expect(where({ ...monday0800, phases: [{ ...one, participants: 1e9 }] })).toEqual(['phases: 1000000000 participants in all are more than one run plans (10,000,000)']);
    expect(where({ ...monday0800, phases: [{ ...one, durationMs: 1e12 }] })).toEqual(['phases[0].durationMs: 1000000000000 ms is more than a run spans (7 days)']);
    expect(where({ ...monday0800, phases: Array.from({ length: 1_000_001 }, () => ({ ...one, participants: 0 })) })).toEqual(['phases: 1000001 phases are more than one run takes (1000000)']);
  });
});
