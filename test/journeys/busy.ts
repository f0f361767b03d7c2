// One GET a participant; participant 40 keeps its process busy for 3 s first (a journey that computes too long).
import { defineJourney } from 'firstbell';

export default defineJourney({
  steps: { join: { layer: 'broker', goal: 'journey' } },
  holds: false,
  async journey(vu) {
    if (vu.id === 40) {
      const until = Date.now() + 3_000;
      while (Date.now() < until);
    }
    const r = await vu.step('join', (signal) => vu.http.request('GET', '/', { expect: [200], signal }));
    return r.ok ? 'joined' : 'failed';
  },
});
