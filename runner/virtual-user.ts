// A protocol-level virtual user: runs steps on time, measures them from their intended start, and emits samples.
import WebSocket from 'ws';
import type { ClientBehaviour, Layer } from '../scenarios/model.js';
import { HttpSession, HttpStatusError, ProtocolError } from './http-session.js';
import { classifyError, type Outcome, type Sample } from './sample.js';

export type Emit = (s: Sample) => void;

/** What a step's work resolves to; a thrown error is classified into an outcome. */
export type StepResult<T> = { ok: true; value: T } | { ok: false };

export interface VirtualUserOptions {
  id: number;
  /** Scheduled arrival, ms from the run start: the intended start of the first step. */
  arrivalMs: number;
  origin: string;
  client: ClientBehaviour;
  /** ms from the run start, monotonic. */
  clock: () => number;
  emit: Emit;
  localAddress?: string;
}

/** How a held connection proves it is alive: the message sent for heartbeat `t`, and how its answer is known. */
export interface Heartbeat {
  message(t: number): string;
  isReply(msg: Record<string, unknown>, t: number): boolean;
}

/** The reference platform's stand-in media nodes: {"type":"ping","t"} answered by {"type":"pong","t"}. */
export const PING_PONG: Heartbeat = {
  message: (t) => JSON.stringify({ type: 'ping', t }),
  isReply: (msg, t) => msg.type === 'pong' && msg.t === t,
};

/** Thrown into a step whose time ran out. */
class StepTimeout extends Error {
  override name = 'TimeoutError';
}

export class VirtualUser {
  readonly id: number;
  readonly http: HttpSession;
  readonly client: ClientBehaviour;
  /** Aborted when the run stops this participant. Private to the participant, so it has few listeners. */
  private stopper = new AbortController();
  private step$?: AbortController;
  private wake?: () => void;
  private nextAtMs: number;
  private sockets = new Set<WebSocket>();

  constructor(private o: VirtualUserOptions) {
    this.id = o.id;
    this.client = o.client;
    this.nextAtMs = o.arrivalMs;
    this.http = new HttpSession(o.origin, { connectTimeoutMs: o.client.stepTimeoutMs, localAddress: o.localAddress });
  }

  get stopped(): boolean {
    return this.stopper.signal.aborted;
  }

  /** Stops the participant: the step under way ends as aborted, a pause ends at once. */
  stop(reason: unknown): void {
    this.stopper.abort(reason);
    this.step$?.abort(reason);
    this.wake?.();
  }

  now(): number {
    return this.o.clock();
  }

  /** The next step is intended `ms` from now (a retry after a failure). */
  waitBeforeNext(ms: number): void {
    this.nextAtMs = this.now() + ms;
  }

