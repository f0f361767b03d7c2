// Day two, January 2021: one of the two server farms fails mid-morning and logins are slow at the schools.
import type { Scenario } from './model.js';
import { monday0800 } from './monday-0800.scenario.js';

/**
 * 25,000 participants already in; 50,000 joins over 30 s (schools had told pupils to wait); the
 * on-premises login servers add 1.5 s to every login; farm 1 fails 20 s after 8:00 for 30 s, dropping
 * the conferences on it. Pupils reload every 10 s, up to 6 times.
 */
export const tuesdayFarmDown: Scenario = {
  ...monday0800,
  name: 'tuesday-farm-down',
  description: 'day two: 50,000 joins over 30 s, slow on-premises logins (+1.5 s), farm 1 down from 8:00:20 for 30 s; pupils reload every 10 s.',
  phases: [
    monday0800.phases[0]!,
    { name: 'burst', startMs: 0, durationMs: 30_000, participants: 50_000, curve: { kind: 'first-bell', riseMs: 3_000, halfLifeMs: 8_000 } },
  ],
  observeMs: 40_000,
  client: { ...monday0800.client, retry: { kind: 'reload', everyMs: 10_000, maxTries: 6 } },
  faults: [
    { kind: 'slow-login', atMs: -30_000, forMs: 100_000, addMs: 1_500 },
    { kind: 'farm-down', atMs: 20_000, forMs: 30_000, farm: 1 },
  ],
};
