// The two modules the export binds into each script: the journey, and the run as JSON.
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
