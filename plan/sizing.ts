// How many generator cores and shards a scenario's peak second needs, from what one journey costs this machine.
import { readRunFolder, type HealthSecond } from '../run-folder/run-folder.js';
import { arrivalsPerSecond } from './schedule.js';
import type { Plan } from './plan.js';
import { USABLE_CORE_SHARE } from './limits.js';

export { USABLE_CORE_SHARE };

/** What one journey costs the generator's processes in CPU time, and where the figure comes from. */
export interface JourneyCost {
  /** CPU time (user and system, every process) per journey begun, ms. */
  cpuMsPerJourney: number;
  /** CPU time each participant under way costs a second, ms; where the run told it apart from the journeys' own. */
  cpuMsPerParticipantSecond?: number;
  /** Where it was measured, in words. */
  source: string;
}

/** The generator the plan's peak second needs: cores at USABLE_CORE_SHARE each, and shards of `coresPerShard`. */
export interface Sizing {
  peakPerSec: number;
  /** Participants under way at the end of the peak second whose cost counts (cost.cpuMsPerParticipantSecond each). */
  underWay: number;
  cores: number;
  shards: number;
  coresPerShard: number;
  cost: JourneyCost;
}

/**
 * Cores and shards for `peakPerSec` journeys begun a second at `cost` each, and `underWay` participants under way
 * beside them (holding their connections) at the cost a second the run measured for one.
 */
export function sizeFor(peakPerSec: number, cost: JourneyCost, coresPerShard: number, underWay = 0): Sizing {
  const held = cost.cpuMsPerParticipantSecond ? underWay : 0;
  const cpuMsPerSec = peakPerSec * cost.cpuMsPerJourney + held * (cost.cpuMsPerParticipantSecond ?? 0);
  const cores = Math.max(1, Math.ceil(cpuMsPerSec / 1000 / USABLE_CORE_SHARE));
  return { peakPerSec, underWay: held, cores, shards: Math.max(1, Math.ceil(cores / coresPerShard)), coresPerShard, cost };
}

/** The plan's participants that have arrived by `atMs` (run time) and whose phase has not left by then. */
export function heldAt(p: Pick<Plan, 'schedule' | 'scenario'>, atMs: number): number {
  const { offsetsMs, phaseOf, firstBellAtMs } = p.schedule;
  const leaves = p.scenario.phases.map((ph) => (ph.leaveAtMs === undefined ? Infinity : firstBellAtMs + ph.leaveAtMs));
  let held = 0;
  for (let i = 0; i < offsetsMs.length && offsetsMs[i]! <= atMs; i++) if (leaves[phaseOf[i]!]! > atMs) held++;
  return held;
}

/** The plan's peak second: the journeys begun in it, and the participants under way at its end if every one holds. */
export function peakSecond(p: Pick<Plan, 'schedule' | 'scenario'>): { perSec: number; heldAtEnd: number } {
  const perSec = arrivalsPerSecond(p.schedule);
  let peak = 0;
  for (let s = 1; s < perSec.length; s++) if (perSec[s]! > perSec[peak]!) peak = s;
  return { perSec: perSec[peak] ?? 0, heldAtEnd: heldAt(p, (peak + 1) * 1000) };
}

/** What the plan's peak second needs at `cost`: its journeys, and the participants then under way where they hold. */
export function sizingOf(p: Pick<Plan, 'schedule' | 'scenario'>, cost: JourneyCost, coresPerShard: number, holds: boolean): Sizing {
  const peak = peakSecond(p);
  return sizeFor(peak.perSec, cost, coresPerShard, holds ? peak.heldAtEnd : 0);
}

/** A run folder that cannot tell what a journey costs; names the folder and why. */
export class CostError extends Error {}

/**
 * Least squares of `y` on the columns of `x` with no coefficient below zero: each subset of the columns is fitted
 * and the best fit whose coefficients are all ≥ 0 kept (the columns are few). Columns left out have 0; all zeros
 * where nothing fits.
 */
export function nonNegativeFit(x: readonly (readonly number[])[], y: readonly number[]): number[] {
  const k = x[0]?.length ?? 0;
  let best = { coef: new Array<number>(k).fill(0), residual: y.reduce((a, v) => a + v * v, 0) };
  for (let mask = 1; mask < 1 << k; mask++) {
    const cols = [...Array(k).keys()].filter((j) => mask & (1 << j));
    const c = leastSquares(x.map((r) => cols.map((j) => r[j]!)), y);
    if (!c || c.some((v) => v < 0)) continue;
    const coef = new Array<number>(k).fill(0);
    cols.forEach((j, i) => (coef[j] = c[i]!));
    const residual = x.reduce((a, r, i) => a + (y[i]! - r.reduce((s, v, j) => s + v * coef[j]!, 0)) ** 2, 0);
    if (residual < best.residual - 1e-12) best = { coef, residual };
  }
  return best.coef;
}

