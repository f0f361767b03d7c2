// The Janus API for one participant over any transport a journey has: its HTTP API (REST, events by long poll) on
// the participant's HTTP client, or its WebSocket API on a WsConnection; and its keepalive.
import { ProtocolError } from './errors.js';
import type { HttpClient } from './http.js';
import type { Heartbeat, HeldConnection, HeldListener, JanusEvent, JanusSession, VideoRoomSeat, Vu, WsConnection } from './vu.js';

/** One message of the Janus API. */
export interface JanusMessage {
  janus: string;
  transaction?: string;
  data?: { id?: number };
  error?: { code: number; reason: string };
  plugindata?: { plugin?: string; data?: Record<string, unknown> };
  jsep?: Record<string, unknown>;
}

export const transactionId = () => Math.random().toString(36).slice(2);

export function parseJanus(text: string): JanusMessage {
  try {
    return JSON.parse(text) as JanusMessage;
  } catch {
    throw new ProtocolError('Janus answered with something that is not JSON');
  }
}

export function failIfError(msg: JanusMessage): JanusMessage {
  if (msg.janus === 'error') throw new ProtocolError(`Janus: ${msg.error?.reason ?? 'error'}`);
  return msg;
}

/** A Janus session's keepalive, answered by an ack with the same transaction. */
export function janusKeepalive(session: number): Heartbeat {
  return {
    message: (t) => JSON.stringify({ janus: 'keepalive', session_id: session, transaction: `k${t}` }),
    isReply: (msg, t) => msg.janus === 'ack' && msg.transaction === `k${t}`,
    // A participant that leaves destroys its session: its handles leave their rooms at once.
    farewell: JSON.stringify({ janus: 'destroy', session_id: session, transaction: 'leave' }),
  };
}

export const eventOf = (m: JanusMessage): JanusEvent => ({ data: m.plugindata?.data ?? {}, ...(m.jsep ? { jsep: m.jsep } : {}) });

/** A request of a session (or of one of its handles) on some transport, resolved with its answer: for an asynchronous one, its event. */
type JanusCall = (body: Record<string, unknown>, handle: number | undefined, signal: AbortSignal) => Promise<JanusMessage>;

/** A session's API, whichever transport carries its requests; `end` closes the transport once the session is destroyed. */
function sessionOf(id: number, call: JanusCall, connection: JanusSession['connection'], end: () => void): JanusSession {
  return {
    id,
    async attach(plugin, s) {
      const handle = (await call({ janus: 'attach', plugin }, undefined, s)).data?.id;
      if (!handle) throw new ProtocolError(`Janus attached no handle for ${plugin}`);
      return handle;
    },
    message: async (handle, body, s, jsep) => eventOf(await call({ janus: 'message', body, ...(jsep ? { jsep } : {}) }, handle, s)),
    detach: async (handle, s) => void (await call({ janus: 'detach' }, handle, s)),
    async destroy(s) {
      try {
        await call({ janus: 'destroy' }, undefined, s);
      } finally {
        end();
      }
    },
    connection,
    keepalive: janusKeepalive(id),
  };
}

/**
 * A session over Janus's HTTP API: requests are POSTs to <base>/<session>[/<handle>]; a plugin's answer to an
 * asynchronous request comes as an event, read with long-poll GETs of <base>/<session>.
 */
