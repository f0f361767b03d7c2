// A platform as a run talks to it: a journey aimed at a URL with its options, and the plain data that loads it again.
import type { AnyJourney, JourneyDefinition, JourneyOption, TargetScheme } from '../api/journey.js';
import { stepDecls, type NativeFaults, type OptionValues, type StepDecl, type Steps, type TargetLimits, type Vu, type JourneyEnd } from '../api/vu.js';
import type { WebClient } from '../api/web-client.js';
import { TargetUnreachableError } from '../api/errors.js';
import { FirstbellError } from '../lib/errors.js';
import { isLoopback } from '../lib/ports.js';
import { ProblemsError, type Problem } from '../scenarios/model.js';
import { preflightAny, preflightSpec } from './preflight.js';

/** Where a journey comes from: a built-in kind by name, or a user's module with its bundle. */
export type JourneySource = { builtIn: string } | { module: string; bundle: string };

/** A platform as plain data: what a worker process or a shard builds again. Secret options travel only between processes of one run. */
export interface PlatformSpec {
  source: JourneySource;
  url: string;
  options: OptionValues;
}

/** A journey aimed at a platform, ready to run. */
export interface Platform {
  /** The built-in kind's name, or 'journey' for a user's module or definition. */
  kind: string;
  url: URL;
  steps: Steps;
  /** The steps as the run folder records them (those whose option is not given left out). */
  decls: StepDecl[];
  options: OptionValues;
  /** The options a run folder or a report may show: the secret ones left out. */
  shownOptions: Readonly<Record<string, string | number>>;
  /** How to build it again in another process; absent for a definition handed over in memory (it then runs in one process). */
  spec?: PlatformSpec;
  holds: boolean;
  limits?: TargetLimits;
  webClient?: WebClient;
  faults?: NativeFaults;
  farmOf?(path: string): number | undefined;
  preflight(signal: AbortSignal): Promise<void>;
  journey(vu: Vu): Promise<JourneyEnd>;
}

/** A journey aimed at `url` with its option values resolved. */
export function platformOf(def: AnyJourney, url: URL, options: OptionValues, kind: string, source?: JourneySource): Platform {
  const d = def as JourneyDefinition<Steps, Record<string, JourneyOption>>;
  const pre = d.preflight;
  return {
    kind,
    url,
    steps: d.steps,
    decls: stepDecls(d.steps, options),
    options,
    shownOptions: shownOptions(d, options),
    ...(source ? { spec: { source, url: url.href, options } } : {}),
    holds: d.holds !== false,
    ...(d.limits ? { limits: d.limits } : {}),
    ...(d.webClient ? { webClient: d.webClient } : {}),
    ...(d.faults ? { faults: d.faults(url, options as never) } : {}),
    ...(d.farmOf ? { farmOf: d.farmOf.bind(d) } : {}),
    preflight: (signal) => (typeof pre === 'function' ? ownPreflight(() => pre(url, signal, options), url, signal) : pre ? preflightSpec(url, pre, signal) : preflightAny(url, signal)),
    journey: (vu) => d.journey(vu as never),
  };
}

/** How the command line gives an option: a built-in kind's own flag, else `--option name=…`. */
export function optionHow(name: string, o: JourneyOption): string {
  return o.flag ?? `--option ${name}=…`;
}

/**
 * A journey's option values from what the user gave (by name), the environment and the defaults; a value of the
 * wrong type, not among the choices, or a required one missing is a problem naming the flag and the variable.
 */