  private pause(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const t = setTimeout(done, ms);
      function done() {
        clearTimeout(t);
        resolve();
      }
      this.wake = done;
    });
  }

  /**
   * Runs one step at its intended start (the previous step's end plus think time, or the arrival),
   * times it from that intended start, and emits one sample.
   */
  async step<T>(layer: Layer, name: string, work: (signal: AbortSignal) => Promise<T>): Promise<StepResult<T>> {
    let intended = this.nextAtMs;
    const wait = intended - this.now();
    if (wait > 1 && !this.stopped) await this.pause(wait);
    if (this.stopped) return { ok: false };
    // A pause cut short (a dropped connection) starts the step now, and it is intended now.
    intended = Math.min(intended, this.now());
    // One controller per step, aborted by its own timer or by stop(): no listener piles up on a shared signal.
    const ctl = (this.step$ = new AbortController());
    const timer = setTimeout(() => ctl.abort(new StepTimeout(`${name} timed out`)), this.client.stepTimeoutMs);
    const start = this.now();
    let outcome: Outcome = 'ok';
    let status = 0;
    let value: T | undefined;
    try {
      value = await work(ctl.signal);
    } catch (err) {
      if (err instanceof HttpStatusError) [outcome, status] = ['http', err.status];
      else if (this.stopped) outcome = 'aborted';
      else if (ctl.signal.reason instanceof StepTimeout) outcome = 'timeout';
      else if (err instanceof ProtocolError) outcome = 'protocol';
      else outcome = classifyError(err);
    } finally {
      clearTimeout(timer);
      this.step$ = undefined;
    }
    const end = this.now();
    this.o.emit({ user: this.id, layer, step: name, intendedMs: intended, startMs: start, endMs: end, outcome, status });
    this.nextAtMs = end + this.client.thinkTimeMs;
    return outcome === 'ok' ? { ok: true, value: value as T } : { ok: false };
  }

  /**
   * Opens a WebSocket and resolves on its first message, which it returns; with `speaksFirst: false`
   * (a protocol where the client talks first) it resolves once open, with `first` empty.
   */
  openSocket(url: string, signal: AbortSignal, opts: { headers?: Record<string, string>; protocol?: string; speaksFirst?: boolean } = {}): Promise<{ ws: WebSocket; first: string }> {
    return new Promise((resolve, reject) => {
      const ws = new WebSocket(url, opts.protocol, { headers: opts.headers, handshakeTimeout: this.client.stepTimeoutMs, perMessageDeflate: false, localAddress: this.o.localAddress });
      // Terminating a socket that is still connecting emits an error; it is already accounted for.
      ws.on('error', () => undefined);
      this.sockets.add(ws);
      const fail = (err: unknown) => {
        cleanup();
        ws.terminate();
        this.sockets.delete(ws);
        reject(err);
      };
      const onAbort = () => fail(signal.reason ?? new Error('aborted'));
      const onUnexpected = (_req: unknown, res: { statusCode?: number }) => fail(new HttpStatusError(res.statusCode ?? 0, 'websocket handshake'));
      const onMessage = (data: WebSocket.RawData) => {
        cleanup();
        resolve({ ws, first: String(data) });
      };
      const onOpen = () => {
        cleanup();
        resolve({ ws, first: '' });
      };
      const onClose = () => fail(Object.assign(new Error('closed before the first message'), { code: 'ECONNRESET' }));
      const cleanup = () => {
        signal.removeEventListener('abort', onAbort);
        ws.off('unexpected-response', onUnexpected);
        ws.off('message', onMessage);
        ws.off('open', onOpen);
        ws.off('error', fail);
        ws.off('close', onClose);
      };
      signal.addEventListener('abort', onAbort, { once: true });
      ws.on('unexpected-response', onUnexpected);
      if (opts.speaksFirst === false) ws.once('open', onOpen);
      else ws.once('message', onMessage);
      ws.once('error', fail);
      ws.once('close', onClose);
    });
  }

  /**
   * Holds a joined participant until the run ends: a heartbeat every heartbeatMs, each one a sample
   * timed from its scheduled instant. Resolves 'stopped' when the run ended the hold, 'dropped' when
   * the connection died first.
   */
  async hold(ws: WebSocket, layer: Layer, name: string, beat: Heartbeat = PING_PONG): Promise<'stopped' | 'dropped'> {
    let pending: { t: number; resolve: () => void; reject: (e: unknown) => void } | undefined;
    let closed: Error | undefined;
    const onMessage = (data: WebSocket.RawData) => {
      if (!pending) return;
      let msg: Record<string, unknown>;
      try {
        msg = JSON.parse(String(data)) as typeof msg;
      } catch {
        return;
      }
      if (beat.isReply(msg, pending.t)) pending.resolve();
    };
    const onClose = () => {
      closed = Object.assign(new Error('socket closed'), { code: 'ECONNRESET' });
      // Between heartbeats, the drop is noticed now rather than at the next heartbeat.
      if (pending) pending.reject(closed);
      else this.wake?.();
    };
    ws.on('message', onMessage);
    ws.once('close', onClose);
    ws.on('error', () => undefined);
    // Spread heartbeats over the interval by participant (golden-ratio sequence), deterministically.
    this.nextAtMs = this.now() + ((this.id * 0.6180339887) % 1) * this.client.heartbeatMs;
    try {
      while (!this.stopped && !closed) {
        const at = this.nextAtMs;
        const r = await this.step(layer, name, (signal) => {
          if (closed) return Promise.reject(closed);
          return new Promise<void>((resolve, reject) => {
            const t = Math.round(at * 10);
            const onAbort = () => reject(signal.reason);
            signal.addEventListener('abort', onAbort, { once: true });
            pending = {
              t,
              resolve: () => (signal.removeEventListener('abort', onAbort), resolve()),
              reject: (e) => (signal.removeEventListener('abort', onAbort), reject(e)),
            };
            ws.send(beat.message(t), (err) => err && pending?.reject(err));
          });
        });
        pending = undefined;
        if (!r.ok && closed) break;
        this.nextAtMs = at + this.client.heartbeatMs;
      }
    } finally {
      ws.off('message', onMessage);
      ws.off('close', onClose);
    }
    return this.stopped ? 'stopped' : 'dropped';
  }

  /** Closes everything the participant holds. */
  async close(): Promise<void> {
    for (const ws of this.sockets) ws.terminate();
    this.sockets.clear();
    await this.http.close();
  }
}
