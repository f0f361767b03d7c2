// One participant of a user's journey inside k6: the vu API on k6/http's async requests, k6's WebSocket and timers.
// Each k6 iteration is one participant (its number across every runner is the participant's id).
import exec from 'k6/execution';
import http from 'k6/http';
import { Rate, Trend } from 'k6/metrics';
import { clearInterval, clearTimeout, setInterval, setTimeout } from 'k6/timers';
import { HttpStatusError, ProtocolError } from '../../api/errors.js';
import { pathOnOrigin, type HttpAnswer, type HttpClient, type HttpRequestOptions } from '../../api/http.js';
import { identityOf, type Identity } from '../../api/identity.js';
import { janusOverHttp, janusOverWsConnection } from '../../api/janus.js';
import type { AnyJourney } from '../../api/journey.js';
import { stepOutcome, type Outcome } from '../../api/sample.js';
import { layerOf, type HeldConnection, type Heartbeat, type JanusSession, type JourneyEnd, type OptionValues, type StepResult, type Steps, type Vu, type WsConnection } from '../../api/vu.js';
import type { ClientBehaviour, Layer, Population } from '../../scenarios/model.js';
import type { Arrival } from './people.js';
import { K6_META, K6_STEP_METRIC, K6_TAGS } from '../names.js';
import { installAbort, newController } from './abort.js';
import { overBytes, tooLarge } from './limits.js';
import { K6Socket } from './socket.js';

installAbort();

/**
 * Whether a `catch` receives what was thrown in a function that also has an arrow function using `this`: before
 * k6 v1.2.0 it received `this`, so every failed step of a journey lost its kind (a 401 recorded as an error with status 0).
 */
export function catchReceivesTheError(this: unknown): boolean {
  const self = () => this;
  try {
    throw new Error('probe');
  } catch (e) {
    return e instanceof Error && e !== self();
  }
}
if (!catchReceivesTheError.call({})) {
  throw new Error("this script needs k6 v1.2.0 or later: this k6 hands a catch the wrong value, so a journey's failed steps would lose their kind; run it with a newer k6");
}

/** What every participant of the exported run shares (each VU has its own copy: it stays small, the plan's people are in SharedArrays). */
export interface JourneyRun {
  /** How participants beyond the plan are placed (schools, class size); the plan's own are in its SharedArray. */
  population: Pick<Population, 'schools' | 'participantsPerConference'>;
  client: ClientBehaviour;
  /** The target as given to the export. */
  target: string;
  /** ms after the start: every participant leaves then. */
  endMs: number;
  /** With data rows: true when participant n gets row n mod their number (else row n). */
  reuseRows?: boolean;
  /** The journey's option values, without its secret ones. */
  options: OptionValues;
  /** The secret options, each read at run time from its environment variable (k6 run -e NAME=value). */
  secretEnv?: Readonly<Record<string, string>>;
  /** Hosts beyond loopback a participant may connect to: the target's and --allow-target's (lower case, no brackets). */
  allowedHosts?: readonly string[];
  /** Most bytes of one answer (an HTTP body, a WebSocket message) a step takes; beyond it the step fails as too_large. */
  maxAnswerBytes: number;
}

const allowedSets = new WeakMap<JourneyRun, ReadonlySet<string>>();

/** The run's allowed hosts as a set, made once for every participant. */
function allowedHostsOf(run: JourneyRun): ReadonlySet<string> {
  let set = allowedSets.get(run);
  if (!set) allowedSets.set(run, (set = new Set(run.allowedHosts ?? [urlParts(run.target).hostname.replace(/^\[|\]$/g, '').toLowerCase()])));
  return set;
}

/**
 * An absolute URL as it is, when its host is loopback, the target's or an allowed one; else the error firstbell's
 * own runs give (the step fails as not_allowed and nothing is sent). Names are checked as names: k6 resolves them.
 */
function allowedUrl(url: string, hosts: ReadonlySet<string>): string {
  const host = urlParts(url).hostname.replace(/^\[|\]$/g, '').toLowerCase();
  if (host === 'localhost' || host === '::1' || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(host) || hosts.has(host)) return url;
  const err = new Error(`${host} is not an allowed address: only loopback, the target and --allow-target hosts are loaded; export with --allow-target ${host} if you may load it`);
  throw Object.assign(err, { name: 'NotAllowedError', code: 'FIRSTBELL_NOT_ALLOWED' });
}

