// A WebSocket as a journey uses it: open, send, and wait for the message that matches, whatever comes in between.
// It runs on a bare socket (see held-socket.ts): the participant's own HTTP/1.1 connection asks for the upgrade
// and hands its socket over, so a join-and-leave cycle costs one connection and nothing more.
import { TimeoutError } from '../api/errors.js';
import type { BareWebSocket } from './held-socket.js';
import type { HeldConnection, WsConnection, WsMessage } from '../api/vu.js';

/** Messages kept for a later waitFor at most; older ones are dropped first. */
const KEPT = 1_000;

export class UserSocket implements WsConnection {
  private inbox: WsMessage[] = [];
  private waiter?: () => void;
  private closedWith?: Error;
  private inboxBytes = 0;

  constructor(private readonly ws: BareWebSocket) {
    ws.listener = {
      message: (text) => this.keep({ text, json: jsonOf(text) }, text.length),
      binary: (data) => this.keep({ text: '', json: undefined, binary: data }, data.length),
      closed: () => {
        this.closedWith = ws.failure ?? Object.assign(new Error(`the WebSocket closed${ws.closeCode ? ` (${ws.closeCode})` : ''}`), { code: 'ECONNRESET' });
        this.waiter?.();
      },
    };
  }

  /** Keeps a message for a later waitFor: at most KEPT of them and one answer's worth of bytes, oldest dropped first. */
  private keep(m: WsMessage, size: number): void {
    this.inbox.push(m);
    this.inboxBytes += size;
    while (this.inbox.length > 1 && (this.inbox.length > KEPT || this.inboxBytes > this.ws.maxBytes)) {
      const old = this.inbox.shift()!;
      this.inboxBytes -= old.binary ? old.binary.length : old.text.length;
    }
    this.waiter?.();
  }

  send(data: string | object): void {
    this.ws.send(typeof data === 'string' ? data : JSON.stringify(data));
  }

  /** Resolves with the first message (already in or still to come) that `match` accepts; the ones before it are passed over. */
  waitFor(match: (m: WsMessage) => boolean, opts: { signal: AbortSignal; timeoutMs?: number; what?: string }): Promise<WsMessage> {
    return new Promise((resolve, reject) => {
      const what = opts.what ?? 'the expected message';
      // Timers run before the event loop reads the sockets: the wait times out only if the message is still missing
      // once what came in has been read.
      const late = () => {
        if (this.waiter !== check) return;
        check();
        if (this.waiter === check) done(() => reject(new TimeoutError(`no ${what} within ${opts.timeoutMs} ms`)));
      };
      const timer = opts.timeoutMs === undefined ? undefined : setTimeout(() => setImmediate(late), opts.timeoutMs);
      const onAbort = () => done(() => reject(opts.signal.reason));
      const check = () => {
        const i = this.inbox.findIndex(match);
        if (i >= 0) {
          const [m] = this.inbox.splice(0, i + 1).slice(-1);
          return done(() => resolve(m!));
        }
        if (this.closedWith) done(() => reject(this.closedWith));
      };
      const done = (f: () => void) => {
        clearTimeout(timer);
        opts.signal.removeEventListener('abort', onAbort);
        this.waiter = undefined;
        f();
      };
      opts.signal.addEventListener('abort', onAbort, { once: true });
      this.waiter = check;
      check();
    });
  }

  close(): void {
    this.ws.terminate();
  }

  /** Hands the WebSocket over (to a hold): this no longer keeps what comes in. */
  detach(): HeldConnection {
    this.ws.listener = undefined;
    this.inbox = [];
    return this.ws;
  }
}

function jsonOf(text: string): unknown {
  if (!text.startsWith('{') && !text.startsWith('[')) return undefined;
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}
