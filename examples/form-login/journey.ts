// A platform with a login form guarded by a CSRF token bound to a cookie, and a dashboard behind it.
import { defineJourney, extract } from 'firstbell';

export default defineJourney({
  steps: {
    login_page: 'admission',
    login: 'admission',
    dashboard: { layer: 'admission', goal: 'journey' },
  },
  // Logged in is the goal: nobody stays connected.
  holds: false,
  async journey(vu) {
    const page = await vu.step('login_page', async (signal) => {
      const res = await vu.http.request('GET', '/login', { expect: [200], signal });
      return extract.formField(res.body, 'csrf');
    });
    if (!page.ok) return 'failed';

    // The form answers 303 to the dashboard; an expected 303 is a success, anything else fails the step.
    const form = { username: vu.identity.user, password: vu.identity.password, csrf: page.value };
    const login = await vu.step('login', (signal) => vu.http.request('POST', '/login', { form, expect: [303], signal }));
    if (!login.ok) return 'failed';

    const dashboard = await vu.step('dashboard', async (signal) => {
      const res = await vu.http.request('GET', '/dashboard', { expect: [200], signal });
      return extract.meta(res.body, 'csrf-token');
    });
    return dashboard.ok ? 'joined' : 'failed';
  },
});
