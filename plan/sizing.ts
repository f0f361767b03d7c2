// How many generator cores and shards a scenario's peak second needs, from what one journey costs this machine.
import { readRunFolder } from '../run-folder/run-folder.js';

/** Share of a core one sending process can use and still keep its schedule: the rest is its event loop's slack. */
export const USABLE_CORE_SHARE = 0.7;

/** What one journey costs the generator's processes in CPU time, and where the figure comes from. */
export interface JourneyCost {
  /** CPU time (user and system, every process) per journey begun, ms. */
  cpuMsPerJourney: number;
  /** Where it was measured, in words. */
  source: string;
}

/** The generator the plan's peak second needs: cores at USABLE_CORE_SHARE each, and shards of `coresPerShard`. */
export interface Sizing {
  peakPerSec: number;
  cores: number;
  shards: number;
  coresPerShard: number;
  cost: JourneyCost;
}

/** Cores and shards for `peakPerSec` journeys begun a second at `cost` each. */
export function sizeFor(peakPerSec: number, cost: JourneyCost, coresPerShard: number): Sizing {
  const cores = Math.max(1, Math.ceil((peakPerSec * cost.cpuMsPerJourney) / 1000 / USABLE_CORE_SHARE));
  return { peakPerSec, cores, shards: Math.max(1, Math.ceil(cores / coresPerShard)), coresPerShard, cost };
}

/** A run folder that cannot tell what a journey costs; names the folder and why. */
export class CostError extends Error {}

/**
 * What a journey cost in an earlier run: the CPU of all its generator processes (health.csv, every second) over the
 * journeys they began. The run's journey and this machine are what it measured: size a run of the same journey.
 */
export async function costOfRun(dir: string): Promise<JourneyCost> {
  const { run, series, health } = await readRunFolder(dir);
  if (run.source) throw new CostError(`${dir}: k6 ran its load, and k6 keeps its generators' CPU to itself; give the folder of a run firstbell sent`);
  if (!health.length) throw new CostError(`${dir}: has no generator health (health.csv); give the folder of a run that ran`);
  const journeys = series.entries ? series.journeys.journeys : (run.generator?.arrivalsSent ?? 0);
  if (journeys < 100) throw new CostError(`${dir}: ${journeys} journeys are too few to tell what one costs; give a run of 100 or more`);
  // Run folders from before the total was kept have the busiest process's CPU only: a floor with several workers.
  const cpuS = health.reduce((a, h) => a + (h.cpuTotalPct ?? h.cpuPct), 0) / 100;
  const cpuMs = (cpuS * 1000) / journeys;
  return { cpuMsPerJourney: Math.round(cpuMs * 100) / 100, source: `measured in ${dir}: ${cpuS.toFixed(1)} CPU-s for ${journeys.toLocaleString('en-US')} journeys of ${run.target.kind}` };
}
