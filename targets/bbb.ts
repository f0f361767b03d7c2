// BigBlueButton's journey: its API (create, join) with the shared-secret checksum, then the client it hands out.
// The hash is node:crypto's in Node.js and k6/crypto's in an exported k6 script; URLs are read without the URL class, which k6 lacks.
import { createHash } from 'node:crypto';
import { HttpStatusError, ProtocolError } from '../api/errors.js';
import { pathOnOrigin } from '../api/http.js';
import { defineJourney } from '../api/journey.js';
import type { JourneyEnd } from '../api/vu.js';

export type BbbChecksum = 'sha1' | 'sha256' | 'sha384' | 'sha512';

/** The checksum of one API call: the hash of call name + query string + shared secret, in hex. */
export function bbbChecksum(call: string, query: string, secret: string, algorithm: BbbChecksum = 'sha1'): string {
  return createHash(algorithm).update(call + query + secret).digest('hex');
}

/** The API's path, `…/bigbluebutton/api/`, from the path of either `…/bigbluebutton/` or `…/bigbluebutton/api`. */
function apiPath(pathname: string): string {
  const path = pathname.replace(/\/+$/, '');
  return `${/\/api$/.test(path) ? path : `${path}/api`}/`;
}

/** A query string as a form encodes it: spaces become '+', as in the API documentation's example. */
function formQuery(params: Record<string, string>): string {
  const enc = (s: string) => encodeURIComponent(s).replace(/%20/g, '+');
  return Object.entries(params).map(([k, v]) => `${enc(k)}=${enc(v)}`).join('&');
}

/** A signed API call on the server at `pathname`: path and query, the checksum last. */
export function bbbCall(pathname: string, call: string, params: Record<string, string>, secret: string, algorithm: BbbChecksum = 'sha1'): string {
  const query = formQuery(params);
  return `${apiPath(pathname)}${call}?${query}${query ? '&' : ''}checksum=${bbbChecksum(call, query, secret, algorithm)}`;
}

function xmlField(xml: string, name: string): string | undefined {
  return new RegExp(`<${name}>([^<]*)</${name}>`).exec(xml)?.[1];
}

/** Throws unless the XML answer says SUCCESS; the message key and message say why otherwise. */
function expectSuccess(status: number, body: string, what: string): string {
  if (status !== 200) throw new HttpStatusError(status, what);
  if (xmlField(body, 'returncode') !== 'SUCCESS') throw new ProtocolError(`${what}: ${xmlField(body, 'messageKey') ?? 'no returncode'}: ${xmlField(body, 'message') ?? ''}`.trim());
  return body;
}

const CHECKSUMS = ['sha1', 'sha256', 'sha384', 'sha512'] as const;

/**
 * A BigBlueButton server: each participant asks for its class's meeting (create is idempotent, so every
 * pupil may ask), joins it as a viewer through the API, then opens the client URL the server hands out.
 * What the client does in the conference afterwards is not played at protocol level; browser users see it.
 */
export default defineJourney({
  description: 'a BigBlueButton server (https://host/bigbluebutton/)',
  schemes: ['http', 'https'],
  holds: false,
  options: {
    secret: { description: "the server's shared secret (on the server: bbb-conf --secret)", required: true, secret: true, env: 'FIRSTBELL_BBB_SECRET', flag: '--bbb-secret' },
    checksum: { description: 'the checksum algorithm, as configured on the server', choices: CHECKSUMS, default: 'sha1', flag: '--bbb-checksum' },
  },
  steps: { create: 'broker', join: { layer: 'broker', goal: 'layer' }, enter: { layer: 'media', goal: 'journey' } },
  preflight: { path: 'api/' },
  async journey(vu): Promise<JourneyEnd> {
    const { origin, pathname } = vu.target;
    const api = (call: string, params: Record<string, string>) => bbbCall(pathname, call, params, vu.options.secret, vu.options.checksum as BbbChecksum);
    const meetingID = `class-${vu.identity.conference}`;
    const created = await vu.step('create', async (signal) => {
      const res = await vu.http.request('GET', api('create', { name: `Class ${meetingID}`, meetingID, attendeePW: 'ap', moderatorPW: 'mp' }), { signal });
      expectSuccess(res.status, res.body, 'create');
    });
    if (!created.ok) return 'failed';
    const joined = await vu.step('join', async (signal) => {
      const res = await vu.http.request('GET', api('join', { fullName: vu.identity.user, meetingID, role: 'VIEWER', password: 'ap', redirect: 'false' }), { signal });
      const client = xmlField(expectSuccess(res.status, res.body, 'join'), 'url');
      if (!client) throw new ProtocolError('join answered without the client url');
      const path = pathOnOrigin(client.replace(/&amp;/g, '&'), origin, pathname);
      if (path === undefined) throw new ProtocolError(`the client is on another host (${client}); load it as a target of its own`);
      return path;
    });
    if (!joined.ok) return 'failed';
    const entered = await vu.step('enter', async (signal) => {
      let path = joined.value;
      // The client URL redirects (to the HTML5 client with a session token); follow it on this host.
      for (let hops = 0; hops < 5; hops++) {
        const res = await vu.http.request('GET', path, { signal });
        const location = res.headers.location;
        if (res.status >= 300 && res.status < 400 && typeof location === 'string') {
          const next = pathOnOrigin(location, origin, path);
          if (next === undefined) return;
          path = next;
          continue;
        }
        if (res.status !== 200) throw new HttpStatusError(res.status, 'client');
        return;
      }
      throw new ProtocolError('the client URL redirects more than 5 times');
    });
    return entered.ok ? 'joined' : 'failed';
  },
});
