// The target contract: how one platform is talked to, step by step, for one participant.
import type { Layer } from '../scenarios/model.js';
import type { NativeFaults } from '../faults/faults.js';
import type { StepDecl } from '../run-folder/series.js';
import type { VirtualUser } from '../users/virtual-user.js';
import type { WebClient } from '../users/browser/canaries.js';
import type { TargetSpec } from '../targets/index.js';

export interface Target {
  /** Target kind, e.g. "reference". */
  kind: string;
  /** Base URL of the platform. */
  url: URL;
  /** The steps of the journey in order, each with its layer. */
  steps: StepDecl[];
  /** Resolves when the platform answers at all; rejects with TargetUnreachableError otherwise. */
  preflight(signal: AbortSignal): Promise<void>;
  /** Faults the target can switch itself; absent when it cannot. */
  faults?: NativeFaults;
  /** How browser users get into a conference through the platform's own web pages; absent when the target has none. */
  webClient?: WebClient;
  /** False when a journey ends without holding a connection (plain HTTP, LMS logins): its sockets are then few at a time. Default true. */
  holds?: boolean;
  /** How to build this target again in a worker process; absent for a target made by hand (it then runs in one process). */
  spec?: TargetSpec;
  /**
   * Runs one participant's whole journey once; never throws (failures are samples). A journey that goes on to
   * hold a connection ends with `return vu.hold(…)`: the hold goes on without it. The engine closes whatever the
   * participant has open once the journey, or its hold, is over.
   */
  journey(vu: VirtualUser): Promise<JourneyEnd>;
}

/**
 * How one journey ended: joined (and nothing held); holding a connection, whose end the hold tells; failed at a
 * step; dropped from the conference after joining; or stopped by the run before it ended.
 */
export type JourneyEnd = 'joined' | 'holding' | 'failed' | 'dropped' | 'stopped';

/** The target could not be reached before the start (exit code 3). */
export class TargetUnreachableError extends Error {}

export function step(layer: Layer, name: string, goal?: StepDecl['goal']): StepDecl {
  return goal ? { layer, step: name, goal } : { layer, step: name };
}
