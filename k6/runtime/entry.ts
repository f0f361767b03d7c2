// The entry of every k6 script firstbell exports: the journey and the run are the modules the export binds
// ('firstbell-journey' to the journey module, 'firstbell-run' to the scenario's arrivals and client as JSON,
// 'firstbell-people' to the plan's people, read once per k6 instance).
import journeyModule from 'firstbell-journey';
import people from 'firstbell-people';
import config from 'firstbell-run';
import { SharedArray } from 'k6/data';
import type { Options } from 'k6/options';
import { participant } from './participant.js';
import { arrivalsOf, type Arrival, type JourneyPeople } from './people.js';

/** The scenario's arrivals as k6 options: read by k6 before the start. */
export const options: Options = config.options;

// Made by the first VU of each k6 instance and shared by all: who the n-th arrival is, and the data rows. That VU
// parses the people once for both.
let parsed: JourneyPeople | undefined;
const plan = () => (parsed ??= JSON.parse(people) as JourneyPeople);
const arrivals = new SharedArray<Arrival>('firstbell-arrivals', () => arrivalsOf(plan()));
const rows = new SharedArray<Record<string, string>>('firstbell-rows', () => [...(plan().rows ?? [])]);
parsed = undefined;

/** One participant: one iteration of the arrivals scenario. */
export function journey(): Promise<void> {
  return participant(journeyModule, config.run, arrivals, rows);
}
