// A participant opens a WebSocket on /ws/, waits to be welcomed and stays, answering pings.
import { defineJourney, type Heartbeat } from 'firstbell';

const ping: Heartbeat = {
  message: (t) => JSON.stringify({ type: 'ping', t }),
  isReply: (msg, t) => msg.type === 'pong' && msg.t === t,
};

export default defineJourney({
  steps: { connect: { layer: 'media', goal: 'journey' }, heartbeat: { layer: 'media', held: true } },
  async journey(vu) {
    const c = await vu.step('connect', async (signal) => {
      const ws = await vu.ws('/ws/room', signal);
      await ws.waitFor((m) => (m.json as { type?: string } | undefined)?.type === 'welcome', { signal, timeoutMs: 5_000, what: 'welcome' });
      return ws;
    });
    if (!c.ok) return 'failed';
    return vu.hold(c.value, 'heartbeat', ping);
  },
});
