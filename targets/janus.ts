// Protocol-level media users on Janus: the Janus API over WebSocket, held as real sessions in a VideoRoom.
import WebSocket from 'ws';
import { ProtocolError, TargetUnreachableError } from '../api/errors.js';
import { classifyError, describeKind } from '../api/sample.js';
import { defineTarget, type JanusSession, type JourneyEnd, type Target, type Vu } from '../api/target.js';
import { preflightHttp } from './preflight.js';

/**
 * Creates a Janus session (over WebSocket or HTTP, as the URL says), attaches the VideoRoom plugin and joins
 * `room` as a participant that publishes nothing (as a pupil whose camera is off). With `create`, makes the
 * room first if it is missing.
 */
export async function joinVideoRoom(vu: Pick<Vu, 'janus'>, url: string, room: number, display: string, signal: AbortSignal, create = false): Promise<JanusSession> {
  const session = await vu.janus(url, signal);
  const handle = await session.attach('janus.plugin.videoroom', signal);
  if (create) {
    const made = (await session.message(handle, { request: 'create', room, publishers: 50, permanent: false }, signal)).data;
    if (made.error_code && made.error_code !== 427) throw new ProtocolError(`Janus could not create room ${room}: ${String(made.error)}`);
  }
  const joined = (await session.message(handle, { request: 'join', ptype: 'publisher', room, display }, signal)).data;
  if (joined.videoroom !== 'joined') throw new ProtocolError(`Janus did not let ${display} into room ${room}: ${String(joined.error ?? 'no joined event')}`);
  return session;
}

/** Answers an `info` request at all, or says why not: on its WebSocket API, or its HTTP API's /info. */
async function preflightJanus(url: URL, signal: AbortSignal): Promise<void> {
  if (url.protocol === 'http:' || url.protocol === 'https:') return preflightHttp(url, `${url.pathname.replace(/\/+$/, '')}/info`, signal);
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
 * Anyone's own Janus as the target, over its WebSocket API (ws://host:8188) or its HTTP API (http://host:8088/janus):
 * each participant holds a session in the VideoRoom of its conference
 * (room `roomBase` + its conference in the population), made on first use, with a keepalive as its heartbeat.
 */
export function janusTarget(url: URL, opts: { roomBase?: number } = {}): Target<typeof JANUS_STEPS> {
  const roomBase = opts.roomBase ?? 1000;
  return defineTarget({
    kind: 'janus',
    url,
    steps: JANUS_STEPS,
    heldSteps: ['heartbeat'],
    preflight: (signal) => preflightJanus(url, signal),
    async journey(vu): Promise<JourneyEnd> {
      const joined = await vu.step('connect', (signal) => joinVideoRoom(vu, url.href, roomBase + vu.identity.conference, vu.identity.user, signal, true));
      if (!joined.ok) return vu.stopped ? 'stopped' : 'failed';
      return vu.hold(joined.value.connection, 'heartbeat', joined.value.keepalive);
    },
  });
}
