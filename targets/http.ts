// A plain HTTP target: each participant sends GETs to one URL on its own keep-alive connection.
import { HttpStatusError } from '../api/errors.js';
import { defineTarget, type JourneyEnd, type Target } from '../api/target.js';
import { preflightHttp } from './preflight.js';

export interface HttpTargetOptions {
  /** GETs each participant sends, one after the other on its connection. Default 1. */
  requests?: number;
}

/** Any URL answering GET with 2xx or 3xx; for a sink, a CDN edge or a login page alone. */
const HTTP_STEPS = { request: { layer: 'admission', goal: 'journey' } } as const;

export function httpTarget(url: URL, opts: HttpTargetOptions = {}): Target<typeof HTTP_STEPS> {
  const requests = opts.requests ?? 1;
  const path = url.pathname + url.search;
  return defineTarget({
    kind: 'http',
    holds: false,
    url,
    steps: HTTP_STEPS,
    preflight: (signal) => preflightHttp(url, path, signal),
    async journey(vu): Promise<JourneyEnd> {
      for (let k = 0; k < requests; k++) {
        const r = await vu.step('request', async (signal) => {
          const res = await vu.http.request('GET', path, { signal });
          if (res.status >= 400) throw new HttpStatusError(res.status, 'request');
        });
        if (!r.ok) return vu.stopped ? 'stopped' : 'failed';
      }
      return 'joined';
    },
  });
}
