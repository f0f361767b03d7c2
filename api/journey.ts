// Journeys: a platform described as the steps of one participant, each in a layer. Every platform firstbell talks to,
// its own built-in kinds included, is one of these.
import type { JourneyEnd, NativeFaults, OptionValues, Steps, TargetLimits, Vu } from './vu.js';
import type { WebClient } from './web-client.js';

/** One setting of a journey that the user gives at run time: a flag, an environment variable, or its default. */
export interface JourneyOption {
  /** What it is, for --help and for errors. */
  description: string;
  /** 'number' values are parsed and checked; default 'string'. */
  type?: 'string' | 'number';
  /** The values it may take. */
  choices?: readonly string[];
  default?: string | number;
  /** An environment variable that gives it when no flag does. */
  env?: string;
  /** A value never written to the run folder, a report or an exported script (a shared secret, a password). */
  secret?: boolean;
  /** A run without it is refused before the start. */
  required?: boolean;
  /** For a built-in kind: its flag, e.g. '--bbb-secret' (a user's journey takes `--option name=value`). */
  flag?: string;
}

/** A journey's options by name. */
export type JourneyOptions = Readonly<Record<string, JourneyOption>>;

/** The option values a journey sees, typed from its options: a number for `type: 'number'`, else a string. */
export type OptionValuesOf<O extends JourneyOptions> = {
  readonly [K in keyof O]: (O[K] extends { type: 'number' } ? number : string) | (O[K] extends { required: true } | { default: string | number } ? never : undefined);
};

/**
 * What to try before the start: GET `path` on the target (a path beginning with '/' is on its origin, any other
 * after its own path), or, for a ws:// target, open a WebSocket with `protocol`. Any answer means it is there.
 */
export interface PreflightSpec {
  path?: string;
  protocol?: string;
}

/** The URL schemes a journey's --target may have. */
export type TargetScheme = 'http' | 'https' | 'ws' | 'wss';

/** One platform's journey, without the platform's address: `--target` (or the scenario) gives that. */
export interface JourneyDefinition<S extends Steps = Steps, O extends JourneyOptions = JourneyOptions> {
  /** One line on what the journey talks to, for --help and the plan. */
  description?: string;
  /**
   * The steps in the order a participant meets them, each with its layer: `{ login: 'admission', join: 'broker' }`,
   * or `{ layer, goal }` to say that a participant is through its layer ('layer') or in its conference ('journey')
   * after it, and `{ layer, held: true }` for the steps `vu.hold` records (heartbeats). Without goals, a layer's
   * last step is its goal and the journey's last step that is not held is the journey's.
   */
  steps: S;
  /** Settings the user gives at run time (a shared secret, a path); the journey reads them as `vu.options`. */
  options?: O;
  /** The schemes its --target may have; default all of http, https, ws and wss. */
  schemes?: readonly TargetScheme[];
  /**
   * Resolves when the platform answers at all before the start: a path to GET (or a WebSocket subprotocol), or a
   * function; default: any answer to the target URL (a GET, or a TCP connect for ws://).
   */
  preflight?: PreflightSpec | ((target: URL, signal: AbortSignal, options: OptionValues) => Promise<void>);
  /** False when a journey ends without holding a connection. Default: true. */
  holds?: boolean;
  /** What the platform is known or configured to take (held connections, a rate per layer): `plan` sets the load beside it. */
  limits?: TargetLimits;
  /** How browser users get into a conference through the platform's own pages. */
  webClient?: WebClient;
  /**
   * How the platform applies faults itself (an admin API that slows its logins, a maintenance switch): firstbell
   * applies the faults it `supports` through it, and the rest through its fault proxy.
   */
  faults?(target: URL, options: OptionValuesOf<O>): NativeFaults;
  /** Which server farm a request path on the target's origin belongs to: the fault proxy's farm-down takes one farm away. */
  farmOf?(path: string): number | undefined;
  /** One participant's journey: its steps, then `return vu.hold(…)` to stay, or `'joined'`; a thrown error is a script error. */
  journey(vu: Vu<S, OptionValuesOf<O> & OptionValues>): Promise<JourneyEnd>;
}

/** Declares a journey with its steps typed: a step that was not declared does not compile. */
export function defineJourney<const S extends Steps, const O extends JourneyOptions = Record<never, JourneyOption>>(journey: JourneyDefinition<S, O>): JourneyDefinition<S, O> {
  return journey;
}

/** Any journey, whatever its steps and options: what a run, a registry or an export takes. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type AnyJourney = JourneyDefinition<any, any>;

/** The platform a run loads: a journey (a definition, a module's path, or a built-in kind's name) aimed at a URL, with its options. */
export interface PlatformInput {
  journey: AnyJourney | string;
  target: string | URL;
  /** The journey's options by name; those not given come from their environment variables, then their defaults. */
  options?: Readonly<Record<string, string | number>>;
}
