// A user's journey as a target: the journey module, the platform's address, and how worker processes load it again.
import type { JourneyDefinition } from '../api/journey.js';
import type { Steps, Target } from '../api/target.js';
import { preflightAny } from './preflight.js';

export interface JourneyTargetOptions {
  /** The module the journey came from, and its bundle, for worker processes to load again; without them the run stays in one process. */
  module?: string;
  bundle?: string;
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
    ...(def.faults ? { faults: def.faults(url) } : {}),
    ...(def.limits ? { limits: def.limits } : {}),
    ...(o.module && o.bundle ? { spec: { kind: 'module', url: url.href, module: o.module, bundle: o.bundle, heldSteps: (o.heldSteps ?? []).join('\n') } } : {}),
    journey: (vu) => def.journey(vu),
  };
}
