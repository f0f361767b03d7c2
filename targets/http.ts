// A plain HTTP journey: each participant sends GETs to one URL on its own keep-alive connection.
import { HttpStatusError } from '../api/errors.js';
import { defineJourney } from '../api/journey.js';
import type { JourneyEnd } from '../api/vu.js';

/** Any URL answering GET with 2xx or 3xx; for a sink, a CDN edge or a login page alone. */
export default defineJourney({
  description: 'GETs of the --target URL, each participant on its keep-alive connection',
  schemes: ['http', 'https'],
  holds: false,
  options: { requests: { description: 'GETs each participant sends on its keep-alive connection', type: 'number', default: 1, flag: '--http-requests' } },
  steps: { request: { layer: 'admission', goal: 'journey' } },
  async journey(vu): Promise<JourneyEnd> {
    const path = vu.target.pathname + vu.target.search;
    for (let k = 0; k < vu.options.requests; k++) {
      const r = await vu.step('request', async (signal) => {
        const res = await vu.http.request('GET', path, { signal });
        if (res.status >= 400) throw new HttpStatusError(res.status, 'request');
      });
      if (!r.ok) return 'failed';
    }
    return 'joined';
  },
});
