// What a journey works with: its steps with their layers, and what it may do with one participant.
import type { ClientBehaviour, Fault, Layer } from '../scenarios/model.js';
import type { HttpClient } from './http.js';
import type { Identity } from './identity.js';

/**
 * What success of a step means: "layer" = a participant got through its layer (its goodput is the layer's);
 * "journey" = the participant is in the conference (also counts for its layer).
 */
export type StepGoal = 'layer' | 'journey';

/**
 * A declared step: its layer alone, or its layer with what its success means (`goal`) and whether the journey only
 * holds on it (`held`: the heartbeats of a held connection, shown apart and never the journey's goal); `onlyWith`
 * names an option without which the journey leaves the step out.
 */
export type StepSpec = Layer | { layer: Layer; goal?: StepGoal; held?: boolean; onlyWith?: string };

/** The steps of a journey, in the order a participant meets them, each with its layer; declared once per journey. */
export type Steps = Readonly<Record<string, StepSpec>>;

/** The name of a declared step: a journey that names any other does not type-check. */
export type StepName<S extends Steps> = Extract<keyof S, string>;

/** The name of a step declared `held: true`: the only steps `vu.hold` takes. */
export type HeldStepName<S extends Steps> = string extends keyof S ? string : { [K in StepName<S>]: S[K] extends { held: true } ? K : never }[StepName<S>];

/** One step as recorded in the run folder. */
export interface StepDecl {
  layer: Layer;
  step: string;
  /** What success of this step means; absent = neither a layer's nor the journey's goal. */
  goal?: StepGoal;
  /** A browser user's step: shown beside the protocol steps, but no part of a layer's verdict or the participant counts. */
  browser?: true;
  /** A step the journey only holds on (heartbeats on a held connection): shown apart from the steps that bring participants in. */
  held?: true;
}

/**
 * The declared steps as run-folder records, in declaration order, without those whose option is not given. Where no
 * step is the journey's goal, the last step that is not held is.
 */
export function stepDecls(steps: Steps, options: OptionValues = {}): StepDecl[] {
  const given = ([, spec]: [string, StepSpec]) => typeof spec === 'string' || spec.onlyWith === undefined || options[spec.onlyWith] !== undefined;
  const decls: StepDecl[] = Object.entries(steps).filter(given).map(([step, spec]) => {
    const { layer, goal, held } = typeof spec === 'string' ? { layer: spec, goal: undefined, held: false } : spec;
    const d: StepDecl = goal ? { layer, step, goal } : { layer, step };
    if (held === true) d.held = true;
    return d;
  });
  if (!decls.some((d) => d.goal === 'journey')) {
    const last = [...decls].reverse().find((d) => !d.held);
    if (last) last.goal = 'journey';
  }
  return decls;
}

/** The layer of a declared step; undefined when `name` is not declared. */
export function layerOf(steps: Steps, name: string): Layer | undefined {
  const spec = Object.prototype.hasOwnProperty.call(steps, name) ? steps[name] : undefined;
  return typeof spec === 'string' ? spec : spec?.layer;
}

/** How a held connection proves it is alive: the message sent for heartbeat `t`, and how its answer is known. */
export interface Heartbeat {
  message(t: number): string;
  isReply(msg: Record<string, unknown>, t: number): boolean;
  /**
   * A last message when the participant leaves (the run ends, or its lesson does), sent before the connection
   * closes cleanly: Janus's keepalive destroys the session, so its rooms let the pupil go at once. Without it the
   * connection is just closed.
   */
  farewell?: string;
}

/** Who hears a held connection: its text messages and its close. An object, not two closures per connection. */
export interface HeldListener {
  message(text: string): void;
  closed(): void;
}

/** What a hold needs of a connection: send a text message, hear text messages and the close. */
export interface HeldConnection {
  send(text: string): void;
  listener?: HeldListener;
  /** Closes at once, without a closing handshake. */
  terminate(): void;
  /** Sends `farewell`, then closes cleanly (a closing handshake, or the last request answered), at most 2 s later; resolves once closed. */
  leave?(farewell: string): Promise<void>;
}

/** A message that came in on a WebSocket. */
export interface WsMessage {
  /** The text ('' for a binary message). */
  text: string;
  /** The text parsed as JSON, when it is an object or array; else undefined. */
  json: unknown;
  binary?: Uint8Array;
}

/** A WebSocket as a journey uses it; hold on it with vu.hold. */
export interface WsConnection {
  /** Sends text, or an object as JSON. */
  send(data: string | object): void;
  /**
   * Resolves with the first message that `match` accepts, whether it came already or comes later; the messages
   * before it are passed over. Fails on the signal, the close, or after `timeoutMs` (a TimeoutError naming `what`: a timeout, by the generator's clock).
   */
  waitFor(match: (m: WsMessage) => boolean, opts: { signal: AbortSignal; timeoutMs?: number; what?: string }): Promise<WsMessage>;
  close(): void;
}

/** A plugin's answer: its data (plugindata.data) and a session description when there is one. */
export interface JanusEvent {
  data: Record<string, unknown>;
  jsep?: Record<string, unknown>;
}