export function resolveOptions(def: Pick<JourneyDefinition, 'options'>, given: Readonly<Record<string, string | number | undefined>>, env: NodeJS.ProcessEnv, where: string): { values: OptionValues; problems: Problem[] } {
  const values: Record<string, string | number | undefined> = {};
  const problems: Problem[] = [];
  const schema = def.options ?? {};
  for (const name of Object.keys(given)) {
    if (!Object.hasOwn(schema, name)) problems.push({ where, message: `the journey has no option '${name}'`, hint: Object.keys(schema).length ? `its options: ${Object.keys(schema).join(', ')}` : 'it takes no options' });
  }
  for (const [name, o] of Object.entries(schema)) {
    const raw = given[name] ?? (o.env !== undefined ? env[o.env] : undefined) ?? o.default;
    const how = `${optionHow(name, o)}${o.env ? ` or ${o.env}` : ''}`;
    if (raw === undefined || raw === '') {
      if (o.required) problems.push({ where, message: `the option '${name}' is required: ${o.description}`, hint: `give it with ${how}` });
      continue;
    }
    const value = o.type === 'number' ? Number(raw) : String(raw);
    if (typeof value === 'number' && !Number.isFinite(value)) problems.push({ where, message: `the option '${name}' must be a number, not '${String(raw)}'`, hint: `give a number with ${how}` });
    else if (o.choices && !o.choices.includes(String(value))) problems.push({ where, message: `the option '${name}' is '${String(raw)}'`, hint: `give one of ${o.choices.join(', ')} with ${how}` });
    else values[name] = value;
  }
  return { values, problems };
}

/** Option values with the secret ones left out: what a run folder, a report or a script may show. */
export function shownOptions(def: Pick<JourneyDefinition, 'options'>, values: OptionValues): Readonly<Record<string, string | number>> {
  return Object.fromEntries(Object.entries(values).filter((e): e is [string, string | number] => e[1] !== undefined && !def.options?.[e[0]]?.secret));
}

/**
 * A journey aimed at `target` (checked: a scheme the journey takes, a host that may be loaded) with its options
 * resolved from what was given, the environment and the defaults; every problem at once.
 */
export function platformWithOptions(def: AnyJourney, target: string, allowed: readonly string[], given: Readonly<Record<string, string | number>>, kind: string, source: JourneySource | undefined, where: string): Platform {
  const url = targetUrl(target, allowed, def.schemes ?? ALL_SCHEMES, where);
  const { values, problems } = resolveOptions(def, given, process.env, where);
  if (problems.length) throw new ProblemsError(problems);
  return platformOf(def, url, values, kind, source);
}

const ALL_SCHEMES: readonly TargetScheme[] = ['http', 'https', 'ws', 'wss'];

/** A target as the plan and the report name it: its origin and path (a Janus at ws://host/janus-ws keeps its path), never its credentials. */
export function shownTarget(url: URL): string {
  return url.origin + (url.pathname === '/' ? '' : url.pathname);
}

/** The --target URL, checked: a URL, with a scheme the journey takes, and a host that may be loaded (loopback, or allowed). */
export function targetUrl(url: string, allowed: readonly string[], schemes: readonly TargetScheme[] = ALL_SCHEMES, what = 'the journey'): URL {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    throw new FirstbellError(`--target '${url}' is not a URL; give one like ${schemes[0] === 'ws' ? 'ws://127.0.0.1:8188' : 'http://127.0.0.1:8080'}`);
  }
  if (!schemes.includes(u.protocol.slice(0, -1) as TargetScheme)) throw new FirstbellError(`--target '${url}' must start with ${schemes.map((x) => `${x}://`).join(' or ')} for ${what}`);
  if (!isLoopback(u.hostname) && !allowed.includes(u.hostname)) {
    throw new FirstbellError(`refusing to load ${u.hostname}: only loopback targets are allowed by default; add --allow-target ${u.hostname} if you may load it`);
  }
  return u;
}

/** A journey's own preflight, held to the run's time and words: one that hangs ends with the signal, one that throws says why. */
async function ownPreflight(run: () => Promise<void>, url: URL, signal: AbortSignal): Promise<void> {
  let onAbort!: () => void;
  const aborted = new Promise<never>((_, reject) => {
    onAbort = () => reject(signal.reason);
    signal.addEventListener('abort', onAbort, { once: true });
  });
  try {
    signal.throwIfAborted();
    await Promise.race([run(), aborted]);
  } catch (e) {
    if (e instanceof FirstbellError) throw e;
    throw new TargetUnreachableError(`target ${url.origin} did not pass the journey's preflight before the start: ${e instanceof Error ? e.message : String(e)}`);
  } finally {
    signal.removeEventListener('abort', onAbort);
  }
}
