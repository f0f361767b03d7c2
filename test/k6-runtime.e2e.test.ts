// The k6 runtime of an exported user journey, run against a real server with k6's modules stood in by Node.js
// (there is no k6 binary here): the vu API's steps, cookies, WebSocket and hold, read back by import k6.
import { readFileSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EXIT, main } from '../cli.js';
import { loadScenarioFile } from '../modules/scenario.js';
import { arrivalsPerSecond, buildSchedule, type Schedule } from '../plan/schedule.js';
import { resolveScenario } from '../scenarios/model.js';
import { captureIo, tempDir } from './helpers.js';
import { k6Starts, runScript, type K6Point } from './k6-shim.js';
import { startSchoolApp, type SchoolApp } from './servers/school-app.js';
import { WebSocketServer } from 'ws';

const STEADY = new URL('../examples/json-login/steady.json', import.meta.url).pathname;
const JOURNEY = new URL('../examples/json-login/journey.ts', import.meta.url).pathname;

/** Exports a scenario file's journey, runs its script's participants on the scenario's arrivals, and imports the results. */
async function exportRunImport(file: string, target: string, scale: number, flags: string[] = []): Promise<{ code: number; out: string; err: string; points: K6Point[]; schedule: Schedule }> {
  const out = tempDir('firstbell-k6-');
  const c = captureIo();
  expect(await main(['export', 'k6', file, '--target', target, '--scale', String(scale), '--out', out, ...flags], c.io), c.err()).toBe(EXIT.ok);
  const script = readFileSync(join(out, 'script.js'), 'utf8');
  const runTags = JSON.parse(/"tags": (\{[^}]*\})/.exec(script)![1]!) as Record<string, string>;
  const schedule = buildSchedule(resolveScenario(await loadScenarioFile(file), scale), 1);
  const { csv: lines, points } = await runScript(script, out, k6Starts(arrivalsPerSecond(schedule)), runTags);
  const results = join(out, 'results.csv');
  writeFileSync(results, lines.join('\n') + '\n');
  const r = captureIo();
  const code = await main(['import', 'k6', results, '--scenario', file, '--out', tempDir(), '--json'], r.io);
  return { code, out: r.out(), err: r.err(), points, schedule };
}

/** A server of answers a journey may not take: one over the answer limit, a redirect on the origin and one away from it, a WebSocket's big message. */
async function startAwkward(): Promise<{ url: string; elsewhere: () => number; close: () => void }> {
  let elsewhere = 0;
  const server = createServer((req, res) => {
    if (req.url === '/elsewhere') elsewhere++;
    const answers: Record<string, () => void> = {
      '/big': () => res.end('x'.repeat(4096)),
      '/hop': () => res.writeHead(302, { location: '/small' }).end(),
      '/small': () => res.end('small'),
      '/away': () => res.writeHead(302, { location: `http://0.0.0.0:${(server.address() as AddressInfo).port}/elsewhere` }).end(),
    };
    (answers[req.url ?? ''] ?? (() => res.end('ok')))();
  });
  const wss = new WebSocketServer({ server });
  wss.on('connection', (ws) => ws.send(JSON.stringify({ type: 'welcome', pad: 'x'.repeat(4096) })));
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, elsewhere: () => elsewhere, close: () => (wss.close(), server.close()) };
}

