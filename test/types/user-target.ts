// A user's own target and run, written against the published package: it must compile as it stands.
import { buildPlan, DEFAULT_CLIENT, DEFAULT_OBJECTIVES, defineScenario, defineTarget, HttpStatusError, resolveScenario, runScenario, type Heartbeat } from 'firstbell';

const steps = { login: { layer: 'admission', goal: 'layer' }, join: 'broker', connect: { layer: 'media', goal: 'journey' }, heartbeat: 'media' } as const;

const echo: Heartbeat = { message: (t) => `ping ${t}`, isReply: (msg, t) => msg.t === t };

export const target = defineTarget({
  kind: 'school-app',
  url: new URL('http://127.0.0.1:8080'),
  steps,
  preflight: async () => undefined,
  async journey(vu) {
    const login = await vu.step('login', async (signal) => {
      const res = await vu.http.request('POST', '/api/login', { json: { user: vu.identity.user, password: vu.identity.password }, signal });
      if (res.status !== 200) throw new HttpStatusError(res.status, 'login');
      return vu.http.cookie('session');
    });
    if (!login.ok) return vu.stopped ? 'stopped' : 'failed';
    // @ts-expect-error a step that was not declared does not compile
    await vu.step('logn', async () => 1);
    const room = await vu.step('join', async () => `room-${vu.identity.conference}`);
    if (!room.ok) return 'failed';
    const media = await vu.step('connect', (signal) => vu.openHeld(`ws://127.0.0.1:8080/ws/${room.value}`, signal));
    if (!media.ok) return 'failed';
    // @ts-expect-error nor does holding on one
    vu.hold(media.value.sock, 'heartbeet', echo);
    return vu.hold(media.value.sock, 'heartbeat', echo);
  },
});

const scenario = defineScenario({
  name: 'morning', description: 'a ramp', firstBell: '08:00:00', population: { schools: 1, conferences: 10, participantsPerConference: 24 },
  phases: [{ name: 'ramp', startMs: 0, durationMs: 60_000, participants: 1_800, curve: { kind: 'ramp', fromRate: 0, toRate: 60 } }],
  observeMs: 5_000, client: DEFAULT_CLIENT, objectives: DEFAULT_OBJECTIVES, joinWithinMs: 10_000,
});

export async function run(): Promise<string> {
  const plan = buildPlan(resolveScenario(scenario, 1), 1);
  const r = await runScenario({ plan, target, outDir: 'runs' });
  return r.dir;
}
