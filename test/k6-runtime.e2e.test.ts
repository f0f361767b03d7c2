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

describe("an exported journey's k6 runtime", () => {
  let app: SchoolApp;
  beforeAll(async () => {
    app = await startSchoolApp();
  });
  afterAll(() => app?.close());

  it('logs in with JSON and a cookie, joins the classroom WebSocket, holds it with heartbeats, and comes back as a run', async () => {
    const out = tempDir('firstbell-k6-');
    const c = captureIo();
    expect(await main(['export', 'k6', STEADY, '--target', app.url, '--scale', '0.3', '--out', out], c.io), c.err()).toBe(EXIT.ok);
    const script = readFileSync(join(out, 'script.js'), 'utf8');
    const runTags = (JSON.parse(/var options = (\{[\s\S]*?\n\});/.exec(script)![1]!) as { tags: Record<string, string> }).tags;
    const scenario = resolveScenario(await loadScenarioFile(STEADY), 0.3);
    const schedule = buildSchedule(scenario, 1);
    expect(schedule.offsetsMs.length).toBe(30);
    const lines = await runScript(script, out, schedule.offsetsMs, runTags);
    expect(lines.length, lines.slice(0, 3).join("\n")).toBeGreaterThan(100);
    const results = join(out, 'results.csv');
    writeFileSync(results, lines.join('\n') + '\n');

    const r = captureIo();
    expect(await main(['import', 'k6', results, '--scenario', STEADY, '--out', tempDir(), '--json'], r.io), r.err() + r.out()).toBe(EXIT.ok);
    const summary = JSON.parse(r.out()) as { verdict: string; users: { arrived: number; joined: number }; steps: { step: string; attempts: number; ok: number }[] };
    expect(summary.users).toMatchObject({ arrived: 30, joined: 30 });
    const byStep = Object.fromEntries(summary.steps.map((s) => [s.step, s]));
    for (const step of ['login', 'lesson', 'classroom']) expect(byStep[step], step).toMatchObject({ attempts: 30, ok: 30 });
    // Held from the join to the end (7 s): a heartbeat a second, each answered.
    expect(byStep.heartbeat!.ok).toBeGreaterThanOrEqual(30);
    expect(byStep.heartbeat!.ok).toBe(byStep.heartbeat!.attempts);
    // The server saw each pupil's session cookie on the WebSocket, or it would not have let them in.
    expect(app.seen.peakOpen).toBe(30);
  }, 60_000);
});
