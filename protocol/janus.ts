// The Janus API for one participant: a session over WebSocket or over HTTP (REST, events by long poll), and its keepalive.
import type WebSocket from 'ws';
import { ProtocolError } from '../api/errors.js';
import type { HttpClient } from '../api/http.js';
import type { Heartbeat, HeldConnection, HeldListener, JanusEvent, JanusSession } from '../api/target.js';

interface JanusMessage {
  janus: string;
  transaction?: string;
  data?: { id?: number };
  error?: { code: number; reason: string };
  plugindata?: { plugin?: string; data?: Record<string, unknown> };
  jsep?: Record<string, unknown>;
}

const transactionId = () => Math.random().toString(36).slice(2);

function parse(text: string): JanusMessage {
  try {
    return JSON.parse(text) as JanusMessage;
  } catch {
    throw new ProtocolError('Janus answered with something that is not JSON');
  }
}

function failIfError(msg: JanusMessage): JanusMessage {
  if (msg.janus === 'error') throw new ProtocolError(`Janus: ${msg.error?.reason ?? 'error'}`);
  return msg;
}

/** Sends one Janus API request on a WebSocket and resolves with its answer (for plugin messages: the event after the ack). */
export function janusRequest(ws: WebSocket, body: Record<string, unknown>, signal: AbortSignal): Promise<JanusMessage> {
  return new Promise((resolve, reject) => {
    const transaction = transactionId();
    const onMessage = (data: WebSocket.RawData) => {
      let msg: JanusMessage;
      try {
        msg = parse(String(data));
      } catch (e) {
        return done(() => reject(e));
      }
      if (msg.transaction !== transaction || msg.janus === 'ack') return;
      done(() => (msg.janus === 'error' ? reject(new ProtocolError(`Janus: ${msg.error?.reason ?? 'error'}`)) : resolve(msg)));
    };
    const onClose = () => done(() => reject(Object.assign(new Error('the media server closed the connection'), { code: 'ECONNRESET' })));
    const onAbort = () => done(() => reject(signal.reason));
    const done = (f: () => void) => {
      ws.off('message', onMessage);
      ws.off('close', onClose);
      signal.removeEventListener('abort', onAbort);
      f();
    };
    ws.on('message', onMessage);
    ws.once('close', onClose);
    signal.addEventListener('abort', onAbort, { once: true });
    ws.send(JSON.stringify({ ...body, transaction }), (err) => err && done(() => reject(err)));
  });
}

/** A Janus session's keepalive, answered by an ack with the same transaction. */
export function janusKeepalive(session: number): Heartbeat {
  return {
    message: (t) => JSON.stringify({ janus: 'keepalive', session_id: session, transaction: `k${t}` }),
    isReply: (msg, t) => msg.janus === 'ack' && msg.transaction === `k${t}`,
  };
}

const eventOf = (m: JanusMessage): JanusEvent => ({ data: m.plugindata?.data ?? {}, ...(m.jsep ? { jsep: m.jsep } : {}) });

/** A session over a WebSocket (the janus-protocol subprotocol). */
export async function janusOverWs(ws: WebSocket, signal: AbortSignal): Promise<JanusSession> {
  const id = (await janusRequest(ws, { janus: 'create' }, signal)).data?.id;
  if (!id) throw new ProtocolError('Janus created no session');
  return {
    id,
    async attach(plugin, s) {
      const handle = (await janusRequest(ws, { janus: 'attach', session_id: id, plugin }, s)).data?.id;
      if (!handle) throw new ProtocolError(`Janus attached no handle for ${plugin}`);
      return handle;
    },
    async message(handle, body, s, jsep) {
      return eventOf(await janusRequest(ws, { janus: 'message', session_id: id, handle_id: handle, body, ...(jsep ? { jsep } : {}) }, s));
    },
    connection: ws,
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
    return failIfError(parse(res.body));
  };
  const id = (await post(base, { janus: 'create', transaction: transactionId() }, signal)).data?.id;
  if (!id) throw new ProtocolError('Janus created no session');
  const sessionPath = `${base}/${id}`;
  /** Long-polls the session's events until the one for `transaction` comes. */
  const eventFor = async (transaction: string, s: AbortSignal): Promise<JanusMessage> => {
    for (;;) {
      const res = await http.request('GET', `${sessionPath}?maxev=1&rid=${Date.now()}`, { signal: s, expect: [200] });
      const got = parse(res.body) as JanusMessage | JanusMessage[];
      for (const m of Array.isArray(got) ? got : [got]) if (m.transaction === transaction) return failIfError(m);
    }
  };
  return {
    id,
    async attach(plugin, s) {
      const handle = (await post(sessionPath, { janus: 'attach', plugin, transaction: transactionId() }, s)).data?.id;
      if (!handle) throw new ProtocolError(`Janus attached no handle for ${plugin}`);
      return handle;
    },
    async message(handle, body, s, jsep) {
      const transaction = transactionId();
      const first = await post(`${sessionPath}/${handle}`, { janus: 'message', body, transaction, ...(jsep ? { jsep } : {}) }, s);
      // A synchronous request is answered at once; an asynchronous one is acknowledged, its answer an event.
      return eventOf(first.janus === 'ack' ? await eventFor(transaction, s) : first);
    },
    connection: new HttpHeld(http, sessionPath),
    keepalive: janusKeepalive(id),
  };
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
}
