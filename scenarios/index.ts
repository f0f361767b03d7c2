// The catalogue of built-in scenarios, looked up by name.
import { distance } from 'fastest-levenshtein';
import type { Scenario } from './model.js';
import { monday0800Backoff, monday0800RetryStorm } from './monday-0800-retry-storm.scenario.js';
import { monday0800Staggered } from './monday-0800-staggered.scenario.js';
import { tuesdayFarmDown } from './tuesday-farm-down.scenario.js';
import { monday0800 } from './monday-0800.scenario.js';

export const BUILT_IN_SCENARIOS: readonly Scenario[] = [monday0800, monday0800Staggered, monday0800RetryStorm, monday0800Backoff, tuesdayFarmDown];

/** The closest name within a few edits, for "did you mean" hints. */
export function closestName(name: string, names: readonly string[]): string | undefined {
  let best: string | undefined;
  let bestD = Math.max(2, Math.floor(name.length / 3));
  for (const n of names) {
    const d = distance(name, n);
    if (d <= bestD) [best, bestD] = [n, d];
  }
  return best;
}

export function findScenario(name: string): Scenario | undefined {
  return BUILT_IN_SCENARIOS.find((s) => s.name === name);
}
