// One participant's HTTP/1.1 connection: a request written in one go, the answer read by a small parser.
//
// The client is the generator's main cost per request, and a pupil's journey is a handful of requests on one
// connection of its own, mostly a new one. A general client pays for pools, queues, streams and validation on
// every request and for several error objects on every close; this connection does one request at a time and
// nothing else. It reads status, headers and bodies sized by Content-Length, chunked or ended by the close,
// and hands its socket over when the server switches protocols (a WebSocket's upgrade).
import { connect as netConnect, isIP, type Socket } from 'node:net';
import { connect as tlsConnect } from 'node:tls';
import { LOOPBACK_ONLY, TooLargeError, type NetPolicy } from './address-guard.js';
import { RawTcp, rawTcpFor } from './raw-tcp.js';
import { watchPort, type SourcePort } from './source-ports.js';

/** An answer as it came: status, header names and values in order (as received), body bytes. */
export interface Http1Answer {
  status: number;
  /** Alternating names and values. */
  raw: string[];
  body: Buffer[];
  /**
   * After 101 Switching Protocols: the connection (a net.Socket, or a RawTcp for a plain one to an address), which
   * the HTTP connection let go paused, and the bytes that followed the head.
   */
  switched?: { socket: Socket | RawTcp; rest: Buffer };
}

/** The server's bytes are not an HTTP/1.x answer. */
export class HttpParseError extends Error {
  readonly code = 'HPE_INVALID';
}

const MAX_HEAD = 64 * 1024;
/** What a reader holds between answers: frozen, so that a stray write to it fails loudly. */
const NOTHING = Object.freeze([]) as unknown as never[];
const enum Mode { Head, Length, ChunkLine, ChunkData, ChunkEnd, Trailers, UntilClose, Switched, Done }

/**
 * Reads one answer after another from a connection's bytes. Answers must not come unasked: bytes after a
 * complete answer, before the next request, are an error (as they are to browsers with one request in flight).
 */
export class ResponseReader {
  private mode = Mode.Done;
  private head?: Buffer;
  private line = '';
  private left = 0;
  /** Body bytes of the answer so far. */
  private got = 0;
  private noBody = false;
  private upgrade = false;
  status = 0;
  keepAlive = true;
  raw: string[] = NOTHING;
  body: Buffer[] = NOTHING;
  /** After 101 Switching Protocols: the bytes that came after the head, which belong to the new protocol. */
  rest?: Buffer;

  /** `maxBytes`: the most body bytes of one answer; past it the step fails as too_large. */
  constructor(private onAnswer: () => void, private readonly maxBytes: number) {}

  /** Expects the answer to a request; `noBody` for HEAD, `upgrade` when the request asks to switch protocols. */
  expect(noBody: boolean, upgrade = false): void {
    this.mode = Mode.Head;
    this.noBody = noBody;
    this.upgrade = upgrade;
    this.head = undefined;
    this.line = '';
    this.status = 0;
    this.raw = NOTHING;
    this.body = [];
    this.got = 0;
  }

  /** An answer is under way or expected. */
  get waiting(): boolean {
    return this.mode !== Mode.Done;
  }

  /** Whether the connection's end completes the answer (a body that runs to the close). */
  ended(): boolean {
    if (this.mode !== Mode.UntilClose) return false;
    this.finish();
    return true;
  }

