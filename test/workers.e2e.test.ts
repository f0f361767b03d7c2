// Worker processes: the same schedule split over processes gives the same run, connections come from the
// local addresses asked for, and a worker that dies fails the run with a report of what ran.
import { execFileSync } from 'node:child_process';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { addressIndex } from '../protocol/source-ports.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { writeReport } from '../reports/build-report.js';
import { DEFAULT_CLIENT, DEFAULT_OBJECTIVES, resolveScenario } from '../scenarios/model.js';
import { findScenario } from '../scenarios/index.js';
import { readHealth, readRunInfo, readSamples, RunFailedError } from '../run-folder/run-folder.js';
import { runScenario, tempDir, useReferencePlatform } from './helpers.js';

const platform = useReferencePlatform(['--media', 'stand-in', '--login-capacity', '2000', '--join-capacity', '2000']);

let http: Server;
let httpUrl: string;
const seen = new Map<string, number>();
beforeAll(async () => {
  http = createServer((req, res) => {
    const a = req.socket.remoteAddress ?? '';
    seen.set(a, (seen.get(a) ?? 0) + 1);
    // Slow enough that a journey is under way when a worker is killed.
    setTimeout(() => res.end('ok'), req.url === '/slow' ? 300 : 0);
  });
  await new Promise<void>((r) => http.listen(0, '127.0.0.1', r));
  httpUrl = `http://127.0.0.1:${(http.address() as AddressInfo).port}`;
});
afterAll(async () => {
  http.closeAllConnections();
  await new Promise((r) => http.close(r));
});

/** monday-0800's shape in 15 s: people already in, a first-bell burst, held until the end. */
const monday = () => {
  const m = findScenario('monday-0800')!;
  return resolveScenario(
    {
      ...m,
      phases: [
        { name: 'baseline', startMs: -5_000, durationMs: 4_000, participants: 100, curve: { kind: 'uniform' } },
        { name: 'burst', startMs: 0, durationMs: 5_000, participants: 412, curve: { kind: 'first-bell', riseMs: 500, halfLifeMs: 1_000 } },
      ],
      observeMs: 2_000,
    },
    1,
  );
};

async function perSecond(dir: string, step: string): Promise<Map<number, number>> {
  const out = new Map<number, number>();
  for await (const s of readSamples(dir)) if (s.step === step) out.set(Math.floor(s.intendedMs / 1000), (out.get(Math.floor(s.intendedMs / 1000)) ?? 0) + 1);
  return out;
}

