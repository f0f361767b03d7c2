import { describe, expect, it } from 'vitest';
import { resolveScenario } from '../scenarios/model.js';
import { monday0800 } from '../scenarios/monday-0800.scenario.js';
import type { RunInfo } from '../run-folder/run-folder.js';
import type { BrowserJourney, MediaSecond } from '../run-folder/records.js';
import { Series } from '../run-folder/series.js';
import { analyse, clockAt } from './analysis.js';
import { layerStateWords } from './headline.js';

function runInfo(): RunInfo {
  return {
    tool: { name: 'firstbell', version: '0', node: 'v20' }, id: 'x', status: 'completed', startedAt: '', host: { hostname: 'h', cpus: 2, platform: 'linux' },
    scenario: resolveScenario(monday0800, 0.01), seed: 1, target: { kind: 'reference', url: 'http://127.0.0.1:1' }, firstBellAtMs: 5_000,
    plannedEndMs: 20_000, steps: [{ layer: 'broker', step: 'join' }], plan: { participants: 0, peakArrivalsPerSec: 0, phases: [] },
  };
}

/** Seconds 0..19: `offered(sec)` joins each second, the ones beyond `failFrom` failing with 503 from `breakAt` to `healAt`. */
function series(offered: (sec: number) => number, breakAt: number, healAt: number): Series {
  const s = new Series([{ layer: 'broker', step: 'join' }]);
  for (let sec = 0; sec < 20; sec++) {
    for (let k = 0; k < offered(sec); k++) {
      const t = sec * 1000 + k;
      const fail = sec >= breakAt && sec < healAt && k % 2 === 0;
      s.add({ user: k, layer: 'broker', step: 'join', intendedMs: t, startMs: t, endMs: t + 50, outcome: fail ? 'http' : 'ok', status: fail ? 503 : 200 });
    }
  }
  return s;
}

