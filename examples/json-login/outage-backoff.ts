// The same 20 s outage of the lesson service, but pupils' pages wait before trying again: 1 s, then twice as long
// each time up to 15 s, each wait a random share of that (full jitter), so retries do not arrive together.
import { defineScenario, load } from 'firstbell';

export default defineScenario({
  name: 'lesson-outage-backoff',
  description: 'The lesson API fails with 502 for 20 s under steady arrivals; pupils back off with jitter.',
  journey: './journey.ts',
  phases: load.constant({ perSec: 10, forMs: 30_000 }),
  client: { thinkTimeMs: 100, stepTimeoutMs: 5_000, heartbeatMs: 2_000, retry: { kind: 'backoff', baseMs: 1_000, maxMs: 15_000, maxTries: 30 } },
  faults: [{ kind: 'errors', status: 502, ratio: 1, atMs: 5_000, forMs: 20_000, pathPrefix: '/api/lesson' }],
  observeMs: 3_000,
});
