// The schedule: the exact instant each participant arrives, computed up front from a scenario and a seed.
import { uniformFloat64 } from 'pure-rand/distribution/uniformFloat64';
import { xoroshiro128plus } from 'pure-rand/generator/xoroshiro128plus';
import type { ArrivalCurve, ResolvedScenario } from '../scenarios/model.js';

export interface Schedule {
  /** Arrival offsets from the run start, in ms, ascending. */
  offsetsMs: Float64Array;
  /** Participant id of each arrival (same index as offsetsMs); ids count up phase by phase. */
  participantIds: Uint32Array;
  /** Phase index of each arrival. */
  phaseOf: Uint16Array;
  /** Offset of the first bell (t = 0 of the scenario) from the run start, in ms. */
  firstBellAtMs: number;
  /** Offset at which the last arrival window closes, in ms. */
  arrivalsEndMs: number;
  /** Offset at which measuring stops, in ms (arrivals end plus the scenario's observe time). */
  endMs: number;
  seed: number;
}

/** Relative arrival rate at time t (ms) inside a window of length d. */
function density(curve: ArrivalCurve, t: number, d: number): number {
  switch (curve.kind) {
    case 'uniform':
      return 1;
    case 'ramp':
      return curve.fromRate + ((curve.toRate - curve.fromRate) * t) / d;
    case 'first-bell':
      if (t < curve.riseMs) return t / curve.riseMs;
      return Math.pow(2, -(t - curve.riseMs) / curve.halfLifeMs);
  }
}

/** Cumulative density of a curve over a window on a 1-ms grid (finer for short windows), trapezoid rule. */
function cdfOf(curve: ArrivalCurve, durationMs: number): Float64Array {
  const steps = Math.max(1000, Math.ceil(durationMs));
  const dt = durationMs / steps;
  const cdf = new Float64Array(steps + 1);
  for (let i = 1; i <= steps; i++) {
    cdf[i] = cdf[i - 1]! + ((density(curve, (i - 1) * dt, durationMs) + density(curve, i * dt, durationMs)) / 2) * dt;
  }
  return cdf;
}

/**
 * Offsets (ms from the window start) of n arrivals following the curve: stratified inverse-CDF sampling. `cdfs`
 * keeps each curve and window's cumulative density for the next phase that has the same (a timetable's thousands
 * of classes share a few).
 */
export function arrivalOffsets(curve: ArrivalCurve, durationMs: number, n: number, next: () => number, cdfs?: Map<string, Float64Array>): Float64Array {
  const out = new Float64Array(n);
  if (n === 0) return out;
  const key = `${JSON.stringify(curve)}|${durationMs}`;
  let cdf = cdfs?.get(key);
  if (!cdf) {
    cdf = cdfOf(curve, durationMs);
    cdfs?.set(key, cdf);
  }
  const steps = cdf.length - 1;
  const dt = durationMs / steps;
  const total = cdf[steps]!;
  let j = 1;
  for (let k = 0; k < n; k++) {
    // One arrival per equal slice of probability mass, jittered inside its slice: exact count, exact shape, seeded.
    const target = ((k + next()) / n) * total;
    while (j < steps && cdf[j]! < target) j++;
    const lo = cdf[j - 1]!;
    const hi = cdf[j]!;
    const frac = hi > lo ? (target - lo) / (hi - lo) : 0;
    out[k] = (j - 1 + frac) * dt;
  }
  return out;
}

export function buildSchedule(scenario: ResolvedScenario, seed: number): Schedule {
  const rng = xoroshiro128plus(seed);
  const next = () => uniformFloat64(rng);
  // (reduce, not a spread: a timetable's phases can be more than the call stack takes)
  const runStart = scenario.phases.reduce((a, p) => Math.min(a, p.startMs), Infinity);
  const total = scenario.phases.reduce((a, p) => a + p.participants, 0);
  const offsets = new Float64Array(total);
  const ids = new Uint32Array(total);
  const phaseOf = new Uint16Array(total);
  let id = 0;
  const cdfs = new Map<string, Float64Array>();
  scenario.phases.forEach((phase, pi) => {
    const local = arrivalOffsets(phase.curve, phase.durationMs, phase.participants, next, cdfs);
    for (let k = 0; k < local.length; k++, id++) {
      offsets[id] = phase.startMs - runStart + local[k]!;
      ids[id] = id;
      phaseOf[id] = pi;
    }
  });
  // Phases may overlap: order all arrivals by time, keeping ids attached.
  const order = Array.from({ length: total }, (_, i) => i).sort((a, b) => offsets[a]! - offsets[b]! || a - b);
  const arrivalsEndMs = scenario.phases.reduce((a, p) => Math.max(a, p.startMs + p.durationMs), -Infinity) - runStart;
  return {
    offsetsMs: Float64Array.from(order, (i) => offsets[i]!),
    participantIds: Uint32Array.from(order, (i) => ids[i]!),
    phaseOf: Uint16Array.from(order, (i) => phaseOf[i]!),
    firstBellAtMs: -runStart,
    arrivalsEndMs,
    endMs: arrivalsEndMs + scenario.observeMs,
    seed,
  };
}

/** Arrivals per second of the schedule, for the plan and the peak-rate figure. */
export function arrivalsPerSecond(schedule: Schedule): number[] {
  const perSec = new Array<number>(Math.ceil(schedule.endMs / 1000) + 1).fill(0);
  for (const t of schedule.offsetsMs) perSec[Math.floor(t / 1000)]!++;
  return perSec;
}

/** `n` arrivals evenly over `spanMs` from t = 0, one phase: the schedule of a warm-up or a calibration. */
export function evenSchedule(n: number, spanMs: number): Schedule {
  const offsetsMs = Float64Array.from({ length: n }, (_, i) => (i * spanMs) / n);
  return { offsetsMs, participantIds: Uint32Array.from({ length: n }, (_, i) => i), phaseOf: new Uint16Array(n), firstBellAtMs: 0, arrivalsEndMs: spanMs, endMs: spanMs, seed: 1 };
}