describe('break points', () => {
  it('puts the break at the first second of a sustained violation, with the offered load and what users saw', () => {
    const a = analyse(runInfo(), series((s) => 10 * s, 8, 12), []);
    const broker = a.layers.find((l) => l.layer === 'broker')!;
    expect(broker.met).toBe(false);
    expect(broker.breakPoint).toMatchObject({ second: 8, offeredPerSec: 80, clock: '08:00:03', reason: 'error rate', brokenForSec: 4, recovered: true });
    expect(broker.breakPoint!.symptoms[0]).toMatchObject({ kind: 'http_503', label: '503 Service Unavailable', share: 1 });
    expect(a.passed).toBe(false);
    expect(a.headline).toContain('The broker layer broke at 08:00:03 at 80 joins/s offered');
  });

  it('ignores a single bad second while the run stays within the objective', () => {
    // 10 of 20 fail in second 8, but 10 of 1,200 over the run: a blip, not a break, and under 1 % in all.
    const a = analyse(runInfo(), series((sec) => (sec === 8 ? 20 : 60), 8, 9), []);
    expect(a.layers.find((l) => l.layer === 'broker')).toMatchObject({ met: true, state: 'met' });
    expect(a.passed).toBe(true);
  });

  it('never calls a layer met whose failures over the run exceed its objective, sustained or not', () => {
    // One bad second in every four: never two in a row, but 12.5 % of all attempts failed.
    const s = new Series([{ layer: 'broker', step: 'join' }]);
    for (let sec = 0; sec < 20; sec++) {
      for (let k = 0; k < 20; k++) {
        const t = sec * 1000 + k;
        const fail = sec % 4 === 1 && k % 2 === 0;
        s.add({ user: sec * 100 + k, layer: 'broker', step: 'join', intendedMs: t, startMs: t, endMs: t + 5, outcome: fail ? 'http' : 'ok', status: fail ? 503 : 200 });
      }
    }
    const a = analyse(runInfo(), s, []);
    expect(a.layers[0]).toMatchObject({ state: 'missed', met: false, failedShare: 0.125 });
    expect(a.layers[0]!.breakPoint).toBeUndefined();
    expect(a.verdict).toBe('failed');
    expect(a.headline).toContain('The broker layer missed its objective: 12.5 % of its attempts failed over the run (objective at most 1 %)');
  });

  it('says a layer did not recover when the load ended while it was still failing', () => {
    const a = analyse(runInfo(), series(() => 20, 15, 99), []);
    expect(a.layers.find((l) => l.layer === 'broker')!.breakPoint).toMatchObject({ second: 15, recovered: false, brokenForSec: 5 });
  });

  it('leaves out layers the journey does not have, and marks a layer with too few attempts as not judged, never met on its merit', () => {
    const a = analyse(runInfo(), series(() => 20, 99, 99), []);
    expect(a.layers.map((l) => l.layer)).toEqual(['broker']);
    const few = analyse(runInfo(), series(() => 3, 99, 99), []);
    expect(few.layers[0]).toMatchObject({ judged: false });
    expect(few.verdict).toBe('not-judged');
    expect(few.passed).toBe(false);
    expect(few.headline).toContain('Nothing was judged');
  });

  it('fails a run in which no participant got through, however few attempts there were', () => {
    const s = new Series([{ layer: 'broker', step: 'join', goal: 'journey' }]);
    for (let k = 0; k < 14; k++) s.add({ user: k, layer: 'broker', step: 'join', intendedMs: k * 1000, startMs: k * 1000, endMs: k * 1000 + 5, outcome: 'http', status: 502 });
    const a = analyse(runInfo(), s, []);
    expect(a.verdict).toBe('failed');
    expect(a.headline).toContain('No participant got through');
    expect(a.headline).toContain('502 Bad Gateway');
  });

  it('claims a recovery only when enough later attempts met the objective over enough seconds', () => {
    // Broken from 8 s; afterwards 2 attempts a second, all ok: 20 attempts over 10 s is a recovery…
    const few = new Series([{ layer: 'broker', step: 'join' }]);
    for (let sec = 0; sec < 20; sec++) {
      const n = sec < 12 ? 20 : 2;
      for (let k = 0; k < n; k++) {
        const t = sec * 1000 + k;
        const fail = sec >= 8 && sec < 12;
        few.add({ user: sec * 100 + k, layer: 'broker', step: 'join', intendedMs: t, startMs: t, endMs: t + 5, outcome: fail ? 'http' : 'ok', status: fail ? 503 : 200 });
      }
    }
    const b = analyse(runInfo(), few, []).layers[0]!.breakPoint!;
    expect(b).toMatchObject({ second: 8, recovered: true, recoveredAtSecond: 12, brokenForSec: 4 });
    // …but one failure in each later second keeps it broken to the end, however few attempts there were.
    const failing = new Series([{ layer: 'broker', step: 'join' }]);
    for (let sec = 0; sec < 20; sec++) {
      const n = sec < 12 ? 20 : 2;
      for (let k = 0; k < n; k++) {
        const t = sec * 1000 + k;
        const fail = sec >= 8 && (sec < 12 || k === 0);
        failing.add({ user: sec * 100 + k, layer: 'broker', step: 'join', intendedMs: t, startMs: t, endMs: t + 5, outcome: fail ? 'http' : 'ok', status: fail ? 503 : 200 });
      }
    }
    const f = analyse(runInfo(), failing, []);
    expect(f.layers[0]!.breakPoint).toMatchObject({ second: 8, recovered: false });
    expect(f.headline).toContain('not recovered by the end of the run');
  });

  it('says what users saw at the break second apart from the whole broken window', () => {
    const s = new Series([{ layer: 'broker', step: 'join' }]);
    for (let sec = 0; sec < 20; sec++) {
      for (let k = 0; k < 20; k++) {
        const t = sec * 1000 + k;
        const status = sec < 8 ? 200 : sec === 8 ? 404 : 503;
        s.add({ user: sec * 100 + k, layer: 'broker', step: 'join', intendedMs: t, startMs: t, endMs: t + 5, outcome: status === 200 ? 'ok' : 'http', status });
      }
    }
    const b = analyse(runInfo(), s, []).layers[0]!.breakPoint!;
    expect(b.symptomsAtBreak).toEqual([expect.objectContaining({ kind: 'http_404', share: 1 })]);
    expect(b.symptoms[0]).toMatchObject({ kind: 'http_503' });
  });

  it('labels run seconds with wall-clock times around the first bell', () => {
    expect(clockAt('08:00:00', 30_000, 0)).toBe('07:59:30');
    expect(clockAt('08:00:00', 30_000, 31)).toBe('08:00:01');
    expect(clockAt('00:00:00', 1_000, 0)).toBe('23:59:59');
  });
});