/** The option values of the run: the script's, and each secret one from k6's environment. */
function optionsOf(run: JourneyRun): OptionValues {
  const out: Record<string, string | number | undefined> = { ...run.options };
  for (const [name, env] of Object.entries(run.secretEnv ?? {})) out[name] = __ENV[env];
  return out;
}

const step = new Trend(K6_STEP_METRIC, true);
const stepFailed = new Rate(`${K6_STEP_METRIC}_failed`);

/** Records one sample as `firstbell import k6` reads it: its duration from the intended start, who and when as metadata. */
function record(user: number, layer: Layer, name: string, intendedMs: number, endMs: number, outcome: Outcome, status: number): void {
  exec.vu.metrics.metadata[K6_META.user] = user;
  exec.vu.metrics.metadata[K6_META.at] = Math.round(intendedMs * 10) / 10;
  step.add(Math.max(0, endMs - intendedMs), { [K6_TAGS.layer]: layer, [K6_TAGS.step]: name, [K6_TAGS.outcome]: outcome, [K6_TAGS.status]: String(status) });
  if (outcome !== 'held' && outcome !== 'released') stepFailed.add(outcome !== 'ok', { [K6_TAGS.layer]: layer, [K6_TAGS.step]: name });
  delete exec.vu.metrics.metadata[K6_META.user];
  delete exec.vu.metrics.metadata[K6_META.at];
}

/** A k6 request that got no answer, as an error firstbell classifies: by k6's error code and text. */
function noAnswer(res: { error: string; error_code: number }, what: string): Error {
  const text = String(res.error);
  const code = res.error_code;
  const c =
    code === 1050 || /timeout/i.test(text) ? 'ETIMEDOUT'
      : code >= 1100 && code < 1200 ? 'ENOTFOUND'
        : code >= 1300 && code < 1400 ? 'ERR_TLS'
          : /refused/i.test(text) ? 'ECONNREFUSED'
            : /reset|EOF|broken pipe/i.test(text) ? 'ECONNRESET'
              : 'K6_ERROR';
  return Object.assign(new Error(`${what}: ${text}`), { code: c });
}

/** Resolves with `p`, or rejects when the signal aborts first (k6 cannot cancel a request; its answer is then dropped). */
function unlessAborted<T>(p: Promise<T>, signal: AbortSignal): Promise<T> {
  signal.throwIfAborted();
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(signal.reason);
    signal.addEventListener('abort', onAbort);
    p.then(
      (v) => (signal.removeEventListener('abort', onAbort), resolve(v)),
      (e: unknown) => (signal.removeEventListener('abort', onAbort), reject(e)),
    );
  });
}

