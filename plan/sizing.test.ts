import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { FILES, HEALTH_HEADER, SAMPLE_HEADER, type RunInfo } from '../run-folder/run-folder.js';
import { DEFAULT_CLIENT, DEFAULT_OBJECTIVES, resolveScenario } from '../scenarios/model.js';
import { sizingLine } from '../cli/plan.js';
import { EXIT, main } from '../cli.js';
import { captureIo, tempDir } from '../test/helpers.js';
import { buildPlan } from './plan.js';
import { costOfRun, CostError, heldAt, peakSecond, sizeFor, USABLE_CORE_SHARE } from './sizing.js';

/** A second of a run's generator: journeys begun, participants under way at its end, CPU of all its processes (% of a core). */
interface Second {
  arrivals: number;
  active: number;
  cpuPct: number;
}

/**
 * A run folder of `journeys` one-step journeys over `seconds` seconds, its generator busy `cpuPct` (all processes)
 * in each, or as `perSecond` gives each second.
 */
function runFolder(journeys: number, seconds: number, cpuPct: number, perSecond?: Second[]): string {
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
  const each = perSecond ?? Array.from({ length: seconds }, () => ({ arrivals: journeys / seconds, active: 1, cpuPct }));
  writeFileSync(join(dir, FILES.health), [HEALTH_HEADER, ...each.map((h, t) => `${t},1,2,${h.cpuPct / 2},1,1,${h.arrivals},0,0,${h.active},50,${h.cpuPct}`)].join('\n') + '\n');
  return dir;
}

/**
 * 20 s of a run whose participants hold: arrivals ramp up to 400 a second and stop for the last 5 s; `journeyMs` CPU-ms
 * a journey, `heldMs` CPU-ms a second for each participant under way, 15 % of a core at rest, each second rounded to
 * a whole per cent.
 */