describe('browser users', () => {
  const journey = (user: number, n: number, startMs: number, more: Partial<BrowserJourney>): BrowserJourney => ({ user, n, startMs, endMs: startMs + 5000, end: 'left', pageMs: 100, loginMs: 400, ...more });

  it('sets their journeys before the first bell against those in the burst, and counts losses and reconnects', () => {
    const run = { ...runInfo(), browsers: { count: 2, cycleMs: 5000 } };
    const journeys = [
      journey(1, 1, 0, { joinMs: 600, firstFrameMs: 900 }),
      journey(2, 1, 200, { joinMs: 800, firstFrameMs: 1100 }),
      journey(1, 2, 5500, { joinMs: 2600, firstFrameMs: 3000 }),
      journey(2, 2, 5700, { end: 'dropped', failedAt: 'in conference', error: 'the conference was lost', joinMs: 1000 }),
      journey(2, 3, 9000, { joinMs: 700, firstFrameMs: 1000 }),
      journey(1, 3, 9500, { end: 'failed', failedAt: 'broker', error: 'the platform answered 503' }),
      journey(1, 4, 19_000, { end: 'stopped' }),
    ];
    const media: MediaSecond[] = [
      { tMs: 2000, user: 1, journey: 1, state: 'joined', fps: 15, framesDecoded: 15, kbpsIn: 200, kbpsOut: 180, packetsLost: 0, jitterMs: 1, freezes: 0 },
      { tMs: 3000, user: 1, journey: 1, state: 'joined', fps: 5, framesDecoded: 5, kbpsIn: 60, kbpsOut: 180, packetsLost: 3, jitterMs: 9, freezes: 1 },
    ];
    const b = analyse(run, series(() => 10, 99, 99), [], { journeys, media }).browsers!;
    // The first bell is at 5 s: clicks at 0.5 s and 0.7 s come before it, the rest in the burst.
    expect(b.before).toEqual({ joinMs: 700, firstFrameMs: 1000, journeys: 2 });
    expect(b.burst.journeys).toBe(4);
    expect(b.burst.joinMs).toBe(1000);
    expect(b.failed).toBe(1);
    expect(b.dropped).toBe(1);
    expect(b.reconnects).toBe(1);
    expect(b.meanFps).toBe(10);
    expect(b.freezes).toBe(1);
    expect(b.packetsLost).toBe(3);
    expect(b.errors.map((e) => e.message)).toEqual(['in conference: the conference was lost', 'broker: the platform answered 503']);
  });

  it('shows one median for every journey where the scenario rings no first bell (a constant rate), and both spans where it does', () => {
    const journeys = [journey(1, 1, 0, { joinMs: 600, firstFrameMs: 900 }), journey(2, 1, 6000, { joinMs: 1000, firstFrameMs: 1400 })];
    const withBell = analyse({ ...runInfo(), browsers: { count: 2, cycleMs: 5000 } }, series(() => 10, 99, 99), [], { journeys, media: [] }).browsers!;
    const base = runInfo();
    const constant = { ...base, scenario: { ...base.scenario, phases: base.scenario.phases.map((p) => ({ ...p, curve: { kind: 'uniform' as const } })) }, browsers: { count: 2, cycleMs: 5000 } };
    const flat = analyse(constant, series(() => 10, 99, 99), [], { journeys, media: [] }).browsers!;
    expect(withBell.bells).toBe(true);
    expect(flat.bells).toBe(false);
    expect(flat.all).toEqual({ joinMs: 800, firstFrameMs: 1150, journeys: 2 });
  });

  it('has no browser section for a run without browser users', () => {
    expect(analyse(runInfo(), series(() => 10, 99, 99), []).browsers).toBeUndefined();
  });
});

