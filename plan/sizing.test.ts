import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { FILES, HEALTH_HEADER, SAMPLE_HEADER, type RunInfo } from '../run-folder/run-folder.js';
import { DEFAULT_CLIENT, DEFAULT_OBJECTIVES, resolveScenario } from '../scenarios/model.js';
import { costOfRun, CostError, sizeFor, USABLE_CORE_SHARE } from './sizing.js';

/** A run folder of `journeys` one-step journeys, its generator busy `cpuPct` (all processes) in each of `seconds` seconds. */
function runFolder(journeys: number, seconds: number, cpuPct: number): string {
  const dir = mkdtempSync(join(tmpdir(), 'firstbell-sizing-'));
  const scenario = resolveScenario({
    name: 'cost', description: 'a cost', firstBell: '08:00:00', population: { schools: 1, conferences: 1, participantsPerConference: 10 },
    phases: [{ name: 'p', startMs: 0, durationMs: seconds * 1000, participants: journeys, curve: { kind: 'uniform' } }], observeMs: 0, client: DEFAULT_CLIENT, objectives: DEFAULT_OBJECTIVES, joinWithinMs: 10_000,
  }, 1);
  const info: RunInfo = {
    tool: { name: 'firstbell', version: '0', node: 'v20' }, id: 'cost', status: 'completed', startedAt: '2026-12-02T08:00:00.000Z', host: { hostname: 'h', cpus: 2, platform: 'linux-x64' },
    scenario, seed: 1, target: { kind: 'journey', url: 'http://127.0.0.1:8080' }, firstBellAtMs: 0, plannedEndMs: seconds * 1000, steps: [{ layer: 'broker', step: 'join', goal: 'journey' }],
    plan: { participants: journeys, peakArrivalsPerSec: journeys / seconds, phases: [] }, generator: { arrivalsPlanned: journeys, arrivalsSent: journeys, late: 0, dropped: 0, lateThresholdMs: 100, maxActive: journeys, workers: 2 },
  };
  writeFileSync(join(dir, FILES.run), JSON.stringify(info));
  const at = (u: number) => (u * seconds * 1000) / journeys;
  writeFileSync(join(dir, FILES.samples), [SAMPLE_HEADER, ...Array.from({ length: journeys }, (_, u) => `${at(u)},${at(u)},${at(u) + 5},${u},broker,join,ok,200,2`)].join('\n') + '\n');
  // The busiest process at half the total: the total is what counts.
  writeFileSync(join(dir, FILES.health), [HEALTH_HEADER, ...Array.from({ length: seconds }, (_, t) => `${t},1,2,${cpuPct / 2},1,1,${journeys / seconds},0,0,1,50,${cpuPct}`)].join('\n') + '\n');
  return dir;
}

describe('sizing the generator for the peak second', () => {
  it('needs cores in proportion to the cost of a journey: twice the cost, twice the cores', () => {
    const a = sizeFor(25_000, { cpuMsPerJourney: 1.9, source: 'x' }, 2);
    const b = sizeFor(25_000, { cpuMsPerJourney: 3.8, source: 'x' }, 2);
    expect(a.cores).toBe(Math.ceil((25_000 * 1.9) / 1000 / USABLE_CORE_SHARE));
    expect(b.cores / a.cores).toBeCloseTo(2, 1);
    expect(a.shards).toBe(Math.ceil(a.cores / 2));
    expect(sizeFor(10, { cpuMsPerJourney: 1, source: 'x' }, 2)).toMatchObject({ cores: 1, shards: 1 });
  });

  it("takes a journey's cost from an earlier run: all its processes' CPU over the journeys they began", async () => {
    // 10 s at 150 % of a core, 3,000 journeys: 15 CPU-s, 5 CPU-ms each.
    const cost = await costOfRun(runFolder(3_000, 10, 150));
    expect(cost.cpuMsPerJourney).toBe(5);
    expect(cost.source).toMatch(/15\.0 CPU-s for 3,000 journeys/);
    expect(sizeFor(1_000, cost, 2)).toMatchObject({ cores: Math.ceil(5 / USABLE_CORE_SHARE), shards: Math.ceil(Math.ceil(5 / USABLE_CORE_SHARE) / 2) });
  });

  it('refuses a run too small to tell, naming it', async () => {
    const dir = runFolder(50, 5, 100);
    await expect(costOfRun(dir)).rejects.toThrow(CostError);
    await expect(costOfRun(dir)).rejects.toThrow(`${dir}: 50 journeys are too few to tell what one costs; give a run of 100 or more`);
  });
});
