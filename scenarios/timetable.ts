// A district's morning from its timetables: each lesson start a small first bell of its classes, pupils holding until their lesson ends.
import { DEFAULT_CLIENT, DEFAULT_OBJECTIVES, type Bell, type Phase, type Scenario } from './model.js';
import { clockOfMinutes, type Lesson } from './timetable-files.js';

export interface TimetableOptions {
  /** The weekday, 1 = Monday … 7 = Sunday. Default: the first day with lessons. */
  day?: number;
  /** Lessons that begin from this time of day (minutes after midnight); those under way then are there already. Default: the day's first. */
  fromMin?: number;
  /** …and before this one. Default: the end of the day. */
  toMin?: number;
  /** Schools in the district: the timetable's schools in turn, each a school of its own. Default: as many as it has. */
  schools?: number;
  /** Each school's clock is off by a seeded amount within ± half of this, ms: its bell is not the platform's second. Default 60,000. */
  clockSpreadMs?: number;
  seed?: number;
  /** Staggered starts: school k begins its lessons (k mod slots) × minutes later. */
  stagger?: { minutes: number; slots: number };
  /** A seeded share of the classes has its lessons moved by this many minutes. */
  move?: { share: number; minutes: number };
  /** How pupils come after a bell: within `withinMs`, the rate rising over `riseMs` and halving every `halfLifeMs`. Default 120 s, 2 s, 15 s. */
  arrival?: { withinMs: number; riseMs: number; halfLifeMs: number };
  /** Quiet time between bells is cut to this many ms (a morning in minutes); the report keeps the times of day of the bells. */
  compressToMs?: number;
  name?: string;
}

const DAY_NAMES = ['', 'Monday', 'Tuesday', 'Wednesday', 'Thursday', 'Friday', 'Saturday', 'Sunday'];
const MIN = 60_000;

/** A small seeded generator (mulberry32): the same district from the same seed. */
function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** A lesson placed in the district: its school and class indices, and its start and end in ms of the day after every shift. */
interface Placed {
  school: number;
  conference: number;
  pupils: number;
  startMs: number;
  endMs: number;
  /** The bell it begins at (minutes after midnight): as timetabled, moved by a stagger or a move, not by a school's clock. */
  bellMin: number;
}

/** The district: the timetable's schools dealt in turn to `count` schools, with their classes, clock offsets and shifts. */
function district(lessons: Lesson[], day: number, o: TimetableOptions) {
  const sourceSchools = [...new Set(lessons.map((l) => l.school))].sort();
  const count = o.schools ?? sourceSchools.length;
  const random = rng(o.seed ?? 1);
  const spread = o.clockSpreadMs ?? 60_000;
  const schoolNames: string[] = [];
  const classes: { name: string; school: number }[] = [];
  const placed: Placed[] = [];
  // Each source school's lessons of the day, found once: a district has thousands of schools.
  const ofSchool = new Map<string, Lesson[]>();
  for (const l of lessons) {
    if (l.day !== day) continue;
    const list = ofSchool.get(l.school);
    if (list) list.push(l);
    else ofSchool.set(l.school, [l]);
  }
  for (let k = 0; k < count; k++) {
    const source = sourceSchools[k % sourceSchools.length]!;
    schoolNames.push(count === sourceSchools.length ? source : `${source}-${Math.floor(k / sourceSchools.length) + 1}`);
    const staggerMin = o.stagger ? (k % o.stagger.slots) * o.stagger.minutes : 0;
    const offset = Math.round((random() - 0.5) * spread) + staggerMin * MIN;
    const classIndex = new Map<string, number>();
    for (const l of ofSchool.get(source) ?? []) {
      let c = classIndex.get(l.className);
      if (c === undefined) {
        classIndex.set(l.className, (c = classes.length));
        classes.push({ name: l.className, school: k });
      }
      placed.push({ school: k, conference: c, pupils: l.pupils, startMs: l.startMin * MIN + offset, endMs: l.endMin * MIN + offset, bellMin: l.startMin + staggerMin });
    }
  }
  if (o.move) {
    const moved = new Set(classes.map((_, i) => i).filter(() => random() < o.move!.share));
    for (const p of placed) {
      if (!moved.has(p.conference)) continue;
      p.startMs += o.move.minutes * MIN;
      p.endMs += o.move.minutes * MIN;
      p.bellMin += o.move.minutes;
    }
  }
  return { schoolNames, classes, placed };
}

/** Run time from wall time: quiet stretches between arrival windows cut to `toMs`, the rest as it is. */
function compressor(starts: number[], windowMs: number, toMs: number | undefined): { at: (wallMs: number) => number; anchors: { atMs: number; wallMs: number }[] } {
  if (toMs === undefined || starts.length === 0) return { at: (w) => w, anchors: [] };
  const keep: [number, number][] = [];
  for (const s of [...starts].sort((a, b) => a - b)) {
    const iv: [number, number] = [s - 5_000, s + windowMs + 5_000];
    const last = keep.at(-1);
    if (last && iv[0] <= last[1] + toMs) last[1] = Math.max(last[1], iv[1]);
    else keep.push(iv);
  }
  // Each kept stretch starts `cut` earlier in run time than in wall time.
  const cuts: number[] = [];
  let cut = 0;
  keep.forEach((iv, i) => {
    if (i > 0) cut += iv[0] - keep[i - 1]![1] - toMs;
    cuts.push(cut);
  });
  const at = (w: number) => {
    let i = keep.length - 1;
    while (i > 0 && w < keep[i]![0]) i--;
    const iv = keep[i]!;
    if (w <= iv[1] || i === keep.length - 1) return w - cuts[i]!;
    // In a cut gap: stretched over the gap's run time.
    const next = keep[i + 1]!;
    return iv[1] - cuts[i]! + ((w - iv[1]) / (next[0] - iv[1])) * toMs;
  };
  return { at, anchors: keep.map((iv, i) => ({ atMs: iv[0] - cuts[i]!, wallMs: iv[0] })) };
}