/** Ordinary least squares by the normal equations; undefined when the columns do not tell their coefficients apart. */
function leastSquares(x: readonly (readonly number[])[], y: readonly number[]): number[] | undefined {
  const k = x[0]?.length ?? 0;
  const m = Array.from({ length: k }, (_, i) => [...Array.from({ length: k }, (_, j) => x.reduce((a, r) => a + r[i]! * r[j]!, 0)), x.reduce((a, r, n) => a + r[i]! * y[n]!, 0)]);
  for (let i = 0; i < k; i++) {
    let p = i;
    for (let r = i + 1; r < k; r++) if (Math.abs(m[r]![i]!) > Math.abs(m[p]![i]!)) p = r;
    [m[i], m[p]] = [m[p]!, m[i]!];
    const pivot = m[i]![i]!;
    // A column that is (nearly) a sum of the others: its share cannot be told.
    if (Math.abs(pivot) < 1e-9 * Math.max(1, Math.abs(m[i]![k]!))) return undefined;
    for (let r = 0; r < k; r++) {
      if (r === i) continue;
      const f = m[r]![i]! / pivot;
      for (let c = i; c <= k; c++) m[r]![c]! -= f * m[i]![c]!;
    }
  }
  return m.map((r, i) => r[k]! / r[i]!);
}

/** Seconds of an earlier run, at least, from which a journey's own cost is told apart from the rest. */
const MIN_SECONDS_TO_FIT = 10;

/**
 * What a journey cost in an earlier run. Its generator's CPU every second (health.csv, all its processes) is fitted to
 * the journeys begun that second, the participants under way and the process itself (each at a cost ≥ 0), so that
 * holding participants for minutes, browser users and a quiet tail do not count as the journeys' cost. Where the
 * seconds cannot tell them apart (as many journeys begun every second), all of the CPU of the seconds with arrivals
 * is the journeys'. The run's journey and this machine are what it measured: size a run of the same journey.
 */
export async function costOfRun(dir: string): Promise<JourneyCost> {
  const { run, series, health } = await readRunFolder(dir);
  if (run.source) throw new CostError(`${dir}: k6 ran its load, and k6 keeps its generators' CPU to itself; give the folder of a run firstbell sent`);
  if (!health.length) throw new CostError(`${dir}: has no generator health (health.csv); give the folder of a run that ran`);
  const journeys = series.entries ? series.journeys.journeys : (run.generator?.arrivalsSent ?? 0);
  if (journeys < 100) throw new CostError(`${dir}: ${journeys} journeys are too few to tell what one costs; give a run of 100 or more`);
  // Run folders from before the total was kept have the busiest process's CPU only: a floor with several workers.
  const cpuOf = (h: HealthSecond) => (h.cpuTotalPct ?? h.cpuPct) / 100;
  const cpuS = health.reduce((a, h) => a + cpuOf(h), 0);
  const [perArrival = 0, perActive = 0, base = 0] = health.length >= MIN_SECONDS_TO_FIT ? nonNegativeFit(health.map((h) => [h.arrivals, h.active, 1]), health.map(cpuOf)) : [];
  const measured = `measured in ${dir}: ${cpuS.toFixed(1)} CPU-s in ${health.length} s for ${journeys.toLocaleString('en-US')} journeys of ${run.target.kind}`;
  if (perArrival > 0) {
    const cpuMs = perArrival * 1000;
    const rest = [perActive > 0 ? `${(perActive * 1e6).toFixed(0)} µs a second for each participant under way` : '', base > 0 ? `${Math.round(base * 100)} % of a core besides` : ''].filter(Boolean);
    const perParticipant = perActive > 0 ? { cpuMsPerParticipantSecond: Math.round(perActive * 1e6) / 1000 } : {};
    return { cpuMsPerJourney: Math.round(cpuMs * 100) / 100, ...perParticipant, source: `${measured}; each second's CPU against the journeys begun in it: ${cpuMs.toFixed(2)} CPU-ms a journey${rest.length ? `, ${rest.join(' and ')}` : ''}` };
  }
  const busy = health.filter((h) => h.arrivals > 0);
  const arrivals = busy.reduce((a, h) => a + h.arrivals, 0);
  const cpuMs = arrivals > 0 ? (busy.reduce((a, h) => a + cpuOf(h), 0) * 1000) / arrivals : (cpuS * 1000) / journeys;
  return { cpuMsPerJourney: Math.round(cpuMs * 100) / 100, source: `${measured}; all of the CPU of the seconds with arrivals counted as the journeys'` };
}
