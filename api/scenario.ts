// Scenarios as users write them: the model's types with defaults, checked as they are written.
import { scenarioFromInput, type ScenarioInput } from '../scenarios/input.js';
import type { DataSource, Scenario } from '../scenarios/model.js';

/** Declares a scenario: the same model as the built-ins; fields with a default may be left out. */
export function defineScenario(scenario: ScenarioInput): Scenario {
  return scenarioFromInput(scenario);
}

/** Rows of data for the participants from a CSV file (relative to the scenario file); participant n gets row n. */
export function csv(path: string, opts: Omit<DataSource, 'csv'> = {}): DataSource {
  return { csv: path, ...opts };
}
