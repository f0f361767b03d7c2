// Moodle's journey: its login form (a single-use logintoken bound to the session cookie), the dashboard, a conference link.
// URLs are read without the URL class, which k6 lacks, so that the journey runs in an exported k6 script too.
import { HttpStatusError, ProtocolError } from '../api/errors.js';
import { pathOnOrigin, type HttpAnswer, type HttpClient } from '../api/http.js';
import { defineJourney } from '../api/journey.js';
import type { JourneyEnd } from '../api/vu.js';

/** The hidden logintoken of Moodle's login form. */
export function moodleLoginToken(html: string): string | undefined {
  return /<input[^>]*name="logintoken"[^>]*value="([^"]*)"/.exec(html)?.[1] ?? /<input[^>]*value="([^"]*)"[^>]*name="logintoken"/.exec(html)?.[1];
}

/** Follows redirects on the same host (Moodle answers a login with 303 to ?testsession=, then to /my/). */
async function follow(http: HttpClient, origin: string, from: string, res: HttpAnswer, signal: AbortSignal): Promise<HttpAnswer> {
  for (let hops = 0; hops < 5 && res.status >= 300 && res.status < 400; hops++) {
    const location = res.headers.location;
    const next = typeof location === 'string' ? pathOnOrigin(location, origin, from) : undefined;
    if (next === undefined) break;
    res = await http.request('GET', (from = next), { signal });
  }
  return res;
}

/** A Moodle site: its login form, the dashboard, and where `join` is given, the lesson's conference link. */
export default defineJourney({
  description: 'a Moodle site (https://host/): login form, dashboard, and with --moodle-join the lesson\'s conference',
  schemes: ['http', 'https'],
  holds: false,
  options: {
    join: {
      description: "where a pupil joins the lesson, e.g. '/mod/bigbluebuttonbn/bbb_view.php?action=join&id=7' ({n} is the participant's conference); the join counts when Moodle redirects to the conference",
      flag: '--moodle-join',
    },
  },
  steps: {
    login_page: 'admission',
    login: 'admission',
    dashboard: { layer: 'admission', goal: 'layer' },
    join: { layer: 'broker', goal: 'journey', onlyWith: 'join' },
  },
  preflight: { path: 'login/index.php' },
  async journey(vu): Promise<JourneyEnd> {
    const { origin, pathname } = vu.target;
    const base = pathname.endsWith('/') ? pathname : `${pathname}/`;
    const path = (p: string) => base + p.replace(/^\//, '');
    // The accounts of the scenario's data (columns username and password), else the test accounts pupil-n / pw-n.
    const username = vu.data?.username ?? vu.identity.user;
    const password = vu.data?.password ?? vu.identity.password;
    const page = await vu.step('login_page', async (signal) => {
      const res = await vu.http.request('GET', path('login/index.php'), { signal });
      if (res.status !== 200) throw new HttpStatusError(res.status, 'login page');
      const token = moodleLoginToken(res.body);
      if (!token) throw new ProtocolError('no logintoken on the login page');
      return token;
    });
    if (!page.ok) return 'failed';
    const login = await vu.step('login', async (signal) => {
      const res = await vu.http.request('POST', path('login/index.php'), { form: { anchor: '', logintoken: page.value, username, password }, signal });
      if (res.status !== 303 && res.status !== 302) throw new HttpStatusError(res.status, 'login');
      const to = pathOnOrigin(String(res.headers.location ?? ''), origin, path('login/index.php')) ?? '';
      // A refused login sends the pupil back to the form; a good one to ?testsession=, which leads on to the dashboard.
      if (/\/login\/index\.php(\?|$)/.test(to) && !/[?&]testsession=/.test(to)) throw new ProtocolError('login refused (sent back to the login form)');
      return res;
    });
    if (!login.ok) return 'failed';
    const dash = await vu.step('dashboard', async (signal) => {
      const res = await follow(vu.http, origin, path('login/index.php'), login.value, signal);
      if (res.status !== 200) throw new HttpStatusError(res.status, 'dashboard');
      if (!/"sesskey":"[^"]+"/.test(res.body)) throw new ProtocolError('no sesskey on the dashboard (not logged in?)');
    });
    if (!dash.ok) return 'failed';
    const joinPath = vu.options.join;
    if (joinPath === undefined) return 'joined';
    const join = await vu.step('join', async (signal) => {
      const res = await vu.http.request('GET', path(joinPath.replace('{n}', String(vu.identity.conference))), { signal });
      if (res.status < 300 || res.status >= 400 || typeof res.headers.location !== 'string') throw new HttpStatusError(res.status, 'join (expected a redirect to the conference)');
    });
    return join.ok ? 'joined' : 'failed';
  },
});