/** The scenario of a district's day from its lessons; every lesson start a first bell of its classes. */
export function timetableScenario(lessons: Lesson[], o: TimetableOptions = {}): Scenario {
  const day = o.day ?? lessons.reduce((a, l) => Math.min(a, l.day), Infinity);
  const arrival = o.arrival ?? { withinMs: 120_000, riseMs: 2_000, halfLifeMs: 15_000 };
  const { schoolNames, classes, placed } = district(lessons, day, o);
  const from = (o.fromMin ?? 0) * MIN;
  const to = (o.toMin ?? 24 * 60) * MIN;
  const starting = placed.filter((p) => p.bellMin * MIN >= from && p.bellMin * MIN < to);
  const already = placed.filter((p) => p.bellMin * MIN < from && p.endMs > from);
  if (starting.length === 0) throw new Error(`no lesson begins on ${DAY_NAMES[day]} between ${clockOfMinutes(from / MIN)} and ${clockOfMinutes(to / MIN)}`);
  const firstBellWall = starting.reduce((a, p) => Math.min(a, p.bellMin), Infinity) * MIN;
  const c = compressor(starting.map((p) => p.startMs - firstBellWall), arrival.withinMs, o.compressToMs);
  const rel = (wallOfDay: number) => Math.round(c.at(wallOfDay - firstBellWall));
  // One phase per school, start and end: its classes come together and leave together.
  const groups = new Map<string, Placed[]>();
  for (const p of starting) {
    const k = `${p.startMs}|${p.endMs}|${p.school}`;
    const group = groups.get(k);
    if (group) group.push(p);
    else groups.set(k, [p]);
  }
  const phases: Phase[] = [];
  if (already.length) {
    phases.push({
      name: `in lessons before ${clockOfMinutes(from / MIN)}`, startMs: -90_000, durationMs: 60_000, participants: already.reduce((a, p) => a + p.pupils, 0), curve: { kind: 'uniform' },
      classes: already.map((p) => ({ conference: p.conference, pupils: p.pupils })),
    });
  }
  for (const g of [...groups.values()].sort((a, b) => a[0]!.startMs - b[0]!.startMs || a[0]!.school - b[0]!.school)) {
    const p = g[0]!;
    const pupils = g.reduce((a, x) => a + x.pupils, 0);
    if (pupils === 0) continue;
    phases.push({
      name: `${clockOfMinutes(p.bellMin)} ${schoolNames[p.school]}`, startMs: rel(p.startMs), durationMs: arrival.withinMs, participants: pupils,
      curve: { kind: 'first-bell', riseMs: arrival.riseMs, halfLifeMs: arrival.halfLifeMs },
      classes: g.map((x) => ({ conference: x.conference, pupils: x.pupils })), leaveAtMs: rel(p.endMs), bell: clockOfMinutes(p.bellMin),
    });
  }
  // Already-there lessons leave at their end too.
  if (already.length) phases[0]!.leaveAtMs = Math.max(0, rel(already.reduce((a, p) => Math.min(a, p.endMs), Infinity)));
  const bells = bellsOf(starting, rel);
  const sizes = classes.length ? Math.round(starting.reduce((a, p) => a + p.pupils, 0) / starting.length) : 24;
  return {
    name: o.name ?? `timetable-${DAY_NAMES[day]!.toLowerCase()}`,
    description: `${schoolNames.length} school${schoolNames.length === 1 ? '' : 's'} on ${DAY_NAMES[day]}: ${bells.length} bells from ${bells[0]!.clock}, ${starting.length} lessons, ${bells.reduce((a, b) => a + b.participants, 0)} pupils joining.`,
    firstBell: `${clockOfMinutes(firstBellWall / MIN)}:00`,
    population: { schools: schoolNames.length, conferences: classes.length, participantsPerConference: Math.max(1, sizes), schoolNames, classes },
    phases,
    // After the last bell: long enough to see it settle; shorter when the morning is cut to minutes.
    observeMs: o.compressToMs !== undefined ? 15_000 : 30_000,
    client: { ...DEFAULT_CLIENT },
    objectives: DEFAULT_OBJECTIVES,
    joinWithinMs: 10_000,
    bells,
    ...(c.anchors.length ? { clockAnchors: c.anchors } : {}),
  };
}

/** The bells as timetabled: each distinct lesson start, with its pupils and classes, placed at the earliest school's ring. */
function bellsOf(starting: Placed[], rel: (w: number) => number): Bell[] {
  const byBell = new Map<number, Placed[]>();
  for (const p of starting) {
    const at = byBell.get(p.bellMin);
    if (at) at.push(p);
    else byBell.set(p.bellMin, [p]);
  }
  return [...byBell.entries()]
    .sort((a, b) => a[0] - b[0])
    .map(([min, ps]) => ({
      atMs: rel(ps.reduce((a, p) => Math.min(a, p.startMs), Infinity)), clock: clockOfMinutes(min),
      participants: ps.reduce((a, p) => a + p.pupils, 0), classes: new Set(ps.map((p) => p.conference)).size,
    }));
}
