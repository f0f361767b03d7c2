// The lesson service answers 502 Bad Gateway for 20 s while pupils keep arriving; pupils who hit it reload every 2 s,
// as a browser's reload button would. Compare with outage-backoff.ts: `firstbell whatif outage-reload.ts outage-backoff.ts`.
import { defineScenario, load } from 'firstbell';

export default defineScenario({
  name: 'lesson-outage-reload',
  description: 'The lesson API fails with 502 for 20 s under steady arrivals; pupils reload every 2 s.',
  journey: './journey.ts',
  phases: load.constant({ perSec: 10, forMs: 30_000 }),
  client: { thinkTimeMs: 100, stepTimeoutMs: 5_000, heartbeatMs: 2_000, retry: { kind: 'reload', everyMs: 2_000, maxTries: 30 } },
  // Put in front of any platform by firstbell's fault proxy: nothing on the platform changes.
  faults: [{ kind: 'errors', status: 502, ratio: 1, atMs: 5_000, forMs: 20_000, pathPrefix: '/api/lesson' }],
  observeMs: 3_000,
});
