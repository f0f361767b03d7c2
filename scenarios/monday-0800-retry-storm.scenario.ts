// The Monday with the broker defect and pupils who keep reloading: the retry storm of 2021, and its calmer twin.
import type { Scenario } from './model.js';
import { monday0800 } from './monday-0800.scenario.js';

/**
 * The broker defect, on for the whole morning (it took six hours to find). It bites only while more than
 * 100 joins arrive within a second, below the reference broker's 150 joins/s, as a defect (not a
 * capacity limit) would.
 */
const defect = { kind: 'broker-defect', atMs: -30_000, forMs: 130_000, threshold: 100 } as const;

/**
 * monday-0800 with the broker defect; pupils give up on a page after 5 s and reload every 30 s after a
 * failure, up to 10 times.
 */
export const monday0800RetryStorm: Scenario = {
  ...monday0800,
  name: 'monday-0800-retry-storm',
  description: 'monday-0800 with the 2021 broker defect; pupils give up on a page after 5 s and reload every 30 s, up to 10 times (reference platform).',
  observeMs: 60_000,
  client: { ...monday0800.client, stepTimeoutMs: 5_000, retry: { kind: 'reload', everyMs: 30_000, maxTries: 10 } },
  faults: [defect],
};

/** The same morning, but clients back off exponentially with full jitter (1 s doubling to 30 s), up to 10 tries. */
export const monday0800Backoff: Scenario = {
  ...monday0800RetryStorm,
  name: 'monday-0800-backoff',
  description: 'monday-0800-retry-storm with clients that back off exponentially with full jitter (1 s to 30 s) instead of reloading every 30 s.',
  client: { ...monday0800.client, stepTimeoutMs: 5_000, retry: { kind: 'backoff', baseMs: 1_000, maxMs: 30_000, maxTries: 10 } },
};
