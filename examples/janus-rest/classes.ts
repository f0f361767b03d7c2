// Three classes of ten join within four seconds and stay, keeping their sessions alive every second.
import { defineScenario, load } from 'firstbell';

export default defineScenario({
  name: 'janus-classes',
  journey: './journey.ts',
  phases: load.constant({ perSec: 7.5, forMs: 4_000 }),
  client: { heartbeatMs: 1_000 },
  observeMs: 3_000,
});
