// A WebSocket of one participant in k6 (k6/websockets): what a journey sends and waits for, and what vu.hold holds on.
import { clearTimeout, setTimeout } from 'k6/timers';
import { WebSocket } from 'k6/websockets';
import { TimeoutError } from '../../api/errors.js';
import type { HeldConnection, HeldListener, WsConnection, WsMessage } from '../../api/vu.js';
import { overBytes, tooLarge } from './limits.js';

/** Messages kept for a later waitFor; older ones are passed over, as a journey only waits for recent ones. */
const INBOX = 256;

interface Waiter {
  match: (m: WsMessage) => boolean;
  resolve: (m: WsMessage) => void;
  reject: (e: unknown) => void;
}

function connectionError(text: string): Error {
  const code = /refused/i.test(text) ? 'ECONNREFUSED' : /timeout/i.test(text) ? 'ETIMEDOUT' : /no such host|lookup/i.test(text) ? 'ENOTFOUND' : /tls|certificate|x509/i.test(text) ? 'ERR_TLS' : 'ECONNRESET';
  return Object.assign(new Error(`WebSocket: ${text}`), { code });
}

export class K6Socket implements WsConnection, HeldConnection {
  listener?: HeldListener;
  private inbox: WsMessage[] = [];
  private waiters: Waiter[] = [];
  private closed = false;
  /** Why the connection ended, for a waitFor after it did. */
  private gone?: Error;

  private constructor(private sock: WebSocket, private maxAnswerBytes: number) {
    sock.onmessage = (e) => this.received(typeof e?.data === 'string' ? e.data : '');
    sock.onclose = () => this.ended();
    sock.onerror = () => this.ended();
  }

  /** Opens a WebSocket; resolves once open, rejects as the connection failed or the signal aborted. A message over `maxAnswerBytes` ends it as too_large. */
  static open(url: string, headers: Record<string, string>, signal: AbortSignal, maxAnswerBytes: number): Promise<K6Socket> {
    signal.throwIfAborted();
    return new Promise((resolve, reject) => {
      const sock = new WebSocket(url, null, { headers });
      let settled = false;
      const onAbort = () => settle(() => (sock.close(), reject(signal.reason)));
      const settle = (f: () => void) => {
        if (settled) return;
        settled = true;
        signal.removeEventListener('abort', onAbort);
        f();
      };
      signal.addEventListener('abort', onAbort);
      sock.onopen = () => settle(() => resolve(new K6Socket(sock, maxAnswerBytes)));
      sock.onerror = (e) => settle(() => reject(connectionError(String((e as { error?: unknown } | undefined)?.error ?? 'the connection failed'))));
      sock.onclose = () => settle(() => reject(connectionError('closed before it opened')));
    });
  }

  private received(text: string): void {
    const over = overBytes(text, this.maxAnswerBytes);
    if (over !== undefined) {
      this.sock.close();
      return this.ended(tooLarge('a WebSocket message', over, this.maxAnswerBytes));
    }
    if (this.listener) return this.listener.message(text);
    let json: unknown;
    try {
      const v: unknown = JSON.parse(text);
      json = v !== null && typeof v === 'object' ? v : undefined;
    } catch {
      json = undefined;
    }
    const m: WsMessage = { text, json };
    const w = this.waiters.find((x) => x.match(m));
    if (w) {
      this.waiters = this.waiters.filter((x) => x !== w);
      return w.resolve(m);
    }
    this.inbox.push(m);
    if (this.inbox.length > INBOX) this.inbox.shift();
  }

  private ended(why?: Error): void {
    if (this.closed) return;
    this.closed = true;
    const gone = (this.gone = why ?? Object.assign(new Error('the server closed the connection'), { code: 'ECONNRESET' }));
    for (const w of this.waiters) w.reject(gone);
    this.waiters = [];
    this.listener?.closed();
  }

  send(data: string | object): void {
    if (!this.closed) this.sock.send(typeof data === 'string' ? data : JSON.stringify(data));
  }

  waitFor(match: (m: WsMessage) => boolean, opts: { signal: AbortSignal; timeoutMs?: number; what?: string }): Promise<WsMessage> {
    const have = this.inbox.findIndex(match);
    if (have >= 0) return Promise.resolve(this.inbox.splice(0, have + 1).pop()!);
    if (this.closed) return Promise.reject(this.gone ?? Object.assign(new Error('the connection is closed'), { code: 'ECONNRESET' }));
    return new Promise((resolve, reject) => {
      let timer: ReturnType<typeof setTimeout> | undefined;
      const done = () => {
        if (timer !== undefined) clearTimeout(timer);
        opts.signal.removeEventListener('abort', onAbort);
        this.waiters = this.waiters.filter((x) => x !== w);
      };
      const w: Waiter = { match, resolve: (m) => (done(), resolve(m)), reject: (e) => (done(), reject(e)) };
      const onAbort = () => w.reject(opts.signal.reason);
      opts.signal.addEventListener('abort', onAbort);
      if (opts.timeoutMs !== undefined) timer = setTimeout(() => w.reject(new TimeoutError(`no ${opts.what ?? 'answer'} within ${opts.timeoutMs} ms`)), opts.timeoutMs);
      this.waiters.push(w);
    });
  }

  close(): void {
    this.sock.close();
  }

  /** Says `farewell` and closes cleanly (a closing handshake). */
  leave(farewell: string): Promise<void> {
    this.send(farewell);
    this.closed = true;
    this.sock.close();
    return Promise.resolve();
  }

  terminate(): void {
    this.closed = true;
    this.sock.close();
  }
}
