// The Janus API over a raw WebSocket (the ws package): the built-in targets' sessions, a socket per participant.
import type WebSocket from 'ws';
import { ProtocolError } from '../api/errors.js';
import { eventOf, janusKeepalive, parseJanus, transactionId, type JanusMessage } from '../api/janus.js';
import type { JanusSession } from '../api/target.js';

export { janusKeepalive, janusOverHttp } from '../api/janus.js';

/** Sends one Janus API request on a WebSocket and resolves with its answer (for plugin messages: the event after the ack). */
export function janusRequest(ws: WebSocket, body: Record<string, unknown>, signal: AbortSignal): Promise<JanusMessage> {
  return new Promise((resolve, reject) => {
    const transaction = transactionId();
    const onMessage = (data: WebSocket.RawData) => {
      let msg: JanusMessage;
      try {
        msg = parseJanus(String(data));
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