  /** Throws HttpParseError on bytes that are not HTTP. */
  feed(d: Buffer): void {
    let i = 0;
    while (i < d.length) {
      switch (this.mode) {
        case Mode.Done:
          throw new HttpParseError('the server sent bytes nobody asked for');
        case Mode.Head: {
          let buf = i ? d.subarray(i) : d;
          const from = this.head ? Math.max(0, this.head.length - 3) : 0;
          if (this.head) buf = Buffer.concat([this.head, buf]);
          const end = buf.indexOf('\r\n\r\n', from, 'latin1');
          if (end < 0) {
            if (buf.length > MAX_HEAD) throw new HttpParseError(`the answer's head is longer than ${MAX_HEAD} bytes`);
            this.head = buf;
            return;
          }
          this.head = undefined;
          const switched = this.readHead(buf.toString('latin1', 0, end));
          d = buf;
          i = end + 4;
          if (switched) {
            this.rest = d.subarray(i);
            this.finish();
            return;
          }
          break;
        }
        case Mode.Length:
          i = this.take(d, i);
          if (this.left === 0) this.finish();
          break;
        case Mode.ChunkLine:
        case Mode.ChunkEnd:
        case Mode.Trailers: {
          const nl = d.indexOf(10, i);
          if (nl < 0) {
            this.line += d.toString('latin1', i);
            if (this.line.length > MAX_HEAD) throw new HttpParseError('a chunk line is too long');
            return;
          }
          let line = this.line + d.toString('latin1', i, nl);
          this.line = '';
          i = nl + 1;
          if (line.endsWith('\r')) line = line.slice(0, -1);
          this.readLine(line);
          break;
        }
        case Mode.ChunkData:
          i = this.take(d, i);
          if (this.left === 0) this.mode = Mode.ChunkEnd;
          break;
        case Mode.UntilClose:
          this.count(d.length - i);
          this.body.push(i ? d.subarray(i) : d);
          return;
        case Mode.Switched:
          throw new HttpParseError('bytes after the switch of protocols reached the HTTP reader');
      }
    }
  }

  /** Takes up to `left` body bytes of `d` from `i`; returns where reading goes on. */
  private take(d: Buffer, i: number): number {
    const n = Math.min(this.left, d.length - i);
    this.count(n);
    this.body.push(d.subarray(i, i + n));
    this.left -= n;
    return i + n;
  }

  /** Counts body bytes; past the limit the answer is not read on. */
  private count(n: number): void {
    this.got += n;
    if (this.got > this.maxBytes) throw new TooLargeError(`the answer's body is over ${this.maxBytes} bytes (--max-answer)`);
  }

  private readLine(line: string): void {
    if (this.mode === Mode.ChunkEnd) {
      if (line !== '') throw new HttpParseError('a chunk does not end where its size says');
      this.mode = Mode.ChunkLine;
    } else if (this.mode === Mode.ChunkLine) {
      const semi = line.indexOf(';');
      const hex = (semi < 0 ? line : line.slice(0, semi)).trim();
      if (!/^[0-9a-fA-F]{1,8}$/.test(hex)) throw new HttpParseError(`bad chunk size "${hex.slice(0, 20)}"`);
      this.left = parseInt(hex, 16);
      this.mode = this.left === 0 ? Mode.Trailers : Mode.ChunkData;
    } else if (line === '') {
      this.finish();
    }
  }

