// Protocol-level media users on Janus: the Janus API over WebSocket, held as real sessions in a VideoRoom.
import WebSocket from 'ws';
import { ProtocolError, TargetUnreachableError } from '../api/errors.js';
import { classifyError, describeKind } from '../api/sample.js';
import { defineTarget, type Heartbeat, type JourneyEnd, type Target, type Vu } from '../api/target.js';

interface JanusMessage {
  janus: string;
  transaction?: string;
  data?: { id?: number };
  error?: { code: number; reason: string };
  plugindata?: { data?: { videoroom?: string; error_code?: number; error?: string } };
}

/** Sends one Janus API request and resolves with its answer (for plugin messages: the event after the ack). */
export function janusRequest(ws: WebSocket, body: Record<string, unknown>, signal: AbortSignal): Promise<JanusMessage> {
  return new Promise((resolve, reject) => {
    const transaction = Math.random().toString(36).slice(2);
    const onMessage = (data: WebSocket.RawData) => {
      let msg: JanusMessage;
      try {
        msg = JSON.parse(String(data)) as JanusMessage;
      } catch {
        return done(() => reject(new ProtocolError('Janus answered with something that is not JSON')));
      }
      if (msg.transaction !== transaction || msg.janus === 'ack') return;
      if (msg.janus === 'error') return done(() => reject(new ProtocolError(`Janus: ${msg.error?.reason ?? 'error'}`)));
      done(() => resolve(msg));
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

/**
 * Connects, creates a session, attaches the VideoRoom plugin and joins `room` as a participant that
 * publishes nothing (as a pupil whose camera is off). With `create`, makes the room first if it is missing.
 */
export async function janusJoin(vu: Pick<Vu, 'openSocket'>, url: string, room: number, display: string, signal: AbortSignal, create = false): Promise<{ ws: WebSocket; session: number }> {
  const { ws } = await vu.openSocket(url, signal, { protocol: 'janus-protocol', speaksFirst: false });
  const session = (await janusRequest(ws, { janus: 'create' }, signal)).data?.id;
  if (!session) throw new ProtocolError('Janus created no session');
  const handle = (await janusRequest(ws, { janus: 'attach', session_id: session, plugin: 'janus.plugin.videoroom' }, signal)).data?.id;
  if (!handle) throw new ProtocolError('Janus attached no VideoRoom handle');
  const message = (body: Record<string, unknown>) => janusRequest(ws, { janus: 'message', session_id: session, handle_id: handle, body }, signal);
  if (create) {
    const made = (await message({ request: 'create', room, publishers: 50, permanent: false })).plugindata?.data;
    if (made?.error_code && made.error_code !== 427) throw new ProtocolError(`Janus could not create room ${room}: ${made.error}`);
  }
  const joined = (await message({ request: 'join', ptype: 'publisher', room, display })).plugindata?.data;
  if (joined?.videoroom !== 'joined') throw new ProtocolError(`Janus did not let ${display} into room ${room}: ${joined?.error ?? 'no joined event'}`);
  return { ws, session };
}

/** Answers an `info` request at all, or says why not. */
async function preflightJanus(url: URL, signal: AbortSignal): Promise<void> {
  await new Promise<void>((resolve, reject) => {
    const ws = new WebSocket(url, 'janus-protocol');
    const fail = (err: unknown) => {
      ws.terminate();
      const kind = signal.aborted ? 'timeout' : classifyError(err);
      reject(new TargetUnreachableError(`Janus at ${url.href} did not answer before the start: ${describeKind(kind)}`));
    };
    signal.addEventListener('abort', () => fail(signal.reason), { once: true });
    ws.on('error', fail);
    ws.on('open', () => ws.send(JSON.stringify({ janus: 'info', transaction: 'preflight' })));
    ws.on('message', () => {
      ws.close();
      resolve();
    });
  });
}

const JANUS_STEPS = { connect: { layer: 'media', goal: 'journey' }, heartbeat: 'media' } as const;

/**
 * Anyone's own Janus as the target: each participant holds a session in the VideoRoom of its conference
 * (room `roomBase` + its conference in the population), made on first use, with a keepalive as its heartbeat.
 */
export function janusTarget(url: URL, opts: { roomBase?: number } = {}): Target<typeof JANUS_STEPS> {
  const roomBase = opts.roomBase ?? 1000;
  return defineTarget({
    kind: 'janus',
    url,
    steps: JANUS_STEPS,
    preflight: (signal) => preflightJanus(url, signal),
    async journey(vu): Promise<JourneyEnd> {
      const joined = await vu.step('connect', (signal) => janusJoin(vu, url.href, roomBase + vu.identity.conference, vu.identity.user, signal, true));
      if (!joined.ok) return vu.stopped ? 'stopped' : 'failed';
      return vu.hold(joined.value.ws, 'heartbeat', janusKeepalive(joined.value.session));
    },
  });
}
