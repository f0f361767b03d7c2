// Janus alone, over its HTTP API (events by long poll): each pupil joins the VideoRoom of its class and stays.
import { defineJourney, joinVideoRoom } from 'firstbell';

export default defineJourney({
  steps: {
    join: { layer: 'media', goal: 'journey' },
    keepalive: { layer: 'media', held: true },
  },
  async journey(vu) {
    // --target is Janus's HTTP API, e.g. http://127.0.0.1:8088/janus; the room is made by the first pupil of its class.
    const joined = await vu.step('join', (signal) => joinVideoRoom(vu, vu.target.pathname, 2000 + vu.identity.conference, vu.identity.user, signal, true));
    if (!joined.ok) return 'failed';
    const { session } = joined.value;
    return vu.hold(session.connection, 'keepalive', session.keepalive);
  },
});
