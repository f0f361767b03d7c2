// Held connections: the one socket a joined participant keeps open for heartbeats, as small as it can be.
//
// A `ws` WebSocket costs about 10 KB of memory per connection (its Receiver and Sender streams on top of the
// socket); a bare socket costs far less. Tens of thousands of held participants are mostly this, so the plain
// text-frame protocol of a media heartbeat runs on the bare socket: the participant's HTTP/1.1 connection does the
// upgrade and hands its socket over, ws's Sender builds the masked frames, and the few frame kinds a server sends
// are read here. A plain connection to an address stays on Node's TCP handle (a RawTcp) after the switch: no
// net.Socket is made for it at all.
import { createHash, randomBytes } from 'node:crypto';
import type { Socket } from 'node:net';
import * as wsModule from 'ws';
import { Http1Connection, headerLines, takeOver, type ConnectionOptions, type SocketOwner } from './http1.js';
import { RawTcp } from './raw-tcp.js';
import { HttpStatusError, ProtocolError } from '../api/errors.js';
import { TooLargeError, WsProtocolError } from './address-guard.js';
import type { HeldConnection, HeldListener } from '../api/vu.js';

interface FrameOptions { fin: boolean; opcode: number; mask: boolean; readOnly: boolean; rsv1: boolean }
// ws exports its frame builder, though its type declarations leave it out.
const Sender = (wsModule as unknown as { Sender: { frame(data: Buffer, o: FrameOptions): Buffer[] } }).Sender;
const GUID = '258EAFA5-E914-47DA-95CA-C5AB0DC85B11';
/** Messages a bare WebSocket keeps while nobody listens. */
const EARLY_KEPT = 16;

/** Who hears a bare WebSocket: its text messages, and its binary ones where it cares for them (else as text). */
export interface BareListener extends HeldListener {
  binary?(data: Buffer): void;
}

/** A client WebSocket on a bare socket: text frames out (masked), text, binary, ping and close frames in. */
export class BareWebSocket implements HeldConnection, SocketOwner {
  private heard?: BareListener;
  /** What came before anyone listened (between the upgrade and its caller's next turn): handed over once someone does. */
  private early?: { data: Buffer; binary: boolean }[];
  private endedEarly = false;
  /** The status code of the server's close frame, when it sent one. */
  closeCode?: number;
  /** Whether the message being put together from fragments is binary. */
  private partsBinary = false;
  private rest?: Buffer;
  private parts?: Buffer[];
  private partBytes = 0;
  private ended = false;
  /** Why this side ended the connection: the peer broke the protocol, or sent too much. */
  failure?: Error;
  /** Told when the connection has closed (leave waits for it). */
  private onClosed?: () => void;

  /** `maxBytes`: the most bytes of one message, its fragments together; past it the connection fails as too_large. */
  constructor(private s: Socket | RawTcp, head: Buffer, readonly maxBytes: number) {
    takeOver(s, this);
    if (head.length) this.feedSoon(head);
    // A socket that closed before it was taken over told its old owner; the hold hears it all the same.
    if (s.closed) queueMicrotask(() => this.closed());
  }

  data(_s: Socket, d: Buffer): void {
    this.feed(d);
  }

  error(): void {
    // The close follows, and is what the hold hears.
  }

  closed(): void {
    this.ended = true;
    this.onClosed?.();
    if (this.heard) this.heard.closed();
    else this.endedEarly = true;
  }

  get listener(): BareListener | undefined {
    return this.heard;
  }

  set listener(l: BareListener | undefined) {
    this.heard = l;
    if (!l) return;
    const early = this.early;
    this.early = undefined;
    for (const m of early ?? []) this.deliver(m.data, m.binary);
    if (this.endedEarly) {
      this.endedEarly = false;
      l.closed();
    }
  }

  /** Bytes that came with the upgrade, read once the caller has set its handlers (kept out of the listeners' scope). */
  private feedSoon(head: Buffer): void {
    queueMicrotask(() => this.feed(head));
  }

  private frame(opcode: number, data: Buffer): void {
    if (this.ended) return;
    const parts = Sender.frame(data, { fin: true, opcode, mask: true, readOnly: false, rsv1: false });
    const s = this.s;
    if (s instanceof RawTcp) s.write(parts.length === 1 ? parts[0]! : Buffer.concat(parts));
    else {
      s.cork();
      for (const b of parts) s.write(b);
      s.uncork();
    }
  }

  send(text: string): void {
    this.frame(1, Buffer.from(text));
  }

  terminate(): void {
    this.ended = true;
    this.s.destroy();
  }

  leave(farewell: string): Promise<void> {
    this.send(farewell);
    // A closing handshake (code 1000), then the socket ends; one that lingers is cut 2 s later.
    const code = Buffer.alloc(2);
    code.writeUInt16BE(1000);
    this.frame(0x8, code);
    this.ended = true;
    this.s.end();
    const cut = setTimeout(() => this.s.destroy(), 2_000);
    return new Promise((resolve) => {
      if (this.s.closed) return resolve(clearTimeout(cut));
      this.onClosed = () => resolve(clearTimeout(cut));
    });
  }