describe('findings without an objective', () => {
  const held = (user: number, atMs: number, outcome: 'held' | 'released') =>
    ({ user, layer: 'media', step: 'heartbeat', intendedMs: atMs, startMs: atMs, endMs: atMs, outcome, status: 0 }) as const;
  const steps = [{ layer: 'media' as const, step: 'connect', goal: 'journey' as const }, { layer: 'media' as const, step: 'heartbeat', held: true as const }];

  it('finds a connection limit where new connects fail at a standing count of held participants', () => {
    const s = new Series(steps);
    let user = 0;
    for (let sec = 0; sec < 20; sec++) {
      for (let k = 0; k < 20; k++) {
        const t = sec * 1000 + k * 50;
        const ok = user < 100;
        s.add({ user, layer: 'media', step: 'connect', intendedMs: t, startMs: t, endMs: t + 5, outcome: ok ? 'ok' : 'http', status: ok ? 101 : 503 });
        if (ok) s.add(held(user, t + 5, 'held'));
        user++;
      }
    }
    const a = analyse(runInfo(), s, []);
    expect(a.layers[0]!.connectionLimit).toMatchObject({ held: 100, second: 5 });
    expect(a.layers[0]!.breakPoint).toMatchObject({ second: 5, held: 100, recovered: false });
    expect(a.headline).toContain('refuses new connections beyond 100 held');
  });

  it('finds no connection limit where some get through all the time (a rate limit)', () => {
    const s = new Series(steps);
    let user = 0;
    for (let sec = 0; sec < 20; sec++) {
      for (let k = 0; k < 20; k++) {
        const t = sec * 1000 + k * 50;
        const ok = sec < 5 || k < 5;
        s.add({ user, layer: 'media', step: 'connect', intendedMs: t, startMs: t, endMs: t + 5, outcome: ok ? 'ok' : 'http', status: ok ? 101 : 503 });
        if (ok) s.add(held(user, t + 5, 'held'));
        user++;
      }
    }
    const a = analyse(runInfo(), s, []);
    expect(a.layers[0]!.breakPoint).toBeDefined();
    expect(a.layers[0]!.connectionLimit).toBeUndefined();
  });

  it('says when the target went down and when it answered again, by the clock', () => {
    const s = new Series(steps);
    let user = 0;
    for (let sec = 0; sec < 20; sec++) {
      for (let k = 0; k < 10; k++) {
        const t = sec * 1000 + k * 100;
        const dead = t >= 6_250 && t < 12_000;
        s.add({ user, layer: 'media', step: 'connect', intendedMs: t, startMs: t, endMs: t + 5, outcome: dead ? (t < 6_500 ? 'reset' : 'refused') : 'ok', status: dead ? 0 : 101 });
        user++;
      }
    }
    const a = analyse(runInfo(), s, []);
    expect(a.targetDown).toMatchObject({ second: 6, atMs: 6_305, backSecond: 12, how: ['connection reset', 'connection refused'] });
    expect(a.verdict).toBe('failed');
    expect(a.headline).toMatch(/^The target went down at 08:00:01: connection reset, then connection refused; it answered again at 08:00:07, 6 s later\./);
  });
});

