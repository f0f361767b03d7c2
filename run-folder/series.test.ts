import { describe, expect, it } from 'vitest';
import type { Sample } from '../api/sample.js';
import { Series, StepSecond } from './series.js';

const sample = (over: Partial<Sample>): Sample => ({
  user: 1, layer: 'broker', step: 'join', intendedMs: 1_000, startMs: 1_000, endMs: 1_100, outcome: 'ok', status: 0, ...over,
});

describe('the per-second series', () => {
  it('buckets attempts by the second of their intended start and counts failures by kind', () => {
    const s = new Series();
    s.add(sample({}));
    s.add(sample({ intendedMs: 1_900, startMs: 2_100, endMs: 2_200, outcome: 'http', status: 503 }));
    s.add(sample({ intendedMs: 2_000, endMs: 2_050, outcome: 'timeout' }));
    s.add(sample({ intendedMs: 2_500, outcome: 'aborted' }));
    const one = s.merged(1, () => true);
    expect([one.attempts, one.ok, one.failures]).toEqual([2, 1, { http_503: 1 }]);
    const two = s.merged(2, () => true);
    expect([two.attempts, two.aborted, two.failures]).toEqual([1, 1, { timeout: 1 }]);
  });

  it('knows its last second after a soak of days (more seconds than a call takes arguments)', () => {
    const s = new Series();
    const week = 7 * 24 * 3600;
    for (let k = 0; k < week; k += 2) s.seconds.set(k, new Map());
    expect(s.lastSecond).toBe(week - 2);
  });

  it('hands its seconds on in parts of a bounded size, a second never split, that make up the whole', () => {
    const s = new Series();
    for (let k = 0; k < 50; k++) for (const step of ['a', 'b', 'c']) s.add(sample({ user: k, step, intendedMs: k * 1000, startMs: k * 1000, endMs: k * 1000 + 5 }));
    const parts = [...s.jsonSecondParts(10)];
    expect(parts.map((p) => Object.keys(p).length)).toEqual([4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 2]);
    expect(Object.assign({}, ...parts)).toEqual(s.toJSON().seconds);
    expect([...new Series().jsonSecondParts(10)]).toEqual([]);
  });

  it('merges a second\'s buckets without a new one where one step or none matches, and sums them where several do', () => {
    const s = new Series();
    s.add(sample({ step: 'join' }));
    s.add(sample({ step: 'leave', outcome: 'timeout' }));
    const join = s.merged(1, (d) => d.step === 'join');
    expect(join).toBe(s.merged(1, (d) => d.step === 'join'));
    expect(s.merged(1, () => false)).toBe(s.merged(7, () => true));
    expect(s.merged(7, () => true).attempts).toBe(0);
    const both = s.merged(1, () => true);
    expect([both.attempts, both.ok, both.failures, both.latency.totalCount]).toEqual([2, 1, { timeout: 1 }, 2]);
    expect([join.attempts, join.ok]).toEqual([1, 1]);
    expect(s.total(() => true).attempts).toBe(2);
  });

  it("follows each participant's journey by its number, small or large, to joined, failed or not yet", () => {
    const s = new Series([{ layer: 'admission', step: 'login' }, { layer: 'broker', step: 'join', goal: 'journey' }], 1_000);
    const at = (user: number, step: string, t: number, over: Partial<Sample> = {}) => s.add(sample({ user, step, layer: step === 'login' ? 'admission' : 'broker', intendedMs: t, startMs: t, endMs: t + 50, ...over }));
    // A participant that failed once and then joined; one with a number far beyond a run's own; one that grows the arrays; one that never joined.
    at(3, 'login', 0);
    at(3, 'join', 100, { outcome: 'http', status: 503 });
    at(3, 'join', 200);
    at(2 ** 30, 'login', 0);
    at(2 ** 30, 'join', 1_500, { endMs: 2_600 });
    at(70_000, 'login', 0);
    at(70_000, 'join', 100);
    at(70_000, 'join', 300);
    at(9, 'login', 0, { outcome: 'timeout' });
    const j = s.journeys;
    expect([j.arrived, j.joined, j.joinedLate, j.failedNotJoined, j.goalAttempts]).toEqual([4, 3, 1, 1, 5]);
  });

  it('measures latency from the intended start and service time from the actual start', () => {
    const s = new Series();
    s.add(sample({ intendedMs: 0, startMs: 400, endMs: 500 }));
    const b = s.merged(0, () => true);
    expect(b.latencyMs(50)).toBeCloseTo(500, -1);
    expect(b.serviceMs(50)).toBeCloseTo(100, -0.5);
  });

  it('survives a JSON round trip and merges like the original', () => {
    const a = new Series();
    for (let i = 0; i < 200; i++) a.add(sample({ user: i, intendedMs: i * 10, startMs: i * 10, endMs: i * 10 + i, outcome: i % 10 ? 'ok' : 'reset' }));
    const b = Series.fromJSON(JSON.parse(JSON.stringify(a.toJSON())));
    expect(b.total(() => true).attempts).toBe(200);
    expect(b.total(() => true).failures).toEqual({ reset: 20 });
    expect(b.total(() => true).latencyMs(95)).toBe(a.total(() => true).latencyMs(95));
    b.merge(a);
    expect(b.total(() => true).attempts).toBe(400);
  });

  it('keeps seconds long past encoded, and a late attempt of one counts as if it had come in time', () => {
    const s = new Series();
    // The same attempts in one bucket each for second 3 and for the whole run, never encoded.
    const third = new StepSecond();
    const all = new StepSecond();
    const add = (x: Sample) => {
      s.add(x);
      all.add(x);
      if (Math.floor(x.intendedMs / 1_000) === 3) third.add(x);
    };
    for (let sec = 0; sec < 30; sec++) for (let i = 0; i < 20; i++) add(sample({ user: i, intendedMs: sec * 1_000 + i, startMs: sec * 1_000 + i, endMs: sec * 1_000 + 40 + i * 5 }));
    const bucket = (sec: number) => s.seconds.get(sec)!.get('broker.join')!;
    expect([bucket(3).isFrozen, bucket(18).isFrozen, bucket(19).isFrozen, bucket(29).isFrozen]).toEqual([true, true, false, false]);
    // Encoded, a second takes a few hundred bytes where its two histograms take 18 KB.
    expect(JSON.stringify(bucket(3).toJSON()).length).toBeLessThan(1_000);
    // A timeout of second 3, reported 27 s later, then the next second.
    add(sample({ user: 99, intendedMs: 3_500, startMs: 3_500, endMs: 30_500, outcome: 'timeout' }));
    expect(bucket(3).isFrozen).toBe(false);
    add(sample({ user: 1, intendedMs: 30_000, startMs: 30_000, endMs: 30_050 }));
    expect(bucket(3).isFrozen).toBe(true);
    const late = s.merged(3, () => true);
    expect([late.attempts, late.failures]).toEqual([21, { timeout: 1 }]);
    for (const p of [50, 95, 100]) {
      expect(late.latencyMs(p)).toBe(third.latencyMs(p));
      expect(late.serviceMs(p)).toBe(third.serviceMs(p));
      expect(s.total(() => true).latencyMs(p)).toBe(all.latencyMs(p));
    }
    const back = Series.fromJSON(JSON.parse(JSON.stringify(s.toJSON())));
    expect(back.total(() => true).latencyMs(99)).toBe(all.latencyMs(99));
  });

  it('is judged again and again as a live page does: each read the same as from scratch, late attempts counted, and only encodings kept', () => {
    const steps = [{ layer: 'broker' as const, step: 'join' }, { layer: 'broker' as const, step: 'leave' }, { layer: 'admission' as const, step: 'login' }];
    const s = new Series(steps);
    // What the same attempts give counted afresh: one bucket for a second of the broker, one for the whole broker.
    const fresh = new Map<number, StepSecond>();
    const broker = new StepSecond();
    const add = (x: Sample) => {
      s.add(x);
      if (x.layer !== 'broker') return;
      broker.add(x);
      const sec = Math.floor(x.intendedMs / 1_000);
      if (!fresh.has(sec)) fresh.set(sec, new StepSecond());
      fresh.get(sec)!.add(x);
    };
    const isBroker = (d: { layer: string }) => d.layer === 'broker';
    const judge = () => {
      for (const [sec, b] of fresh) {
        const m = s.merged(sec, isBroker);
        expect([m.attempts, m.failed, m.failures]).toEqual([b.attempts, b.failed, b.failures]);
        for (const p of [50, 95, 99]) expect([m.latencyMs(p), m.serviceMs(p)]).toEqual([b.latencyMs(p), b.serviceMs(p)]);
      }
      const t = s.total(isBroker);
      expect([t.attempts, t.latencyMs(95), t.serviceMs(99)]).toEqual([broker.attempts, broker.latencyMs(95), broker.serviceMs(99)]);
      s.compact();
    };
    for (let sec = 0; sec < 60; sec++) {
      for (let i = 0; i < 12; i++) {
        const t = sec * 1_000 + i * 50;
        for (const d of steps) add(sample({ user: sec * 100 + i, layer: d.layer, step: d.step, intendedMs: t, startMs: t + i, endMs: t + 20 + ((sec * 7 + i * 13) % 90), outcome: i % 5 ? 'ok' : 'reset' }));
      }
      // Timeouts of seconds long cold, reported now, after those seconds were judged.
      if (sec >= 30 && sec % 5 === 0) add(sample({ user: 7, step: 'leave', intendedMs: (sec - 25) * 1_000 + 10, startMs: (sec - 25) * 1_000 + 10, endMs: sec * 1_000, outcome: 'timeout' }));
      if (sec % 10 === 9) judge();
    }
    // A cold second's view is kept for the next reading, and after compact() every cold second holds encodings only.
    expect(s.merged(3, isBroker)).toBe(s.merged(3, isBroker));
    const cold = [...s.seconds].filter(([sec]) => sec < 45).flatMap(([, m]) => [...m.values()]);
    expect(cold.every((b) => b.isFrozen)).toBe(true);
    expect(s.merged(5, isBroker).isFrozen).toBe(true);
    // Read from its JSON, the series is read the same without decoding it first.
    const back = Series.fromJSON(JSON.parse(JSON.stringify(s.toJSON())));
    expect([...back.seconds.values()].every((m) => [...m.values()].every((b) => b.isFrozen))).toBe(true);
    expect([back.merged(5, isBroker).latencyMs(99), back.total(isBroker).latencyMs(95)]).toEqual([fresh.get(5)!.latencyMs(99), broker.latencyMs(95)]);
    // Read through, as a report reads it (every second's percentiles, a rarer one twice, the totals), it keeps no
    // decoded histogram without a compact(): a run of days is read in the memory of its encodings.
    for (const [sec, b] of fresh) for (const p of [95, 90, 90]) expect(back.merged(sec, isBroker).latencyMs(p)).toBe(b.latencyMs(p));
    expect(back.total(() => true).attempts).toBe(s.total(() => true).attempts);
    expect([...back.seconds.values()].every((m) => [...m.values()].every((b) => b.isFrozen))).toBe(true);
    expect([...fresh.keys()].every((sec) => back.merged(sec, isBroker).isFrozen)).toBe(true);
  });
});