function rampOf(journeyMs: number, heldMs: number): Second[] {
  const perSecond: Second[] = [];
  let active = 0;
  for (let t = 0; t < 20; t++) {
    const arrivals = t < 15 ? 25 * (t + 1) + (t % 3) * 10 : 0;
    active += arrivals;
    perSecond.push({ arrivals, active, cpuPct: Math.round(((arrivals * journeyMs + active * heldMs) / 1000 + 0.15) * 100) });
  }
  return perSecond;
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

  it('adds the participants under way at the peak at what one costs a second, where the run measured it', () => {
    // 1,000 journeys at 1 CPU-ms and 50,000 participants at 20 µs a second: 2 CPU-s a second, 3 cores at 70 %.
    const held = sizeFor(1_000, { cpuMsPerJourney: 1, cpuMsPerParticipantSecond: 0.02, source: 'x' }, 2, 50_000);
    expect(held).toMatchObject({ underWay: 50_000, cores: Math.ceil(2 / USABLE_CORE_SHARE), shards: 2 });
    expect(sizeFor(1_000, { cpuMsPerJourney: 1, cpuMsPerParticipantSecond: 0.04, source: 'x' }, 2, 50_000).cores).toBe(Math.ceil(3 / USABLE_CORE_SHARE));
    expect(sizingLine(held, 2)).toContain('the peak second begins 1,000 journeys; at 1 CPU-ms each and 50,000 participants under way at its end at 20 µs a second each (x) it needs ≈ 3 generator cores');
    // Without a cost a participant, the journeys alone.
    expect(sizeFor(1_000, { cpuMsPerJourney: 1, source: 'x' }, 2, 50_000)).toMatchObject({ underWay: 0, cores: Math.ceil(1 / USABLE_CORE_SHARE) });
  });

  it("counts the plan's participants under way at its peak second's end: those arrived and not yet left", () => {
    const scenario = resolveScenario({
      name: 'peak', description: 'a burst after a ramp', firstBell: '08:00:00', population: { schools: 1, conferences: 1, participantsPerConference: 10 },
      phases: [
        { name: 'early', startMs: 0, durationMs: 10_000, participants: 1_000, curve: { kind: 'uniform' }, leaveAtMs: 12_500 },
        { name: 'stay', startMs: 0, durationMs: 10_000, participants: 500, curve: { kind: 'uniform' } },
        { name: 'burst', startMs: 14_000, durationMs: 1_000, participants: 3_000, curve: { kind: 'uniform' } },
      ],
      observeMs: 0, client: DEFAULT_CLIENT, objectives: DEFAULT_OBJECTIVES, joinWithinMs: 10_000,
    }, 1);
    const plan = buildPlan(scenario, 1);
    const bell = plan.schedule.firstBellAtMs;
    const peak = peakSecond(plan);
    expect(peak.perSec).toBe(plan.summary.peakArrivalsPerSec);
    // The burst's busiest second (it may straddle two): the early phase has left by its end, the others hold.
    const inSecond = (s: number) => plan.schedule.offsetsMs.filter((t) => t >= s * 1000 && t < (s + 1) * 1000).length;
    const second = [0, 1].map((k) => Math.floor((bell + 14_000) / 1000) + k).find((s) => inSecond(s) === peak.perSec)!;
    expect(peak.heldAtEnd).toBe(500 + plan.schedule.offsetsMs.filter((t) => t >= bell + 14_000 && t <= (second + 1) * 1000).length);
    expect(peak.heldAtEnd).toBeGreaterThanOrEqual(500 + peak.perSec);
    expect(heldAt(plan, bell + 12_000)).toBe(1_500);
    expect(heldAt(plan, bell + 13_000)).toBe(500);
  });

  it("takes a journey's cost from an earlier run: all its processes' CPU over the journeys they began", async () => {
    // 10 s at 150 % of a core, 3,000 journeys: 15 CPU-s, 5 CPU-ms each.
    const cost = await costOfRun(runFolder(3_000, 10, 150));
    expect(cost.cpuMsPerJourney).toBe(5);
    expect(cost.source).toMatch(/15\.0 CPU-s in 10 s for 3,000 journeys/);
    expect(sizeFor(1_000, cost, 2)).toMatchObject({ cores: Math.ceil(5 / USABLE_CORE_SHARE), shards: Math.ceil(Math.ceil(5 / USABLE_CORE_SHARE) / 2) });
  });

  it("tells a journey's own cost from holding participants, the process itself and a quiet tail", async () => {
    // 3 CPU-ms a journey, 20 µs a second for each participant under way.
    const perSecond = rampOf(3, 0.02);
    const journeys = perSecond.reduce((a, h) => a + h.arrivals, 0);
    const cost = await costOfRun(runFolder(journeys, 20, 0, perSecond));
    expect(cost.cpuMsPerJourney).toBeGreaterThan(2.9);
    expect(cost.cpuMsPerJourney).toBeLessThan(3.1);
    expect(cost.source).toMatch(/3\.0\d CPU-ms a journey, (19|2\d) µs a second for each participant under way and 1\d % of a core besides/);
    expect(cost.cpuMsPerParticipantSecond).toBeGreaterThanOrEqual(0.019);
    expect(cost.cpuMsPerParticipantSecond).toBeLessThan(0.03);
    // All of the CPU over the journeys would have made each one cost about half as much again.
    const all = (perSecond.reduce((a, h) => a + h.cpuPct, 0) * 10) / journeys;
    expect(all).toBeGreaterThan(4);
  });

  it("gives export k8s the shards of the journey the pods run: a built-in one named by --run-arg that holds nothing", async () => {
    // 0.3 CPU-ms a journey and 200 µs a second for each participant under way: the reference journey's participants
    // hold, the http journey's leave once answered.
    const perSecond = rampOf(0.3, 0.2);
    const folder = runFolder(perSecond.reduce((a, h) => a + h.arrivals, 0), 20, 0, perSecond);
    const shards = async (...more: string[]) => {
      const c = captureIo();
      const out = tempDir();
      const code = await main(['export', 'k8s', 'monday-0800', '--target', 'http://127.0.0.1:8080', '--scale', '0.1', '--cost-from', folder, '--out', out, ...more], c.io);
      return { code, err: c.err(), completions: code === EXIT.ok ? Number(/completions: (\d+)/.exec(readFileSync(join(out, 'shards.yaml'), 'utf8'))?.[1]) : NaN };
    };
    const holding = await shards();
    const http = await shards('--run-arg=--target-kind=http');
    expect(holding.err).toMatch(/participants under way at its end/);
    expect(http.err).not.toMatch(/participants under way/);
    expect(http.completions).toBeLessThan(holding.completions);
    expect((await shards('--run-arg=--target-kind', '--run-arg=http')).completions).toBe(http.completions);
    const wrong = await shards('--run-arg=--target-kind=ftp');
    expect(wrong.code).toBe(EXIT.usage);
    expect(wrong.err).toContain('--run-arg --target-kind ftp: not a built-in journey; use one of reference, janus');
  });

  it('refuses a run too small to tell, naming it', async () => {
    const dir = runFolder(50, 5, 100);
    await expect(costOfRun(dir)).rejects.toThrow(CostError);
    await expect(costOfRun(dir)).rejects.toThrow(`${dir}: 50 journeys are too few to tell what one costs; give a run of 100 or more`);
  });
});
