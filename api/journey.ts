// Journeys as users write them: the steps of their own platform, each in a layer, and what one participant does.
import type { JourneyEnd, NativeFaults, Steps, TargetLimits, Vu } from './target.js';
import type { WebClient } from './web-client.js';

/** One platform's journey, without the platform's address: `--target` (or the scenario) gives that. */
export interface JourneyDefinition<S extends Steps = Steps> {
  /**
   * The steps in the order a participant meets them, each with its layer: `{ login: 'admission', join: 'broker' }`,
   * or `{ layer, goal }` to say that a participant is through its layer ('layer') or in its conference ('journey')
   * after it. Without goals, a layer's last step is its goal and the journey's last step that is not held is the journey's.
   */
  steps: S;
  /** Resolves when the platform answers at all before the start; default: any answer to the target URL (a GET, or a TCP connect for ws://). */
  preflight?(target: URL, signal: AbortSignal): Promise<void>;
  /** False when a journey ends without holding a connection. Default: true. */
  holds?: boolean;
  /** What the platform is known or configured to take (held connections, a rate per layer): `plan` sets the load beside it. */
  limits?: TargetLimits;
  /** How browser users get into a conference through the platform's own pages. */
  webClient?: WebClient;
  /**
   * How the platform applies faults itself (an admin API that slows its logins, a maintenance switch): firstbell
   * applies the faults it `supports` through it, and the rest through its fault proxy.
   */
  faults?(target: URL): NativeFaults;
  /** One participant's journey: its steps, then `return vu.hold(…)` to stay, or `'joined'`; a thrown error is a script error. */
  journey(vu: Vu<S>): Promise<JourneyEnd>;
}

/** Declares a journey with its steps typed: a step that was not declared does not compile. */
export function defineJourney<const S extends Steps>(journey: JourneyDefinition<S>): JourneyDefinition<S> {
  return journey;
}