describe('evidence that knows who spoke', () => {
  const steps = [{ layer: 'broker' as const, step: 'join', goal: 'journey' as const }];
  /** Health seconds 0..19, the generator over its limits in `bound`. */
  const health = (bound: (sec: number) => boolean) =>
    Array.from({ length: 20 }, (_, t) => ({ t, loopLagP99Ms: bound(t) ? 900 : 5, loopLagMaxMs: bound(t) ? 900 : 5, cpuPct: 40, sendLagP99Ms: 1, sendLagMaxMs: 1, arrivals: 20, late: 0, dropped: 0, active: 20, rssMb: 100 }));
  /** 20 joins a second; in seconds 8..13 half fail as `outcome`. */
  const failing = (outcome: 'http' | 'timeout') => {
    const s = new Series(steps);
    for (let sec = 0; sec < 20; sec++) {
      for (let k = 0; k < 20; k++) {
        const t = sec * 1000 + k;
        const fail = sec >= 8 && sec < 14 && k % 2 === 0;
        const end = t + (fail && outcome === 'timeout' ? 900 : 5);
        s.add({ user: sec * 100 + k, layer: 'broker', step: 'join', intendedMs: t, startMs: t, endMs: end, outcome: fail ? outcome : 'ok', status: fail && outcome === 'http' ? 503 : 200, entry: 2 });
      }
    }
    return s;
  };

  it("counts what the target answered even in seconds where the generator was the bottleneck", () => {
    const a = analyse(runInfo(), failing('http'), health((t) => t >= 7 && t < 15));
    expect(a.layers[0]).toMatchObject({ state: 'broke', breakPoint: { second: 8 } });
    expect(a.verdict).toBe('failed');
    expect(a.headline).toMatch(/^The generator was the bottleneck in 8 s \(08:00:02–08:00:09\); there only what the target answered counts/);
    // The generator's late sends may have made the burst: the finding says so.
    expect(a.layers[0]).toMatchObject({ breakPoint: { generatorBehind: true }, failedWhileGeneratorBound: 60 });
    expect(a.headline).toContain('The generator was behind in that second: its late sends reached the target together');
    expect(layerStateWords(a.layers[0]!, a)).toContain('(the generator behind then: its late sends came bunched)');
    // Where the generator kept up, the break is the target's alone.
    const kept = analyse(runInfo(), failing('http'), health(() => false));
    expect(kept.layers[0]).toMatchObject({ breakPoint: { generatorBehind: false }, failedWhileGeneratorBound: 0 });
    expect(kept.headline).not.toContain('behind');
  });

  it('takes no timeout from those seconds as evidence, and calls the layer neither met nor broken', () => {
    const a = analyse(runInfo(), failing('timeout'), health((t) => t >= 7 && t < 15));
    expect(a.layers[0]).toMatchObject({ state: 'unclear', met: false, timeoutsWhileGeneratorBound: 60 });
    expect(a.layers[0]!.breakPoint).toBeUndefined();
    expect(a.verdict).toBe('generator-bound');
    expect(a.headline).toContain('The broker layer is not shown either way: 60 of its attempts timed out in seconds in which the generator was the bottleneck');
    // The same timeouts where the generator kept up are the target's.
    expect(analyse(runInfo(), failing('timeout'), health(() => false)).layers[0]).toMatchObject({ state: 'broke', breakPoint: { second: 8 } });
  });

  it("holds against the target only the time it took from each send, never the generator's lateness in sending", () => {
    /** 20 joins a second; in seconds 8..13 each is `lateMs` after its intended start and takes `tookMs` from its send. */
    const slow = (lateMs: number, tookMs: number) => {
      const s = new Series(steps);
      for (let sec = 0; sec < 20; sec++) {
        for (let k = 0; k < 20; k++) {
          const t = sec * 1000 + k;
          const bad = sec >= 8 && sec < 14;
          const start = t + (bad ? lateMs : 0);
          s.add({ user: sec * 100 + k, layer: 'broker', step: 'join', intendedMs: t, startMs: start, endMs: start + (bad ? tookMs : 5), outcome: 'ok', status: 200, entry: 2 });
        }
      }
      return s;
    };
    const objective = runInfo().scenario.objectives.broker.p95Ms;
    // Sent 3 objectives late, answered in 5 ms: the target met its objective in every second the generator kept up.
    const late = analyse(runInfo(), slow(objective * 3, 5), health(() => false));
    expect(late.layers[0]).toMatchObject({ state: 'met' });
    // Sent on time, answered after 3 objectives: the target's.
    expect(analyse(runInfo(), slow(0, objective * 3), health(() => false)).layers[0]).toMatchObject({ state: 'broke', breakPoint: { second: 8, reason: 'p95 latency' } });
  });

  it("counts the attempts the run's end stopped at what they had waited, only where the generator kept up to the end", () => {
    const objective = runInfo().scenario.objectives.broker.p95Ms;
    /** 20 joins a second, answered in 5 ms until `stallAt`; from then on none is answered, and the run's end stops them at `endMs`. */
    const stalled = (stallAt: number, endMs: number) => {
      const s = new Series(steps);
      for (let sec = 0; sec < 20; sec++) {
        for (let k = 0; k < 20; k++) {
          const t = sec * 1000 + k;
          const cut = sec >= stallAt;
          s.add({ user: sec * 100 + k, layer: 'broker', step: 'join', intendedMs: t, startMs: t, endMs: cut ? Math.max(t, endMs) : t + 5, outcome: cut ? 'aborted' : 'ok', status: cut ? 0 : 200, entry: 2 });
        }
      }
      return s;
    };
    const waitedOver = (stallAt: number, endMs: number) => Array.from({ length: (20 - stallAt) * 20 }, (_, i) => endMs - (stallAt * 1000 + Math.floor(i / 20) * 1000 + (i % 20))).filter((w) => w > objective).length;
    // Left waiting from second 12 to the end at 20 s: the break is there, its p95 a lower bound.
    const a = analyse(runInfo(), stalled(12, 20_000), health(() => false));
    expect(a.layers[0]).toMatchObject({ state: 'broke', unanswered: waitedOver(12, 20_000), breakPoint: { second: 12, reason: 'p95 latency', p95AtLeast: true, recovered: false } });
    expect(a.layers[0]!.breakPoint!.p95Ms).toBeGreaterThan(objective);
    expect(a.headline).toContain(`; ${waitedOver(12, 20_000)} of its attempts had no answer when the run ended, after waiting longer than the objective's p95 of ${objective.toLocaleString('en-US')} ms; not recovered`);
    // The generator behind in the last seconds: it may have been the one that never read the answers, so they are no evidence.
    const behind = analyse(runInfo(), stalled(12, 20_000), health((t) => t >= 17));
    expect(behind.layers[0]).toMatchObject({ state: 'met', unanswered: 0 });
    expect(behind.verdict).toBe('generator-bound');
    // Stopped young, under the objective's p95: no evidence either way, and the seconds before them met it.
    const young = analyse(runInfo(), stalled(19, 19_000 + objective / 2), health(() => false));
    expect(young.layers[0]).toMatchObject({ state: 'met', unanswered: 0 });
  });

  it("treats the generator's own failures (out of local ports) as its own, never as the target's", () => {
    const s = new Series(steps);
    for (let sec = 0; sec < 20; sec++) {
      for (let k = 0; k < 20; k++) {
        const t = sec * 1000 + k;
        const local = sec >= 8 && sec < 11 && k % 2 === 0;
        s.add({ user: sec * 100 + k, layer: 'broker', step: 'join', intendedMs: t, startMs: t, endMs: t + 5, outcome: local ? 'generator' : 'ok', status: local ? 0 : 200, ...(local ? { error: 'EADDRNOTAVAIL' } : {}), entry: 2 });
      }
    }
    const a = analyse(runInfo(), s, health(() => false));
    expect(a.layers[0]).toMatchObject({ state: 'met', failed: 0 });
    expect(a.generator.suspectSeconds).toEqual([8, 9, 10]);
    expect(a.generator.ownFailures).toEqual([{ message: 'broker.join: EADDRNOTAVAIL (out of local ports)', count: 30 }]);
    expect(a.generator.note).toContain('30 attempts failed on this machine, not at the target: 30 × broker.join: EADDRNOTAVAIL (out of local ports)');
    expect(a.verdict).toBe('generator-bound');
  });

  it('counts the participants offered to a layer whichever of its steps came first', () => {
    // A journey that logs in only without a session: every other journey goes straight to the join.
    const s = new Series([{ layer: 'admission', step: 'login' }, { layer: 'broker', step: 'join', goal: 'journey' }]);
    let brokerEntries = 0;
    for (let sec = 0; sec < 20; sec++) {
      for (let k = 0; k < 20; k++) {
        const t = sec * 1000 + k * 10;
        const user = sec * 100 + k;
        const login = k % 2 === 0;
        if (login) s.add({ user, layer: 'admission', step: 'login', intendedMs: t, startMs: t, endMs: t + 5, outcome: 'ok', status: 200, entry: 2 });
        s.add({ user, layer: 'broker', step: 'join', intendedMs: t + 6, startMs: t + 6, endMs: t + 9, outcome: 'ok', status: 200, entry: login ? 1 : 2 });
        brokerEntries++;
      }
    }
    const a = analyse(runInfo(), s, health(() => false));
    const offered = (l: string) => a.timeline.layers[l as 'broker'].offered.reduce((x, y) => x + y, 0);
    expect(offered('broker')).toBe(brokerEntries);
    expect(offered('admission')).toBe(brokerEntries / 2);
    expect(a.layers.find((l) => l.layer === 'broker')!.peakOfferedPerSec).toBe(20);
    expect(a.users.attemptsPerUser).toBe(1);
  });
});

