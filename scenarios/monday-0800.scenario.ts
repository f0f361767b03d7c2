// The built-in monday-0800 scenario: the first Monday of remote school, January 2021.
import { DEFAULT_CLIENT, DEFAULT_OBJECTIVES, type Scenario } from './model.js';

/**
 * 25,000 participants already in 2,500 conferences before 8:00 (10 each, kept alive by heartbeats),
 * then 100,000 join requests within 10 s of the bell, then a thin tail of late joiners.
 */
export const monday0800: Scenario = {
  name: 'monday-0800',
  description: '25,000 participants in 2,500 running conferences, then 100,000 joins within 10 s of 8:00 (January 2021).',
  firstBell: '08:00:00',
  population: { schools: 4_300, conferences: 2_500, participantsPerConference: 10 },
  phases: [
    { name: 'baseline', startMs: -30_000, durationMs: 25_000, participants: 25_000, curve: { kind: 'uniform' } },
    { name: 'burst', startMs: 0, durationMs: 10_000, participants: 100_000, curve: { kind: 'first-bell', riseMs: 1_500, halfLifeMs: 2_000 } },
    { name: 'late joiners', startMs: 10_000, durationMs: 30_000, participants: 3_000, curve: { kind: 'uniform' } },
  ],
  observeMs: 10_000,
  client: DEFAULT_CLIENT,
  objectives: DEFAULT_OBJECTIVES,
  joinWithinMs: 10_000,
};
