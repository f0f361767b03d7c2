// Loopback servers with a known truth for the findings tests: one that queues at a fixed service rate, one that
// holds WebSockets and dies at a set number of them, one with an outage of a set length, and one that stalls.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { WebSocketServer } from 'ws';

export interface TruthServer {
  url: string;
  /** Wall-clock instants (epoch ms) of what the server did, for comparing with a run's findings. */
  log: { diedAtEpochMs?: number; outageFromEpochMs?: number; outageToEpochMs?: number; served: number; held: number };
  close(): Promise<void>;
}

async function listen(server: Server): Promise<string> {
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', 2048, r));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

function closer(server: Server, sockets: Set<Socket>): () => Promise<void> {
  return async () => {
    for (const s of sockets) s.destroy();
    if (server.listening) await new Promise((r) => server.close(r));
  };
}

function tracked(server: Server): Set<Socket> {
  const sockets = new Set<Socket>();
  server.on('connection', (s) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  return sockets;
}

/** Answers every request in arrival order, exactly `ratePerSec` a second, however many wait: a queue with a fixed service rate. */
export async function startQueueServer(ratePerSec: number): Promise<TruthServer> {
  const log: TruthServer['log'] = { served: 0, held: 0 };
  const queue: ServerResponse[] = [];
  const server = createServer((req: IncomingMessage, res) => {
    req.resume();
    req.on('end', () => queue.push(res));
  });
  const sockets = tracked(server);
  // Releases by the clock, not by timer turns, so the rate holds whatever the event loop does.
  let t0 = 0;
  const timer = setInterval(() => {
    if (queue.length === 0) {
      t0 = 0;
      return;
    }
    const now = performance.now();
    if (t0 === 0) t0 = now - 1000 / ratePerSec;
    let due = Math.floor(((now - t0) * ratePerSec) / 1000) - log.served;
    while (due-- > 0 && queue.length) {
      const res = queue.shift()!;
      log.served++;
      if (!res.destroyed) res.writeHead(200, { 'content-type': 'application/json' }).end('{"ok":true}');
    }
    if (queue.length === 0) t0 = 0;
  }, 2);
  const url = await listen(server);
  const close = closer(server, sockets);
  return {
    url, log,
    close: async () => {
      clearInterval(timer);
      await close();
    },
  };
}

/**
 * WebSockets on /ws/ that are welcomed and answer pings ({"type":"ping","t"} → {"type":"pong","t"}), and plain
 * HTTP 200 elsewhere. With `dieAt`, the server dies when that many WebSockets are open: every connection is reset
 * and nothing listens any more, as when a process runs out of file descriptors and exits.
 */
export async function startHoldServer(opts: { dieAt?: number } = {}): Promise<TruthServer> {
  const log: TruthServer['log'] = { served: 0, held: 0 };
  const server = createServer((req, res) => {
    req.resume();
    log.served++;
    res.writeHead(200, { 'content-type': 'application/json' }).end('{"ok":true}');
  });
  const sockets = tracked(server);
  const wss = new WebSocketServer({ noServer: true });
  const die = () => {
    log.diedAtEpochMs = Date.now();
    server.close();
    for (const s of sockets) s.resetAndDestroy();
  };
  server.on('upgrade', (req, socket, head) => {
    wss.handleUpgrade(req, socket, head, (ws) => {
      log.held++;
      ws.on('close', () => log.held--);
      ws.on('message', (data) => {
        const m = JSON.parse(String(data)) as { type?: string; t?: number };
        if (m.type === 'ping') ws.send(JSON.stringify({ type: 'pong', t: m.t }));
      });
      ws.send(JSON.stringify({ type: 'welcome' }));
      if (opts.dieAt !== undefined && log.held >= opts.dieAt && log.diedAtEpochMs === undefined) setImmediate(die);
    });
  });
  const url = await listen(server);
  const close = closer(server, sockets);
  return { url, log, close };
}

/** Answers 200, except for `forMs` (Infinity: for good) after its `afterRequests`-th request, when it answers 503. */
export async function startOutageServer(afterRequests: number, forMs: number): Promise<TruthServer> {
  const log: TruthServer['log'] = { served: 0, held: 0 };
  let requests = 0;
  const server = createServer((req, res) => {
    req.resume();
    requests++;
    const now = Date.now();
    if (requests === afterRequests) {
      log.outageFromEpochMs = now;
      log.outageToEpochMs = now + forMs;
    }
    const down = log.outageFromEpochMs !== undefined && now >= log.outageFromEpochMs && now < log.outageToEpochMs!;
    if (!down) log.served++;
    res.writeHead(down ? 503 : 200, { 'content-type': 'application/json' }).end(down ? '{"error":"down"}' : '{"ok":true}');
  });
  const sockets = tracked(server);
  const url = await listen(server);
  const close = closer(server, sockets);
  return { url, log, close };
}

/**
 * Answers 200 until its `afterRequests`-th request; from that one on it takes requests and answers none, as a
 * process stuck on a lock does (its kernel still accepts). `log.held` counts the requests left waiting.
 */
export async function startStallServer(afterRequests: number): Promise<TruthServer> {
  const log: TruthServer['log'] = { served: 0, held: 0 };
  let requests = 0;
  const server = createServer((req, res) => {
    req.resume();
    if (++requests === afterRequests) log.outageFromEpochMs = Date.now();
    if (requests >= afterRequests) {
      log.held++;
      return;
    }
    log.served++;
    res.writeHead(200, { 'content-type': 'application/json' }).end('{"ok":true}');
  });
  const sockets = tracked(server);
  const url = await listen(server);
  const close = closer(server, sockets);
  return { url, log, close };
}
