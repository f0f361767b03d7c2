// Logins rising from 0 to 60 a second over 30 s: where the login stops keeping up is the admission layer's knee.
import { defineScenario, load } from 'firstbell';

export default defineScenario({
  name: 'login-ramp',
  description: 'Pupils log in, ask for their lesson and stay in the classroom, arriving ever faster.',
  journey: './journey.ts',
  phases: load.ramp({ fromPerSec: 0, toPerSec: 60, overMs: 30_000 }),
  client: { thinkTimeMs: 100, stepTimeoutMs: 5_000, heartbeatMs: 2_000 },
  observeMs: 3_000,
});
