// A platform firstbell has never seen, described by the user: scenario files, journey modules, data, and their errors.
import { execFile } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EXIT, main } from '../cli.js';
import { startJanusFarms } from '../fixtures/janus.js';
import { startReferencePlatform } from '../fixtures/reference-platform.js';
import { readSamples } from '../run-folder/run-folder.js';
import { captureIo, tempDir } from './helpers.js';
import { startNginx } from './servers/nginx.js';
import { startSchoolApp, type SchoolApp } from './servers/school-app.js';

const EX = new URL('../examples/', import.meta.url).pathname;

/** Runs the CLI in-process; the run folder's summary.json when one was written. */
async function run(args: string[]): Promise<{ code: number; out: string; err: string; summary?: Record<string, any> }> {
  const out = tempDir();
  const d = captureIo();
  const code = await main([...args, '--out', out, '--no-progress', '--json'], d.io);
  let summary: Record<string, any> | undefined;
  try {
    summary = JSON.parse(d.out()) as Record<string, any>;
  } catch {
    summary = undefined;
  }
  return { code, out: d.out(), err: d.err(), summary };
}

let app: SchoolApp;
beforeAll(async () => {
  app = await startSchoolApp();
});
afterAll(async () => {
  await app.close();
});

/** A folder of user files, for the error cases. */
function userFiles(files: Record<string, string>): string {
  const dir = mkdtempSync(join(tmpdir(), 'firstbell-user-'));
  for (const [name, text] of Object.entries(files)) writeFileSync(join(dir, name), text);
  return dir;
}

const GOOD_JOURNEY = `import { defineJourney } from 'firstbell';
export default defineJourney({
  steps: { login: 'admission' },
  holds: false,
  async journey(vu) {
    const r = await vu.step('login', (signal) => vu.http.request('GET', '/api/lesson', { signal }));
    return r.ok ? 'joined' : 'failed';
  },
});
`;

const HELD_UNDECLARED = `import { defineJourney, type Heartbeat } from 'firstbell';
const beat: Heartbeat = { message: (t) => String(t), isReply: () => true };
export default defineJourney({
  steps: { connect: { layer: 'media', goal: 'journey' }, beat: 'media' },
  async journey(vu) {
    const c = await vu.step('connect', (signal) => vu.ws('/ws', signal));
    if (!c.ok) return 'failed';
    return vu.hold(c.value, 'beat', beat);
  },
});
`;

/** A journey whose account comes from its options: a required user, and a password made from it unless given. */
const OPTIONS_JOURNEY = `import { defineJourney } from 'firstbell';
export default defineJourney({
  options: {
    user: { description: 'the account every pupil logs in with', required: true, env: 'FB_TEST_USER' },
    tries: { description: 'logins per pupil', type: 'number', default: 1 },
  },
  steps: { login: { layer: 'admission', goal: 'journey' } },
  holds: false,
  async journey(vu) {
    for (let k = 0; k < vu.options.tries; k++) {
      const r = await vu.step('login', (signal) =>
        vu.http.request('POST', '/api/login', { json: { user: vu.options.user, password: [...vu.options.user].reverse().join('') }, expect: [200], signal }));
      if (!r.ok) return 'failed';
    }
    return 'joined';
  },
});
`;

describe("a journey's options", () => {
  it('reach vu.options from --option, typed and with their defaults; a required one missing, an unknown one or a wrong number is refused before anything is sent', async () => {
    const dir = userFiles({ 'j.ts': OPTIONS_JOURNEY });
    const journey = ['--journey', join(dir, 'j.ts'), '--target', app.url];
    const before = app.seen.logins;
    const ok = await run(['run', join(EX, 'form-login/steady.ts'), ...journey, '--scale', '0.1', '--option', 'user=optuser', '--option', 'tries=2']);
    expect(ok.code, ok.err).toBe(EXIT.ok);
    const logins = app.seen.logins - before;
    expect(logins).toBeGreaterThan(0);
    expect(logins % 2).toBe(0);
    expect(app.seen.users.slice(-logins).every((u) => u === 'optuser')).toBe(true);

    const after = app.seen.logins + app.seen.refused;
    const missing = await run(['run', join(EX, 'form-login/steady.ts'), ...journey, '--scale', '0.1']);
    expect(missing.code).toBe(EXIT.usage);
    expect(missing.err).toContain("the option 'user' is required: the account every pupil logs in with; fix: give it with --option user=… or FB_TEST_USER");
    const unknown = await run(['run', join(EX, 'form-login/steady.ts'), ...journey, '--scale', '0.1', '--option', 'user=a', '--option', 'room=7']);
    expect(unknown.code).toBe(EXIT.usage);
    expect(unknown.err).toContain("the journey has no option 'room'; fix: its options: user, tries");
    const nan = await run(['run', join(EX, 'form-login/steady.ts'), ...journey, '--scale', '0.1', '--option', 'user=a', '--option', 'tries=two']);
    expect(nan.code).toBe(EXIT.usage);
    expect(nan.err).toContain("the option 'tries' must be a number, not 'two'");
    const kindFlag = await run(['run', join(EX, 'form-login/steady.ts'), ...journey, '--scale', '0.1', '--bbb-secret', 's']);
    expect(kindFlag.code).toBe(EXIT.usage);
    expect(kindFlag.err).toContain('--bbb-secret is for --target-kind bbb; a journey module takes its options as --option name=value');
    expect(app.seen.logins + app.seen.refused).toBe(after);
  });

  it("give a built-in kind's flags from its options, and refuse one of another kind", async () => {
    const other = await run(['run', 'monday-0800', '--target', app.url, '--target-kind', 'http', '--bbb-secret', 's', '--scale', '0.001']);
    expect(other.code).toBe(EXIT.usage);
    expect(other.err).toContain('--bbb-secret is for --target-kind bbb, and this run talks to the target as http');
    const secret = await run(['run', 'monday-0800', '--target', `${app.url}/bigbluebutton/`, '--target-kind', 'bbb', '--scale', '0.001']);
    expect(secret.code).toBe(EXIT.usage);
    expect(secret.err).toContain("the option 'secret' is required: the server's shared secret (on the server: bbb-conf --secret); fix: give it with --bbb-secret or FIRSTBELL_BBB_SECRET");
  });
});

