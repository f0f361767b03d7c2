// Who arrives in an exported run, in the schedule's order: made once per k6 instance into a SharedArray that every VU
// reads one element of, so that a participant is the same person in k6 as in firstbell and no VU holds the whole plan.
import { b64decode } from 'k6/encoding';
import { identities, type Identity } from '../../api/identity.js';
import type { Phase, Population } from '../../scenarios/model.js';

/** The plan's people as the export writes them: what the script needs to know who the n-th arrival is. */
export interface JourneyPeople {
  population: Population;
  /** The phases, each its participants (at the exported scale), a timetable's classes and lesson end. */
  phases: readonly Pick<Phase, 'participants' | 'classes' | 'leaveAtMs'>[];
  /** Run time of the first bell, ms: a lesson end (ms from the first bell) is this much later in the run. */
  firstBellAtMs: number;
  /** The phase of each arrival in the schedule's order, as little-endian 16-bit numbers in base64. */
  order: string;
  /** The scenario's data rows: participant n gets row n (with reuseRows, row n mod their number). */
  rows?: readonly Record<string, string>[];
}

/** The n-th arrival of the schedule: the participant, who they are, and when they leave (a lesson end), ms of the run. */
export interface Arrival {
  id: number;
  identity: Identity;
  leaveAtMs?: number;
}

/**
 * Every arrival of the plan in order. Within a phase the schedule keeps its participants in id order, so the n-th
 * arrival of phase p is the phase's next id: the order of phases alone says who arrives n-th.
 */
export function arrivalsOf(p: JourneyPeople): Arrival[] {
  const bytes = new Uint8Array(b64decode(p.order));
  const next: number[] = [];
  let n = 0;
  for (const ph of p.phases) {
    next.push(n);
    n += ph.participants;
  }
  const identify = identities(p);
  const out: Arrival[] = [];
  for (let i = 0; i + 1 < bytes.length; i += 2) {
    const phase = bytes[i]! | (bytes[i + 1]! << 8);
    const id = next[phase]!++;
    const leave = p.phases[phase]?.leaveAtMs;
    out.push({ id, identity: identify(id), ...(leave !== undefined ? { leaveAtMs: p.firstBellAtMs + leave } : {}) });
  }
  return out;
}
