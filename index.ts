// firstbell's programmatic API: journeys and what they work with, scenarios, runs and reports. Plain options and
// results only: the engine, the plan and the run folder's own types stay inside the package.

// Journeys: every platform is one, the built-in kinds too.
export { defineJourney, type AnyJourney, type JourneyDefinition, type JourneyOption, type OptionValuesOf, type PlatformInput } from './api/journey.js';
export type {
  HeldConnection, HeldStepName, Heartbeat, JanusSession, JourneyEnd, NativeFaults, StepName, StepResult, Steps, StepSpec, TargetLimits, Vu, WsConnection, WsMessage,
} from './api/vu.js';
export { joinVideoRoom } from './api/janus.js';
export { extract, pathOnOrigin, type HttpAnswer, type HttpClient, type HttpRequestOptions } from './api/http.js';
export type { Identity } from './api/identity.js';
export { defineWebClient, pageUrl, WebClientError, type MediaReading, type PageCondition, type WebClient, type WebClientDefinition, type WebStep } from './api/web-client.js';
export { HttpStatusError, ProtocolError, TargetUnreachableError, TimeoutError } from './api/errors.js';
export { BUILT_IN_JOURNEYS, TARGET_KINDS, type TargetKind } from './targets/index.js';

// Scenarios.
export { csv, defineScenario } from './api/load.js';
export { load } from './api/load.js';
export type { ScenarioInput } from './scenarios/input.js';
export { ProblemsError, type ClientBehaviour, type Fault, type Layer, type Problem, type Scenario } from './scenarios/model.js';
export { BUILT_IN_SCENARIOS, findScenario } from './scenarios/index.js';

// Runs and reports.
export { runScenario, type RunOptions, type RunResult } from './run/api.js';
export type { RunProgress } from './run/progress.js';
export { buildReport, type Report } from './reports/api.js';
export { EXIT, FirstbellError } from './lib/errors.js';
