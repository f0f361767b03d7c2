// The entry of every k6 script firstbell exports: the journey and the run are the two modules the export binds
// ('firstbell-journey' to the journey module, 'firstbell-run' to the scenario's arrivals and people as JSON).
import journeyModule from 'firstbell-journey';
import config from 'firstbell-run';
import type { Options } from 'k6/options';
import { identities } from '../../api/identity.js';
import { participant } from './participant.js';

/** The scenario's arrivals as k6 options: read by k6 before the start. */
export const options: Options = config.options;

const identify = identities(config.run);

/** One participant: one iteration of the arrivals scenario. */
export function journey(): Promise<void> {
  return participant(journeyModule, config.run, identify);
}
