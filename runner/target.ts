// The target contract: how one platform is talked to, step by step, for one participant.
import type { Layer } from '../scenarios/model.js';
import type { StepDecl } from './series.js';
import type { VirtualUser } from './virtual-user.js';

export interface Target {
  /** Target kind, e.g. "reference". */
  kind: string;
  /** Base URL of the platform. */
  url: URL;
  /** The steps of the journey in order, each with its layer. */
  steps: StepDecl[];
  /** Resolves when the platform answers at all; rejects with TargetUnreachableError otherwise. */
  preflight(signal: AbortSignal): Promise<void>;
  /** Runs one participant's whole journey; never throws (failures are samples). */
  journey(vu: VirtualUser): Promise<void>;
}

/** The target could not be reached before the start (exit code 3). */
export class TargetUnreachableError extends Error {}

export function step(layer: Layer, name: string, goal?: StepDecl['goal']): StepDecl {
  return goal ? { layer, step: name, goal } : { layer, step: name };
}