  /** Reads an answer's head; true when it switched protocols (the bytes after it are not HTTP). */
  private readHead(text: string): boolean {
    // "HTTP/1.1 200 OK"
    if (!text.startsWith('HTTP/1.') || text.charCodeAt(8) !== 32) throw new HttpParseError(`the answer does not start with "HTTP/1.x": "${text.slice(0, 40)}"`);
    const status = Number(text.slice(9, 12));
    if (!(status >= 100 && status <= 999)) throw new HttpParseError(`bad status line "${text.slice(0, 40)}"`);
    const http10 = text.charCodeAt(7) === 48;
    let keepAlive = !http10;
    let length = -1;
    let chunked = false;
    const raw: string[] = [];
    let at = text.indexOf('\r\n');
    while (at >= 0) {
      // A header's name and value are cut out of the head as they are: two strings a header, no more.
      const start = at + 2;
      const next = text.indexOf('\r\n', start);
      const end = next < 0 ? text.length : next;
      at = next;
      const colon = text.indexOf(':', start);
      if (colon <= start || colon >= end) throw new HttpParseError(`bad header line "${text.slice(start, Math.min(end, start + 40))}"`);
      const name = text.slice(start, colon);
      let from = colon + 1;
      let to = end;
      while (from < to && isBlank(text.charCodeAt(from))) from++;
      while (to > from && isBlank(text.charCodeAt(to - 1))) to--;
      const value = text.slice(from, to);
      raw.push(name, value);
      // Only three headers shape the reading; compared by length first.
      if (name.length === 14 && name.toLowerCase() === 'content-length') {
        const n = /^\d{1,15}$/.test(value) ? Number(value) : NaN;
        if (Number.isNaN(n) || (length >= 0 && n !== length)) throw new HttpParseError(`bad Content-Length "${value.slice(0, 20)}"`);
        length = n;
      } else if (name.length === 17 && name.toLowerCase() === 'transfer-encoding') {
        chunked = /(^|,)\s*chunked\s*$/i.test(value);
      } else if (name.length === 10 && name.toLowerCase() === 'connection') {
        const v = value.toLowerCase();
        if (v.includes('close')) keepAlive = false;
        else if (v.includes('keep-alive')) keepAlive = true;
      }
    }
    if (status === 101) {
      if (!this.upgrade) throw new HttpParseError('the server switched protocols unasked');
      [this.status, this.raw, this.mode] = [status, raw, Mode.Switched];
      return true;
    }
    // 100 Continue, 103 Early Hints: the answer follows.
    if (status < 200) return false;
    this.status = status;
    this.raw = raw;
    this.keepAlive = keepAlive;
    if (this.noBody || status === 204 || status === 304) this.finish();
    else if (chunked) this.mode = Mode.ChunkLine;
    else if (length > this.maxBytes) throw new TooLargeError(`the answer says its body is ${length} bytes, over ${this.maxBytes} (--max-answer)`);
    else if (length > 0) [this.mode, this.left] = [Mode.Length, length];
    else if (length === 0) this.finish();
    else [this.mode, this.keepAlive] = [Mode.UntilClose, false];
    return false;
  }

  private finish(): void {
    this.mode = Mode.Done;
    this.onAnswer();
  }
}

/** What String.prototype.trim takes off a Latin-1 value: tab, the line breaks, space and the no-break space. */
function isBlank(c: number): boolean {
  return c === 32 || (c >= 9 && c <= 13) || c === 160;
}

/** Header names and values may not break the request's lines. */
const UNSAFE = /[\r\n]/;

/** Header lines for a request's head, each ending in CRLF; throws on a name or value with a line break. */
export function headerLines(headers: Record<string, string> | undefined): string {
  let lines = '';
  for (const k in headers) {
    const v = headers[k]!;
    if (UNSAFE.test(k) || UNSAFE.test(v)) throw new Error(`header ${JSON.stringify(k)} has a line break in it`);
    lines += k + ': ' + v + '\r\n';
  }
  return lines;
}

/** The connection closed before the answer was whole. */
function closedEarly(): Error {
  return Object.assign(new Error('the server closed the connection before the answer was complete'), { code: 'ECONNRESET' });
}

/**
 * Requests are written together once the event loop has read everything that was ready, not one by one as
 * answers come in: a server woken once for a batch of requests costs this machine's kernel far less than one
 * woken for each (on loopback the sender pays for the wake-up), and the loop does fewer turns.
 */
let outbox: Http1Connection[] = [];

function post(c: Http1Connection): void {
  if (outbox.push(c) === 1) setImmediate(flushOutbox);
}

function flushOutbox(): void {
  const list = outbox;
  outbox = [];
  for (const c of list) c.flush();
}

interface Pending {
  // Settles the request's promise with the answer, or with what the caller's `shape` makes of it.
  resolve: (a: never) => void;
  reject: (e: unknown) => void;
  shape?: (a: Http1Answer) => unknown;
}

/** Who reads a socket: the HTTP connection that opened it, and after a switch of protocols whoever took it over. */
export interface SocketOwner {
  data(s: Socket | RawTcp, d: Buffer): void;
  error(s: Socket | RawTcp, e: Error): void;
  /** The socket closed: after 'error', or after the server's end and every byte before it. */
  closed(s: Socket | RawTcp): void;
}

