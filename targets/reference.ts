// The reference platform's journey, step by step, for firstbell's own fixture or any platform built like it.
import { HttpStatusError, ProtocolError } from '../api/errors.js';
import type { HttpAnswer } from '../api/http.js';
import { joinVideoRoom } from '../api/janus.js';
import { defineJourney } from '../api/journey.js';
import type { Heartbeat, JanusSession, JourneyEnd, NativeFaults, Vu } from '../api/vu.js';
import type { Fault } from '../scenarios/model.js';
import { referenceWebClient } from './reference-web.js';

function expectStatus(res: HttpAnswer, what: string, ...ok: number[]): HttpAnswer {
  if (!ok.includes(res.status)) throw new HttpStatusError(res.status, what);
  return res;
}

function match(re: RegExp, text: string, what: string): string {
  const m = re.exec(text);
  if (!m?.[1]) throw new ProtocolError(`no ${what} in the answer`);
  return m[1];
}

/** The reference platform's own fault modes, switched through its control surface. */
function controlSurfaceFaults(url: URL): NativeFaults {
  const put = async (patch: unknown) => {
    const res = await fetch(new URL('/_control', url), { method: 'PUT', body: JSON.stringify(patch) });
    if (!res.ok) throw new Error(`control surface answered ${res.status}`);
  };
  const patchFor = (f: Fault, on: boolean) => {
    switch (f.kind) {
      case 'broker-defect': return { faults: { brokerDefect: on ? f.threshold : 0 } };
      case 'slow-login': return { faults: { loginExtraMs: on ? f.addMs : 0 } };
      case 'farm-down': return { faults: { farmsDown: on ? [f.farm] : [] } };
      case 'errors': return { faults: { upstreamDown: on } };
      default: throw new Error(`${f.kind} is not a fault mode of the reference platform`);
    }
  };
  return {
    available: async (signal) => (await fetch(new URL('/_control', url), { signal })).ok,
    supports: (f) =>
      f.kind === 'broker-defect' || f.kind === 'slow-login' || f.kind === 'farm-down' ||
      (f.kind === 'errors' && f.status === 502 && f.ratio === 1 && f.pathPrefix === undefined),
    apply: (f) => put(patchFor(f, true)),
    clear: (f) => put(patchFor(f, false)),
  };
}

/** The reference journey's steps: a layer's goal is where a participant got through it. */
const REFERENCE_STEPS = {
  login_page: 'admission',
  login: 'admission',
  dashboard: { layer: 'admission', goal: 'layer' },
  join: { layer: 'broker', goal: 'layer' },
  connect: { layer: 'media', goal: 'journey' },
  heartbeat: { layer: 'media', held: true },
} as const;
type ReferenceVu = Vu<typeof REFERENCE_STEPS>;

/** Media nodes are dealt to the two farms in turn: /media/<n>/… is on farm n mod 2. */
function referenceFarmOf(path: string): number | undefined {
  const m = /^\/media\/(\d+)\//.exec(path);
  return m ? Number(m[1]) % 2 : undefined;
}

/** The stand-in media nodes' heartbeat: {"type":"ping","t"} answered by {"type":"pong","t"}. */
export const PING_PONG: Heartbeat = {
  message: (t) => JSON.stringify({ type: 'ping', t }),
  isReply: (msg, t) => msg.type === 'pong' && msg.t === t,
};

interface Grant {
  signalUrl?: string;
  janus?: { url: string; room: number };
}

/** Login page, login, dashboard and join: the media grant, or nothing when a step failed. */
async function admit(vu: ReferenceVu): Promise<Grant | undefined> {
  const page = await vu.step('login_page', async (signal) => {
    const res = expectStatus(await vu.http.request('GET', '/login', { signal }), 'login page', 200);
    return match(/name="csrf" value="([^"]+)"/, res.body, 'CSRF token');
  });
  if (!page.ok) return undefined;
  const login = await vu.step('login', async (signal) => {
    const res = await vu.http.request('POST', '/login', { form: { username: vu.identity.user, password: vu.identity.password, csrf: page.value }, signal });
    expectStatus(res, 'login', 303, 302);
    if (!vu.http.cookie('sid')) throw new ProtocolError('login answered without a session cookie');
  });
  if (!login.ok) return undefined;
  const dash = await vu.step('dashboard', async (signal) => {
    const res = expectStatus(await vu.http.request('GET', '/dashboard', { signal }), 'dashboard', 200);
    return {
      csrf: match(/name="csrf-token" content="([^"]+)"/, res.body, 'CSRF token'),
      conference: match(/data-conference="([^"]+)"/, res.body, 'conference on the dashboard'),
    };
  });
  if (!dash.ok) return undefined;
  const join = await vu.step('join', async (signal): Promise<Grant> => {
    const res = await vu.http.request('POST', `/api/conferences/${dash.value.conference}/join`, { json: {}, headers: { 'x-csrf-token': dash.value.csrf }, signal });
    expectStatus(res, 'join', 200);
    let body: { signalUrl?: unknown; janus?: { url?: unknown; room?: unknown }; display?: unknown };
    try {
      body = JSON.parse(res.body) as typeof body;
    } catch {
      throw new ProtocolError('join answer is not JSON');
    }
    if (body.janus && typeof body.janus.url === 'string' && typeof body.janus.room === 'number') {
      return { janus: { url: body.janus.url, room: body.janus.room } };
    }
    if (typeof body.signalUrl !== 'string') throw new ProtocolError('join answer has neither a signalUrl nor a Janus room');
    return { signalUrl: body.signalUrl };
  });
  return join.ok ? join.value : undefined;
}

/** The reference platform, or one built like it: login page, login, dashboard, join, then a held media connection. */
export default defineJourney({
  description: 'the reference platform, or one built like it (http://host:8080)',
  schemes: ['http', 'https'],
  faults: controlSurfaceFaults,
  farmOf: referenceFarmOf,
  webClient: referenceWebClient,
  steps: REFERENCE_STEPS,
  preflight: { path: '/login' },
  async journey(vu): Promise<JourneyEnd> {
    const grant = await admit(vu);
    // The media connection is the only one a joined participant keeps.
    vu.http.close();
    if (!grant) return 'failed';
    // With Janus, the participant holds a real Janus session in its class's room; else the stand-in media node.
    const media = await vu.step('connect', async (signal): Promise<{ ws: JanusSession['connection']; beat?: Heartbeat }> => {
      if (grant.janus) {
        const seat = await joinVideoRoom(vu, grant.janus.url, grant.janus.room, vu.identity.user, signal);
        return { ws: seat.session.connection, beat: seat.session.keepalive };
      }
      const ws = await vu.ws(grant.signalUrl!, signal);
      const first = await ws.waitFor(() => true, { signal, what: "the media node's first message" });
      if (!first.text.includes('"joined"')) throw new ProtocolError('the media node did not confirm the join');
      return { ws };
    });
    if (!media.ok) return 'failed';
    return vu.hold(media.value.ws, 'heartbeat', media.value.beat ?? PING_PONG);
  },
});
