// firstbell's programmatic API: the words of the target contract, scenarios, plans, runs and reports.

// Journeys, the target contract and what a journey works with.
export { defineJourney, type JourneyDefinition } from './api/journey.js';
export { defineTarget, layerOf, stepDecls, targetSteps } from './api/target.js';
export type {
  HeldConnection, HeldListener, Heartbeat, JanusEvent, JanusSession, JourneyEnd, NativeFaults, StepDecl, StepGoal, StepName, StepResult, Steps, StepSpec, TargetLimits,
  Target, TargetSpec, Vu, WsConnection, WsMessage,
} from './api/target.js';
export { extract } from './api/extract.js';
export type { HttpAnswer, HttpClient, HttpRequestOptions } from './api/http.js';
export { identities, identityOf, type Identity } from './api/identity.js';
export { defineWebClient, pageUrl, WebClientError, type MediaReading, type PageCondition, type WebClient, type WebClientDefinition, type WebStep } from './api/web-client.js';
export { HttpStatusError, ProtocolError, TargetUnreachableError, TimeoutError } from './api/errors.js';
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

// The built-in targets.
export { referenceTarget, PING_PONG } from './targets/reference.js';
export { janusTarget } from './targets/janus.js';
export { bbbTarget, type BbbChecksum, type BbbOptions } from './targets/bbb.js';
export { moodleTarget, type MoodleOptions } from './targets/moodle.js';
export { httpTarget, type HttpTargetOptions } from './targets/http.js';
export { targetFromSpec, TARGET_KINDS, type BuiltInSpec, type TargetKind } from './targets/index.js';
export { journeyTarget, type JourneyTargetOptions } from './targets/journey.js';
export { loadJourney, type LoadedJourney } from './modules/journey.js';
export { loadScenarioFile } from './modules/scenario.js';
export { journeyModuleTarget } from './modules/target.js';

// Plans, runs, run folders and reports.
export { buildPlan, planOf, type Plan } from './plan/plan.js';
export type { Layout } from './plan/limits.js';
export { runScenario, type Progress, type RunOptions, type RunResult, type RunSettings } from './users/run.js';
export { readRunFolder, type RunFolder } from './run-folder/read.js';
export { RunFailedError, RunFolderError, type HealthSecond, type RunInfo } from './run-folder/run-folder.js';
export { analyse, type Analysis, type BreakPoint, type Capacity, type ConnectionLimit, type LayerResult, type Symptom, type TargetDown } from './analysis/analysis.js';
export { buildReport, type BuiltReport } from './reports/build-report.js';
export { compare, renderComparison, type Comparison } from './reports/compare.js';

// The reference platform, for tests of one's own tooling against a platform of known capacity.
export { startReferencePlatform, type PlatformConfig, type PlatformOptions, type ReferencePlatform } from './fixtures/reference-platform.js';
