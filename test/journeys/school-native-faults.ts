// The JSON-login example's journey, on a platform whose admin API can slow its logins: a fault it applies itself.
import { defineJourney } from 'firstbell';
import journey from '../../examples/json-login/journey.js';

export default defineJourney({
  ...journey,
  faults: (target) => ({
    available: async (signal) => (await fetch(new URL('/admin/slow-login?ms=0', target), { method: 'POST', signal })).ok,
    supports: (f) => f.kind === 'slow-login',
    apply: async (f) => void (await fetch(new URL(`/admin/slow-login?ms=${f.kind === 'slow-login' ? f.addMs : 0}`, target), { method: 'POST' })),
    clear: async () => void (await fetch(new URL('/admin/slow-login?ms=0', target), { method: 'POST' })),
  }),
});