const OWNER = Symbol('read by');
type Owned = Socket & { [OWNER]: SocketOwner };

// One set of listener functions for every socket (`this` is the socket): none made per connection, and a new owner
// takes a socket over without its listeners changing.
function socketData(this: Owned, d: Buffer): void {
  this[OWNER].data(this, d);
}
function socketError(this: Owned, e: Error): void {
  this[OWNER].error(this, e);
}
function socketClose(this: Owned): void {
  this[OWNER].closed(this);
}

/** Makes `owner` the reader of `s` (see SocketOwner). */
function own(s: Socket, owner: SocketOwner): void {
  (s as Owned)[OWNER] = owner;
  s.on('data', socketData);
  s.on('error', socketError);
  s.on('close', socketClose);
}

/** Takes over a socket that an Http1Connection let go after 101 Switching Protocols; it was paused until now. */
export function takeOver(s: Socket | RawTcp, owner: SocketOwner): void {
  if (s instanceof RawTcp) s.handTo(owner);
  else (s as Owned)[OWNER] = owner;
  s.resume();
}

/** Source ports a request tries after the kernel refused the one it had, before it fails as the generator's. */
const SOURCE_RETRIES = 4;

/** How a connection is made: its source address and port, and the run's network policy. */
export interface ConnectionOptions {
  localAddress?: string;
  source?: () => SourcePort;
  net?: NetPolicy;
}

/** What a connection needs of its origin, worked out once. */
interface OriginParts {
  tls: boolean;
  /** The host without an IPv6 address's brackets. */
  host: string;
  port: number;
  hostLine: string;
  address: boolean;
}

function partsOf(origin: URL): OriginParts {
  if (origin.protocol !== 'http:' && origin.protocol !== 'https:') throw new Error(`not an http(s) origin: ${origin.href}`);
  const tls = origin.protocol === 'https:';
  const host = origin.hostname.startsWith('[') ? origin.hostname.slice(1, -1) : origin.hostname;
  return { tls, host, port: Number(origin.port) || (tls ? 443 : 80), hostLine: ` HTTP/1.1\r\nhost: ${origin.host}\r\n`, address: isIP(host) !== 0 };
}

/** Origins a process keeps worked out, at most (a run has a few: the target's, a broker's, a media server's). */
const ORIGINS_KEPT = 256;
const origins = new Map<string, OriginParts>();

/** The parts of `origin` (an origin as URL.origin gives it), worked out once per process: every participant opens connections to it. */
function originOf(origin: string): OriginParts {
  let o = origins.get(origin);
  if (!o) {
    o = partsOf(new URL(origin));
    if (origins.size < ORIGINS_KEPT) origins.set(origin, o);
  }
  return o;
}

/**
 * A participant's connection to one origin. Opened on the first request, reopened after the server closed it,
 * one request at a time. `abort` ends the request under way and the connection with it.
 */
export class Http1Connection implements SocketOwner {
  /** A plain connection to an address (or to a name whose address a connection has reached) is a RawTcp (see raw-tcp.ts); TLS a net.Socket. */
  private socket?: Socket | RawTcp;
  private reader: ResponseReader;
  private pending?: Pending;
  /** The request written at the next flush. */
  private out?: string;
  private outBody?: string;
  /** The request written last, kept until its socket connects: it goes again on another source port if the kernel refused that one. */
  private sent?: { out: string; body: string | undefined };
  /** Source ports the kernel refused for this request (another process on this machine holds the same one). */
  private refusedPorts = 0;
  /** This request went by the name's lookup again after its reached address refused it. */
  private rerouted = false;
  private readonly tls: boolean;
  private readonly host: string;
  private readonly port: number;
  /** The Host header and the request line's tail, built once. */
  private readonly hostLine: string;
  /** Whether `host` is an address (not a name). */
  private readonly address: boolean;

  /** The run's network policy. */
  get net(): NetPolicy {
    return this.opts.net ?? LOOPBACK_ONLY;
  }

