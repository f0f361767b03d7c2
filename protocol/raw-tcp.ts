// A plain TCP connection on Node's own TCP handle (libuv's stream), without net.Socket's stream machinery.
//
// A new-connection arrival is mostly the kernel's connect and close; on top of them net.Socket builds a Duplex
// stream, its two states, its buffers and its events for every connection, which costs about as much again as the
// kernel does. An HTTP/1.1 request on a connection of its own needs none of it: a connect, one write, the reads
// and the close. The handle is the same one net.Socket wraps; where it is not there (another Node.js), or where it
// would warn (`--pending-deprecation`), connections go through net.Socket as before.
import { isIP } from 'node:net';
import { constants } from 'node:os';
import { getSystemErrorName } from 'node:util';
import type { SourcePort } from './source-ports.js';

const osErrno = constants.errno;

/** Who hears a raw connection: its bytes, its error (before its close) and its close. */
export interface RawOwner {
  data(c: RawTcp, d: Buffer): void;
  error(c: RawTcp, e: Error): void;
  closed(c: RawTcp): void;
}

interface Req {
  oncomplete: (...args: never[]) => void;
  [k: string]: unknown;
}
interface TcpHandle {
  bind(address: string, port: number): number;
  bind6(address: string, port: number, flags: number): number;
  connect(req: Req, address: string, port: number): number;
  connect6(req: Req, address: string, port: number): number;
  readStart(): number;
  readStop(): number;
  shutdown(req: Req): number;
  writeLatin1String(req: Req, s: string): number;
  writeBuffer(req: Req, b: Buffer): number;
  setNoDelay(on: boolean): number;
  /** Reads go into `b` from now on: `onread` gets no buffer, the bytes are in `b` from its start. */
  useUserBuffer(b: Buffer): void;
  close(cb: () => void): void;
  /** A function always: the handle refuses anything else, and aborts the process for it. */
  onread: (this: TcpHandle) => void;
  [OWNER]?: RawTcp;
}
interface Binding {
  TCP: new (type: number) => TcpHandle;
  TCPConnectWrap: new () => Req;
  WriteWrap: new () => Req;
  ShutdownWrap: new () => Req;
  SOCKET: number;
  state: Int32Array;
  kReadBytesOrError: number;
}

const OWNER = Symbol('raw connection');
/** libuv's end of stream. */
const UV_EOF = -4095;
/**
 * The most bytes a first write may have and still leave in one segment whatever the path (the smallest segment an
 * IPv4 host must accept): Nagle's algorithm holds a small write only while earlier bytes are unacknowledged.
 */
const ONE_SEGMENT = 536;

function loadBinding(): Binding | undefined {
  const pending = process.execArgv.includes('--pending-deprecation') || /--pending-deprecation/.test(process.env.NODE_OPTIONS ?? '') || process.env.NODE_PENDING_DEPRECATION === '1';
  const get = (process as unknown as { binding?: (name: string) => Record<string, unknown> }).binding;
  if (pending || typeof get !== 'function') return undefined;
  try {
    const tcp = get('tcp_wrap') as { TCP?: Binding['TCP']; TCPConnectWrap?: Binding['TCPConnectWrap']; constants?: { SOCKET?: number } };
    const sw = get('stream_wrap') as { WriteWrap?: Binding['WriteWrap']; ShutdownWrap?: Binding['ShutdownWrap']; streamBaseState?: Int32Array; kReadBytesOrError?: number };
    const { TCP, TCPConnectWrap } = tcp;
    const { WriteWrap, ShutdownWrap, streamBaseState, kReadBytesOrError } = sw;
    if (!TCP || !TCPConnectWrap || !WriteWrap || !ShutdownWrap || !(streamBaseState instanceof Int32Array) || tcp.constants?.SOCKET === undefined) return undefined;
    if (typeof kReadBytesOrError !== 'number') return undefined;
    const proto = TCP.prototype as Partial<TcpHandle>;
    for (const m of ['bind', 'bind6', 'connect', 'connect6', 'readStart', 'readStop', 'shutdown', 'writeLatin1String', 'writeBuffer', 'setNoDelay', 'useUserBuffer', 'close'] as const) if (typeof proto[m] !== 'function') return undefined;
    return { TCP, TCPConnectWrap, WriteWrap, ShutdownWrap, SOCKET: tcp.constants.SOCKET, state: streamBaseState, kReadBytesOrError };
  } catch {
    return undefined;
  }
}

