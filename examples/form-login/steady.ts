// Twenty logins a second for five seconds through the form, then the dashboard.
import { defineScenario, load } from 'firstbell';

export default defineScenario({
  name: 'form-logins',
  journey: './journey.ts',
  phases: load.constant({ perSec: 20, forMs: 5_000 }),
  observeMs: 2_000,
});
