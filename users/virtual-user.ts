// A protocol-level virtual user: runs steps on time, measures them from their intended start, and emits samples.
import { getEventListeners } from 'node:events';
import type { ClientBehaviour, Layer } from '../scenarios/model.js';
import type { Identity } from '../api/identity.js';
import { messageOf, stepOutcome, type Outcome, type Sample } from '../api/sample.js';
import { layerOf, type Heartbeat, type HeldConnection, type HeldListener, type JanusSession, type OptionValues, type StepResult, type Steps, type Vu, type WsConnection } from '../api/vu.js';
import { HttpSession } from '../protocol/http-session.js';
import { openWebSocket, type BareWebSocket } from '../protocol/held-socket.js';
import { janusOverHttp, janusOverWsConnection } from '../api/janus.js';
import type { SourcePort, SourcePorts } from '../protocol/source-ports.js';
import type { NetPolicy } from '../protocol/address-guard.js';
import { UserSocket } from '../protocol/user-socket.js';

export type Emit = (s: Sample) => void;

/** What every participant of a process shares: one object for all of them. */
export interface VirtualUserContext {
  origin: string;
  /** The target as given. */
  target: URL;
  client: ClientBehaviour;
  /** The target's declared steps: a step's layer comes from here. */
  steps: Steps;
  /** The journey's option values, one object for the whole run. */
  options: OptionValues;
  /** The run's network policy: where connections may go, how large an answer may be. */
  net?: NetPolicy;
  /** Who each participant is (from the scenario's population, or its timetable). */
  identify: (participant: number) => Identity;
  /** ms from the run start, monotonic. */
  clock: () => number;
  emit: Emit;
  /** Where the participant's connections come from (its local address and a port of this process's); default the kernel's choice. */
  source?: SourcePorts;
  /** Farewells under way (a participant leaving its held connection cleanly), for the process to let them finish before it ends. */
  departures?: Set<Promise<unknown>>;
  /** Step signals that finished participants left unused, for the next ones (see StepControllers). */
  controllers?: StepControllers;
}

/** Most unused step controllers a process keeps for later participants. */
const KEPT_CONTROLLERS = 4_096;

/**
 * The step controllers of participants that have finished, for the participants that come next. Node.js keeps every
 * AbortSignal alive through one or two collections of V8's young generation, however short its life: a participant
 * that makes one for its journey of a few milliseconds puts about 1 KB into the old generation, and at thousands of
 * arrivals a second that alone made V8 mark and compact the old generation about once a second. A controller is kept
 * only if its signal was never aborted and nothing listens to it any more: it carries nothing of the participant
 * that used it.
 */
export class StepControllers {
  private free: AbortController[] = [];

  take(): AbortController {
    return this.free.pop() ?? new AbortController();
  }

  /** Keeps `c` for a later participant if it is as good as new. */
  give(c: AbortController): void {
    if (this.free.length < KEPT_CONTROLLERS && !c.signal.aborted && getEventListeners(c.signal, 'abort').length === 0) this.free.push(c);
  }
}

/** A bit per layer, for the layers a journey has entered. */
const LAYER_BIT: Record<Layer, number> = { admission: 1, broker: 2, media: 4 };

/** The system error code in an error or its causes (EADDRNOTAVAIL, EMFILE, …), for the generator's own failures. */
function systemCode(err: unknown): string {
  for (let e: unknown = err, depth = 0; e && depth < 4; depth++, e = (e as { cause?: unknown }).cause) {
    const code = (e as { code?: unknown }).code;
    if (typeof code === 'string') return code;
  }
  return messageOf(err);
}

/** Thrown into a step whose time ran out. */
class StepTimeout extends Error {
  override name = 'TimeoutError';
}

/** Who hears that a participant's hold has ended: 'stopped' by the run, or 'dropped' by the connection. */
export interface HoldWatcher {
  holdEnded(how: 'stopped' | 'dropped'): void;
}

/** A step name the target did not declare: the journey is wrong, not the platform. */
export class UndeclaredStepError extends Error {
  override name = 'UndeclaredStepError';
}