describe('a connection limit from any arrival shape', () => {
  const steps = [{ layer: 'media' as const, step: 'connect', goal: 'journey' as const }, { layer: 'media' as const, step: 'heartbeat', held: true as const }];
  it('is found from the bursts of a held-participant ramp, with the heartbeats of those held in between', () => {
    // 20 more every 3 s; beyond 100 held the target answers 503; everyone held beats every second.
    const s = new Series(steps);
    let user = 0;
    let held = 0;
    for (let sec = 0; sec < 30; sec++) {
      if (sec % 3 === 0) {
        for (let k = 0; k < 20; k++, user++) {
          const t = sec * 1000 + k * 10;
          const ok = held < 100;
          s.add({ user, layer: 'media', step: 'connect', intendedMs: t, startMs: t, endMs: t + 5, outcome: ok ? 'ok' : 'http', status: ok ? 101 : 503, entry: 2 });
          if (ok) {
            s.add({ user, layer: 'media', step: 'heartbeat', intendedMs: t + 5, startMs: t + 5, endMs: t + 5, outcome: 'held', status: 0 });
            held++;
          }
        }
      }
      for (let h = 0; h < held; h++) s.add({ user: h, layer: 'media', step: 'heartbeat', intendedMs: sec * 1000 + 500, startMs: sec * 1000 + 500, endMs: sec * 1000 + 502, outcome: 'ok', status: 0 });
    }
    const a = analyse({ ...runInfo(), plannedEndMs: 30_000 }, s, []);
    const media = a.layers[0]!;
    expect(media.connectionLimit).toMatchObject({ held: 100, second: 15 });
    expect(media).toMatchObject({ state: 'broke', breakPoint: { second: 15 } });
    expect(media.capacity).toBeUndefined();
    expect(a.verdict).toBe('failed');
    expect(a.headline).toContain('refuses new connections beyond 100 held');
  });

  it('is not found where only timeouts stand at a held count: a slow server is not a limit', () => {
    const s = new Series(steps);
    let user = 0;
    for (let sec = 0; sec < 20; sec++) {
      for (let k = 0; k < 20; k++, user++) {
        const t = sec * 1000 + k * 50;
        const ok = user < 100;
        s.add({ user, layer: 'media', step: 'connect', intendedMs: t, startMs: t, endMs: t + (ok ? 5 : 3000), outcome: ok ? 'ok' : 'timeout', status: ok ? 101 : 0, entry: 2 });
        if (ok) s.add({ user, layer: 'media', step: 'heartbeat', intendedMs: t + 5, startMs: t + 5, endMs: t + 5, outcome: 'held', status: 0 });
      }
    }
    const a = analyse(runInfo(), s, []);
    expect(a.layers[0]!.connectionLimit).toBeUndefined();
    expect(a.layers[0]!.state).toBe('broke');
  });
});

