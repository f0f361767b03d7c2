// Who a participant is: its place in the scenario's population, the same for every target and process.
import type { Phase, Population } from '../scenarios/model.js';

export interface Identity {
  /** Participant index from the schedule (browser users count from 9,000,000). */
  participant: number;
  /** School, from 0: conferences are dealt to the schools in turn (a timetable's classes keep their school). */
  school: number;
  /** Conference (class), from 0: participantsPerConference consecutive participants share one, or a timetable's class. */
  conference: number;
  /** Place in the conference, from 0. */
  place: number;
  /** Test account name of the participant: pupil-<participant>. */
  user: string;
  /** Test account password of the participant: pw-<participant>. */
  password: string;
  /** From a timetable: the school's and the class's names. */
  schoolName?: string;
  className?: string;
}

/** The identity of a participant of a scenario without a timetable (and of browser users): by index alone. */
export function identityOf(participant: number, population: Pick<Population, 'schools' | 'participantsPerConference'>): Identity {
  const size = Math.max(1, population.participantsPerConference);
  const conference = Math.floor(participant / size);
  return {
    participant, conference, place: participant % size, school: conference % Math.max(1, population.schools),
    user: `pupil-${participant}`, password: `pw-${participant}`,
  };
}

/**
 * The seats of a phase's `n` participants: each class gets its share of them (largest remainder), and the classes
 * interleave in time (the j-th of a class's q sits at (j + ½) / q of the way through the phase).
 */
function seatsOf(classes: NonNullable<Phase['classes']>, n: number): { conference: Uint32Array; place: Uint32Array } {
  const total = classes.reduce((a, c) => a + c.pupils, 0) || 1;
  const exact = classes.map((c) => (c.pupils * n) / total);
  const quota = exact.map(Math.floor);
  const byRemainder = exact.map((x, i) => ({ i, r: x - Math.floor(x) })).sort((a, b) => b.r - a.r || a.i - b.i);
  for (let k = 0, left = n - quota.reduce((a, b) => a + b, 0); k < left; k++) quota[byRemainder[k % byRemainder.length]!.i]!++;
  const seats = classes.flatMap((c, i) => Array.from({ length: quota[i]! }, (_, j) => ({ key: (j + 0.5) / quota[i]!, conference: c.conference, place: j })));
  seats.sort((a, b) => a.key - b.key || a.conference - b.conference);
  return { conference: Uint32Array.from(seats, (s) => s.conference), place: Uint32Array.from(seats, (s) => s.place) };
}

/**
 * Who each participant of a scenario is. Participant ids count up phase by phase; in a phase with classes (a
 * timetable's bell), participant k takes seat k, so at any scale every class gets its share.
 */
export function identities(s: { population: Population; phases: readonly Pick<Phase, 'participants' | 'classes'>[] }): (participant: number) => Identity {
  if (!s.phases.some((p) => p.classes?.length)) return (id) => identityOf(id, s.population);
  const starts: number[] = [];
  let n = 0;
  for (const p of s.phases) {
    starts.push(n);
    n += p.participants;
  }
  const seats = new Map<number, ReturnType<typeof seatsOf>>();
  const names = s.population.classes;
  return (id) => {
    let lo = 0;
    let hi = starts.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if (starts[mid]! <= id) lo = mid;
      else hi = mid - 1;
    }
    const phase = s.phases[lo];
    if (!phase?.classes?.length || id >= n) return identityOf(id, s.population);
    let seat = seats.get(lo);
    if (!seat) seats.set(lo, (seat = seatsOf(phase.classes, phase.participants)));
    const k = Math.min(seat.conference.length - 1, id - starts[lo]!);
    const conference = seat.conference[k]!;
    const cls = names?.[conference];
    const school = cls?.school ?? conference % Math.max(1, s.population.schools);
    return {
      participant: id, conference, place: seat.place[k]!, school, user: `pupil-${id}`, password: `pw-${id}`,
      ...(cls ? { className: cls.name, schoolName: s.population.schoolNames?.[school] ?? String(school) } : {}),
    };
  };
}
