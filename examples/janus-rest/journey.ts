// Janus alone, over its HTTP API (events by long poll): each pupil joins the VideoRoom of its class and stays.
import { defineJourney, ProtocolError } from 'firstbell';

export default defineJourney({
  steps: {
    join: { layer: 'media', goal: 'journey' },
    keepalive: 'media',
  },
  async journey(vu) {
    const room = 2000 + vu.identity.conference;
    const joined = await vu.step('join', async (signal) => {
      // --target is Janus's HTTP API, e.g. http://127.0.0.1:8088/janus.
      const session = await vu.janus(vu.target.pathname, signal);
      const handle = await session.attach('janus.plugin.videoroom', signal);
      const made = await session.message(handle, { request: 'create', room, permanent: false }, signal);
      // 427: the room is there already, made by a classmate.
      if (made.data.error_code && made.data.error_code !== 427) throw new ProtocolError(`room ${room} not made: ${String(made.data.error)}`);
      const join = await session.message(handle, { request: 'join', ptype: 'publisher', room, display: vu.identity.user }, signal);
      if (join.data.videoroom !== 'joined') throw new ProtocolError(`not let into room ${room}: ${String(join.data.error ?? 'no joined event')}`);
      return session;
    });
    if (!joined.ok) return vu.stopped ? 'stopped' : 'failed';
    return vu.hold(joined.value.connection, 'keepalive', joined.value.keepalive);
  },
});
