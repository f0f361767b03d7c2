// Scenarios as users write them: defineScenario (the model's types with defaults, checked as they are written), data
// rows, and load shapes, the common arrival patterns as phases, composable end to end. Rates and counts are at scale 1.
import { scenarioFromInput, type ScenarioInput } from '../scenarios/input.js';
import type { DataSource, Phase, Scenario } from '../scenarios/model.js';
import { maxOf, minOf } from '../lib/numbers.js';

/** Declares a scenario: the same model as the built-ins; fields with a default may be left out. */
export function defineScenario(scenario: ScenarioInput): Scenario {
  return scenarioFromInput(scenario);
}

/** Rows of data for the participants from a CSV file (relative to the scenario file); participant n gets row n. */
export function csv(path: string, opts: Omit<DataSource, 'csv'> = {}): DataSource {
  return { csv: path, ...opts };
}

interface Placed {
  /** Start relative to the first bell, ms. Default 0 (or, inside `load.sequence`, where the part before ended). */
  startMs?: number;
  /** Shown in the plan and the report. */
  name?: string;
}

const at = (o: Placed) => o.startMs ?? 0;

/** The same arrival rate for a while: `perSec` participants a second for `forMs`. */
function constant(o: Placed & { perSec: number; forMs: number }): Phase {
  return { name: o.name ?? `constant ${o.perSec}/s`, startMs: at(o), durationMs: o.forMs, participants: Math.round((o.perSec * o.forMs) / 1000), curve: { kind: 'uniform' } };
}

/**
 * A rate that rises (or falls) linearly from `fromPerSec` to `toPerSec` over `overMs`: the shape that finds a
 * capacity. Rise by less than about 10 % of the expected capacity a second to find it within a second.
 */
function ramp(o: Placed & { fromPerSec: number; toPerSec: number; overMs: number }): Phase {
  return {
    name: o.name ?? `ramp ${o.fromPerSec}→${o.toPerSec}/s`, startMs: at(o), durationMs: o.overMs,
    participants: Math.round((((o.fromPerSec + o.toPerSec) / 2) * o.overMs) / 1000), curve: { kind: 'ramp', fromRate: o.fromPerSec, toRate: o.toPerSec },
  };
}

/** A staircase of constant rates: `fromPerSec`, then `byPerSec` more each step, `count` steps of `stepMs` each. */
function steps(o: Placed & { fromPerSec: number; byPerSec: number; count: number; stepMs: number }): Phase[] {
  return Array.from({ length: o.count }, (_, k) =>
    constant({ perSec: o.fromPerSec + k * o.byPerSec, forMs: o.stepMs, startMs: at(o) + k * o.stepMs, name: `${o.name ?? 'step'} ${k + 1}` }),
  );
}

/**
 * A first bell: `participants` within `withinMs`, the rate rising over `riseMs` (clocks that differ) and then
 * falling off with half-life `halfLifeMs` (people who click later). Defaults as in 2021: 1.5 s and 2 s.
 */
function firstBell(o: Placed & { participants: number; withinMs: number; riseMs?: number; halfLifeMs?: number }): Phase {
  return {
    name: o.name ?? 'first bell', startMs: at(o), durationMs: o.withinMs, participants: o.participants,
    curve: { kind: 'first-bell', riseMs: o.riseMs ?? 1_500, halfLifeMs: o.halfLifeMs ?? 2_000 },
  };
}

/**
 * Held participants raised step by step, to find a connection limit: each step `by` more participants arrive
 * within `arriveMs` (default 1 s) and stay, then the held count stands until the next step, `stepMs` after.
 */
function holdRamp(o: Placed & { by: number; count: number; stepMs: number; arriveMs?: number }): Phase[] {
  const arriveMs = Math.min(o.arriveMs ?? 1_000, o.stepMs);
  return Array.from({ length: o.count }, (_, k) => ({
    name: `${o.name ?? 'hold'} ${(k + 1) * o.by}`, startMs: at(o) + k * o.stepMs, durationMs: arriveMs, participants: o.by, curve: { kind: 'uniform' as const },
  }));
}

/** Lays shapes end to end: each part starts where the part before it ended (its own startMs is then an offset). */
function sequence(...parts: (Phase | Phase[])[]): Phase[] {
  const out: Phase[] = [];
  let cursor = parts.flat()[0]?.startMs ?? 0;
  for (const part of parts) {
    const phases = Array.isArray(part) ? part : [part];
    if (phases.length === 0) continue;
    const from = minOf(phases.map((p) => p.startMs));
    const shifted = phases.map((p) => ({ ...p, startMs: cursor + p.startMs - from }));
    out.push(...shifted);
    cursor = maxOf(shifted.map((p) => p.startMs + p.durationMs));
  }
  return out;
}

/** The load shapes, each a phase or a list of phases for a scenario's `phases`. */
export const load = { constant, ramp, steps, firstBell, holdRamp, sequence };
