// The fault proxy: an HTTP and WebSocket proxy on loopback that firstbell puts in front of any target to inject faults.
import { createServer, request as httpRequest, type IncomingMessage, type ServerResponse } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { connect as tlsConnect } from 'node:tls';
import { connect, type AddressInfo, type Socket } from 'node:net';
import { Transform, type TransformCallback } from 'node:stream';
import type { Fault } from '../scenarios/model.js';

export interface FaultProxy {
  /** Base URL to give the virtual users instead of the target's. */
  url: string;
  /** Starts a fault now; it lasts until clear(). */
  apply(f: Fault): void;
  clear(f: Fault): void;
  close(): Promise<void>;
}

/** Faults the proxy can inject; the others need the target's own control surface. */
export const PROXY_FAULTS: ReadonlySet<Fault['kind']> = new Set(['latency', 'errors', 'reset', 'blackhole', 'bandwidth', 'farm-down']);

/** Slows a stream to a byte rate, in slices of a tenth of a second. */
class Throttle extends Transform {
  constructor(private bytesPerSec: number) {
    super();
  }
  override _transform(chunk: Buffer, _enc: BufferEncoding, done: TransformCallback): void {
    const slice = Math.max(1, Math.floor(this.bytesPerSec / 10));
    let offset = 0;
    const next = () => {
      if (offset >= chunk.length) return done();
      this.push(chunk.subarray(offset, offset + slice));
      offset += slice;
      setTimeout(next, 100);
    };
    next();
  }
}

/** Forwarded headers a client sent: replaced by the proxy's own. */
const FORWARDED = new Set(['x-forwarded-host', 'x-forwarded-proto', 'forwarded']);

const HOP_BY_HOP = new Set(['connection', 'keep-alive', 'proxy-connection', 'transfer-encoding', 'upgrade', 'te', 'trailer']);

/** Which server farm a request path belongs to, as the target declares it; undefined: none. */
export type FarmOf = (path: string) => number | undefined;

interface Fate {
  delayMs: number;
  bytesPerSec?: number;
}

/** The proxy's state: faults now on, requests held by a blackhole, and the WebSocket tunnels open through it. */
class Proxy {
  readonly active = new Set<Fault>();
  readonly held = new Set<Socket>();
  readonly tunnels = new Set<{ path: string; client: Socket; server: Socket }>();
  private readonly upstream: { host: string; port: number };
  /** The upstream speaks TLS (https:, wss:): the proxy answers in plain HTTP on loopback and speaks TLS onwards. */
  private readonly tls: boolean;
  /** The Host the upstream expects: its own, not the proxy's. */
  private readonly hostHeader: string;
  /** Where the proxy listens, for redirects that name the upstream. */
  origin = '';

  constructor(private readonly upstreamUrl: URL, private farmOf: FarmOf, private readonly tlsOptions: UpstreamTls = {}) {
    this.tls = upstreamUrl.protocol === 'https:' || upstreamUrl.protocol === 'wss:';
    const host = upstreamUrl.hostname.replace(/^\[|\]$/g, '');
    this.upstream = { host, port: Number(upstreamUrl.port || (this.tls ? 443 : 80)) };
    this.hostHeader = upstreamUrl.host;
  }

  /** Options for a connection to the upstream: its name for TLS (SNI and the certificate check), and the user's CAs. */
  private tlsFor() {
    return { servername: /^[\d.:]+$/.test(this.upstream.host) ? undefined : this.upstream.host, ...this.tlsOptions };
  }

