// A journey whose own code misbehaves (a step that never looks at its signal, an exception from a timer, a promise
// nobody awaited, an endless loop, memory without end, connections of its own) cannot stop the run, lose its report
// or go around the allow-list. Runs are child processes of the built command line: an error that escapes the journey
// would end this test's own process otherwise.
import { spawn } from 'node:child_process';
import { existsSync, readdirSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PACKAGE_ROOT } from '../lib/version.js';
import { readRunInfo, readSamples } from '../run-folder/run-folder.js';
import { tempDir } from './helpers.js';

let server: Server;
let target: string;
/** Paths the server was asked for. */
const asked: string[] = [];
beforeAll(async () => {
  server = createServer((req, res) => {
    asked.push(req.url ?? '');
    res.end('ok');
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  target = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(() => {
  server?.close();
});

/** A scenario of 40 participants over 2 s with `journey` as its journey module; its folder. */
function scenario(journey: string): string {
  const dir = tempDir('firstbell-unruly-');
  writeFileSync(join(dir, 'journey.ts'), journey);
  writeFileSync(join(dir, 'scenario.json'), JSON.stringify({
    name: 'unruly', description: 'a journey whose code misbehaves', journey: './journey.ts',
    phases: [{ name: 'steady', startMs: 0, durationMs: 2_000, participants: 40, curve: { kind: 'uniform' } }],
    client: { thinkTimeMs: 0, stepTimeoutMs: 1_000 }, observeMs: 2_000,
  }));
  return join(dir, 'scenario.json');
}

/** `firstbell run` of `file` as a process; its exit code, summary.json on stdout, run folder and how long it took. */
async function run(file: string, workers: number, args: string[] = [], signalAfterMs?: number) {
  const out = tempDir();
  const started = Date.now();
  const child = spawn(process.execPath, [join(PACKAGE_ROOT, 'dist', 'cli.js'), 'run', file, '--target', target, '--scale', '1', '--workers', String(workers), '--out', out, '--no-progress', '--json', '--no-typecheck', ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d: Buffer) => (stdout += d));
  child.stderr.on('data', (d: Buffer) => (stderr += d));
  if (signalAfterMs !== undefined) {
    // Once the run has started (its plan printed), Ctrl-C after the given time.
    const wait = () => (stderr.includes('plan:') ? setTimeout(() => child.kill('SIGINT'), signalAfterMs) : setTimeout(wait, 50));
    wait();
  }
  const code = await new Promise<number | null>((r) => child.on('close', r));
  const folders = existsSync(out) ? readdirSync(out) : [];
  expect(folders, stderr).toHaveLength(1);
  return { code, stderr, tookMs: Date.now() - started, summary: JSON.parse(stdout || '{}') as Record<string, any>, folder: join(out, folders[0]!) };
}

describe('a journey whose own code misbehaves', () => {
  const hanging = `import { defineJourney } from 'firstbell';
export default defineJourney({
  steps: { login: 'admission', stall: 'admission' },
  holds: false,
  async journey(vu) {
    await vu.step('login', (signal) => vu.http.request('GET', '/', { signal }));
    // Every other participant's step never ends and never looks at its signal.
    await vu.step('stall', async () => {
      if (vu.identity.participant % 2 === 1) await new Promise(() => undefined);
    });
    return 'joined';
  },
});
`;

  it('a step that ignores its signal times out at the step timeout, and the run ends with its report (probe 1)', async () => {
    const r = await run(scenario(hanging), 1);
    // Half the participants stalled: the run is completed, judged, and not passed.
    expect(r.code, r.stderr).toBe(99);
    expect(readRunInfo(r.folder).status).toBe('completed');
    expect(existsSync(join(r.folder, 'report.html'))).toBe(true);
    expect(r.summary.verdict).not.toBe('passed');
    expect(r.summary.users).toMatchObject({ arrived: 40, joined: 20 });
    const stalls: string[] = [];
    for await (const s of readSamples(r.folder)) if (s.step === 'stall') stalls.push(s.outcome);
    expect(stalls.filter((o) => o === 'timeout')).toHaveLength(20);
    expect(stalls.filter((o) => o === 'ok')).toHaveLength(20);
  }, 60_000);

  const throwing = `import { defineJourney } from 'firstbell';
export default defineJourney({
  steps: { login: 'admission' },
  holds: false,
  async journey(vu) {
    await vu.step('login', (signal) => vu.http.request('GET', '/', { signal }));
    if (vu.identity.participant === 3) setTimeout(() => { throw new Error('boom from a timer'); }, 10);
    if (vu.identity.participant === 5) void Promise.reject(new Error('nobody awaited me'));
    return 'joined';
  },
});
`;

  it('an exception from a timer and a promise nobody awaited are named in the report, which is not judged (probe 3)', async () => {
    const file = scenario(throwing);
    const r = await run(file, 1);
    expect(r.code, r.stderr).toBe(99);
    expect(r.stderr).not.toMatch(/internal error|\n\s+at /);
    expect(readRunInfo(r.folder).status).toBe('completed');
    expect(existsSync(join(r.folder, 'report.html'))).toBe(true);
    expect(r.summary.verdict).toBe('not-judged');
    expect(r.summary.users).toMatchObject({ arrived: 40, joined: 40 });
    expect(r.summary.headline).toContain("The journey's own code threw 2 times outside any step");
    // Each named where the user's own file threw it.
    const journey = join(file, '..', 'journey.ts');
    expect(r.summary.scriptErrors).toEqual(expect.arrayContaining([
      { message: `outside any step: Error: boom from a timer (at ${journey}:7:65)`, count: 1 },
      { message: `outside any step: Error: nobody awaited me (at ${journey}:8:60)`, count: 1 },
    ]));
  }, 60_000);

  const looping = `import { defineJourney } from 'firstbell';
export default defineJourney({
  steps: { login: 'admission' },
  holds: false,
  async journey(vu) {
    await vu.step('login', (signal) => vu.http.request('GET', '/', { signal }));
    if (vu.identity.participant === 7) for (;;) {}
    return 'joined';
  },
});
`;

  it('an endless loop runs in a worker apart from the run: the run ends soon after its planned end, names the stuck worker and never blames the target (probe 4)', async () => {
    const r = await run(scenario(looping), 1);
    expect(r.code, r.stderr).toBe(99);
    expect(r.stderr).toContain('generator: 1 worker process (as given; ');
    expect(r.stderr).toContain("your journey runs apart from the run's own process, with a heap cap");
    // 4 s of run, a 5 s grace for the stuck worker, and the start: far from hanging for good.
    expect(r.tookMs).toBeLessThan(25_000);
    expect(r.summary.verdict).toBe('generator-bound');
    expect(r.summary.headline).toMatch(/^Worker 1 of 1 stopped answering (\d+ s before the end|before its first second) and was ended \(its event loop blocked: an endless loop in the journey's code, or a machine that starved it\)/);
    expect(existsSync(join(r.folder, 'report.html'))).toBe(true);
    expect(readRunInfo(r.folder).status).toBe('completed');
  }, 60_000);

  it('an endless loop does not keep Ctrl-C from ending the run with its report (exit 130; probe 4)', async () => {
    const r = await run(scenario(looping), 1, [], 1_500);
    expect(r.code, r.stderr).toBe(130);
    expect(r.tookMs).toBeLessThan(25_000);
    expect(readRunInfo(r.folder).status).toBe('interrupted');
    expect(existsSync(join(r.folder, 'report.html'))).toBe(true);
  }, 60_000);

  it('a journey that holds more and more memory ends its own worker at the heap cap; the run says so and keeps its report (exit 2; probe 5)', async () => {
    const growing = `import { defineJourney } from 'firstbell';
const kept: number[][] = [];
export default defineJourney({
  steps: { login: 'admission' },
  holds: false,
  async journey(vu) {
    await vu.step('login', (signal) => vu.http.request('GET', '/', { signal }));
    if (vu.identity.participant === 3) for (;;) { kept.push(new Array(1e6).fill(1)); await vu.think(1); }
    return 'joined';
  },
});
`;
    const r = await run(scenario(growing), 1, ['--journey-heap', '128']);
    expect(r.code, r.stderr).toBe(2);
    expect(r.stderr).toContain("error: the run stopped: worker 1 of 1 ran out of memory: its heap reached its cap of 128 MB (the journey's code held more and more), and it ended before the run did; fix the journey, or raise --journey-heap; report of what ran: ");
    // V8's own report of the full heap is not passed on.
    expect(r.stderr).not.toMatch(/FATAL ERROR|Last few GCs/);
    expect(existsSync(join(r.folder, 'report.html'))).toBe(true);
    expect(readRunInfo(r.folder).status).toBe('failed');
  }, 60_000);

  it("fetch and node:net in a journey's code go by the run's allow-list like vu.http: refused as not_allowed, nothing sent (probe 6)", async () => {
    // 0.0.0.0 reaches this machine's own server, but it is not loopback, the target or an allowed host.
    const port = new URL(target).port;
    const bypassing = `import { defineJourney } from 'firstbell';
import { connect } from 'node:net';
export default defineJourney({
  steps: { login: 'admission', fetch: 'admission', raw: 'admission' },
  holds: false,
  async journey(vu) {
    await vu.step('login', (signal) => vu.http.request('GET', '/', { signal }));
    await vu.step('fetch', (signal) => fetch('http://0.0.0.0:${port}/by-fetch', { signal }));
    await vu.step('raw', () => new Promise<void>((resolve, reject) => {
      const sock = connect(${port}, '0.0.0.0', () => { sock.end('GET /by-net HTTP/1.1\\r\\nhost: x\\r\\n\\r\\n'); resolve(); });
      sock.on('error', reject);
    }));
    return 'joined';
  },
});
`;
    const r = await run(scenario(bypassing), 1);
    const outcomes: Record<string, string[]> = {};
    for await (const x of readSamples(r.folder)) (outcomes[x.step] ??= []).push(x.outcome);
    expect(outcomes.login!.every((o) => o === 'ok')).toBe(true);
    expect(outcomes.fetch).toEqual(Array(40).fill('not_allowed'));
    expect(outcomes.raw).toEqual(Array(40).fill('not_allowed'));
    expect(asked.filter((p) => p.startsWith('/by-'))).toEqual([]);
    expect(r.summary.notAllowed).toEqual(expect.arrayContaining([expect.objectContaining({ count: 40 })]));
  }, 60_000);
});