describe('worker processes', () => {
  it('split the schedule and give a run identical in shape to a single-process one', async () => {
    const out = tempDir();
    const reference = { journey: 'reference', target: platform().url };
    const one = await runScenario({ scenario: monday(), seed: 7, platform: reference, outDir: out, runId: 'one', workers: 1 });
    const two = await runScenario({ scenario: monday(), seed: 7, platform: reference, outDir: out, runId: 'two', workers: 2 });
    expect(two.info.generator).toMatchObject({ workers: 2, arrivalsPlanned: 512, arrivalsSent: 512, dropped: 0 });
    expect(one.info.generator?.arrivalsSent).toBe(512);
    // The same arrivals, second by second, and every participant joined in both.
    expect(await perSecond(two.dir, 'login_page')).toEqual(await perSecond(one.dir, 'login_page'));
    expect(two.series.journeys).toMatchObject({ arrived: 512, joined: 512 });
    expect(one.series.journeys).toMatchObject({ arrived: 512, joined: 512 });
    expect(two.series.steps.map((s) => `${s.layer}.${s.step}`)).toEqual(one.series.steps.map((s) => `${s.layer}.${s.step}`));
    // Health has one line per second with the arrivals of both workers; the report reads the merged series.
    const health = await readHealth(two.dir);
    expect(health.reduce((a, h) => a + h.arrivals, 0)).toBe(512);
    expect(new Set(health.map((h) => h.t)).size).toBe(health.length);
    const { analysis } = await writeReport(two.dir);
    expect(analysis.users.joined).toBe(512);
    expect(analysis.layers.find((l) => l.layer === 'media')?.attempts).toBeGreaterThan(512);
  });

  it('send from the local addresses asked for, participant by participant, on time however long the run folder took to write', async () => {
    seen.clear();
    const scenario = resolveScenario(
      {
        name: 'addresses', description: 'x', firstBell: '08:00:00', population: { schools: 1, conferences: 1, participantsPerConference: 10 },
        phases: [{ name: 'a', startMs: 0, durationMs: 1_000, participants: 60, curve: { kind: 'uniform' } }],
        observeMs: 1_000, client: DEFAULT_CLIENT, objectives: DEFAULT_OBJECTIVES, joinWithinMs: 10_000,
      },
      1,
    );
    const r = await runScenario({
      scenario, seed: 1, platform: { journey: 'http', target: `${httpUrl}/` }, outDir: tempDir(), workers: 2,
      localAddresses: ['127.0.1.1', '127.0.1.2', '127.0.1.3'], preflightTimeoutMs: 2_000,
      // Half a second between the folder's writing and the start, as a disk busy writing back may hold a process up.
      onFolder: () => {
        for (const until = Date.now() + 500; Date.now() < until; );
      },
    });
    expect(r.series.journeys.joined).toBe(60);
    // t = 0 waited for the processes to hear of it: none of the first second's arrivals is late.
    expect(readRunInfo(r.dir).generator).toMatchObject({ workers: 2, localAddresses: 3, late: 0 });
    // 60 participants, ids 0..59, each from the address addressIndex gives it; the preflight and warm-up come from the system's address.
    const ids = Array.from({ length: 60 }, (_, id) => id);
    for (const [k, address] of ['127.0.1.1', '127.0.1.2', '127.0.1.3'].entries()) {
      const expected = ids.filter((id) => addressIndex(id, 3) === k).length;
      expect(expected).toBeGreaterThan(10);
      expect(seen.get(address)).toBe(expected);
    }
  });

  it('a worker that dies fails the run, which still leaves its samples and a report of what ran', async () => {
    const scenario = resolveScenario(
      {
        name: 'killed', description: 'x', firstBell: '08:00:00', population: { schools: 1, conferences: 1, participantsPerConference: 10 },
        phases: [{ name: 'a', startMs: 0, durationMs: 6_000, participants: 600, curve: { kind: 'uniform' } }],
        observeMs: 1_000, client: DEFAULT_CLIENT, objectives: DEFAULT_OBJECTIVES, joinWithinMs: 10_000,
      },
      1,
    );
    // Killed two seconds into the run, however long the workers took to start: some 200 participants are under way.
    let killed = false;
    const onProgress = (p: { t: number }) => {
      if (killed || p.t < 2) return;
      killed = true;
      const pids = execFileSync('pgrep', ['-P', String(process.pid), '-f', 'users/worker.js'], { encoding: 'utf8' }).trim().split('\n');
      process.kill(Number(pids[0]), 'SIGKILL');
    };
    const err = await runScenario({ scenario, seed: 1, platform: { journey: 'http', target: `${httpUrl}/slow` }, outDir: tempDir(), workers: 2, onProgress }).catch((e: unknown) => e);
    expect(killed).toBe(true);
    expect(err).toBeInstanceOf(RunFailedError);
    const dir = (err as RunFailedError).dir;
    expect((err as RunFailedError).message).toMatch(/worker \d of 2 ended \(SIGKILL\) before the run did/);
    expect(readRunInfo(dir)).toMatchObject({ status: 'failed' });
    let n = 0;
    for await (const _ of readSamples(dir)) n++;
    expect(n).toBeGreaterThan(100);
    const { analysis } = await writeReport(dir);
    expect(analysis.users.arrived).toBeGreaterThan(100);
  });
});