describe('the target going down, by who said so', () => {
  const steps = [{ layer: 'media' as const, step: 'connect', goal: 'journey' as const }];
  const health = (bound: (sec: number) => boolean) =>
    Array.from({ length: 20 }, (_, t) => ({ t, loopLagP99Ms: bound(t) ? 3000 : 5, loopLagMaxMs: bound(t) ? 3000 : 5, cpuPct: 40, sendLagP99Ms: 1, sendLagMaxMs: 1, arrivals: 10, late: 0, dropped: 0, active: 10, rssMb: 100 }));
  /** 10 connects a second; from 6 s nothing comes back: each times out after 2 s. */
  const silent = () => {
    const s = new Series(steps);
    for (let sec = 0; sec < 16; sec++) {
      for (let k = 0; k < 10; k++) {
        const t = sec * 1000 + k * 100;
        const dead = t >= 6_000;
        s.add({ user: sec * 10 + k, layer: 'media', step: 'connect', intendedMs: t, startMs: t, endMs: t + (dead ? 2000 : 5), outcome: dead ? 'timeout' : 'ok', status: dead ? 0 : 101, entry: 2 });
      }
    }
    return s;
  };

  it('dates a silence from the first request it never answered, not from the timeouts that follow', () => {
    const a = analyse(runInfo(), silent(), health(() => false));
    expect(a.targetDown).toMatchObject({ second: 6, atMs: 6_000, evidence: 'clock', how: ['no answer in time'] });
  });

  it('does not call silence an outage while the generator was the bottleneck: it says it could not tell them apart', () => {
    const a = analyse(runInfo(), silent(), health((t) => t >= 6));
    expect(a.targetDown).toBeUndefined();
    expect(a.silence).toMatchObject({ second: 6, generatorSeconds: [6, 19] });
    expect(a.layers[0]!.state).toBe('unclear');
    expect(a.verdict).toBe('generator-bound');
    expect(a.headline).toContain('Nothing came back from the target from 08:00:01 (no answer in time), but the generator was the bottleneck at 08:00:01–08:00:14: that could not be told apart from the generator stalling');
    // Once the generator kept up and what it sent went unanswered too, the silence is the target's.
    const later = analyse(runInfo(), silent(), health((t) => t >= 6 && t < 12));
    expect(later.targetDown).toMatchObject({ second: 6, evidence: 'clock' });
    expect(later.verdict).toBe('failed');
  });
});
