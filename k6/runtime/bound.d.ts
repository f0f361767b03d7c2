// The modules the export binds into each script: the journey, the run as JSON, and the plan's people.
declare module 'firstbell-journey' {
  import type { AnyJourney } from '../../api/journey.js';
  const journey: AnyJourney;
  export default journey;
}

declare module 'firstbell-run' {
  import type { Options } from 'k6/options';
  import type { JourneyRun } from './participant.js';
  const config: { options: Options; run: JourneyRun };
  export default config;
}

declare module 'firstbell-people' {
  /** The plan's people as JSON text (a JourneyPeople), parsed once per k6 instance by a SharedArray. */
  const people: string;
  export default people;
}
