// Join and leave: open a WebSocket, ask to join, wait to be let in, and leave; nothing held.
import { defineJourney } from 'firstbell';

export default defineJourney({
  steps: { join: { layer: 'media', goal: 'journey' } },
  holds: false,
  async journey(vu) {
    const r = await vu.step('join', async (signal) => {
      const ws = await vu.ws('/ws/room', signal);
      ws.send({ type: 'join', room: vu.identity.conference });
      await ws.waitFor((m) => (m.json as { type?: string } | undefined)?.type === 'joined', { signal, what: 'joined' });
    });
    return r.ok ? 'joined' : 'failed';
  },
});
