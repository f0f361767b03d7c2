// The k6 runtime of an exported user journey, run against a real server with k6's modules stood in by Node.js
// (there is no k6 binary here): the vu API's steps, cookies, WebSocket and hold, read back by import k6.
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EXIT, main } from '../cli.js';
import { loadScenarioFile } from '../modules/scenario.js';
import { buildSchedule } from '../plan/schedule.js';
import { resolveScenario } from '../scenarios/model.js';
import { captureIo, tempDir } from './helpers.js';
import { runScript } from './k6-shim.js';
import { startSchoolApp, type SchoolApp } from './servers/school-app.js';

const STEADY = new URL('../examples/json-login/steady.json', import.meta.url).pathname;

/** Exports a scenario file's journey, runs its script's participants on the scenario's arrivals, and imports the results. */
async function exportRunImport(file: string, target: string, scale: number): Promise<{ code: number; out: string; err: string }> {
  const out = tempDir('firstbell-k6-');
  const c = captureIo();
  expect(await main(['export', 'k6', file, '--target', target, '--scale', String(scale), '--out', out], c.io), c.err()).toBe(EXIT.ok);
  const script = readFileSync(join(out, 'script.js'), 'utf8');
  const runTags = JSON.parse(/"tags": (\{[^}]*\})/.exec(script)![1]!) as Record<string, string>;
  const schedule = buildSchedule(resolveScenario(await loadScenarioFile(file), scale), 1);
  const { csv: lines } = await runScript(script, out, schedule.offsetsMs, runTags);
  const results = join(out, 'results.csv');
  writeFileSync(results, lines.join('\n') + '\n');
  const r = captureIo();
  const code = await main(['import', 'k6', results, '--scenario', file, '--out', tempDir(), '--json'], r.io);
  return { code, out: r.out(), err: r.err() };
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

  it("refuses what is outside the allow-list as firstbell's own runs do: not_allowed, nothing sent", async () => {
    const dir = tempDir('firstbell-k6-allow-');
    const port = new URL(app.url).port;
    writeFileSync(join(dir, 'journey.ts'), `import { defineJourney } from 'firstbell';
export default defineJourney({
  steps: { login: 'admission', away: 'broker', socket: 'media' },
  holds: false,
  async journey(vu) {
    await vu.step('login', (signal) => vu.http.request('GET', '/', { signal }));
    // 0.0.0.0 reaches this machine's server, but it is neither loopback, the target nor an allowed host.
    await vu.step('away', (signal) => vu.http.request('GET', 'http://0.0.0.0:${port}/elsewhere', { signal }));
    await vu.step('socket', (signal) => vu.ws('ws://0.0.0.0:${port}/ws/classroom', signal));
    return 'joined';
  },
});
`);
    writeFileSync(join(dir, 'scenario.json'), JSON.stringify({
      name: 'allow-list', description: 'steps to hosts not allowed', journey: './journey.ts',
      phases: [{ name: 'steady', startMs: 0, durationMs: 2_000, participants: 20, curve: { kind: 'uniform' } }], observeMs: 1_000,
    }));
    const r = await exportRunImport(join(dir, 'scenario.json'), app.url, 0.5);
    const summary = JSON.parse(r.out) as { steps: { step: string; attempts: number; ok: number; failures: { kind: string; count: number }[] }[] };
    const byStep = Object.fromEntries(summary.steps.map((s) => [s.step, s]));
    expect(byStep.login).toMatchObject({ attempts: 10, ok: 10 });
    for (const step of ['away', 'socket']) expect(byStep[step], step).toMatchObject({ attempts: 10, ok: 0, failures: [expect.objectContaining({ kind: 'not_allowed', count: 10 })] });
  }, 60_000);
});