  /**
   * The upstream gets its own Host (its virtual host); where the client came from goes in the forwarded headers,
   * so a platform that builds addresses for its clients (a media server's URL) sends them through the proxy too.
   */
  private forwarded(req: IncomingMessage): Record<string, string> {
    const host = req.headers.host ?? this.origin.replace(/^http:\/\//, '');
    return { 'x-forwarded-host': host, 'x-forwarded-proto': 'http', forwarded: `host="${host}";proto=http` };
  }

  /** A redirect to the upstream's own origin goes through the proxy instead, so no request passes the faults by. */
  private relocate(location: string | undefined): string | undefined {
    if (!location || !this.origin) return location;
    const up = this.upstreamUrl.origin.replace(/^ws/, 'http');
    return location.startsWith(up) ? this.origin + location.slice(up.length) : location;
  }

  onFarm(path: string, farm: number): boolean {
    return this.farmOf(path) === farm;
  }

  private matching(path: string): Fault[] {
    return [...this.active].filter((f) => (f.pathPrefix === undefined || path.startsWith(f.pathPrefix)) && (f.kind !== 'farm-down' || this.onFarm(path, f.farm)));
  }

  /** Decides a request's fate; returns the latency to add and the throttle, or handles it and returns undefined. */
  judge(path: string, socket: Socket, answer: (status: number) => void): Fate | undefined {
    let delayMs = 0;
    let bytesPerSec: number | undefined;
    for (const f of this.matching(path)) {
      switch (f.kind) {
        case 'blackhole':
          this.held.add(socket);
          socket.once('close', () => this.held.delete(socket));
          return undefined;
        case 'reset':
          if (Math.random() < f.ratio) {
            socket.resetAndDestroy();
            return undefined;
          }
          break;
        case 'errors':
          if (Math.random() < f.ratio) {
            answer(f.status);
            return undefined;
          }
          break;
        case 'farm-down':
          answer(503);
          return undefined;
        case 'latency':
          delayMs += f.addMs;
          break;
        case 'bandwidth':
          bytesPerSec = Math.min(bytesPerSec ?? Infinity, f.bytesPerSec);
          break;
      }
    }
    return { delayMs, bytesPerSec };
  }

  readonly onRequest = (req: IncomingMessage, res: ServerResponse): void => {
    const path = req.url ?? '/';
    const fate = this.judge(path, req.socket, (status) => {
      res.writeHead(status, { 'content-type': 'text/html', connection: 'close' });
      res.end(`<html><body><h1>${status}</h1><p>injected by firstbell</p></body></html>`);
    });
    if (!fate) return;
    const forward = () => {
      const headers = { ...Object.fromEntries(Object.entries(req.headers).filter(([k]) => !HOP_BY_HOP.has(k))), ...this.forwarded(req), host: this.hostHeader };
      const opts = { ...this.upstream, method: req.method, path, headers };
      const onAnswer = (ures: IncomingMessage) => {
        const h = Object.fromEntries(Object.entries(ures.headers).filter(([k]) => !HOP_BY_HOP.has(k)));
        if (typeof h.location === 'string') h.location = this.relocate(h.location);
        res.writeHead(ures.statusCode ?? 502, h);
        (fate.bytesPerSec ? ures.pipe(new Throttle(fate.bytesPerSec)) : ures).pipe(res);
      };
      const up = this.tls ? httpsRequest({ ...opts, ...this.tlsFor() }, onAnswer) : httpRequest(opts, onAnswer);
      up.on('error', () => {
        if (!res.headersSent) res.writeHead(502, { 'content-type': 'text/html' });
        res.end('<h1>502 Bad Gateway</h1>');
      });
      req.pipe(up);
    };
    if (fate.delayMs > 0) setTimeout(forward, fate.delayMs);
    else forward();
  };

  readonly onUpgrade = (req: IncomingMessage, client: Socket, head: Buffer): void => {
    const path = req.url ?? '/';
    const fate = this.judge(path, client, (status) => client.end(`HTTP/1.1 ${status} Injected\r\nconnection: close\r\ncontent-length: 0\r\n\r\n`));
    if (!fate) return;
    const open = () => {
      const onOpen = () => {
        const lines = [`${req.method} ${path} HTTP/1.1`];
        for (let i = 0; i < req.rawHeaders.length; i += 2) {
          const name = req.rawHeaders[i]!;
          if (FORWARDED.has(name.toLowerCase())) continue;
          lines.push(`${name}: ${name.toLowerCase() === 'host' ? this.hostHeader : req.rawHeaders[i + 1]}`);
        }
        for (const [name, value] of Object.entries(this.forwarded(req))) lines.push(`${name}: ${value}`);
        serverSide.write(lines.join('\r\n') + '\r\n\r\n');
        if (head.length) serverSide.write(head);
        serverSide.pipe(client);
        client.pipe(serverSide);
      };
      const serverSide: Socket = this.tls ? tlsConnect({ ...this.upstream, ...this.tlsFor() }, onOpen) : connect(this.upstream, onOpen);
      const t = { path, client, server: serverSide };
      this.tunnels.add(t);
      const end = () => {
        this.tunnels.delete(t);
        client.destroy();
        serverSide.destroy();
      };
      serverSide.on('error', end).on('close', end);
      client.on('error', end).on('close', end);
    };
    if (fate.delayMs > 0) setTimeout(open, fate.delayMs);
    else open();
  };
}

/** How the proxy checks an HTTPS upstream: Node's trusted CAs (and NODE_EXTRA_CA_CERTS) unless told others. */
export interface UpstreamTls {
  ca?: string | Buffer;
}

/**
 * Starts the proxy in front of `upstream` (http, https, ws or wss) on loopback; farm-down needs `farmOf`, the
 * target's word on which request is on which farm.
 */
export async function startFaultProxy(upstream: URL, opts: { farmOf?: FarmOf; tls?: UpstreamTls } = {}): Promise<FaultProxy> {
  const proxy = new Proxy(upstream, opts.farmOf ?? (() => undefined), opts.tls);
  const server = createServer(proxy.onRequest);
  server.on('upgrade', proxy.onUpgrade);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as AddressInfo).port;
  proxy.origin = `http://127.0.0.1:${port}`;
  return {
    url: proxy.origin,
    apply(f) {
      proxy.active.add(f);
      // A farm going dark drops the conferences it was carrying.
      if (f.kind === 'farm-down') for (const t of proxy.tunnels) if (proxy.onFarm(t.path, f.farm)) t.client.resetAndDestroy();
    },
    clear(f) {
      // Requests swallowed by a blackhole stay unanswered; their clients time out, as they would.
      proxy.active.delete(f);
    },
    async close() {
      for (const s of proxy.held) s.destroy();
      for (const t of proxy.tunnels) t.client.destroy();
      server.closeAllConnections();
      await new Promise<void>((r) => server.close(() => r()));
    },
  };
}
