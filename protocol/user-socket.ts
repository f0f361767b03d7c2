// A WebSocket as a journey uses it: open, send, and wait for the message that matches, whatever comes in between.
import WebSocket from 'ws';
import { TimeoutError } from '../api/errors.js';
import { answerLimits, TooLargeError, WsProtocolError } from './answer-limits.js';
import type { WsConnection, WsMessage } from '../api/target.js';

/** Messages kept for a later waitFor at most; older ones are dropped first. */
const KEPT = 1_000;

export class UserSocket implements WsConnection {
  private inbox: WsMessage[] = [];
  private waiter?: () => void;
  private closedWith?: Error;
  private inboxBytes = 0;
  /** What ws said went wrong before the close: a protocol violation or a message over the limit. */
  private broken?: Error;

  private readonly onMessage: (data: WebSocket.RawData, isBinary: boolean) => void;

  constructor(private readonly ws: WebSocket) {
    this.onMessage = (data, isBinary) => {
      const text = isBinary ? undefined : String(data);
      let json: unknown;
      if (text !== undefined && (text.startsWith('{') || text.startsWith('['))) {
        try {
          json = JSON.parse(text);
        } catch {
          json = undefined;
        }
      }
      const size = isBinary ? (data as Buffer).length : (text?.length ?? 0);
      this.inbox.push({ text: text ?? '', json, binary: isBinary ? (data as Buffer) : undefined });
      this.inboxBytes += size;
      // Kept for a later waitFor: at most KEPT messages and one answer's worth of bytes, oldest dropped first.
      while (this.inbox.length > 1 && (this.inbox.length > KEPT || this.inboxBytes > answerLimits.maxAnswerBytes)) {
        const old = this.inbox.shift()!;
        this.inboxBytes -= old.binary ? old.binary.length : old.text.length;
      }
      this.waiter?.();
    };
    ws.on('message', this.onMessage);
    ws.on('error', (e: Error & { code?: string }) => {
      if (e.code === 'WS_ERR_UNSUPPORTED_MESSAGE_LENGTH') this.broken = new TooLargeError(`a WebSocket message over ${answerLimits.maxAnswerBytes} bytes (--max-answer)`);
      else if (e.code?.startsWith('WS_ERR_')) this.broken = new WsProtocolError(`the WebSocket peer broke the protocol: ${e.message}`);
    });
    ws.once('close', (code) => {
      this.closedWith = this.broken ?? Object.assign(new Error(`the WebSocket closed (${code})`), { code: 'ECONNRESET' });
      this.waiter?.();
    });
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
  detach(): WebSocket {
    this.ws.off('message', this.onMessage);
    this.inbox = [];
    return this.ws;
  }
}
