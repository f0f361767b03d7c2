// Scenarios as users write them: the model's types, checked as they are written.
import type { Scenario } from '../scenarios/model.js';

/** Declares a scenario: the same model as the built-ins, typed as it is written. */
export function defineScenario(scenario: Scenario): Scenario {
  return scenario;
}
