// Protocol-level media users on Janus: the Janus API over WebSocket or HTTP, held as real sessions in a VideoRoom.
import { joinVideoRoom } from '../api/janus.js';
import { defineJourney } from '../api/journey.js';
import type { JourneyEnd } from '../api/vu.js';

/**
 * Anyone's own Janus, over its WebSocket API (ws://host:8188) or its HTTP API (http://host:8088/janus): each
 * participant holds a session in the VideoRoom of its conference (room `rooms` + its conference in the
 * population), made on first use, with a keepalive as its heartbeat.
 */
export default defineJourney({
  description: 'a Janus server, over its WebSocket API (ws://host:8188) or its HTTP API (http://host:8088/janus)',
  schemes: ['ws', 'wss', 'http', 'https'],
  options: { rooms: { description: 'the VideoRoom of conference 0; conference n is in room rooms + n', type: 'number', default: 1000, flag: '--janus-rooms' } },
  steps: { connect: { layer: 'media', goal: 'journey' }, heartbeat: { layer: 'media', held: true } },
  preflight: { path: 'info', protocol: 'janus-protocol' },
  async journey(vu): Promise<JourneyEnd> {
    const joined = await vu.step('connect', (signal) => joinVideoRoom(vu, vu.target.href, vu.options.rooms + vu.identity.conference, vu.identity.user, signal, true));
    if (!joined.ok) return 'failed';
    return vu.hold(joined.value.session.connection, 'heartbeat', joined.value.session.keepalive);
  },
});
