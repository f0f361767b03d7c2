// A plain HTTP target: each participant sends GETs to one URL on its own keep-alive connection.
import { HttpStatusError } from '../protocol/http-session.js';
import { step, type JourneyEnd, type Target } from '../api/target.js';
import type { VirtualUser } from '../users/virtual-user.js';
import { preflightHttp } from './reference.js';

export interface HttpTargetOptions {
  /** GETs each participant sends, one after the other on its connection. Default 1. */
  requests?: number;
}

/** Any URL answering GET with 2xx or 3xx; for a sink, a CDN edge or a login page alone. */
export function httpTarget(url: URL, opts: HttpTargetOptions = {}): Target {
  const requests = opts.requests ?? 1;
  const path = url.pathname + url.search;
  return {
    kind: 'http',
    holds: false,
    url,
    steps: [step('admission', 'request', 'journey')],
    preflight: (signal) => preflightHttp(url, path, signal),
    async journey(vu: VirtualUser): Promise<JourneyEnd> {
      for (let k = 0; k < requests; k++) {
        const r = await vu.step('admission', 'request', async (signal) => {
          const res = await vu.http.request('GET', path, { signal });
          if (res.status >= 400) throw new HttpStatusError(res.status, 'request');
        });
        if (!r.ok) return vu.stopped ? 'stopped' : 'failed';
      }
      return 'joined';
    },
  };
}