export class VirtualUser implements Vu {
  readonly client: ClientBehaviour;
  /** Set when the run stops this participant. */
  private halted = false;
  private step$?: AbortController;
  private wake?: () => void;
  private holding?: Hold;
  private watcher?: HoldWatcher;
  /** How a hold ended before anyone watched it. */
  private holdEnd?: 'stopped' | 'dropped';
  private session?: HttpSession;
  /** HTTP connections to other origins (Janus over HTTP), closed with the participant. */
  private others?: HttpSession[];
  private nextAtMs: number;
  /** WebSockets of vu.ws, on bare sockets. */
  private bare?: Set<BareWebSocket>;
  private held?: HeldConnection;
  /** Saying goodbye on its held connection: its HTTP connections close once that is done. */
  private departing = false;
  private stepTimer?: NodeJS.Timeout;
  private stepName = '';
  private inStep = false;
  /** Ends the step under way with `reason` whether or not its work listens to its signal. */
  private cutStep?: (reason: unknown) => void;
  /** Counts steps, so a timeout that waited for the event loop's I/O turn knows whether its step is still under way. */
  private stepSeq = 0;
  /** Layers this journey has stepped into (a bit each), and whether its first step is still to come. */
  private entered = 0;
  private journeyStart = true;

  /**
   * `arrivalMs`: the scheduled arrival, ms from the run start (the intended start of the first step); `data`: the
   * participant's row of the scenario's data.
   */
  constructor(private readonly o: VirtualUserContext, readonly id: number, arrivalMs: number, readonly data: Readonly<Record<string, string>> | undefined = undefined) {
    this.client = o.client;
    this.nextAtMs = arrivalMs;
  }

  /**
   * Gives a local address and port for each of the participant's connections, or undefined for the kernel's choice.
   * Made when a connection is (a held participant keeps none).
   */
  private get port(): (() => SourcePort) | undefined {
    const source = this.o.source;
    const id = this.id;
    return source && (() => source.take(id));
  }

  /** The participant's HTTP connection and cookies, made on first use; a participant that holds lets them go. */
  get http(): HttpSession {
    return (this.session ??= new HttpSession(this.o.origin, { source: this.port, net: this.o.net }, () => this.step$?.signal));
  }

  /** Computed when asked, not kept: tens of thousands of held participants carry nothing for it. */
  get identity(): Identity {
    return this.o.identify(this.id);
  }

  get target(): URL {
    return this.o.target;
  }

  get origin(): string {
    return this.o.origin;
  }

  /** A path on the participant's origin as a URL of `scheme`; a URL as it is. */
  private onOrigin(urlOrPath: string, ws: boolean): string {
    if (!urlOrPath.startsWith('/')) return urlOrPath;
    const base = ws ? this.o.origin.replace(/^http/, 'ws') : this.o.origin;
    return base + urlOrPath;
  }

  get options(): OptionValues {
    return this.o.options;
  }

  get stopped(): boolean {
    return this.halted;
  }

  /** Set when the participant leaves as planned (its lesson ended), not because the run stopped. */
  leaving = false;

  /** The participant leaves as planned: like a stop, but a hold it is in ends as 'left'. */
  leave(): void {
    this.leaving = true;
    this.stop(new Error('left'));
  }

  /** Stops the participant: the step under way ends as aborted, a pause or a hold ends at once. */
  stop(reason: unknown): void {
    this.halted = true;
    this.abortStep(reason);
    this.cutStep?.(reason);
    this.wake?.();
    this.holding?.stop();
  }

  now(): number {
    return this.o.clock();
  }

  private layerOf(name: string): Layer {
    const layer = layerOf(this.o.steps, name);
    if (!layer) throw new UndeclaredStepError(`step '${name}' is not declared in the target's steps (${Object.keys(this.o.steps).join(', ')})`);
    return layer;
  }

  /**
   * The step's time ran out by the timer. Timers run before the event loop reads the sockets, so after a busy
   * stretch an answer may be waiting unread: the step times out only if it is still under way once the loop has
   * read what came in.
   */
  private stepTimedOut(): void {
    if (!this.inStep) return;
    const seq = this.stepSeq;
    setImmediate(() => {
      if (!this.inStep || this.stepSeq !== seq) return;
      const reason = new StepTimeout(`${this.stepName} timed out`);
      this.abortStep(reason);
      this.cutStep?.(reason);
    });
  }

  /** Aborts the step's signal, and the participant's HTTP request under way on it (the session hears it from here). */
  private abortStep(reason: unknown): void {
    const ctl = this.step$;
    if (!ctl || ctl.signal.aborted) return;
    ctl.abort(reason);
    this.session?.aborted(ctl.signal, reason);
  }

