// A platform with a JSON login that sets a cookie, a lesson API, and a classroom WebSocket that pupils stay on.
import { defineJourney, extract, type Heartbeat } from 'firstbell';

/** The classroom's keep-alive: {"type":"ping","t"} answered by {"type":"pong","t"}. */
const ping: Heartbeat = {
  message: (t) => JSON.stringify({ type: 'ping', t }),
  isReply: (msg, t) => msg.type === 'pong' && msg.t === t,
};

export default defineJourney({
  steps: {
    login: 'admission',
    lesson: 'broker',
    classroom: { layer: 'media', goal: 'journey' },
    heartbeat: { layer: 'media', held: true },
  },
  async journey(vu) {
    // A row of pupils.csv when the scenario has one, else the test account of the participant.
    const user = vu.data?.user ?? vu.identity.user;
    const password = vu.data?.password ?? [...user].reverse().join('');
    const login = await vu.step('login', (signal) => vu.http.request('POST', '/api/login', { json: { user, password }, expect: [200], signal }));
    if (!login.ok) return 'failed';

    const lesson = await vu.step('lesson', async (signal) => {
      const res = await vu.http.request('GET', '/api/lesson', { expect: [200], signal });
      return { room: String(extract.json(res.body, 'room')), token: String(extract.json(res.body, 'token')) };
    });
    if (!lesson.ok) return 'failed';

    // The session cookie goes with the WebSocket handshake, as a browser's would.
    const classroom = await vu.step('classroom', async (signal) => {
      const ws = await vu.ws(`/ws/classroom?room=${lesson.value.room}&token=${lesson.value.token}`, signal);
      await ws.waitFor((m) => (m.json as { type?: string } | undefined)?.type === 'welcome', { signal, timeoutMs: 5_000, what: 'welcome' });
      return ws;
    });
    if (!classroom.ok) return 'failed';
    return vu.hold(classroom.value, 'heartbeat', ping);
  },
});
