// The benchmark's join-and-leave cycle: a new WebSocket, one message each way, and the participant leaves.
import { defineJourney } from 'firstbell';

export default defineJourney({
  steps: { cycle: { layer: 'media', goal: 'journey' } },
  holds: false,
  async journey(vu) {
    const r = await vu.step('cycle', async (signal) => {
      const ws = await vu.ws('/ws/cycle', signal);
      ws.send('{"type":"ping","t":1}');
      await ws.waitFor((m) => m.text.startsWith('{"type":"pong"'), { signal, what: 'pong' });
    });
    return r.ok ? 'joined' : 'failed';
  },
});
