// Client retry behaviour: when a participant tries again after a failed journey, and when it gives up.
import { uniformFloat64 } from 'pure-rand/distribution/uniformFloat64';
import { mersenne } from 'pure-rand/generator/mersenne';
import type { RetryPolicy } from '../scenarios/model.js';

/**
 * Delay before journey number `tryNo + 1`, in ms, or undefined when the participant gives up.
 * Jitter is seeded by participant and try, so a run repeats exactly.
 */
export function retryDelayMs(policy: RetryPolicy | undefined, tryNo: number, participant: number, seed: number): number | undefined {
  if (!policy || policy.kind === 'none' || tryNo >= policy.maxTries) return undefined;
  if (policy.kind === 'reload') return policy.everyMs;
  const ceiling = Math.min(policy.maxMs, policy.baseMs * 2 ** (tryNo - 1));
  // Mersenne Twister's seeding mixes neighbouring seeds well; the first draw is used.
  const rng = mersenne((seed * 1_000_003 + participant * 131 + tryNo) | 0);
  return uniformFloat64(rng) * ceiling;
}
