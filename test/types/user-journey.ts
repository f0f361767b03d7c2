// A user's own journey and run, written against the published package: it must compile as it stands.
import { buildReport, defineJourney, defineScenario, HttpStatusError, joinVideoRoom, load, runScenario, type Heartbeat, type RunResult } from 'firstbell';

const steps = { login: { layer: 'admission', goal: 'layer' }, join: 'broker', connect: { layer: 'media', goal: 'journey' }, heartbeat: { layer: 'media', held: true } } as const;

const echo: Heartbeat = { message: (t) => `ping ${t}`, isReply: (msg, t) => msg.t === t };

export const journey = defineJourney({
  steps,
  options: { room: { description: 'the room', type: 'number', default: 7 }, secret: { description: 'a token', secret: true, required: true } },
  preflight: { path: '/login' },
  async journey(vu) {
    const room: number = vu.options.room;
    const secret: string = vu.options.secret;
    const login = await vu.step('login', async (signal) => {
      const res = await vu.http.request('POST', '/api/login', { json: { user: vu.identity.user, password: vu.identity.password, secret }, signal });
      if (res.status !== 200) throw new HttpStatusError(res.status, 'login');
      return vu.http.cookie('session');
    });
    if (!login.ok) return 'failed';
    // @ts-expect-error a step that was not declared does not compile
    await vu.step('logn', async () => 1);
    const joined = await vu.step('join', async () => `room-${room}`);
    if (!joined.ok) return 'failed';
    const media = await vu.step('connect', (signal) => vu.ws(`ws://127.0.0.1:8080/ws/${joined.value}`, signal));
    if (!media.ok) return 'failed';
    // @ts-expect-error nor does holding on one
    vu.hold(media.value, 'heartbeet', echo);
    // @ts-expect-error nor holding on a step that is not declared held
    vu.hold(media.value, 'connect', echo);
    return vu.hold(media.value, 'heartbeat', echo);
  },
});

export const janus = defineJourney({
  steps: { join: { layer: 'media', goal: 'journey' }, keepalive: { layer: 'media', held: true } },
  async journey(vu) {
    const seat = await vu.step('join', (signal) => joinVideoRoom(vu, vu.target.href, 1000, vu.identity.user, signal, true));
    if (!seat.ok) return 'failed';
    await seat.value.leave(AbortSignal.timeout(1_000));
    return 'joined';
  },
});

const scenario = defineScenario({ name: 'morning', population: { schools: 1, conferences: 10, participantsPerConference: 24 }, phases: load.ramp({ fromPerSec: 0, toPerSec: 60, overMs: 60_000 }) });

export async function run(): Promise<string> {
  const r: RunResult = await runScenario({ scenario, platform: { journey, target: 'http://127.0.0.1:8080', options: { secret: 's' } }, outDir: 'runs' });
  const builtIn = await runScenario({ scenario: 'monday-0800', scale: 0.01, platform: { journey: 'janus', target: 'ws://127.0.0.1:8188', options: { rooms: 2000 } }, outDir: 'runs', workers: 2 });
  const report = await buildReport(r.dir);
  return `${report.verdict} ${report.headline} ${builtIn.sent}`;
}