describe('a JSON login, a cookie, an API call and a held WebSocket (examples/json-login)', () => {
  it('runs the JSON scenario with its journey module, giving each participant its own row of pupils.csv', async () => {
    const before = app.seen.logins;
    const r = await run(['run', join(EX, 'json-login/steady.json'), '--target', app.url, '--scale', '1']);
    expect(r.code, r.err).toBe(EXIT.ok);
    expect(r.summary?.users).toMatchObject({ arrived: 100, joined: 100, neverJoined: 0 });
    expect(app.seen.logins - before).toBe(100);
    expect(new Set(app.seen.users.slice(before))).toEqual(new Set(Array.from({ length: 100 }, (_, i) => `anna-${i}`)));
    expect(app.seen.peakOpen).toBeGreaterThanOrEqual(90);
  });

  it('gives every row to exactly one participant when two worker processes share the schedule', async () => {
    const before = app.seen.users.length;
    const r = await run(['run', join(EX, 'json-login/steady.json'), '--target', app.url, '--scale', '1', '--workers', '2']);
    expect(r.code, r.err).toBe(EXIT.ok);
    const users = app.seen.users.slice(before);
    expect(users).toHaveLength(100);
    expect(new Set(users).size).toBe(100);
  });

  it('refuses a data file with fewer rows than participants before anything is sent, naming the file and the fix', async () => {
    const before = app.seen.logins + app.seen.refused;
    const dir = userFiles({ 'few.csv': 'user;password\nanna-1;1-anna\n' });
    const r = await run(['run', join(EX, 'json-login/steady.json'), '--target', app.url, '--scale', '1', '--data', join(dir, 'few.csv')]);
    expect(r.code).toBe(EXIT.usage);
    expect(r.err).toContain('few.csv: has 1 rows for 100 participants');
    expect(r.err).toContain('reuse: true');
    expect(app.seen.logins + app.seen.refused).toBe(before);
  });

  it('finds the knee of a login limited by nginx to 30 requests a second within 15 %, from a ramp written as a user file', async () => {
    const nginx = await startNginx(app.url, { rate: { path: '/api/login', perSec: 30 } });
    try {
      const r = await run(['run', join(EX, 'json-login/ramp.ts'), '--target', nginx.url, '--scale', '1']);
      expect(r.code, r.err).toBe(EXIT.objectivesFailed);
      type Knee = { offeredPerSec: number; goodputPerSec: number };
      type Capacity = { perSec: number; lowerBound: boolean; limitedBy: string };
      const admission = (r.summary?.layers as { layer: string; knee: Knee | null; capacity: Capacity | null }[]).find((l) => l.layer === 'admission')!;
      // Its capacity is the limit, counted by completions: the target's, not a lower bound.
      expect(admission.capacity).toMatchObject({ lowerBound: false, limitedBy: 'target' });
      console.info(`measured: nginx limit_req capacity ${admission.capacity!.perSec}/s against the truth 30/s; knee ${admission.knee!.goodputPerSec}/s of ${admission.knee!.offeredPerSec}/s offered`);
      expect(admission.capacity!.perSec).toBeGreaterThanOrEqual(30 * 0.85);
      expect(admission.capacity!.perSec).toBeLessThanOrEqual(30 * 1.15);
      expect(admission.knee, JSON.stringify(admission)).not.toBeNull();
      // The knee is where the login served 30 a second and no more, however many more came.
      expect(admission.knee!.goodputPerSec).toBeGreaterThanOrEqual(30 * 0.85);
      expect(admission.knee!.goodputPerSec).toBeLessThanOrEqual(30 * 1.15);
      // It is found where less than 90 % of what is offered is served: past the limit, by at most that share and 15 %.
      expect(admission.knee!.offeredPerSec).toBeGreaterThan(30);
      expect(admission.knee!.offeredPerSec).toBeLessThanOrEqual((30 / 0.9) * 1.15);
    } finally {
      await nginx.stop();
    }
  }, 120_000);
});

