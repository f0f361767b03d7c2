import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { identities } from '../api/identity.js';
import { ProblemsError, resolveScenario, validateScenario } from './model.js';
import { readTimetable } from './timetable-files.js';
import { timetableScenario } from './timetable.js';

const EX = new URL('../examples/timetable/', import.meta.url).pathname;
const school1 = { timetable: join(EX, 'school-1.txt'), periods: join(EX, 'periods.csv'), classSizes: join(EX, 'classes.csv') };

/** Pupils per lesson start on Monday, counted from the files by hand: the test's own reading, not firstbell's. */
function countByHand(): Map<string, number> {
  const out = new Map<string, number>();
  const add = (clock: string, n: number) => out.set(clock, (out.get(clock) ?? 0) + n);
  const sizes = new Map(readFileSync(join(EX, 'classes.csv'), 'utf8').trim().split('\n').slice(1).map((l) => [l.split(';')[0]!, Number(l.split(';')[1])] as const));
  const periods = new Map(readFileSync(join(EX, 'periods.csv'), 'utf8').trim().split('\n').slice(1).map((l) => [l.split(';')[0]!, l.split(';')[1]!] as const));
  // GPU001: a class's lesson begins at the first period of each run of its lesson number on Monday.
  const firsts = new Map<string, string>();
  for (const line of readFileSync(join(EX, 'school-1.txt'), 'utf8').trim().split('\n')) {
    const f = line.split(',').map((x) => x.replace(/"/g, ''));
    if (f[5] !== '1' || f[1] === '') continue;
    const key = `${f[1]}|${f[6]}`;
    const prev = `${f[1]}|${Number(f[6]) - 1}`;
    if (firsts.has(key)) continue; // a second group of the class in the same period
    firsts.set(key, firsts.get(prev) === f[0] ? 'continues' : f[0]!);
    if (firsts.get(key) !== 'continues') add(periods.get(f[6]!)!, sizes.get(f[1]!)!);
    else firsts.set(key, f[0]!);
  }
  for (const line of readFileSync(join(EX, 'district.csv'), 'utf8').trim().split('\n').slice(1)) {
    const [, , day, start, , pupils] = line.split(';');
    if (day === 'Mon') add(start!, Number(pupils));
  }
  return out;
}

describe('timetables', () => {
  it('makes each lesson start a bell of its classes, with the pupils the files give', () => {
    const lessons = [...readTimetable(school1), ...readTimetable({ timetable: join(EX, 'district.csv') })];
    const s = timetableScenario(lessons, { day: 1 });
    expect(validateScenario(s)).toEqual([]);
    const byHand = countByHand();
    expect(Object.fromEntries(s.bells!.map((b) => [b.clock, b.participants]))).toEqual(Object.fromEntries([...byHand].sort()));
    // Every phase is one school's classes at one bell, leaving when their lesson ends.
    for (const p of s.phases) {
      expect(p.participants).toBe(p.classes!.reduce((a, c) => a + c.pupils, 0));
      expect(p.leaveAtMs).toBeGreaterThan(p.startMs);
    }
  });

  it('gives each participant its class and school, every class its share at any scale', () => {
    const s = resolveScenario(timetableScenario(readTimetable(school1), { day: 1, clockSpreadMs: 0 }), 0.5);
    const who = identities(s);
    const seen = new Map<string, number>();
    for (let id = 0, k = 0; k < s.phases.length; id += s.phases[k]!.participants, k++) {
      if (s.phases[k]!.bell !== '08:00') continue;
      for (let j = 0; j < s.phases[k]!.participants; j++) {
        const i = who(id + j);
        expect(i.schoolName).toBe('school-1');
        seen.set(i.className!, (seen.get(i.className!) ?? 0) + 1);
      }
    }
    // At half scale, each of the 08:00 bell's eight classes gets about half its pupils.
    expect([...seen.keys()].sort()).toEqual(['5a', '5b', '6a', '6b', '7a', '7b', '8a', '8b']);
    for (const n of seen.values()) expect(n).toBeGreaterThanOrEqual(11);
  });

  it('spreads a district over schools with their own clocks, and staggers or moves their starts', () => {
    const lessons = readTimetable(school1);
    const district = timetableScenario(lessons, { day: 1, schools: 12, clockSpreadMs: 60_000, seed: 7 });
    expect(district.population.schoolNames).toHaveLength(12);
    const at0800 = district.phases.filter((p) => p.bell === '08:00');
    expect(new Set(at0800.map((p) => p.name)).size).toBe(12);
    const starts = at0800.map((p) => p.startMs);
    expect(Math.max(...starts) - Math.min(...starts)).toBeGreaterThan(10_000);
    expect(Math.max(...starts) - Math.min(...starts)).toBeLessThanOrEqual(60_000);
    const staggered = timetableScenario(lessons, { day: 1, schools: 12, clockSpreadMs: 0, stagger: { minutes: 10, slots: 3 } });
    expect(staggered.bells!.slice(0, 3).map((b) => [b.clock, b.participants])).toEqual([['08:00', 212 * 4], ['08:10', 212 * 4], ['08:20', 212 * 4]]);
    const moved = timetableScenario(lessons, { day: 1, clockSpreadMs: 0, move: { share: 1, minutes: 5 } });
    expect(moved.bells![0]!.clock).toBe('08:05');
  });

  it('cuts the quiet between bells and keeps their times of day', () => {
    const s = timetableScenario(readTimetable(school1), { day: 1, clockSpreadMs: 0, fromMin: 7 * 60 + 55, toMin: 9 * 60 + 40, compressToMs: 10_000, arrival: { withinMs: 30_000, riseMs: 1_000, halfLifeMs: 5_000 } });
    expect(s.bells!.map((b) => b.clock)).toEqual(['08:00', '08:45']);
    // 08:45 comes right after 08:00's arrivals and a cut stretch, not 45 minutes later.
    expect(s.bells![1]!.atMs).toBeLessThan(120_000);
    expect(s.clockAnchors!.at(-1)).toMatchObject({ wallMs: 45 * 60_000 - 5_000 });
  });

  it('never carries teachers, subjects or rooms into the scenario', () => {
    const json = JSON.stringify(timetableScenario(readTimetable(school1), { day: 1 }));
    for (const name of ['T01', 'T12', 'R101', 'Chemie', '"RK"', '"EV"', 'AUF']) expect(json).not.toContain(name);
  });
});

describe('bad timetable files', () => {
  const dir = mkdtempSync(join(tmpdir(), 'firstbell-timetable-'));
  const file = (name: string, text: string) => {
    writeFileSync(join(dir, name), text);
    return join(dir, name);
  };
  const problems = (f: Parameters<typeof readTimetable>[0]) => {
    try {
      readTimetable(f);
    } catch (e) {
      if (e instanceof ProblemsError) return e.problems;
      throw e;
    }
    return [];
  };

  it('names a wrong delimiter', () => {
    const p = problems({ timetable: file('pipes.csv', 'school|class|day|start|end|pupils\na|5a|Mon|08:00|08:45|20\n'), periods: school1.periods });
    expect(p[0]).toMatchObject({ where: `${join(dir, 'pipes.csv')}:1:1` });
    expect(p[0]!.hint).toContain('with , or ; between the fields');
  });

  it('names an unknown period, a class without a size, and a day outside the week, each at its column', () => {
    const t = file('gpu.txt', '1,"5a","T1","M","R1",1,9,,\n2,"5z","T1","M","R1",1,1,,\n3,"5a","T1","M","R1",8,2,,\n');
    const p = problems({ ...school1, timetable: t });
    expect(p.map((x) => x.where)).toEqual([`${t}:1:24`, `${t}:2:3`, `${t}:3:22`]);
    expect(p[0]!.message).toBe('period "9" is not in ' + school1.periods);
    expect(p[1]!.message).toBe('class 5z has no number of pupils and there is no default');
    expect(p[1]!.hint).toContain('--class-size');
    expect(p[2]!.message).toBe('"8" is not a day of the week');
  });

  it('names overlapping lessons of one class, and bad times in a generic file', () => {
    const t = file('generic.csv', 'school;class;day;start;end;pupils\ns;5a;Mon;08:00;08:45;20\ns;5a;Mon;08:30;09:15;20\ns;5b;Mon;8h;09:15;20\ns;5c;Mon;08:00;09:15;\n');
    const p = problems({ timetable: t });
    expect(p.map((x) => x.where)).toEqual([`${t}:4:10`, `${t}:5:22`]);
    expect(p[1]!.message).toBe('class 5c has no number of pupils and there is no default');
    const overlap = problems({ timetable: file('overlap.csv', 'school;class;day;start;end;pupils\ns;5a;Mon;08:00;08:45;20\ns;5a;Mon;08:30;09:15;20\n') });
    expect(overlap[0]!.where).toBe(`${join(dir, 'overlap.csv')}:3:1`);
    expect(overlap[0]!.message).toContain('class 5a has a lesson from 08:30 while its lesson from 08:00');
  });

  it('asks for the period times of an Untis file', () => {
    const p = problems({ timetable: school1.timetable });
    expect(p[0]!.message).toContain('needs the period times');
    expect(p[0]!.hint).toContain('--periods');
  });
});
