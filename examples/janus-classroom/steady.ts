// Pupils join their classes' rooms on Janus five a second for eight seconds and stay, while browser users use the classroom page.
import { defineScenario, load } from 'firstbell';

export default defineScenario({
  name: 'classroom-steady',
  description: 'Forty pupils join their class rooms over eight seconds and stay.',
  phases: load.constant({ perSec: 5, forMs: 8_000 }),
  client: { heartbeatMs: 2_000 },
  observeMs: 15_000,
});