  /** A new journey begins (the first, or a retry): its first step, and the first of each layer, are entries. */
  beginJourney(): void {
    this.entered = 0;
    this.journeyStart = true;
  }

  /** The next step is intended `ms` from now (a retry after a failure). */
  waitBeforeNext(ms: number): void {
    this.nextAtMs = this.now() + ms;
  }

  private pause(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(t);
        this.wake = undefined;
        resolve();
      };
      const t = setTimeout(done, ms);
      this.wake = done;
    });
  }

  /**
   * Runs one step at its intended start (the previous step's end plus think time, or the arrival),
   * times it from that intended start, and emits one sample.
   */
  async step<T>(name: string, work: (signal: AbortSignal) => Promise<T>): Promise<StepResult<T>> {
    const layer = this.layerOf(name);
    let intended = this.nextAtMs;
    const wait = intended - this.now();
    if (wait > 1 && !this.stopped) await this.pause(wait);
    if (this.stopped) return { ok: false };
    // A pause cut short (a dropped connection) starts the step now, and it is intended now.
    intended = Math.min(intended, this.now());
    // One controller per participant (one that a finished participant left, if any), renewed only after an abort,
    // aborted by the step timer or by stop(); one timer per participant, re-armed at each step: nothing piles up,
    // little is allocated per step.
    let ctl = this.step$;
    if (!ctl || ctl.signal.aborted) ctl = this.step$ = this.o.controllers?.take() ?? new AbortController();
    this.stepName = name;
    this.inStep = true;
    this.stepSeq++;
    const bit = LAYER_BIT[layer];
    const entry: 0 | 1 | 2 = this.journeyStart ? 2 : this.entered & bit ? 0 : 1;
    this.entered |= bit;
    this.journeyStart = false;
    if (this.stepTimer) this.stepTimer.refresh();
    else this.stepTimer = setTimeout(() => this.stepTimedOut(), this.client.stepTimeoutMs);
    const start = this.now();
    let outcome: Outcome = 'ok';
    let status = 0;
    let value: T | undefined;
    let thrown: unknown;
    try {
      // The step ends at its timeout or the run's stop even if its work never looks at the signal.
      value = await new Promise<T>((resolve, reject) => {
        this.cutStep = reject;
        Promise.resolve(work(ctl.signal)).then(resolve, reject);
      });
    } catch (err) {
      thrown = err;
      ({ outcome, status } = stepOutcome(err, this.stopped, ctl.signal.reason instanceof StepTimeout));
    } finally {
      this.inStep = false;
      this.cutStep = undefined;
    }
    const end = this.now();
    if (outcome === 'script_error' || outcome === 'not_allowed' || outcome === 'generator') {
      const error = outcome === 'not_allowed' && thrown instanceof Error ? thrown.message : outcome === 'generator' ? systemCode(thrown) : messageOf(thrown);
      this.o.emit({ user: this.id, layer, step: name, intendedMs: intended, startMs: start, endMs: end, outcome, status, error, entry });
    } else this.o.emit({ user: this.id, layer, step: name, intendedMs: intended, startMs: start, endMs: end, outcome, status, entry });
    this.nextAtMs = end + this.client.thinkTimeMs;
    return outcome === 'ok' ? { ok: true, value: value as T } : { ok: false };
  }

  /**
   * Records an error the journey's code threw outside any step: a script_error sample of the step it was at (or
   * its first step), at this instant.
   */
  scriptError(err: unknown): void {
    const name = this.stepName || Object.keys(this.o.steps)[0] || 'journey';
    const layer = layerOf(this.o.steps, name) ?? 'admission';
    const now = this.now();
    // A journey that failed before its first step still began.
    const entry = this.journeyStart ? 2 : 0;
    this.journeyStart = false;
    this.o.emit({ user: this.id, layer, step: name, intendedMs: now, startMs: now, endMs: now, outcome: 'script_error', status: 0, error: messageOf(err), entry });
  }

  async think(ms: number): Promise<void> {
    this.nextAtMs = Math.max(this.nextAtMs, this.now()) + ms;
    const wait = this.nextAtMs - this.now();
    if (wait > 1 && !this.stopped) await this.pause(wait);
  }

  /** A WebSocket on a bare socket: the participant's own connection asks for the upgrade, with its cookies for a path on the target. */
  async ws(url: string, signal: AbortSignal, opts: { headers?: Record<string, string>; protocol?: string } = {}): Promise<WsConnection> {
    const cookie = url.startsWith('/') ? this.session?.cookieHeader() : undefined;
    const headers = cookie ? { cookie, ...opts.headers } : opts.headers;
    const sock = await openWebSocket(this.onOrigin(url, true), signal, { source: this.port, headers, protocol: opts.protocol, net: this.o.net });
    (this.bare ??= new Set()).add(sock);
    return new UserSocket(sock);
  }

  async janus(url: string, signal: AbortSignal): Promise<JanusSession> {
    const u = new URL(this.onOrigin(url, false));
    if (u.protocol === 'ws:' || u.protocol === 'wss:') return janusOverWsConnection(await this.ws(url, signal, { protocol: 'janus-protocol' }), signal);
    const http = new HttpSession(u.origin, { source: this.port, net: this.o.net });
    (this.others ??= []).push(http);
    return janusOverHttp(http, u.pathname.replace(/\/+$/, ''), signal);
  }

  /**
   * Holds a joined participant until the run ends: a heartbeat every heartbeatMs, each one a sample timed
   * from its scheduled instant. One outstanding heartbeat and one timer at a time: it waits for the answer
   * (up to the step timeout), and the next one is due a heartbeat interval after the previous one was.
   * Returns 'holding' at once, for the journey to end with: tens of thousands hold at once, so nothing waits
   * while they do. The hold tells whoever `whenHoldEnds` named how it ended: 'stopped' when the run ended it,
   * 'dropped' when the connection died first.
   */
  hold(conn: HeldConnection | WsConnection, name: string, beat: Heartbeat): 'holding' {
    const layer = this.layerOf(name);
    const sock = conn instanceof UserSocket ? conn.detach() : (conn as HeldConnection);
    // The held connection is the participant's `held` now, ended with it.
    if (this.bare?.delete(sock as BareWebSocket) && this.bare.size === 0) this.bare = undefined;
    this.held = sock;
    // A holding participant keeps its held connection and little else: no step timer or step signal (a later
    // step makes new ones), no HTTP session (a rejoin after a drop logs in afresh).
    clearTimeout(this.stepTimer);
    this.stepTimer = undefined;
    this.step$ = undefined;
    this.session?.close();
    this.session = undefined;
    const h = new Hold(this, sock, layer, name, beat, this.o.emit);
    this.holding = h;
    if (this.halted) h.finish('stopped');
    return 'holding';
  }

  /** Leaves the held connection cleanly with `farewell` (it closes itself), or closes it where it cannot. */
  leaveHeld(sock: HeldConnection, farewell: string): void {
    if (this.held !== sock) return;
    this.held = undefined;
    if (!sock.leave) return sock.terminate();
    // The farewell may go over the participant's HTTP connections (Janus over HTTP): they close once it is said.
    this.departing = true;
    const said: Promise<unknown> = sock.leave(farewell).finally(() => {
      this.departing = false;
      this.closeHttp();
      this.o.departures?.delete(said);
    });
    this.o.departures?.add(said);
  }

  /** Names who hears how the hold ends; told at once when it has ended already. */
  whenHoldEnds(w: HoldWatcher): void {
    const how = this.holdEnd;
    this.holdEnd = undefined;
    if (how) w.holdEnded(how);
    else this.watcher = w;
  }

  /** The hold has ended. */
  unhold(h: Hold, how: 'stopped' | 'dropped'): void {
    if (this.holding !== h) return;
    this.holding = undefined;
    const w = this.watcher;
    this.watcher = undefined;
    if (w) w.holdEnded(how);
    else this.holdEnd = how;
  }

  /** Closes everything the participant has open; its cookies stay, as in a browser. Its step signal goes to a later participant. */
  close(): void {
    clearTimeout(this.stepTimer);
    this.stepTimer = undefined;
    // Not while a step is still under way (a journey that ended without awaiting it) or a farewell is being said.
    if (this.step$ && !this.departing && !this.inStep) {
      this.o.controllers?.give(this.step$);
      this.step$ = undefined;
    }
    for (const ws of this.bare ?? []) ws.terminate();
    this.bare = undefined;
    this.held?.terminate();
    this.held = undefined;
    if (!this.departing) this.closeHttp();
  }

  private closeHttp(): void {
    this.session?.close();
    for (const h of this.others ?? []) h.close();
    this.others = undefined;
  }
}