let binding: Binding | undefined | null = null;

/** Node's TCP handle, or undefined where this Node.js has none that this module knows. */
function tcpBinding(): Binding | undefined {
  if (binding === null) binding = loadBinding();
  return binding;
}

/** Whether plain TCP connections to `host` can go on the raw handle: an address literal, on a Node.js that has it. */
export function rawTcpFor(host: string): boolean {
  return isIP(host) !== 0 && process.env.FIRSTBELL_NET_SOCKET !== '1' && tcpBinding() !== undefined;
}

/** An error as net.Socket makes it: `syscall code address:port`, with code, errno and syscall. */
function systemError(errno: number, syscall: string, address?: string, port?: number, local?: SourcePort): Error {
  let code: string;
  try {
    code = getSystemErrorName(errno);
  } catch {
    code = `E${-errno}`;
  }
  const where = address === undefined ? '' : ` ${address}:${port}`;
  const from = local ? ` - Local (${local.localAddress}:${local.localPort})` : '';
  return Object.assign(new Error(`${syscall} ${code}${where}${from}`), { errno, code, syscall, address, port });
}

function onConnect(status: number, handle: TcpHandle): void {
  handle[OWNER]?.connected(status);
}

/**
 * Where every raw connection of the process reads into, one read at a time: by default Node.js allocates a buffer
 * of libuv's suggested 64 KB for each read, shrinks it to what was read and makes it an ArrayBuffer to be swept
 * later, which costs more than the read of a small answer itself. What was read is copied out at once (a small
 * read into Buffer's shared pool), so nothing a connection's owner keeps refers to this buffer.
 */
const READ_BUFFER = Buffer.allocUnsafeSlow(64 * 1024);

function onRead(this: TcpHandle): void {
  const b = binding!;
  const n = b.state[b.kReadBytesOrError]!;
  const c = this[OWNER];
  if (!c) return;
  if (n > 0) {
    const d = Buffer.allocUnsafe(n);
    READ_BUFFER.copy(d, 0, 0, n);
    c.received(d);
  } else if (n < 0) c.readEnded(n);
}

function ignoreRead(): void {}

function onWritten(this: Req, status: number): void {
  if (status < 0) (this.conn as RawTcp).failed(systemError(status, 'write'));
}

function onShutdown(this: Req, status: number): void {
  if (status < 0) (this.conn as RawTcp).failed(systemError(status, 'shutdown'));
}

/**
 * One TCP connection: connects to `address`:`port` (from `local` if given), writes what it is given once connected,
 * hands every read to its owner and closes once. The owner hears `error` at most once, before `closed`, which it
 * always hears after a destroy or a failure, on a later turn of the event loop (as net.Socket's 'close'). After a
 * switch of protocols (a WebSocket) another owner takes it over (`handTo`); the source port stays with it.
 */
export class RawTcp {
  connecting = true;
  private handle?: TcpHandle;
  private queued?: string | Buffer;
  private bad = false;
  private closing = false;
  /**
   * end() was asked for: a second one does nothing, as net.Socket's; asked before the connection was made, the
   * shutdown follows the queued write.
   */
  private shut = false;
  /** Reads stopped by pause(). */
  private paused = false;
  /** The local address it is bound to, if any. */
  private from?: string;
  /**
   * 0 before the first write, 1 after it, 2 once TCP_NODELAY is set: before the second write, or before a first one
   * larger than a segment.
   */
  private writes: 0 | 1 | 2 = 0;

  constructor(private owner: RawOwner, readonly address: string, readonly port: number, private local?: SourcePort, localAddress?: string) {
    const b = tcpBinding()!;
    const h = new b.TCP(b.SOCKET);
    h.useUserBuffer(READ_BUFFER);
    h[OWNER] = this;
    this.handle = h;
    const v6 = isIP(address) === 6;
    const from = (this.from = local?.localAddress ?? localAddress);
    let err = from ? (v6 ? h.bind6(from, local?.localPort ?? 0, 0) : h.bind(from, local?.localPort ?? 0)) : 0;
    if (err) {
      const e = this.bindError(err);
      process.nextTick(() => this.failed(e));
    } else {
      const req = new b.TCPConnectWrap();
      req.oncomplete = onConnect;
      req.address = address;
      req.port = port;
      err = v6 ? h.connect6(req, address, port) : h.connect(req, address, port);
      // As net.Socket: a refusal at once is heard on a later turn, like any other.
      if (err) {
        const e = systemError(err, 'connect', address, port, local);
        process.nextTick(() => this.failed(e));
      }
    }
  }

