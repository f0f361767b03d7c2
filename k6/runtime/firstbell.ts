// The 'firstbell' package as a journey bundled into a k6 script sees it: what a journey uses, without Node.js.
export { defineJourney, type AnyJourney, type JourneyDefinition, type JourneyOption, type JourneyOptions } from '../../api/journey.js';
export { layerOf, stepDecls } from '../../api/vu.js';
export type {
  HeldConnection, HeldListener, HeldStepName, Heartbeat, JanusEvent, JanusSession, JourneyEnd, NativeFaults, StepDecl, StepGoal, StepName, StepResult, Steps, StepSpec, TargetLimits, VideoRoomSeat, Vu, OptionValues,
  WsConnection, WsMessage,
} from '../../api/vu.js';
export { joinVideoRoom } from '../../api/janus.js';
export { extract, pathOnOrigin, type HttpAnswer, type HttpClient, type HttpRequestOptions } from '../../api/http.js';
export { identities, identityOf, type Identity } from '../../api/identity.js';
export { defineWebClient, pageUrl, WebClientError, type WebClient, type WebClientDefinition, type WebStep } from '../../api/web-client.js';
export { HttpStatusError, ProtocolError, TargetUnreachableError } from '../../api/errors.js';
export { classifyError, OUTCOMES, type Outcome, type Sample } from '../../api/sample.js';
export type { ClientBehaviour, Layer } from '../../scenarios/model.js';
