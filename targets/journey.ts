// A user's journey as a target: the journey module, the platform's address, and how worker processes load it again.
import type { JourneyDefinition } from '../api/journey.js';
import type { Steps, Target } from '../api/target.js';
import { preflightAny } from './preflight.js';

export interface JourneyTargetOptions {
  /** The module the journey came from, for worker processes to load again; without it the run stays in one process. */
  module?: string;
  /** Steps the journey only holds on (heartbeats), from reading its module; never the journey's goal by default. */
  heldSteps?: string[];
}

export function journeyTarget<S extends Steps>(def: JourneyDefinition<S>, url: URL, o: JourneyTargetOptions = {}): Target<S> {
  return {
    kind: 'journey',
    url,
    steps: def.steps,
    ...(o.heldSteps ? { heldSteps: o.heldSteps } : {}),
    preflight: (signal) => (def.preflight ? def.preflight(url, signal) : preflightAny(url, signal)),
    ...(def.holds !== undefined ? { holds: def.holds } : {}),
    ...(def.webClient ? { webClient: def.webClient } : {}),
    ...(o.module ? { spec: { kind: 'module', url: url.href, module: o.module } } : {}),
    journey: (vu) => def.journey(vu),
  };
}