  /**
   * `source` gives the local address and port of each socket it opens (else `localAddress`, else the kernel's
   * choice); `net` is the run's policy (the addresses it may connect to, the size of an answer).
   */
  constructor(origin: URL | string, private opts: ConnectionOptions = {}) {
    ({ tls: this.tls, host: this.host, port: this.port, hostLine: this.hostLine, address: this.address } = typeof origin === 'string' ? originOf(origin) : partsOf(origin));
    this.reader = new ResponseReader(() => this.answered(), this.net.maxAnswerBytes);
  }

  /**
   * Sends one request. `headers` is the header block without Host and without the final empty line,
   * each line ending in CRLF. A Content-Length is added for a body. With `upgrade` (the headers ask to switch
   * protocols), a 101 answer comes with the socket, which this connection lets go (see `takeOver`).
   * `shape` makes the promise's value of the answer as it comes (an error it throws rejects it): a caller that
   * would make something of every answer needs no promise of its own for it.
   */
  request(method: string, path: string, headers: string, body: string | undefined, upgrade?: boolean): Promise<Http1Answer>;
  request<T>(method: string, path: string, headers: string, body: string | undefined, upgrade: boolean, shape: (a: Http1Answer) => T): Promise<T>;
  request<T>(method: string, path: string, headers: string, body: string | undefined, upgrade = false, shape?: (a: Http1Answer) => T): Promise<T | Http1Answer> {
    return new Promise((resolve, reject) => {
      if (this.pending) return reject(new Error('a request is already under way on this connection'));
      if (!this.socket) {
        try {
          this.net.assert(this.host);
        } catch (e) {
          return reject(e);
        }
        this.open();
      }
      this.pending = { resolve, reject, shape };
      this.reader.expect(method === 'HEAD', upgrade);
      const head = method + ' ' + path + this.hostLine + headers;
      this.out = body === undefined ? head + '\r\n' : head + 'content-length: ' + Buffer.byteLength(body) + '\r\n\r\n';
      this.outBody = body;
      post(this);
    });
  }

  /** Writes the request queued by request(), unless it was aborted since. */
  flush(): void {
    const s = this.socket;
    const out = this.out;
    this.out = undefined;
    if (!s || out === undefined || !this.pending) return;
    if ((this.opts.source || this.pinned(s)) && s.connecting) this.sent = { out, body: this.outBody };
    if (s instanceof RawTcp) {
      const body = this.outBody;
      this.outBody = undefined;
      s.write(body === undefined ? out : Buffer.concat([Buffer.from(out, 'latin1'), Buffer.from(body, 'utf8')]));
    } else if (this.outBody === undefined) s.write(out, 'latin1');
    else {
      s.cork();
      s.write(out, 'latin1');
      s.write(this.outBody, 'utf8');
      s.uncork();
      this.outBody = undefined;
    }
  }

  /** Ends the request under way, if any, with `reason`, and the connection. */
  abort(reason: unknown): void {
    const p = this.pending;
    this.pending = this.sent = undefined;
    this.refusedPorts = 0;
    this.rerouted = false;
    this.close();
    p?.reject(reason);
  }

  close(): void {
    const s = this.socket;
    this.socket = undefined;
    s?.destroy();
  }

  private open(): Socket | RawTcp {
    const from = this.opts.source?.();
    // A name goes on the raw handle too once a connection to it has reached an address (by net.Socket and the policy's lookup).
    const address = this.tls ? undefined : this.address ? this.host : this.net.reachedAddress(this.host);
    if (address !== undefined && rawTcpFor(address)) return (this.socket = new RawTcp(this, address, this.port, from, from ? undefined : this.opts.localAddress));
    const local = from ? { localAddress: from.localAddress, localPort: from.localPort } : this.opts.localAddress ? { localAddress: this.opts.localAddress } : {};
    const o = { host: this.host, port: this.port, noDelay: true, lookup: this.net.lookup, ...local };
    const s = (this.tls ? tlsConnect({ ...o, servername: this.address ? undefined : this.host, ALPNProtocols: ['http/1.1'] }) : netConnect(o)) as Owned;
    if (!this.tls && !this.address) {
      const net = this.net;
      const host = this.host;
      s.once('connect', () => net.noteReached(host, s.remoteAddress));
    }
    if (from) watchPort(s, from);
    this.socket = s;
    own(s, this);
    return s;
  }