/** The heartbeat timer's two turns, with the hold as argument: no closure per participant. */
function beatDue(h: Hold): void {
  h.send();
}
function beatLate(h: Hold): void {
  h.late();
}

/**
 * One participant's hold. One outstanding heartbeat and one timer at a time: it waits for the answer (up to the
 * step timeout), and the next one is due a heartbeat interval after the previous one was. It is the socket's
 * listener itself, so a held participant costs one small object here rather than a handful of closures.
 */
class Hold implements HeldListener {
  /** The current heartbeat's intended instant; when it was sent (-1: none outstanding); its tag. */
  private at: number;
  private sentAt = -1;
  private t = 0;
  private timer?: NodeJS.Timeout;

  constructor(private vu: VirtualUser, private sock: HeldConnection, private layer: Layer, private name: string, private beat: Heartbeat, private emit: Emit) {
    // Spread heartbeats over the interval by participant (golden-ratio sequence), deterministically.
    const now = vu.now();
    this.at = now + ((vu.id * 0.6180339887) % 1) * vu.client.heartbeatMs;
    emit({ user: vu.id, layer, step: name, intendedMs: now, startMs: now, endMs: now, outcome: 'held', status: 0 });
    sock.listener = this;
    this.timer = setTimeout(beatDue, Math.max(0, this.at - vu.now()), this);
  }