describe("an exported journey's k6 runtime", () => {
  let app: SchoolApp;
  beforeAll(async () => {
    app = await startSchoolApp();
  });
  afterAll(() => app?.close());

  it('logs in with JSON and a cookie, joins the classroom WebSocket, holds it with heartbeats, and comes back as a run', async () => {
    const r = await exportRunImport(STEADY, app.url, 0.3);
    expect(r.code, r.err + r.out).toBe(EXIT.ok);
    const summary = JSON.parse(r.out) as { verdict: string; users: { arrived: number; joined: number }; steps: { step: string; attempts: number; ok: number }[] };
    expect(summary.users).toMatchObject({ arrived: 30, joined: 30 });
    const byStep = Object.fromEntries(summary.steps.map((s) => [s.step, s]));
    for (const step of ['login', 'lesson', 'classroom']) expect(byStep[step], step).toMatchObject({ attempts: 30, ok: 30 });
    // Held from the join to the end (7 s): a heartbeat a second, each answered.
    expect(byStep.heartbeat!.ok).toBeGreaterThanOrEqual(30);
    expect(byStep.heartbeat!.ok).toBe(byStep.heartbeat!.attempts);
    // The server saw each pupil's session cookie on the WebSocket, or it would not have let them in.
    expect(app.seen.peakOpen).toBe(30);
  }, 60_000);

  it("refuses what is outside the allow-list and over the answer limit as firstbell's own runs do (not_allowed, too_large, nothing sent elsewhere), and ends a step deaf to its signal at its timeout", async () => {
    const awkward = await startAwkward();
    try {
      const dir = tempDir('firstbell-k6-allow-');
      const port = new URL(awkward.url).port;
      writeFileSync(join(dir, 'journey.ts'), `import { defineJourney } from 'firstbell';
export default defineJourney({
  steps: { login: 'admission', away: 'broker', socket: 'media', big: 'broker', hop: 'broker', redirected: 'broker', bigws: 'media', stuck: 'media' },
  holds: false,
  async journey(vu) {
    await vu.step('login', (signal) => vu.http.request('GET', '/', { signal }));
    // 0.0.0.0 reaches this machine's server, but it is neither loopback, the target nor an allowed host.
    await vu.step('away', (signal) => vu.http.request('GET', 'http://0.0.0.0:${port}/elsewhere', { signal }));
    await vu.step('socket', (signal) => vu.ws('ws://0.0.0.0:${port}/', signal));
    await vu.step('big', (signal) => vu.http.request('GET', '/big', { signal }));
    // A redirect on the target's origin is followed; one to another origin comes back as it came.
    await vu.step('hop', (signal) => vu.http.request('GET', '/hop', { redirect: 'follow', expect: [200], signal }));
    await vu.step('redirected', (signal) => vu.http.request('GET', '/away', { redirect: 'follow', expect: [302], signal }));
    await vu.step('bigws', async (signal) => (await vu.ws('/', signal)).waitFor(() => true, { signal, timeoutMs: 2_000 }));
    // A step that never listens to its signal still ends at the step timeout.
    await vu.step('stuck', () => new Promise(() => undefined));
    return 'joined';
  },
});
`);
      writeFileSync(join(dir, 'scenario.json'), JSON.stringify({
        name: 'allow-list', description: 'steps to hosts not allowed, and answers over the limit', journey: './journey.ts',
        phases: [{ name: 'steady', startMs: 0, durationMs: 2_000, participants: 20, curve: { kind: 'uniform' } }], observeMs: 2_000, client: { thinkTimeMs: 0, stepTimeoutMs: 1_000 },
      }));
      const r = await exportRunImport(join(dir, 'scenario.json'), awkward.url, 0.5, ['--max-answer', '1kB']);
      const summary = JSON.parse(r.out) as { steps: { step: string; attempts: number; ok: number; failures: { kind: string; count: number }[] }[] };
      const byStep = Object.fromEntries(summary.steps.map((s) => [s.step, s]));
      for (const step of ['login', 'hop', 'redirected']) expect(byStep[step], step).toMatchObject({ attempts: 10, ok: 10 });
      for (const step of ['away', 'socket']) expect(byStep[step], step).toMatchObject({ attempts: 10, ok: 0, failures: [expect.objectContaining({ kind: 'not_allowed', count: 10 })] });
      for (const step of ['big', 'bigws']) expect(byStep[step], `${step}: ${JSON.stringify(byStep[step])}`).toMatchObject({ attempts: 10, ok: 0, failures: [expect.objectContaining({ kind: 'too_large', count: 10 })] });
      expect(byStep.stuck).toMatchObject({ attempts: 10, ok: 0, failures: [expect.objectContaining({ kind: 'timeout', count: 10 })] });
      expect(awkward.elsewhere()).toBe(0);
    } finally {
      awkward.close();
    }
  }, 60_000);

  it("runs a timetable's pupils in the schedule's order, each leaving at its lesson's end", async () => {
    const dir = tempDir('firstbell-k6-timetable-');
    // Two classes whose bells overlap, as a timetable's scenario has them: 5a's lesson ends during the run, 5b's after it.
    const bell = (name: string, startMs: number, conference: number, leave: object) => ({
      name, startMs, durationMs: 2_000, participants: 8, curve: { kind: 'uniform' }, classes: [{ conference, pupils: 8 }], bell: '08:00', ...leave,
    });
    writeFileSync(join(dir, 'scenario.json'), JSON.stringify({
      name: 'two-classes', description: 'two classes of one school', journey: JOURNEY,
      population: { schools: 1, conferences: 2, participantsPerConference: 8, schoolNames: ['North'], classes: [{ name: '5a', school: 0 }, { name: '5b', school: 0 }] },
      phases: [bell('08:00 5a', 0, 0, { leaveAtMs: 3_500 }), bell('08:00 5b', 400, 1, {})], observeMs: 3_000,
    }));
    const r = await exportRunImport(join(dir, 'scenario.json'), app.url, 1);
    expect(r.code, r.err + r.out).toBe(EXIT.ok);
    expect(JSON.parse(r.out)).toMatchObject({ users: { arrived: 16, joined: 16 } });
    const { participantIds } = r.schedule;
    // The classes' arrivals interleave: the n-th arrival is not participant n.
    expect([...participantIds]).not.toEqual([...participantIds].sort((a, b) => a - b));
    // Each participant started at its own place in the schedule: k6's n-th start is the plan's n-th arrival.
    const starts = k6Starts(arrivalsPerSecond(r.schedule));
    const rankOf = new Map([...participantIds].map((id, n) => [id, n]));
    const firstAt = new Map<number, number>();
    for (const p of r.points) if (p.metric === 'firstbell_step' && !firstAt.has(Number(p.metadata.fb_user))) firstAt.set(Number(p.metadata.fb_user), Number(p.metadata.fb_at));
    expect(firstAt.size).toBe(16);
    for (const [user, at] of firstAt) expect(Math.abs(at - starts[rankOf.get(user)!]!), `participant ${user}`).toBeLessThan(50);
    // 5a's pupils (participants 0 to 7) leave their held classroom at 3.5 s; 5b's stay to the end.
    const left = r.points.filter((p) => p.tags.fb_outcome === 'left');
    expect(left.map((p) => Number(p.metadata.fb_user)).sort((a, b) => a - b)).toEqual([0, 1, 2, 3, 4, 5, 6, 7]);
    for (const p of left) expect(Number(p.metadata.fb_at)).toBeGreaterThanOrEqual(3_450);
    for (const p of left) expect(Number(p.metadata.fb_at)).toBeLessThan(3_900);
  }, 60_000);

  it('exports a timetable file: the script, and the scenario it was made into for the import to read back', async () => {
    const dir = tempDir('firstbell-k6-day-');
    writeFileSync(join(dir, 'day.csv'), 'school;class;day;start;end;pupils\nNorth;5a;Mon;08:00;08:45;24\nNorth;5b;Mon;08:45;09:30;21\n');
    const out = join(dir, 'k6');
    const c = captureIo();
    const code = await main(['export', 'k6', join(dir, 'day.csv'), '--journey', JOURNEY, '--target', app.url, '--scale', '1', '--day', 'mon', '--arrive-within', '5', '--out', out], c.io);
    expect(code, c.err()).toBe(EXIT.ok);
    expect(c.err()).toContain(`firstbell import k6 results.csv --scenario ${join(out, 'scenario.json')}`);
    const scenario = JSON.parse(readFileSync(join(out, 'scenario.json'), 'utf8')) as { phases: { classes: unknown[]; leaveAtMs: number }[] };
    expect(scenario.phases.map((p) => [p.classes.length, p.leaveAtMs > 0])).toEqual([[1, true], [1, true]]);
    const script = readFileSync(join(out, 'script.js'), 'utf8');
    // The classes and lesson ends are in the script's people, made once per k6 instance.
    const people = JSON.parse(/^var firstbell_people_default = '(.*)';$/m.exec(script)![1]!) as { population: { classes: unknown[] }; phases: unknown[] };
    expect(people.population.classes).toEqual([{ name: '5a', school: 0 }, { name: '5b', school: 0 }]);
    expect(people.phases).toEqual([expect.objectContaining({ participants: 24, leaveAtMs: expect.any(Number) }), expect.objectContaining({ participants: 21 })]);
    expect(script).toContain('new SharedArray("firstbell-arrivals"');
    // A VU for everyone under way at once: 5a has left when 5b comes, so 24 of the 45 pupils (and the margin).
    expect(script).toContain(`"preAllocatedVUs": ${Math.ceil(24 * 1.05) + 10},`);
  });
});
