// Moodle as the target: its login form (a single-use logintoken bound to the session cookie), the dashboard, a conference link.
import { HttpStatusError, ProtocolError } from '../api/errors.js';
import type { HttpAnswer, HttpClient } from '../api/http.js';
import type { Identity } from '../api/identity.js';
import { defineTarget, type JourneyEnd, type Target } from '../api/target.js';
import { preflightHttp } from './preflight.js';

export interface MoodleOptions {
  /** User name and password of a participant; default its test account, pupil-n / pw-n. */
  credentials?: (who: Identity) => { username: string; password: string };
  /**
   * Where a pupil joins the lesson, e.g. /mod/bigbluebuttonbn/bbb_view.php?action=join&id=7 ({n} is the
   * participant's conference); the join counts when Moodle redirects to the conference. Without it the journey ends at the dashboard.
   */
  joinPath?: string;
}

/** Moodle's steps; the join is declared only where a join path is given. */
type MoodleSteps = {
  login_page: 'admission';
  login: 'admission';
  dashboard: { layer: 'admission'; goal: 'layer' | 'journey' };
  join?: { layer: 'broker'; goal: 'journey' };
};

/** The hidden logintoken of Moodle's login form. */
export function moodleLoginToken(html: string): string | undefined {
  return /<input[^>]*name="logintoken"[^>]*value="([^"]*)"/.exec(html)?.[1] ?? /<input[^>]*value="([^"]*)"[^>]*name="logintoken"/.exec(html)?.[1];
}

/** Follows redirects on the same host (Moodle answers a login with 303 to ?testsession=, then to /my/). */
async function follow(http: HttpClient, base: URL, res: HttpAnswer, signal: AbortSignal): Promise<HttpAnswer> {
  for (let hops = 0; hops < 5 && res.status >= 300 && res.status < 400; hops++) {
    const location = res.headers.location;
    if (typeof location !== 'string') break;
    const next = new URL(location, base);
    if (next.origin !== base.origin) break;
    res = await http.request('GET', next.pathname + next.search, { signal });
  }
  return res;
}

export function moodleTarget(url: URL, opts: MoodleOptions = {}): Target<MoodleSteps> {
  const base = new URL(url.pathname.endsWith('/') ? url.href : `${url.href}/`);
  const path = (p: string) => new URL(p.replace(/^\//, ''), base).pathname + (new URL(p.replace(/^\//, ''), base).search);
  const creds = opts.credentials ?? ((who: Identity) => ({ username: who.user, password: who.password }));
  const steps: MoodleSteps = { login_page: 'admission', login: 'admission', dashboard: { layer: 'admission', goal: opts.joinPath ? 'layer' : 'journey' } };
  if (opts.joinPath) steps.join = { layer: 'broker', goal: 'journey' };
  return defineTarget({
    kind: 'moodle',
    holds: false,
    url,
    steps,
    preflight: (signal) => preflightHttp(base, path('login/index.php'), signal),
    async journey(vu): Promise<JourneyEnd> {
      const failed = (): JourneyEnd => (vu.stopped ? 'stopped' : 'failed');
      const { username, password } = creds(vu.identity);
      const page = await vu.step('login_page', async (signal) => {
        const res = await vu.http.request('GET', path('login/index.php'), { signal });
        if (res.status !== 200) throw new HttpStatusError(res.status, 'login page');
        const token = moodleLoginToken(res.body);
        if (!token) throw new ProtocolError('no logintoken on the login page');
        return token;
      });
      if (!page.ok) return failed();
      const login = await vu.step('login', async (signal) => {
        const res = await vu.http.request('POST', path('login/index.php'), { form: { anchor: '', logintoken: page.value, username, password }, signal });
        if (res.status !== 303 && res.status !== 302) throw new HttpStatusError(res.status, 'login');
        const to = new URL(String(res.headers.location ?? ''), base);
        // A refused login sends the pupil back to the form; a good one to ?testsession=, which leads on to the dashboard.
        if (to.pathname.endsWith('/login/index.php') && !to.searchParams.has('testsession')) throw new ProtocolError('login refused (sent back to the login form)');
        return res;
      });
      if (!login.ok) return failed();
      const dash = await vu.step('dashboard', async (signal) => {
        const res = await follow(vu.http, base, login.value, signal);
        if (res.status !== 200) throw new HttpStatusError(res.status, 'dashboard');
        if (!/"sesskey":"[^"]+"/.test(res.body)) throw new ProtocolError('no sesskey on the dashboard (not logged in?)');
      });
      if (!dash.ok) return failed();
      if (!opts.joinPath) return 'joined';
      const join = await vu.step('join', async (signal) => {
        const res = await vu.http.request('GET', path(opts.joinPath!.replace('{n}', String(vu.identity.conference))), { signal });
        if (res.status < 300 || res.status >= 400 || typeof res.headers.location !== 'string') throw new HttpStatusError(res.status, 'join (expected a redirect to the conference)');
      });
      return join.ok ? 'joined' : failed();
    },
  });
}
