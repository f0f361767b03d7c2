// Who a participant is: its place in the scenario's population, the same for every target and process.
import type { Population } from '../scenarios/model.js';

export interface Identity {
  /** Participant index from the schedule (browser users count from 9,000,000). */
  participant: number;
  /** School, from 0: conferences are dealt to the schools in turn. */
  school: number;
  /** Conference (class), from 0: participantsPerConference consecutive participants share one. */
  conference: number;
  /** Place in the conference, from 0. */
  place: number;
  /** Test account name of the participant: pupil-<participant>. */
  user: string;
  /** Test account password of the participant: pw-<participant>. */
  password: string;
}

export function identityOf(participant: number, population: Pick<Population, 'schools' | 'participantsPerConference'>): Identity {
  const size = Math.max(1, population.participantsPerConference);
  const conference = Math.floor(participant / size);
  return {
    participant, conference, place: participant % size, school: conference % Math.max(1, population.schools),
    user: `pupil-${participant}`, password: `pw-${participant}`,
  };
}