  private sample(outcome: Outcome): void {
    this.emit({ user: this.vu.id, layer: this.layer, step: this.name, intendedMs: this.at, startMs: this.sentAt, endMs: this.vu.now(), outcome, status: 0 });
    this.sentAt = -1;
  }

  finish(how: 'stopped' | 'dropped'): void {
    clearTimeout(this.timer);
    this.sock.listener = undefined;
    // A participant the run or its lesson lets go says goodbye where its heartbeat has a farewell; a drop has no one to tell.
    if (how === 'stopped' && this.beat.farewell !== undefined) this.vu.leaveHeld(this.sock, this.beat.farewell);
    this.vu.unhold(this, how);
  }

  private next(): void {
    this.at += this.vu.client.heartbeatMs;
    this.timer = setTimeout(beatDue, Math.max(0, this.at - this.vu.now()), this);
  }

  send(): void {
    if (this.vu.stopped) return this.finish('stopped');
    // A heartbeat intended later than it starts (a busy generator) is still timed from its intended instant.
    this.sentAt = this.vu.now();
    this.t = Math.round(this.at * 10);
    this.sock.send(this.beat.message(this.t));
    this.timer = setTimeout(beatLate, this.vu.client.stepTimeoutMs, this);
  }

  /** The heartbeat's answer is overdue by the timer; it is a timeout only if it is still missing once the event loop has read what came in. */
  late(): void {
    if (this.sentAt < 0) return;
    const t = this.t;
    setImmediate(() => {
      if (this.sentAt < 0 || this.t !== t) return;
      this.sample('timeout');
      this.next();
    });
  }

  message(text: string): void {
    if (this.sentAt < 0) return;
    let msg: Record<string, unknown>;
    try {
      msg = JSON.parse(text) as typeof msg;
    } catch {
      return;
    }
    if (!this.beat.isReply(msg, this.t)) return;
    clearTimeout(this.timer);
    this.sample('ok');
    this.next();
  }

  closed(): void {
    if (this.vu.stopped) return this.finish('stopped');
    // A drop between heartbeats is noticed now: a heartbeat that failed now, not at its next turn.
    if (this.sentAt < 0) this.at = this.sentAt = this.vu.now();
    this.sample('reset');
    const now = this.vu.now();
    this.emit({ user: this.vu.id, layer: this.layer, step: this.name, intendedMs: now, startMs: now, endMs: now, outcome: 'released', status: 0 });
    this.finish('dropped');
  }

  /** The run ends the hold (an outstanding heartbeat ends as aborted), or the participant leaves it as planned. */
  stop(): void {
    if (this.sentAt >= 0) this.sample('aborted');
    if (this.vu.leaving) {
      const now = this.vu.now();
      this.emit({ user: this.vu.id, layer: this.layer, step: this.name, intendedMs: now, startMs: now, endMs: now, outcome: 'left', status: 0 });
    }
    this.finish('stopped');
  }
}