describe('an outage through the fault proxy, reload against backoff (examples/json-login/outage-*.ts)', () => {
  it('shows the 502 window on the lesson path to the second, and the recovery after it, for both retry behaviours', async () => {
    const out = tempDir();
    const d = captureIo();
    const code = await main(['whatif', join(EX, 'json-login/outage-reload.ts'), join(EX, 'json-login/outage-backoff.ts'), '--target', app.url, '--scale', '1', '--out', out, '--no-progress', '--json'], d.io);
    expect(code, d.err()).toBe(EXIT.ok);
    const [reload, backoff, comparison] = d.out().trim().split(/\n(?=\{)/).map((j) => JSON.parse(j) as Record<string, any>);
    const lessons: Record<string, number> = {};
    for (const [name, s] of [['reload', reload!], ['backoff', backoff!]] as const) {
      // The proxy in front of the platform applied the window when the scenario said, to within 100 ms.
      const f = (s.faults as Record<string, any>[])[0]!;
      expect(f).toMatchObject({ kind: 'errors', via: 'proxy', label: 'errors 502 × 100 % on /api/lesson' });
      expect(Math.abs(f.appliedMs - f.startMs)).toBeLessThan(100);
      expect(Math.abs(f.clearedMs - f.endMs)).toBeLessThan(100);
      expect(f.layersHit).toContain('broker');
      // The broker layer broke in the window's first second, with the 502s pupils saw, and came back after it.
      const broker = (s.layers as Record<string, any>[]).find((l) => l.layer === 'broker')!;
      const bp = broker.breakPoint;
      expect(bp.clock, name).toBe('08:00:05');
      expect(bp.symptoms[0].label).toContain('502');
      expect(bp.recovered, name).toBe(true);
      console.info(`measured (${name}): 502 window 08:00:05 to 08:00:25; broker broke at ${bp.clock}, broken for ${bp.brokenForSec} s, recovered ${f.recoverSec} s after the window`);
      expect(bp.brokenForSec).toBeGreaterThanOrEqual(20);
      expect(bp.brokenForSec).toBeLessThanOrEqual(23);
      lessons[name] = (s.steps as { step: string; ok: number; failed: number }[]).find((x) => x.step === 'lesson')!.failed;
    }
    // Reloading every 2 s sends the failing service more than backing off does (whose first waits are shorter, later ones longer).
    console.info(`measured: failed lesson requests, reload ${lessons.reload} against backoff ${lessons.backoff}`);
    expect(lessons.reload!).toBeGreaterThan(lessons.backoff!);
    const html = readFileSync(join(out, readdirSync(out).find((n) => n.endsWith('lesson-outage-reload'))!, 'report.html'), 'utf8');
    expect(html).toContain('errors 502 × 100 % on /api/lesson');
    // The what-if judges what differs between the two retry policies, naming each run by its file: the amplification
    // (journeys per participant) and how long the broker was broken and whether it recovered, in each.
    const { figures } = comparison as { figures: Record<'base' | 'run', Record<string, any>> };
    expect(figures.base).toMatchObject({ label: 'outage-reload.ts', journeysPerParticipant: reload!.users.attemptsPerUser });
    expect(figures.run).toMatchObject({ label: 'outage-backoff.ts', journeysPerParticipant: backoff!.users.attemptsPerUser });
    expect(reload!.users.attemptsPerUser).toBeGreaterThan(1);
    console.info(`measured: ${comparison!.verdict}: ${comparison!.headline}`);
    expect(comparison!.verdict).toBe('compared');
    expect(comparison!.headline).toMatch(/^outage-backoff\.ts \(failed\) against outage-reload\.ts \(failed\): journeys per participant [\d.]+ → [\d.]+; broker attempts per join [\d.]+ (in both|→ [\d.]+); outage-reload\.ts: broker broken \d+ s from 08:00:05, recovered; outage-backoff\.ts: broker broken \d+ s from 08:00:05, recovered; joined \d+ of \d+ → \d+ of \d+\./);
    const page = readFileSync(join(out, readdirSync(out).find((n) => n.endsWith('lesson-outage-backoff'))!, 'compare.html'), 'utf8');
    expect(page).toContain('"label":"outage-reload.ts"');
    // Every chart laid out is drawn: the layers both journeys have, no more.
    expect(page.match(/<canvas id="chart-/g)).toHaveLength((reload!.layers as unknown[]).length);
  }, 200_000);
});

describe('every address a journey connects to passes the allow-list', () => {
  it('refuses a WebSocket and a Janus server that an answer names outside loopback: not_allowed samples, a line in the report, no connection', async () => {
    const dir = userFiles({
      'far.ts': `import { defineJourney } from 'firstbell';
export default defineJourney({
  steps: { login: 'admission', classroom: 'media', janus: 'media' },
  holds: false,
  async journey(vu) {
    const user = vu.identity.user;
    await vu.step('login', (signal) => vu.http.request('POST', '/api/login', { json: { user, password: [...user].reverse().join('') }, expect: [200], signal }));
    // As a join answer would: a media server somewhere else.
    await vu.step('classroom', (signal) => vu.ws('ws://192.0.2.1:9/classroom', signal));
    await vu.step('janus', (signal) => vu.janus('http://192.0.2.1:8088/janus', signal));
    return 'joined';
  },
});
`,
      'far.json': JSON.stringify({ name: 'far', journey: './far.ts', phases: [{ name: 'few', startMs: 0, durationMs: 1_000, participants: 10, curve: { kind: 'uniform' } }], observeMs: 500 }),
    });
    const r = await run(['run', join(dir, 'far.json'), '--target', app.url, '--scale', '1']);
    const steps = r.summary!.steps as { step: string; attempts: number; failed: number; p95Ms: number; failures: { kind: string }[] }[];
    for (const name of ['classroom', 'janus']) {
      const st = steps.find((x) => x.step === name)!;
      expect(st.failed, name).toBe(10);
      expect(st.failures.map((f) => f.kind)).toEqual(['not_allowed']);
      // Refused before any packet: no connect timeout, no wait.
      expect(st.p95Ms, name).toBeLessThan(500);
    }
    expect(r.summary!.notAllowed).toEqual([
      { message: expect.stringContaining('media.classroom: 192.0.2.1 is not an allowed address'), count: 10 },
      { message: expect.stringContaining('media.janus: 192.0.2.1 is not an allowed address'), count: 10 },
    ]);
    expect(r.summary!.notAllowed[0].message).toContain('add --allow-target 192.0.2.1');
  });
});

describe("faults the platform applies itself, declared by the user's journey", () => {
  it('slows logins through the platform\'s admin API inside the window only, and the proxy takes the rest', async () => {
    const journey = new URL('./journeys/school-native-faults.ts', import.meta.url).pathname;
    const dir = userFiles({
      'slow.json': JSON.stringify({
        name: 'slow-logins', journey, phases: [{ name: 'steady', startMs: 0, durationMs: 4_000, participants: 40, curve: { kind: 'uniform' } }], observeMs: 1_000,
        faults: [{ kind: 'slow-login', addMs: 600, atMs: 1_000, forMs: 2_000 }, { kind: 'errors', status: 503, ratio: 1, atMs: 0, forMs: 500, pathPrefix: '/nothing' }],
      }),
    });
    const out = tempDir();
    const d = captureIo();
    expect(await main(['run', join(dir, 'slow.json'), '--target', app.url, '--scale', '1', '--out', out, '--no-progress'], d.io), d.err()).toBe(EXIT.ok);
    const run = join(out, readdirSync(out)[0]!);
    const info = JSON.parse(readFileSync(join(run, 'run.json'), 'utf8')) as { faults: { kind: string; via: string; startMs: number; endMs: number }[] };
    expect(info.faults.map((f) => [f.kind, f.via])).toEqual([['slow-login', 'target'], ['errors', 'proxy']]);
    const [slow] = info.faults;
    const logins: { startMs: number; ms: number }[] = [];
    for await (const x of readSamples(run)) if (x.step === 'login' && x.outcome === 'ok') logins.push({ startMs: x.startMs, ms: x.endMs - x.startMs });
    const inside = logins.filter((l) => l.startMs > slow!.startMs + 100 && l.startMs + l.ms < slow!.endMs - 100);
    const outside = logins.filter((l) => l.startMs + l.ms < slow!.startMs - 100 || l.startMs > slow!.endMs + 100);
    expect(inside.length).toBeGreaterThan(5);
    expect(outside.length).toBeGreaterThan(5);
    expect(Math.min(...inside.map((l) => l.ms))).toBeGreaterThanOrEqual(600);
    expect(Math.max(...outside.map((l) => l.ms))).toBeLessThan(300);
  });
});

describe('a login form with a CSRF token (examples/form-login)', () => {
  it('logs every pupil in through the form and reaches the dashboard', async () => {
    const platform = await startReferencePlatform();
    try {
      const r = await run(['run', join(EX, 'form-login/steady.ts'), '--target', platform.url, '--scale', '1']);
      expect(r.code, r.err).toBe(EXIT.ok);
      expect(r.summary?.users).toMatchObject({ arrived: 100, joined: 100 });
      expect(platform.stats().logins.ok).toBe(100);
    } finally {
      await platform.close();
    }
  });
});

/** How many participants Janus has in these VideoRooms, asked over its HTTP API with a session of its own. */
async function roomParticipants(janusUrl: string, rooms: number[]): Promise<number> {
  const post = async (path: string, body: Record<string, unknown>) => {
    const res = await fetch(`${janusUrl}${path}`, { method: 'POST', body: JSON.stringify({ ...body, transaction: `t${Math.random()}` }) });
    return (await res.json()) as { data?: { id: number }; plugindata?: { data?: { participants?: unknown[] } } };
  };
  const session = (await post('', { janus: 'create' })).data!.id;
  const handle = (await post(`/${session}`, { janus: 'attach', plugin: 'janus.plugin.videoroom' })).data!.id;
  let n = 0;
  for (const room of rooms) n += (await post(`/${session}/${handle}`, { janus: 'message', body: { request: 'listparticipants', room } })).plugindata?.data?.participants?.length ?? 0;
  await post(`/${session}`, { janus: 'destroy' });
  return n;
}

describe('Janus alone over its HTTP API (examples/janus-rest)', () => {
  it('joins each pupil to its class room with long-polled events, keeps the sessions alive, and leaves them cleanly at the end', async () => {
    const [farm] = await startJanusFarms(1, { http: true });
    try {
      const r = await run(['run', join(EX, 'janus-rest/classes.ts'), '--target', farm!.httpUrl!, '--scale', '1']);
      expect(r.code, r.err).toBe(EXIT.ok);
      expect(r.summary?.users).toMatchObject({ arrived: 30, joined: 30 });
      const keepalives = (r.summary?.steps as { step: string; ok: number; failed: number }[]).find((s) => s.step === 'keepalive');
      expect(keepalives?.ok).toBeGreaterThan(60);
      expect(keepalives?.failed).toBe(0);
      // Every pupil left at the end: its session destroyed (the keepalive's farewell), so the rooms are empty at once, not after Janus's session timeout.
      await new Promise((r) => setTimeout(r, 1_000));
      expect(await roomParticipants(farm!.httpUrl!, [2000, 2001, 2002])).toBe(0);
    } finally {
      await farm!.stop();
    }
  });
});

describe('errors in user files', () => {
  const cases: [string, Record<string, string>, string, RegExp][] = [
    ['a syntax error', { 'j.ts': 'export default defineJourney({ steps: { a: "admission" }, journey: async (vu) => { return "joined" ' }, 'j.ts', /j\.ts:1:\d+: .*(Expected|Unexpected)/],
    ['a throw while loading', { 'j.ts': `import { defineJourney } from 'firstbell';\nconst rooms = undefined as unknown as string[];\nconst first = rooms[0];\nexport default defineJourney({ steps: { a: 'admission' }, journey: async () => (first ? 'joined' : 'failed') });\n` }, 'j.ts', /j\.ts:3: threw while loading: TypeError/],
    ['an undeclared step', { 'j.ts': GOOD_JOURNEY.replace("vu.step('login'", "vu.step('logn'") }, 'j.ts', /j\.ts:6: step 'logn' is not declared; fix: declare it in steps .* or use a declared one: login/],
    ['a missing default export', { 'j.ts': GOOD_JOURNEY.replace('export default', 'export const journey =') }, 'j.ts', /j\.ts: has no default export; it must export a journey; fix: end it with: export default defineJourney/],
    ['a held step not declared held', { 'j.ts': HELD_UNDECLARED }, 'j.ts', /j\.ts:8: step 'beat' is held on \(vu\.hold\) but not declared as held; fix: declare it beat: \{ layer: 'media', held: true \}/],
    ['a request without its signal', { 'j.ts': GOOD_JOURNEY.replace("'/api/lesson', { signal }", "'/api/lesson', {}") }, 'j.ts', /j\.ts:6:\d+: type error: .*Property 'signal' is missing/],
    ['a misspelt request option', { 'j.ts': GOOD_JOURNEY.replace("{ signal }", "{ expct: [200], signal }") }, 'j.ts', /j\.ts:6:\d+: type error: Object literal may only specify known properties, but 'expct' does not exist in type 'HttpRequestOptions'\. Did you mean to write 'expect'\?/],
  ];
  it.each(cases)('reports %s with file:line and exits 2 before any load is sent', async (_what, files, journey, message) => {
    const before = app.seen.lessons + app.seen.logins;
    const dir = userFiles(files);
    const r = await run(['run', join(EX, 'form-login/steady.ts'), '--journey', join(dir, journey), '--target', app.url, '--scale', '0.1']);
    expect(r.code).toBe(EXIT.usage);
    expect(r.err).toMatch(message);
    expect(r.err).not.toMatch(/\n\s+at /);
    expect(app.seen.lessons + app.seen.logins).toBe(before);
  });

  it('reports every bad value of a JSON scenario by its path', async () => {
    const dir = userFiles({ 's.json': JSON.stringify({ name: 'Bad Name', phases: [{ startMs: 0, durationMs: -5, participants: 'ten', curve: { kind: 'zigzag' } }], client: { thinkTimeMs: 'x' }, extra: 1 }) });
    const r = await run(['run', join(dir, 's.json'), '--target', app.url]);
    expect(r.code).toBe(EXIT.usage);
    expect(r.err).toContain('s.json: phases[0].participants: "ten" is a string, not a number');
    expect(r.err).toContain('s.json: phases[0].curve.kind: "zigzag" is not an arrival curve');
    expect(r.err).toContain('s.json: client.thinkTimeMs: "x" is a string, not a number');
    expect(r.err).toContain('s.json: extra: is not a field here');
  });

  it('reports a JSON syntax error with its line and column', async () => {
    const dir = userFiles({ 's.json': '{\n  "name": "x",\n  "phases": [,]\n}\n' });
    const r = await run(['run', join(dir, 's.json'), '--target', app.url]);
    expect(r.code).toBe(EXIT.usage);
    expect(r.err).toMatch(/s\.json:3:14: is not JSON: a value is expected here/);
  });

  it('reports a scenario value out of range with its path in the file', async () => {
    const dir = userFiles({ 's.ts': "import { defineScenario, load } from 'firstbell';\nexport default defineScenario({ name: 'ok-name', phases: load.constant({ perSec: 5, forMs: -1 }) });\n" });
    const r = await run(['run', join(dir, 's.ts'), '--target', app.url, '--journey', join(EX, 'form-login/journey.ts')]);
    expect(r.code).toBe(EXIT.usage);
    expect(r.err).toContain('s.ts: phases[0].durationMs: -1 is not a positive number');
  });
});

describe('a journey that throws', () => {
  it('records script errors as samples with their message, in the summary and the report, and the run goes on', async () => {
    const dir = userFiles({
      'j.ts': `import { defineJourney } from 'firstbell';
export default defineJourney({
  steps: { login: 'admission', lesson: 'broker' },
  holds: false,
  async journey(vu) {
    const r = await vu.step('login', async (signal) => {
      const res = await vu.http.request('POST', '/api/login', { json: { user: 'x', password: 'x' }, signal });
      return JSON.parse(res.body).missing.field as string;
    });
    if (!r.ok) throw new RangeError('no lesson without a login');
    return 'joined';
  },
});
`,
    });
    const out = tempDir();
    const d = captureIo();
    const code = await main(['run', join(EX, 'form-login/steady.ts'), '--journey', join(dir, 'j.ts'), '--target', app.url, '--scale', '1', '--out', out, '--no-progress'], d.io);
    expect(code).toBe(EXIT.objectivesFailed);
    expect(d.out()).toMatch(/script\s+100 × admission\.login: TypeError: Cannot read properties of undefined \(reading 'field'\)/);
    expect(d.out()).toMatch(/script\s+100 × admission\.login: RangeError: no lesson without a login/);
    const reportPath = /report: (.*)/.exec(d.out())![1]!;
    expect(readFileSync(join(process.cwd(), reportPath), 'utf8')).toContain('Errors in the journey script');
    const outcomes = new Set<string>();
    for await (const s of readSamples(join(process.cwd(), reportPath, '..'))) outcomes.add(s.outcome);
    expect([...outcomes]).toEqual(['script_error']);
  });
});

describe('firstbell new', () => {
  it('writes a project from each template that type-checks, and refuses a folder with files in it', async () => {
    const root = tempDir('firstbell-new-');
    for (const template of ['http', 'janus', 'browser']) {
      const c = captureIo();
      expect(await main(['new', join(root, template), '--template', template, '--target', app.url], c.io), c.err()).toBe(EXIT.ok);
      const pkg = JSON.parse(readFileSync(join(root, template, 'package.json'), 'utf8')) as { scripts: Record<string, string>; dependencies: Record<string, string> };
      expect(pkg.scripts.run, template).toContain(`--target ${app.url}`);
      expect(pkg.dependencies.firstbell, template).toMatch(/^file:/);
      expect(existsSync(join(root, template, 'tsconfig.json'))).toBe(true);
    }
    // A folder with files in it is never written over.
    const again = captureIo();
    expect(await main(['new', join(root, 'http')], again.io)).toBe(EXIT.usage);
    expect(again.err()).toContain('is not empty');
    // Each scenario and journey type-checks as it is loaded (plan checks them, and sends nothing).
    for (const [template, scenario] of [['http', 'ramp.ts'], ['janus', 'classes.ts'], ['browser', 'steady.ts']]) {
      const p = captureIo();
      expect(await main(['plan', join(root, template!, scenario!)], p.io), `${template}: ${p.err()}`).toBe(EXIT.ok);
    }
  });

  it('from a recording: the journey imported, a ramp and the data of what the user typed', async () => {
    const root = tempDir('firstbell-new-');
    const c = captureIo();
    expect(await main(['new', join(root, 'mine'), '--from-har', new URL('../test/har/json-token.har', import.meta.url).pathname], c.io), c.err()).toBe(EXIT.ok);
    expect(c.err()).toContain('5 steps (home admission, login admission, rooms broker, join broker, classroom media)');
    expect(readdirSync(join(root, 'mine')).sort()).toEqual(['journey.ts', 'package.json', 'pupils.csv', 'ramp.ts', 'tsconfig.json']);
    expect(readFileSync(join(root, 'mine', 'pupils.csv'), 'utf8')).toBe('user,password\nanna-0,0-anna\n');
    expect(readFileSync(join(root, 'mine', 'ramp.ts'), 'utf8')).toContain("data: csv('./pupils.csv'),");
    expect(readFileSync(join(root, 'mine', 'journey.ts'), 'utf8')).toContain("columns user, password of the scenario's data (pupils.csv)");
    // The run script aims at the recording's platform unless told otherwise.
    expect(JSON.parse(readFileSync(join(root, 'mine', 'package.json'), 'utf8')).scripts.run).toBe('firstbell run ramp.ts --target http://school.test:8080');
    // It loads and type-checks; run with the one row for 100 participants, it is refused, naming the fix.
    const p = captureIo();
    expect(await main(['plan', join(root, 'mine', 'ramp.ts')], p.io), p.err()).toBe(EXIT.ok);
    const r = await run(['run', join(root, 'mine', 'ramp.ts'), '--target', app.url]);
    expect(r.code).toBe(EXIT.usage);
    expect(r.err).toMatch(/pupils\.csv.*has 1 rows for 100 participants.*add rows/s);
  });

  it('as a new user does: npm install of the packed tarball in an empty folder, new, then run the ramp against the platform: a judged report; and export it for k6', async () => {
    const sh = promisify(execFile);
    const root = tempDir('firstbell-first-hour-');
    const repo = new URL('..', import.meta.url).pathname;
    // npm test has built dist already: pack what it built.
    const { stdout } = await sh('npm', ['pack', '--ignore-scripts', '--pack-destination', root, '--json'], { cwd: repo });
    const tarball = join(root, (JSON.parse(stdout) as { filename: string }[])[0]!.filename);
    const empty = join(root, 'empty');
    mkdirSync(empty);
    await sh('npm', ['install', '--prefer-offline', '--no-audit', '--no-fund', tarball], { cwd: empty });
    await sh('npx', ['firstbell', 'new', 'morning', '--template', 'http'], { cwd: empty });
    const ran = await sh('npx', ['firstbell', 'run', './morning/ramp.ts', '--target', app.url, '--no-progress', '--json'], { cwd: empty }).catch((e: { code: number; stdout: string; stderr: string }) => e);
    expect([0, EXIT.objectivesFailed], ran.stderr).toContain('code' in ran ? ran.code : 0);
    const summary = JSON.parse(ran.stdout) as { verdict: string; users: { arrived: number } };
    expect(['passed', 'failed', 'generator-bound'], ran.stderr).toContain(summary.verdict);
    expect(summary.users.arrived).toBe(900);
    const runs = join(empty, 'runs');
    expect(existsSync(join(runs, readdirSync(runs)[0]!, 'report.html'))).toBe(true);
    // The same scenario handed to k6 from the installed package: the journey API's sources it bundles are all there.
    await sh('npx', ['firstbell', 'export', 'k6', './morning/ramp.ts', '--target', app.url, '--out', join(root, 'k6')], { cwd: empty });
    expect(readFileSync(join(root, 'k6', 'script.js'), 'utf8')).toMatch(/^export \{\s*journey,\s*options\s*\};/m);
  }, 240_000);
});

describe('scenario files wherever a scenario name goes', () => {
  it('plan prints a ramp written as a user file, and export k6 writes it for the built-in journey', async () => {
    const d = captureIo();
    expect(await main(['plan', join(EX, 'json-login/ramp.ts'), '--scale', '1'], d.io)).toBe(EXIT.ok);
    expect(d.out()).toMatch(/plan: login-ramp at scale 1, seed 1: 900 participants \(ramp 0→60\/s 900 from 0 s over 30 s/);
    expect(d.out()).toMatch(/peak (59|60|61|62|63|64|65) arrivals\/s/);
    const out = tempDir();
    const k = captureIo();
    const dir = userFiles({ 'shape.ts': "import { defineScenario, load } from 'firstbell';\nexport default defineScenario({ name: 'shape', phases: load.constant({ perSec: 10, forMs: 2_000 }) });\n" });
    expect(await main(['export', 'k6', join(dir, 'shape.ts'), '--target', 'http://127.0.0.1:8080', '--scale', '1', '--out', out], k.io)).toBe(EXIT.ok);
    expect(readFileSync(join(out, 'script.js'), 'utf8')).toContain('firstbell_scenario');
  });

  it('plan, run, whatif and export k6 send the same participants of a scenario file when --scale is not given', async () => {
    const dir = userFiles({ 'thirty.json': JSON.stringify({ name: 'thirty', journey: join(EX, 'json-login/journey.ts'), phases: [{ name: 'steady', startMs: 0, durationMs: 1_500, participants: 30, curve: { kind: 'uniform' } }], observeMs: 1_000 }) });
    const file = join(dir, 'thirty.json');
    const plan = captureIo();
    expect(await main(['plan', file], plan.io), plan.err()).toBe(EXIT.ok);
    expect(plan.out()).toMatch(/plan: thirty at scale 1, seed 1: 30 participants/);
    const ran = await run(['run', file, '--target', app.url]);
    expect(ran.code, ran.err).toBe(EXIT.ok);
    expect(ran.summary!.users.arrived).toBe(30);
    const whatif = captureIo();
    const out = tempDir();
    expect(await main(['whatif', file, file, '--target', app.url, '--out', out, '--no-progress'], whatif.io), whatif.err()).toBe(EXIT.ok);
    for (const d of readdirSync(out).filter((x) => !x.endsWith('.html'))) expect(JSON.parse(readFileSync(join(out, d, 'summary.json'), 'utf8')).users.arrived, d).toBe(30);
    const k6 = captureIo();
    const script = tempDir();
    expect(await main(['export', 'k6', file, '--target', app.url, '--out', script], k6.io), k6.err()).toBe(EXIT.ok);
    expect(readFileSync(join(script, 'script.js'), 'utf8')).toContain('"firstbell_planned": "30"');
  });

  it('plan takes the target flags: the participants held over time, and the limits a journey declares beside them', async () => {
    const dir = userFiles({
      'limited.ts': "import { defineJourney } from 'firstbell';\nexport default defineJourney({ steps: { connect: 'media' }, limits: { heldConnections: 500, perSec: { media: 100 } }, async journey() { return 'joined'; } });\n",
    });
    const d = captureIo();
    expect(await main(['plan', join(EX, 'json-login/ramp.ts'), '--scale', '1', '--journey', join(dir, 'limited.ts'), '--target', 'http://127.0.0.1:8080'], d.io), d.err()).toBe(EXIT.ok);
    expect(d.out()).toMatch(/held: participants holding a connection if every one joins and stays \(t from the first bell\): \d+ s \d+ · .* · 33 s 900/);
    expect(d.out()).toMatch(/limit: the target takes 500 held connections; the plan holds up to 900, crossing it at 2\d s: beyond it, expect new connections to be refused/);
    expect(d.out()).toContain('limit: the media layer takes 100/s; the plan offers up to');
    const http = captureIo();
    expect(await main(['plan', 'monday-0800', '--target-kind', 'http', '--target', 'http://127.0.0.1:8080'], http.io), http.err()).toBe(EXIT.ok);
    expect(http.out()).toContain('held: none; each participant ends its journey without holding a connection');
    // A target's path is part of it (a Janus behind a proxy path), its credentials are not.
    const janus = captureIo();
    expect(await main(['plan', 'monday-0800', '--target-kind', 'janus', '--target', 'ws://pupil:secret@127.0.0.1:8188/janus-ws'], janus.io), janus.err()).toBe(EXIT.ok);
    expect(janus.out()).toContain('target janus ws://127.0.0.1:8188/janus-ws');
    expect(janus.out()).not.toContain('secret');
  });

  it('export k6 bundles a scenario file\'s journey into one script', async () => {
    const d = captureIo();
    const out = tempDir();
    expect(await main(['export', 'k6', join(EX, 'json-login/ramp.ts'), '--target', 'http://127.0.0.1:8080', '--out', out], d.io), d.err()).toBe(EXIT.ok);
    expect(readdirSync(out).sort()).toEqual(['script.js', 'testrun.yaml']);
    expect(d.err()).toContain(`--scenario ${join(EX, 'json-login/ramp.ts')}`);
  });
});

describe('a journey that imports npm packages', () => {
  it('is bundled with them and runs', async () => {
    // Inside the project, as a user's journey is: its imports resolve from the project's node_modules.
    const dir = mkdtempSync(join(new URL('.', import.meta.url).pathname, '.tmp-'));
    try {
      writeFileSync(join(dir, 'j.ts'), `import { parseSetCookie } from 'cookie';
import { defineJourney, ProtocolError } from 'firstbell';
export default defineJourney({
  steps: { login: { layer: 'admission', goal: 'journey' } },
  holds: false,
  async journey(vu) {
    const r = await vu.step('login', async (signal) => {
      const res = await vu.http.request('POST', '/api/login', { json: { user: 'ida-1', password: '1-adi' }, expect: [200], signal });
      const cookie = parseSetCookie(String(res.headers['set-cookie'] ?? ''));
      if (cookie.name !== 'session' || !cookie.httpOnly) throw new ProtocolError('no HttpOnly session cookie');
    });
    return r.ok ? 'joined' : 'failed';
  },
});
`);
      const r = await run(['run', join(EX, 'form-login/steady.ts'), '--journey', join(dir, 'j.ts'), '--target', app.url, '--scale', '1']);
      expect(r.code, r.err).toBe(EXIT.ok);
      expect(r.summary?.users).toMatchObject({ arrived: 100, joined: 100 });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('whatif with scenario files', () => {
  it('runs a user scenario and a mitigation of it against the user\'s platform, and compares them', async () => {
    const journey = join(EX, 'json-login/journey.ts');
    const scenario = (name: string, perSec: number) => `import { defineScenario, load } from 'firstbell';\nexport default defineScenario({ name: '${name}', journey: ${JSON.stringify(journey)}, phases: load.constant({ perSec: ${perSec}, forMs: 2_000 }), observeMs: 1_000 });\n`;
    const dir = userFiles({ 'burst.ts': scenario('burst', 20), 'calm.ts': scenario('calm', 10) });
    const out = tempDir();
    const d = captureIo();
    const code = await main(['whatif', join(dir, 'burst.ts'), join(dir, 'calm.ts'), '--target', app.url, '--scale', '1', '--out', out, '--no-progress'], d.io);
    expect(code, d.err()).toBe(EXIT.ok);
    expect(d.out()).toMatch(/PASSED[\s\S]*PASSED[\s\S]*COMPARED: [\s\S]*comparison: .*compare\.html/);
  });
});
