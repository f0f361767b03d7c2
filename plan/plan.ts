// The plan of one run, built once: the scenario at its scale, the schedule from the seed, and how this machine sends it.
import type { RunInfo } from '../run-folder/run-folder.js';
import type { ResolvedScenario } from '../scenarios/model.js';
import type { Layout } from './limits.js';
import type { Shard } from './shard.js';
import { arrivalsPerSecond, buildSchedule, type Schedule } from './schedule.js';
import { maxOf } from '../lib/numbers.js';

export interface Plan {
  scenario: ResolvedScenario;
  seed: number;
  /** Every arrival's instant, computed once; worker processes rebuild the same one from the scenario and seed. */
  schedule: Schedule;
  /** The plan in numbers, as run.json keeps it. */
  summary: RunInfo['plan'];
  /** Worker processes and source addresses. */
  layout: Layout;
  /** This run is one shard of the schedule, sent from a shared instant (--shard, --start-at). */
  shard?: Shard;
}

/** The plan in numbers, before anything is sent. */
export function planOf(scenario: ResolvedScenario, schedule: Schedule): RunInfo['plan'] {
  return {
    participants: schedule.offsetsMs.length,
    peakArrivalsPerSec: maxOf(arrivalsPerSecond(schedule), 0),
    phases: scenario.phases.map((p) => ({ name: p.name, participants: p.participants, startMs: p.startMs, durationMs: p.durationMs })),
  };
}

/** One process, connections from the system's source address. */
export const SINGLE_PROCESS: Layout = { workers: 1, localAddresses: [] };

/** Builds the plan: the schedule once, then the layout from its figures (default: one process). */
export function buildPlan(scenario: ResolvedScenario, seed: number, layoutFor: (summary: RunInfo['plan']) => Layout = () => SINGLE_PROCESS, shard?: Shard): Plan {
  const schedule = buildSchedule(scenario, seed);
  const summary = planOf(scenario, schedule);
  return { scenario, seed, schedule, summary, layout: layoutFor(summary), ...(shard ? { shard } : {}) };
}
