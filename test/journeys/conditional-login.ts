// A journey that logs in only when its session is gone: a retry after a failed join skips the login.
import { defineJourney } from 'firstbell';

export default defineJourney({
  steps: { login: 'admission', profile: 'admission', join: { layer: 'broker', goal: 'journey' } },
  holds: false,
  async journey(vu) {
    if (!vu.http.cookie('session')) {
      const login = await vu.step('login', (signal) => vu.http.request('POST', '/api/login', { json: { user: vu.identity.user }, expect: [200], signal }));
      if (!login.ok) return 'failed';
    }
    const profile = await vu.step('profile', (signal) => vu.http.request('GET', '/api/me', { expect: [200], signal }));
    if (!profile.ok) return 'failed';
    const join = await vu.step('join', (signal) => vu.http.request('POST', '/api/join', { json: {}, expect: [200], signal }));
    return join.ok ? 'joined' : 'failed';
  },
});