/** A Janus session, over WebSocket or over HTTP: attach plugins, message them, hold it with its keepalive. */
export interface JanusSession {
  readonly id: number;
  /** Attaches a plugin (e.g. "janus.plugin.videoroom"); resolves with the handle id. */
  attach(plugin: string, signal: AbortSignal): Promise<number>;
  /** Sends a plugin request; resolves with its answer (for an asynchronous request, the event that answers it). */
  message(handle: number, body: Record<string, unknown>, signal: AbortSignal, jsep?: Record<string, unknown>): Promise<JanusEvent>;
  /** Detaches a plugin handle. */
  detach(handle: number, signal: AbortSignal): Promise<void>;
  /** Destroys the session on Janus and closes its connection: a participant that leaves cleanly. */
  destroy(signal: AbortSignal): Promise<void>;
  /** For vu.hold: the session's connection and its keepalive. */
  readonly connection: HeldConnection | WsConnection;
  readonly keepalive: Heartbeat;
}

/** A participant in a Janus VideoRoom: its session, its handle on the plugin, and how it leaves. */
export interface VideoRoomSeat {
  session: JanusSession;
  handle: number;
  /** Leaves the room and destroys the session. */
  leave(signal: AbortSignal): Promise<void>;
}

/** What a step's work resolved to; a thrown error is classified into the step's outcome. */
export type StepResult<T> = { ok: true; value: T } | { ok: false };

/**
 * How one journey ended: joined (and nothing held); holding a connection, whose end the hold tells; failed at a
 * step (the engine knows when the run stopped it, and records that instead); or dropped from the conference
 * after joining.
 */
export type JourneyEnd = 'joined' | 'holding' | 'failed' | 'dropped';

/** A journey's option values by name, as `--target-kind`'s flags, `--option name=value`, the environment or defaults gave them. */
export type OptionValues = Readonly<Record<string, string | number | undefined>>;

/** One participant as a journey sees it. */
export interface Vu<S extends Steps = Steps, O extends OptionValues = OptionValues> {
  /** Participant index from the schedule. */
  readonly id: number;
  /** School, conference and place from the scenario's population, and the test account. */
  readonly identity: Identity;
  /** Think time, step timeout and heartbeat interval of the scenario. */
  readonly client: ClientBehaviour;
  /** True once the run has stopped this participant: its steps fail at once, and the journey may end with 'failed'. */
  readonly stopped: boolean;
  /** The journey's options, as the run was given them (see `options` in defineJourney). */
  readonly options: O;
  /** The participant's HTTP connection and cookies, made on first use. */
  readonly http: HttpClient;
  /** The target as given (--target): its path, say, for a journey that needs it. */
  readonly target: URL;
  /** The origin the participant talks to: the target's, or the fault proxy's in front of it. */
  readonly origin: string;
  /** The participant's row of the scenario's data (by column name); undefined without data. */
  readonly data: Readonly<Record<string, string>> | undefined;
  /** ms from the run start, monotonic. */
  now(): number;
  /** Pauses the journey `ms` longer than its think time: the next step is intended that much later. */
  think(ms: number): Promise<void>;
  /**
   * Runs one declared step at its intended start (the previous step's end plus think time, or the arrival), times
   * it from that intended start and records one sample; a thrown error becomes the step's outcome.
   */
  step<T>(name: StepName<S>, work: (signal: AbortSignal) => Promise<T>): Promise<StepResult<T>>;
  /**
   * Opens a WebSocket to send, wait for messages, and hold on. A path ('/ws?room=1') is on the participant's
   * origin, with its cookies, as a browser would send them.
   */
  ws(url: string, signal: AbortSignal, opts?: { headers?: Record<string, string>; protocol?: string }): Promise<WsConnection>;
  /**
   * Creates a Janus session: over WebSocket for a ws:// or wss:// URL, over HTTP (long poll) for http:// or https://
   * (e.g. http://host:8088/janus); a path ('/janus') is on the participant's origin, over HTTP.
   */
  janus(url: string, signal: AbortSignal): Promise<JanusSession>;
  /**
   * Holds the participant on a connection from ws or a Janus session until the run ends: a heartbeat (`beat`) every
   * heartbeat interval, each one a sample of `step`. Returns 'holding' at once, for the journey to end with.
   */
  hold(conn: HeldConnection | WsConnection, step: HeldStepName<S>, beat: Heartbeat): 'holding';
}

/** A target that can switch faults on and off itself (e.g. the reference platform's control surface). */
export interface NativeFaults {
  /** True when the control surface answers; checked once before the start. */
  available(signal: AbortSignal): Promise<boolean>;
  supports(f: Fault): boolean;
  apply(f: Fault): Promise<void>;
  clear(f: Fault): Promise<void>;
}

/**
 * What a platform is known or configured to take, where its owner knows: `plan` sets the scenario's load beside
 * it before anything is sent.
 */
export interface TargetLimits {
  /** Participants it can hold connected at once (a connection limit, file descriptors, a licence). */
  heldConnections?: number;
  /** Per layer, the rate it is configured to take: participants a second through that layer. */
  perSec?: Partial<Record<Layer, number>>;
}