  feed(chunk: Buffer): void {
    let b = this.rest ? Buffer.concat([this.rest, chunk]) : chunk;
    this.rest = undefined;
    while (b.length >= 2) {
      const fin = (b[0]! & 0x80) !== 0;
      const opcode = b[0]! & 0x0f;
      let len = b[1]! & 0x7f;
      let at = 2;
      if (b[1]! & 0x80) return this.fail(new WsProtocolError('the server masked a frame'));
      // No extension was asked for, so no reserved bit may be set; opcodes 3–7 and 11–15 are reserved.
      if (b[0]! & 0x70) return this.fail(new WsProtocolError('a frame with a reserved bit set'));
      if ((opcode > 0x2 && opcode < 0x8) || opcode > 0xa) return this.fail(new WsProtocolError(`a frame with the reserved opcode ${opcode}`));
      if (opcode >= 0x8 && (!fin || len > 125)) return this.fail(new WsProtocolError('a control frame that is fragmented or longer than 125 bytes'));
      if (len === 126) {
        if (b.length < 4) break;
        len = b.readUInt16BE(2);
        at = 4;
      } else if (len === 127) {
        if (b.length < 10) break;
        len = Number(b.readBigUInt64BE(2));
        at = 10;
      }
      if (len > this.maxBytes) return this.fail(new TooLargeError(`a WebSocket frame of ${len} bytes, over ${this.maxBytes} (--max-answer)`));
      if (b.length < at + len) break;
      const payload = b.subarray(at, at + len);
      b = b.subarray(at + len);
      if (opcode === 0x8) {
        if (payload.length >= 2) this.closeCode = payload.readUInt16BE(0);
        this.frame(0x8, Buffer.alloc(0));
        this.s.end();
        return;
      }
      if (opcode === 0x9) this.frame(0xa, Buffer.from(payload));
      else if (opcode === 0x1 || opcode === 0x2 || opcode === 0x0) {
        if (opcode === 0x0 && !this.parts) return this.fail(new WsProtocolError('a continuation frame with no message to continue'));
        if (!fin || this.parts) {
          if (!this.parts) this.partsBinary = opcode === 0x2;
          (this.parts ??= []).push(Buffer.from(payload));
          this.partBytes += payload.length;
          if (this.partBytes > this.maxBytes) return this.fail(new TooLargeError(`a WebSocket message over ${this.maxBytes} bytes in fragments (--max-answer)`));
          if (!fin) continue;
          const whole = Buffer.concat(this.parts);
          this.parts = undefined;
          this.partBytes = 0;
          this.deliver(whole, this.partsBinary);
        } else this.deliver(payload, opcode === 0x2);
      }
    }
    if (b.length) this.rest = Buffer.from(b);
  }

  private deliver(data: Buffer, binary: boolean): void {
    const l = this.heard;
    if (!l) {
      // A few, for whoever listens next; a connection nobody listens to keeps no more.
      if ((this.early ??= []).length < EARLY_KEPT) this.early.push({ data: Buffer.from(data), binary });
      return;
    }
    if (binary && l.binary) l.binary(Buffer.from(data));
    else l.message(data.toString());
  }

  private fail(why: Error): void {
    this.failure = why;
    // Its close is what the listener hears; the reason is `failure`.
    this.s.destroy();
  }
}

/**
 * Opens a WebSocket on a bare socket: the participant's HTTP/1.1 connection asks for the upgrade (with `protocol` as
 * its subprotocol, if any) and the socket it answers on becomes the WebSocket. Fails like the other steps: an HTTP
 * status instead of the upgrade, a refused or reset connection, a wrong accept key, the signal.
 */
export function openWebSocket(
  url: string, signal: AbortSignal, o: ConnectionOptions & { headers?: Record<string, string>; protocol?: string } = {},
): Promise<BareWebSocket> {
  return new Promise((resolve, reject) => {
    const u = new URL(url);
    if (u.protocol !== 'ws:' && u.protocol !== 'wss:') return reject(new ProtocolError(`not a WebSocket URL: ${url}`));
    const conn = new Http1Connection(new URL(`${u.protocol === 'wss:' ? 'https' : 'http'}://${u.host}`), { localAddress: o.localAddress, source: o.source, net: o.net });
    const key = randomBytes(16).toString('base64');
    const head =
      'connection: Upgrade\r\nupgrade: websocket\r\nsec-websocket-version: 13\r\nsec-websocket-key: ' + key + '\r\nuser-agent: firstbell\r\n' +
      (o.protocol ? `sec-websocket-protocol: ${o.protocol}\r\n` : '');
    const fail = (err: unknown) => {
      signal.removeEventListener('abort', onAbort);
      conn.abort(err);
      reject(err);
    };
    const onAbort = () => fail(signal.reason ?? new Error('aborted'));
    if (signal.aborted) return onAbort();
    signal.addEventListener('abort', onAbort, { once: true });
    let headers: string;
    try {
      // A header with a line break throws here, which rejects.
      headers = head + headerLines(o.headers);
    } catch (e) {
      return fail(e);
    }
    conn.request('GET', u.pathname + u.search, headers, undefined, true).then((a) => {
      if (!a.switched) return fail(new HttpStatusError(a.status, 'websocket handshake'));
      const accept = createHash('sha1').update(key + GUID).digest('base64');
      let got: string | undefined;
      for (let i = 0; i < a.raw.length; i += 2) if (a.raw[i]!.toLowerCase() === 'sec-websocket-accept') got = a.raw[i + 1];
      if (got !== accept) {
        a.switched.socket.destroy();
        return fail(new ProtocolError('the server answered the upgrade with a wrong Sec-WebSocket-Accept'));
      }
      signal.removeEventListener('abort', onAbort);
      resolve(new BareWebSocket(a.switched.socket, a.switched.rest, conn.net.maxAnswerBytes));
    }, fail);
  });
}