/** The origin of an absolute URL ("http://host:port"), without URL, which k6 does not have. */
export function originOf(url: string): string {
  const m = /^([a-z][a-z0-9+.-]*:\/\/[^/?#]*)/i.exec(url);
  if (!m) throw new Error(`not an absolute URL: ${url}`);
  return m[1]!.toLowerCase();
}

/** What a journey reads of vu.target: the parts of a URL, parsed without the URL class. */
function urlParts(href: string): URL {
  const m = /^([a-z][a-z0-9+.-]*:)\/\/([^/?#:]*|\[[^\]]*\])(?::(\d+))?([^?#]*)(\?[^#]*)?(#.*)?$/i.exec(href);
  if (!m) throw new Error(`not an absolute URL: ${href}`);
  const [, protocol, hostname, port = '', pathname, search = '', hash = ''] = m;
  const host = port ? `${hostname}:${port}` : hostname!;
  const parts = { href, protocol, hostname, port, host, pathname: pathname || '/', search, hash, origin: `${protocol}//${host}`, toString: () => href };
  return parts as unknown as URL;
}

/** Redirects followed at most, with redirect: 'follow', as in firstbell's own runs. */
const MAX_REDIRECTS = 10;

/**
 * The participant's HTTP client: k6's async requests, its cookie jar (per VU, emptied for each iteration). Redirects
 * are followed here, on the target's origin only (an answer sending elsewhere goes back as it came), as firstbell's
 * own runs do: k6 itself never follows one to a host the run does not allow.
 */
class K6Http implements HttpClient {
  constructor(private origin: string, private timeoutMs: number, private hosts: ReadonlySet<string>, private maxAnswerBytes: number) {}

  private url(path: string): string {
    return /^[a-z][a-z0-9+.-]*:\/\//i.test(path) ? allowedUrl(path, this.hosts) : this.origin + (path.startsWith('/') ? path : `/${path}`);
  }

  async request(method: string, path: string, opts: HttpRequestOptions): Promise<HttpAnswer> {
    const headers: Record<string, string> = { ...opts.headers };
    let body: string | Record<string, string> | null = null;
    if (opts.form) body = opts.form;
    else if (opts.json !== undefined) {
      body = JSON.stringify(opts.json);
      if (!Object.keys(headers).some((h) => h.toLowerCase() === 'content-type')) headers['content-type'] = 'application/json';
    } else if (opts.body !== undefined) body = opts.body;
    let answer = await this.once(method, path, body, headers, opts.signal);
    for (let hops = 0, at = path; opts.redirect === 'follow' && hops < MAX_REDIRECTS && answer.status >= 300 && answer.status < 400; hops++) {
      const next = typeof answer.headers.location === 'string' ? pathOnOrigin(answer.headers.location, this.origin, at.startsWith('/') ? at : '/') : undefined;
      if (next === undefined) break;
      answer = await this.once('GET', (at = next), null, {}, opts.signal);
    }
    if (opts.expect && !opts.expect.includes(answer.status)) throw new HttpStatusError(answer.status, `${method} ${path}`);
    return answer;
  }

  private async once(method: string, path: string, body: string | Record<string, string> | null, headers: Record<string, string>, signal: AbortSignal): Promise<HttpAnswer> {
    const res = await unlessAborted(http.asyncRequest(method.toUpperCase(), this.url(path), body, { headers, redirects: 0, timeout: this.timeoutMs, responseType: 'text' }), signal);
    if (res.status === 0) throw noAnswer(res, `${method} ${path}`);
    const text = typeof res.body === 'string' ? res.body : '';
    const over = overBytes(text, this.maxAnswerBytes);
    if (over !== undefined) throw tooLarge(`${method} ${path}`, over, this.maxAnswerBytes);
    const lower: Record<string, string> = {};
    for (const [k, v] of Object.entries(res.headers)) lower[k.toLowerCase()] = v;
    return { status: res.status, headers: lower, body: text };
  }

  cookie(name: string): string | undefined {
    return http.cookieJar().cookiesForURL(`${this.origin}/`)[name]?.[0];
  }

  cookieHeader(): string {
    return Object.entries(http.cookieJar().cookiesForURL(`${this.origin}/`))
      .map(([k, v]) => `${k}=${v[0] ?? ''}`)
      .join('; ');
  }

  close(): void {
    // k6 keeps its connections per VU; cookies stay until the iteration ends, as in a browser.
  }
}

class StepTimeout extends Error {
  override name = 'TimeoutError';
}

/** One participant as its journey sees it. */
class K6Vu implements Vu {
  readonly id: number;
  readonly identity: Identity;
  readonly client: ClientBehaviour;
  readonly http: K6Http;
  readonly target: URL;
  readonly origin: string;
  readonly data: Readonly<Record<string, string>> | undefined;
  readonly options: OptionValues;
  private nextAtMs: number;
  private stepName = '';
  private holding?: { done: Promise<void>; leave(): void };
  private readonly hosts: ReadonlySet<string>;
  /** Set when the participant leaves as planned (its lesson ended), before the run's end. */
  private left = false;
  private step$?: ReturnType<typeof newController>;
  private wake?: () => void;
  private haltTimer: ReturnType<typeof setTimeout>;

  constructor(private steps: Steps, private run: JourneyRun, arrival: Arrival, row: Readonly<Record<string, string>> | undefined) {
    this.id = arrival.id;
    this.identity = arrival.identity;
    this.client = run.client;
    this.target = urlParts(run.target);
    this.origin = originOf(run.target).replace(/^ws/, 'http');
    this.hosts = allowedHostsOf(run);
    this.http = new K6Http(this.origin, run.client.stepTimeoutMs, this.hosts, run.maxAnswerBytes);
    this.data = row;
    this.options = optionsOf(run);
    this.nextAtMs = this.now();
    // At its lesson's end or the run's, whichever is first, the participant stops what it is doing.
    const leaves = arrival.leaveAtMs !== undefined && arrival.leaveAtMs < run.endMs;
    this.haltTimer = setTimeout(() => this.halt(leaves), Math.max(0, (leaves ? arrival.leaveAtMs! : run.endMs) - this.nextAtMs));
  }

  get stopped(): boolean {
    return this.left || this.now() >= this.run.endMs;
  }

  /**
   * The participant stops, as in firstbell's own runs: a step under way ends as aborted, a pause at once; a hold
   * ends as 'left' when it leaves as planned (its lesson ended), and at the run's end by its own timer.
   */
  private halt(leaves: boolean): void {
    this.left = leaves;
    this.step$?.abort(new Error(leaves ? 'left' : 'the run ended'));
    this.wake?.();
    if (leaves) this.holding?.leave();
  }

  /** The participant is over: nothing of it keeps the iteration going. */
  ended(): void {
    clearTimeout(this.haltTimer);
  }

  now(): number {
    return Date.now() - exec.scenario.startTime;
  }

  /** Waits `ms`, or less when the participant leaves. */
  private pause(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const t = setTimeout(() => ((this.wake = undefined), resolve()), ms);
      this.wake = () => ((this.wake = undefined), clearTimeout(t), resolve());
    });
  }

  think(ms: number): Promise<void> {
    this.nextAtMs += Math.max(0, ms);
    return Promise.resolve();
  }

  private layer(name: string): Layer {
    return layerOf(this.steps, name) ?? 'admission';
  }

  async step<T>(name: string, work: (signal: AbortSignal) => Promise<T>): Promise<StepResult<T>> {
    let intended = this.nextAtMs;
    const wait = intended - this.now();
    if (wait > 1 && !this.stopped) await this.pause(wait);
    if (this.stopped) return { ok: false };
    intended = Math.min(intended, this.now());
    this.stepName = name;
    const ctl = (this.step$ = newController());
    const timer = setTimeout(() => ctl.abort(new StepTimeout(`${name} took longer than ${this.client.stepTimeoutMs} ms`)), this.client.stepTimeoutMs);
    let outcome: Outcome = 'ok';
    let status = 0;
    let value: T | undefined;
    try {
      // A step that does not listen to its signal still ends at its deadline, or when the participant leaves.
      value = await unlessAborted(work(ctl.signal), ctl.signal);
    } catch (err) {
      ({ outcome, status } = stepOutcome(err, this.stopped, ctl.signal.reason instanceof StepTimeout));
    } finally {
      clearTimeout(timer);
      this.step$ = undefined;
    }
    const end = this.now();
    record(this.id, this.layer(name), name, intended, end, outcome, status);
    this.nextAtMs = end + this.client.thinkTimeMs;
    return outcome === 'ok' ? { ok: true, value: value as T } : { ok: false };
  }

  /** An error the journey's own code threw outside a step: a script_error sample of the step it was at. */
  scriptError(): void {
    const name = this.stepName || Object.keys(this.steps)[0] || 'journey';
    const now = this.now();
    record(this.id, this.layer(name), name, now, now, 'script_error', 0);
  }

  private socketUrl(url: string): string {
    return url.startsWith('/') ? this.origin.replace(/^http/, 'ws') + url : allowedUrl(url, this.hosts);
  }

  private sameOrigin(url: string): boolean {
    return url.startsWith('/') || originOf(url).replace(/^ws/, 'http') === this.origin;
  }

  private async socket(url: string, signal: AbortSignal, opts: { headers?: Record<string, string>; protocol?: string }): Promise<K6Socket> {
    const headers: Record<string, string> = { ...opts.headers };
    if (opts.protocol) headers['Sec-WebSocket-Protocol'] = opts.protocol;
    const cookies = this.sameOrigin(url) ? this.http.cookieHeader() : '';
    if (cookies && !Object.keys(headers).some((h) => h.toLowerCase() === 'cookie')) headers.Cookie = cookies;
    return K6Socket.open(this.socketUrl(url), headers, signal, this.run.maxAnswerBytes);
  }

  async ws(url: string, signal: AbortSignal, opts: { headers?: Record<string, string>; protocol?: string } = {}): Promise<WsConnection> {
    return this.socket(url, signal, opts);
  }

  async janus(url: string, signal: AbortSignal): Promise<JanusSession> {
    if (/^wss?:\/\//i.test(url)) return janusOverWsConnection(await this.ws(url, signal, { protocol: 'janus-protocol' }), signal);
    return janusOverHttp(this.http, url, signal);
  }

  hold(conn: unknown, name: string, beat: Heartbeat): 'holding' {
    const held = conn as HeldConnection;
    if (typeof held?.send !== 'function' || typeof held.terminate !== 'function') {
      throw new ProtocolError(`vu.hold: in k6, hold a connection from vu.ws or vu.janus`);
    }
    this.holding = holdOn(this, held, this.layer(name), name, beat, this.run);
    if (this.left) this.holding.leave();
    return 'holding';
  }

  /** Resolves when the participant's hold, if any, has ended. */
  held(): Promise<void> {
    return this.holding?.done ?? Promise.resolve();
  }
}

/**
 * Holds a connection until the run's end or the participant's lesson end: a heartbeat every heartbeat interval,
 * each one a sample; its loss is `released`, a lesson end `left` (a heartbeat then outstanding is `aborted`, as in
 * firstbell's own runs), and a heartbeat's farewell is said before the connection closes.
 */
function holdOn(vu: K6Vu, conn: HeldConnection, layer: Layer, name: string, beat: Heartbeat, run: JourneyRun): { done: Promise<void>; leave(): void } {
  let finish: (how: 'lost' | 'end' | 'left') => void = () => undefined;
  const done = new Promise<void>((resolve) => {
    const at = vu.now();
    record(vu.id, layer, name, at, at, 'held', 0);
    let pending: { t: number; at: number } | null = null;
    let over = false;
    finish = (how) => {
      if (over) return;
      over = true;
      clearInterval(beats);
      clearTimeout(end);
      if (pending) record(vu.id, layer, name, pending.at, vu.now(), how === 'lost' ? 'reset' : 'aborted', 0);
      const now = vu.now();
      if (how !== 'end') record(vu.id, layer, name, now, now, how === 'lost' ? 'released' : 'left', 0);
      conn.listener = undefined;
      if (how !== 'lost' && beat.farewell !== undefined && conn.leave) void conn.leave(beat.farewell).then(resolve, resolve);
      else {
        conn.terminate();
        resolve();
      }
    };
    conn.listener = {
      message(text) {
        if (!pending) return;
        let msg: unknown;
        try {
          msg = JSON.parse(text);
        } catch {
          return;
        }
        if (msg && typeof msg === 'object' && beat.isReply(msg as Record<string, unknown>, pending.t)) {
          record(vu.id, layer, name, pending.at, vu.now(), 'ok', 0);
          pending = null;
        }
      },
      closed: () => finish('lost'),
    };
    const beats = setInterval(() => {
      if (pending) record(vu.id, layer, name, pending.at, vu.now(), 'timeout', 0);
      const t = Date.now();
      pending = { t, at: vu.now() };
      conn.send(beat.message(t));
    }, run.client.heartbeatMs);
    const end = setTimeout(() => finish('end'), Math.max(0, run.endMs - vu.now()));
  });
  return { done, leave: () => finish('left') };
}

/**
 * Runs one participant's journey, and its hold until the run's end or its lesson's. k6's n-th iteration (counted
 * across every runner) is the plan's n-th arrival; one beyond the plan is participant n, placed by the population.
 */
export async function participant(def: AnyJourney, run: JourneyRun, arrivals: readonly Arrival[], rows: readonly Record<string, string>[]): Promise<void> {
  const n = exec.scenario.iterationInTest;
  const arrival = n < arrivals.length ? arrivals[n]! : { id: n, identity: identityOf(n, run.population) };
  const row = rows.length ? (run.reuseRows ? rows[arrival.id % rows.length] : rows[arrival.id]) : undefined;
  const vu = new K6Vu(def.steps, run, arrival, row);
  try {
    let end: JourneyEnd;
    try {
      end = await def.journey(vu as unknown as Vu<typeof def.steps>);
    } catch {
      vu.scriptError();
      return;
    }
    if (end === 'holding') await vu.held();
  } finally {
    vu.ended();
  }
}
