import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_CLIENT, DEFAULT_OBJECTIVES, resolveScenario } from '../scenarios/model.js';
import { readSamples } from '../run-folder/run-folder.js';
import { buildSchedule } from '../plan/schedule.js';
import { runScenario, tempDir } from './helpers.js';

/** A target that answers the preflight and then never answers again: it accepts and stalls. */
let stalling: Server;
let url: string;
beforeAll(async () => {
  let answered = 0;
  stalling = createServer((req, res) => {
    if (answered++ === 0) res.end('ok');
    // Every later request is left hanging, as an overloaded upstream would.
  });
  await new Promise<void>((r) => stalling.listen(0, '127.0.0.1', r));
  url = `http://127.0.0.1:${(stalling.address() as AddressInfo).port}`;
});
afterAll(async () => {
  stalling.closeAllConnections();
  await new Promise((r) => stalling.close(r));
});

const scenario = resolveScenario(
  {
    name: 'stall', description: 'uniform arrivals', firstBell: '08:00:00',
    population: { schools: 1, conferences: 1, participantsPerConference: 10 },
    phases: [{ name: 'steady', startMs: 0, durationMs: 3_000, participants: 300, curve: { kind: 'uniform' } }],
    observeMs: 1_500,
    client: { ...DEFAULT_CLIENT, stepTimeoutMs: 1_000 },
    objectives: DEFAULT_OBJECTIVES,
    joinWithinMs: 10_000,
  },
  1,
);

describe('the open model', () => {
  it('keeps arrivals on schedule while the target stalls, and counts latency from the intended start', async () => {
    const r = await runScenario({ scenario, seed: 9, platform: { journey: 'reference', target: url }, outDir: tempDir() });
    expect(r.info.generator).toMatchObject({ arrivalsPlanned: 300, arrivalsSent: 300, dropped: 0 });
    // Tolerance: an arrival more than 100 ms late counts as late; none may be.
    expect(r.info.generator!.late).toBe(0);

    const schedule = buildSchedule(scenario, 9);
    const byUser = new Map<number, number>();
    schedule.participantIds.forEach((id, i) => byUser.set(id, schedule.offsetsMs[i]!));
    const first = [];
    for await (const s of readSamples(r.dir)) if (s.step === 'login_page') first.push(s);
    expect(first.length).toBe(300);
    for (const s of first) {
      // The intended start is the scheduled arrival, exactly (to the 0.1 ms the file keeps).
      expect(Math.abs(s.intendedMs - byUser.get(s.user)!)).toBeLessThan(0.1);
      // Dispatch lag stays small even with 300 requests hanging; tolerance 100 ms.
      expect(s.startMs - s.intendedMs).toBeLessThan(100);
      expect(s.outcome).toBe('timeout');
      // Timed out 1 s after the intended start; tolerance +250 ms for timers on a loaded machine.
      expect(s.endMs - s.intendedMs).toBeGreaterThanOrEqual(999);
      expect(s.endMs - s.intendedMs).toBeLessThan(1_250);
    }
  });
});
