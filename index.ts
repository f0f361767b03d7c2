// firstbell's programmatic API: the words of the target contract, scenarios, plans, runs and reports.

// Journeys, the target contract and what a journey works with.
export { defineJourney, type AnyJourney, type JourneyDefinition, type JourneyOption, type JourneyOptions, type OptionValuesOf, type PreflightSpec, type TargetScheme } from './api/journey.js';
export { layerOf, stepDecls } from './api/vu.js';
export type {
  HeldConnection, HeldListener, HeldStepName, Heartbeat, JanusEvent, JanusSession, JourneyEnd, NativeFaults, OptionValues, StepDecl, StepGoal, StepName, StepResult, Steps, StepSpec,
  TargetLimits, VideoRoomSeat, Vu, WsConnection, WsMessage,
} from './api/vu.js';
export { joinVideoRoom } from './api/janus.js';
export { extract } from './api/extract.js';
export type { HttpAnswer, HttpClient, HttpRequestOptions } from './api/http.js';
export { identities, identityOf, type Identity } from './api/identity.js';
export { defineWebClient, pageUrl, WebClientError, type MediaReading, type PageCondition, type WebClient, type WebClientDefinition, type WebStep } from './api/web-client.js';
export { HttpStatusError, ProtocolError, TargetUnreachableError, TimeoutError } from './api/errors.js';
export { EXIT, FirstbellError } from './lib/errors.js';
export { classifyError, OUTCOMES, type Outcome, type Sample } from './api/sample.js';
export { csv, defineScenario } from './api/scenario.js';
export { load } from './api/load.js';
export type { ScenarioInput } from './scenarios/input.js';

// Scenarios.
export {
  DEFAULT_CLIENT, DEFAULT_OBJECTIVES, FAULT_KINDS, LAYERS, ProblemsError, resolveScenario, validateScenario,
  type ArrivalCurve, type Bell, type ClientBehaviour, type DataSource, type Fault, type Layer, type LayerObjective, type Phase, type Population, type Problem,
  type ResolvedScenario, type RetryPolicy, type Scenario,
} from './scenarios/model.js';
export { BUILT_IN_SCENARIOS, findScenario } from './scenarios/index.js';
export { readTimetable, type Lesson, type TimetableFiles } from './scenarios/timetable-files.js';
export { timetableScenario, type TimetableOptions } from './scenarios/timetable.js';

// The built-in kinds: journeys like a user's own.
export { BUILT_IN_JOURNEYS, TARGET_KINDS, type TargetKind } from './targets/index.js';
export { PING_PONG } from './targets/reference.js';
export { loadJourney, type LoadedJourney } from './modules/journey.js';
export { loadScenarioFile } from './modules/scenario.js';
export type { PlatformInput } from './modules/platform.js';

// Plans, runs, run folders and reports.
export { buildPlan, planOf, type Plan } from './plan/plan.js';
export type { Layout } from './plan/limits.js';
export { runScenario, type PlanOrScenario, type Progress, type RunOptions, type RunResult, type RunSettings } from './users/run.js';
export { readRunFolder, type RunFolder } from './run-folder/read.js';
export { RunFailedError, RunFolderError, type HealthSecond, type RunInfo } from './run-folder/run-folder.js';
export { analyse, type Analysis, type BreakPoint, type Capacity, type ConnectionLimit, type LayerResult, type Symptom, type TargetDown } from './analysis/analysis.js';
export { buildReport, type BuiltReport } from './reports/build-report.js';
export { compare, renderComparison, type Comparison } from './reports/compare.js';

// The reference platform, for tests of one's own tooling against a platform of known capacity.
export { startReferencePlatform, type PlatformConfig, type PlatformOptions, type ReferencePlatform } from './fixtures/reference-platform.js';