  /** As net.Socket says them: a bind's error names the local address and port, a connect's the remote ones. */
  private bindError(errno: number): Error {
    return systemError(errno, 'bind', this.from, this.local?.localPort ?? 0);
  }

  /** Writes `data` now, or once connected. */
  write(data: string | Buffer): void {
    if (this.closing) return;
    if (this.connecting) {
      this.queued = this.queued === undefined ? data : Buffer.concat([toBuffer(this.queued), toBuffer(data)]);
      return;
    }
    const b = binding!;
    const h = this.handle!;
    // A new connection's one small request never waits for Nagle's algorithm, and costs no setsockopt for it.
    if (this.writes === 1 || (this.writes === 0 && data.length > ONE_SEGMENT)) {
      h.setNoDelay(true);
      this.writes = 2;
    } else if (this.writes === 0) this.writes = 1;
    const req = new b.WriteWrap();
    req.handle = h;
    req.conn = this;
    req.oncomplete = onWritten;
    let err: number;
    if (typeof data === 'string') err = h.writeLatin1String(req, data);
    else {
      // The bytes stay referenced until the kernel took them.
      req.buffer = data;
      err = h.writeBuffer(req, data);
    }
    if (err) this.failed(systemError(err, 'write'));
  }

  connected(status: number): void {
    if (this.closing) return;
    if (status < 0) {
      // The kernel's refusal of a bound port comes with the connect (libuv defers it); net.Socket names it the bind's.
      const bind = status === -osErrno.EADDRINUSE && this.from !== undefined;
      return this.failed(bind ? this.bindError(status) : systemError(status, 'connect', this.address, this.port, this.local));
    }
    this.connecting = false;
    const h = this.handle!;
    h.onread = onRead;
    const err = this.paused ? 0 : h.readStart();
    if (err) return this.failed(systemError(err, 'read'));
    const q = this.queued;
    this.queued = undefined;
    if (q !== undefined) this.write(q);
    if (this.shut && !this.closing) this.shutdown();
  }

  /** Whether it has closed (its owner heard `closed`, or is about to on this turn). */
  get closed(): boolean {
    return this.handle === undefined;
  }

  /** Stops reading until resume(): what the peer sends waits in the kernel. */
  pause(): void {
    this.paused = true;
    if (!this.connecting && !this.closing) this.handle!.readStop();
  }

  resume(): void {
    if (!this.paused) return;
    this.paused = false;
    if (this.connecting || this.closing) return;
    const err = this.handle!.readStart();
    if (err) this.failed(systemError(err, 'read'));
  }

  /** Makes `owner` the one who hears this connection from now on. */
  handTo(owner: RawOwner): void {
    this.owner = owner;
  }

  /**
   * Ends this side once what was written has gone (a TCP half-close); the connection closes when the peer ends
   * its side too, as net.Socket's end() without half-open.
   */
  end(): void {
    if (this.closing || this.shut) return;
    this.shut = true;
    if (!this.connecting) this.shutdown();
  }

  private shutdown(): void {
    const b = binding!;
    const req = new b.ShutdownWrap();
    req.handle = this.handle!;
    req.conn = this;
    req.oncomplete = onShutdown;
    const err = this.handle!.shutdown(req);
    if (err) this.failed(systemError(err, 'shutdown'));
  }

  received(d: Buffer): void {
    if (!this.closing) this.owner.data(this, d);
  }

  readEnded(n: number): void {
    if (n === UV_EOF) this.destroy();
    else this.failed(systemError(n, 'read'));
  }

  /** The connection failed: its owner hears the error, then the close. */
  failed(e: Error): void {
    if (this.closing) return;
    if ((e as NodeJS.ErrnoException).code === 'EADDRINUSE') this.bad = true;
    this.owner.error(this, e);
    this.destroy();
  }

  /** Closes the connection; its owner hears the close on a later turn. */
  destroy(): void {
    if (this.closing) return;
    this.closing = true;
    this.queued = undefined;
    const h = this.handle!;
    h.onread = ignoreRead;
    h.close(() => {
      h[OWNER] = undefined;
      this.handle = undefined;
      this.local?.release(this.bad);
      this.owner.closed(this);
    });
  }
}

function toBuffer(d: string | Buffer): Buffer {
  return typeof d === 'string' ? Buffer.from(d, 'latin1') : d;
}