  data(s: Socket | RawTcp, d: Buffer): void {
    if (this.socket !== s) return;
    try {
      this.reader.feed(d);
    } catch (e) {
      this.fail(s, e);
    }
  }

  error(s: Socket | RawTcp, e: Error): void {
    const code = (e as NodeJS.ErrnoException).code;
    const again = this.socket === s ? this.sent : undefined;
    // A source port that something else on this machine holds too (another run beside this one): another port, the same request.
    if (again && (code === 'EADDRNOTAVAIL' || code === 'EADDRINUSE') && this.refusedPorts++ < SOURCE_RETRIES) return this.resend(s, again);
    // The address the name's earlier connections reached refuses now (the server moved to another of the name's
    // addresses): the request goes as the name's first connection did, by the lookup among all its addresses.
    const unreached = code === 'ECONNREFUSED' || code === 'EHOSTUNREACH' || code === 'ENETUNREACH';
    if (again && unreached && this.pinned(s) && !this.rerouted && this.net.forgetReached(this.host, s.address)) {
      this.rerouted = true;
      return this.resend(s, again);
    }
    this.fail(s, e);
  }

  /** Whether `s` is a raw connection to the address that a connection to the name `host` reached earlier in the run. */
  private pinned(s: Socket | RawTcp): s is RawTcp {
    return s instanceof RawTcp && !this.address;
  }

  /** Sends the request that `s` could not connect for (`again`) on a new connection. */
  private resend(s: Socket | RawTcp, again: { out: string; body: string | undefined }): void {
    this.socket = undefined;
    s.destroy();
    try {
      this.open();
    } catch (err) {
      // No port left: the request fails as the generator's.
      const p = this.pending;
      this.pending = this.sent = undefined;
      return p?.reject(err);
    }
    this.out = again.out;
    this.outBody = again.body;
    post(this);
  }

  closed(s: Socket | RawTcp): void {
    // A body that runs to the close is whole now (no error came first: that would have failed the request).
    if (this.socket === s && this.pending && this.reader.ended()) return;
    this.fail(s);
  }

  private answered(): void {
    this.sent = undefined;
    this.refusedPorts = 0;
    this.rerouted = false;
    const p = this.pending;
    const r = this.reader;
    const answer: Http1Answer = { status: r.status, raw: r.raw, body: r.body };
    // The answer belongs to the caller now; the reader keeps nothing of it.
    r.raw = r.body = NOTHING;
    this.pending = undefined;
    if (r.status === 101 && this.socket) {
      // The socket speaks another protocol now: paused until its new owner takes it over, and no longer this
      // connection's (a next request opens another).
      const socket = this.socket;
      socket.pause();
      answer.switched = { socket, rest: r.rest! };
      r.rest = undefined;
      this.socket = undefined;
    } else if (!r.keepAlive) this.close();
    if (!p) return;
    if (!p.shape) return p.resolve(answer as never);
    let value: unknown;
    try {
      value = p.shape(answer);
    } catch (e) {
      return p.reject(e);
    }
    p.resolve(value as never);
  }

  /**
   * The socket `s` failed with `e`, or closed (no `e`): the request on it, if any, fails; the next request opens
   * a new one. The error for an early close is made only when a request is there to fail.
   */
  private fail(s: Socket | RawTcp, e?: unknown): void {
    if (this.socket !== s) return;
    this.socket = this.sent = undefined;
    this.refusedPorts = 0;
    this.rerouted = false;
    s.destroy();
    const p = this.pending;
    this.pending = undefined;
    p?.reject(e ?? closedEarly());
  }
}