export async function janusOverHttp(http: HttpClient, base: string, signal: AbortSignal): Promise<JanusSession> {
  const post = async (path: string, body: Record<string, unknown>, s: AbortSignal) => {
    const res = await http.request('POST', path, { json: body, signal: s, expect: [200] });
    return failIfError(parseJanus(res.body));
  };
  const id = (await post(base || '/', { janus: 'create', transaction: transactionId() }, signal)).data?.id;
  if (!id) throw new ProtocolError('Janus created no session');
  const sessionPath = `${base}/${id}`;
  const connection = new HttpHeld(http, sessionPath);
  /** Long-polls the session's events until the one for `transaction` comes. */
  const eventFor = async (transaction: string, s: AbortSignal): Promise<JanusMessage> => {
    for (;;) {
      const res = await http.request('GET', `${sessionPath}?maxev=1&rid=${Date.now()}`, { signal: s, expect: [200] });
      const got = parseJanus(res.body) as JanusMessage | JanusMessage[];
      for (const m of Array.isArray(got) ? got : [got]) if (m.transaction === transaction) return failIfError(m);
    }
  };
  return sessionOf(id, async (body, handle, s) => {
    const transaction = transactionId();
    const first = await post(handle ? `${sessionPath}/${handle}` : sessionPath, { ...body, transaction }, s);
    // A synchronous request is answered at once; an asynchronous one is acknowledged, its answer an event.
    return first.janus === 'ack' ? eventFor(transaction, s) : first;
  }, connection, () => connection.terminate());
}

/** A held Janus session over HTTP: each heartbeat a POST, its answer the reply; a failed POST ends the hold. */
class HttpHeld implements HeldConnection {
  listener?: HeldListener;
  private gone = false;

  constructor(private http: HttpClient, private path: string) {}

  send(text: string): void {
    this.http.request('POST', this.path, { body: text, headers: { 'content-type': 'application/json' }, signal: AbortSignal.timeout(30_000), expect: [200] }).then(
      (res) => this.listener?.message(res.body),
      () => this.terminate(),
    );
  }

  terminate(): void {
    if (this.gone) return;
    this.gone = true;
    this.http.close();
    this.listener?.closed();
  }

  async leave(farewell: string): Promise<void> {
    const signal = AbortSignal.timeout(2_000);
    await this.http.request('POST', this.path, { body: farewell, headers: { 'content-type': 'application/json' }, signal }).catch(() => undefined);
    this.terminate();
  }
}

/** A session over a journey's WebSocket (opened with the janus-protocol subprotocol): each request answered by its transaction. */
export async function janusOverWsConnection(ws: WsConnection, signal: AbortSignal): Promise<JanusSession> {
  const request = async (body: Record<string, unknown>, s: AbortSignal): Promise<JanusMessage> => {
    const transaction = transactionId();
    ws.send({ ...body, transaction });
    const m = await ws.waitFor((x) => {
      const j = x.json as JanusMessage | undefined;
      return j?.transaction === transaction && j.janus !== 'ack';
    }, { signal: s, what: `Janus's answer to ${String(body.janus)}` });
    return failIfError(m.json as JanusMessage);
  };
  const id = (await request({ janus: 'create' }, signal)).data?.id;
  if (!id) throw new ProtocolError('Janus created no session');
  return sessionOf(id, (body, handle, s) => request({ ...body, session_id: id, ...(handle ? { handle_id: handle } : {}) }, s), ws, () => ws.close());
}

/**
 * Creates a Janus session (over WebSocket or HTTP, as the URL says), attaches the VideoRoom plugin and joins `room`
 * as a participant that publishes nothing (as a pupil whose camera is off). With `create`, makes the room first if
 * it is missing. `leave` on the answer leaves the room and destroys the session.
 */
export async function joinVideoRoom(vu: Pick<Vu, 'janus'>, url: string, room: number, display: string, signal: AbortSignal, create = false): Promise<VideoRoomSeat> {
  const session = await vu.janus(url, signal);
  const handle = await session.attach('janus.plugin.videoroom', signal);
  if (create) {
    const made = (await session.message(handle, { request: 'create', room, publishers: 50, permanent: false }, signal)).data;
    if (made.error_code && made.error_code !== 427) throw new ProtocolError(`Janus could not create room ${room}: ${String(made.error)}`);
  }
  const joined = (await session.message(handle, { request: 'join', ptype: 'publisher', room, display }, signal)).data;
  if (joined.videoroom !== 'joined') throw new ProtocolError(`Janus did not let ${display} into room ${room}: ${String(joined.error ?? 'no joined event')}`);
  return {
    session,
    handle,
    async leave(s) {
      try {
        await session.message(handle, { request: 'leave' }, s);
      } finally {
        await session.destroy(s);
      }
    },
  };
}
