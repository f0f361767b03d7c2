// One request per participant: POST /join, the broker's goal; nothing held.
import { defineJourney } from 'firstbell';

export default defineJourney({
  steps: { join: { layer: 'broker', goal: 'journey' } },
  holds: false,
  async journey(vu) {
    const r = await vu.step('join', (signal) => vu.http.request('POST', '/join', { json: { pupil: vu.identity.user }, expect: [200], signal }));
    return r.ok ? 'joined' : 'failed';
  },
});
