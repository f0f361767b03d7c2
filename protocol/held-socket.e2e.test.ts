import type { AddressInfo } from 'node:net';
import { createServer, type Server } from 'node:http';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { WebSocketServer, type WebSocket } from 'ws';
import { HttpStatusError } from '../api/errors.js';
import { openWebSocket } from './held-socket.js';
import type { ConnectionOptions } from './http1.js';
import type { HeldConnection } from '../api/vu.js';
import { onBothConnectionPaths } from '../test/connection-paths.js';

let http: Server;
let wss: WebSocketServer;
let url: string;
const server: WebSocket[] = [];
const remote: string[] = [];
beforeAll(async () => {
  http = createServer((_req, res) => res.writeHead(404).end('no such room'));
  wss = new WebSocketServer({ noServer: true });
  http.on('upgrade', (req, socket, head) => {
    if (req.url !== '/media') return socket.end('HTTP/1.1 503 Service Unavailable\r\nContent-Length: 0\r\n\r\n');
    wss.handleUpgrade(req, socket, head, (ws) => {
      server.push(ws);
      remote.push(req.socket.remoteAddress ?? '');
      ws.send('{"type":"joined"}');
      ws.on('message', (d) => ws.send(String(d).replace('ping', 'pong')));
    });
  });
  await new Promise<void>((r) => http.listen(0, '127.0.0.1', r));
  url = `ws://127.0.0.1:${(http.address() as AddressInfo).port}`;
});
afterAll(async () => {
  wss.close();
  http.closeAllConnections();
  await new Promise((r) => http.close(r));
});

/** Opens a WebSocket on a bare socket (see openWebSocket) and resolves on the server's first message, which it returns with it. */
async function openBareSocket(url: string, signal: AbortSignal, o: ConnectionOptions & { headers?: Record<string, string> } = {}): Promise<{ sock: HeldConnection; first: string }> {
  const ws = await openWebSocket(url, signal, o);
  return new Promise((resolve, reject) => {
    const fail = (err: unknown) => {
      signal.removeEventListener('abort', onAbort);
      ws.listener = undefined;
      ws.terminate();
      reject(err);
    };
    const onAbort = () => fail(signal.reason ?? new Error('aborted'));
    if (signal.aborted) return onAbort();
    signal.addEventListener('abort', onAbort, { once: true });
    ws.listener = {
      message: (first) => {
        signal.removeEventListener('abort', onAbort);
        ws.listener = undefined;
        resolve({ sock: ws, first });
      },
      closed: () => fail(ws.failure ?? Object.assign(new Error('closed before the first message'), { code: 'ECONNRESET' })),
    };
  });
}

// Plain connections to an address stay on Node's raw TCP handle after the upgrade; FIRSTBELL_NET_SOCKET=1 makes them net.Sockets.
onBothConnectionPaths('held sockets', () => {
  it('joins, exchanges text frames of every length class, answers pings, and hears the close', async () => {
    const { sock, first } = await openBareSocket(`${url}/media`, AbortSignal.timeout(5_000), { localAddress: '127.0.1.7' });
    expect(first).toBe('{"type":"joined"}');
    expect(remote.at(-1)).toBe('127.0.1.7');
    const got: string[] = [];
    let heardClose: () => void = () => undefined;
    sock.listener = { message: (t) => got.push(t), closed: () => heardClose() };
    for (const n of [10, 200, 70_000]) sock.send(`ping ${'x'.repeat(n)}`);
    await new Promise((r) => setTimeout(r, 300));
    expect(got.map((g) => g.length)).toEqual([15, 205, 70_005]);
    expect(got.every((g) => g.startsWith('pong'))).toBe(true);
    const ws = server.at(-1)!;
    const pong = new Promise<string>((r) => ws.once('pong', (d) => r(String(d))));
    ws.ping('are you there');
    expect(await pong).toBe('are you there');
    const closed = new Promise<void>((r) => (heardClose = r));
    ws.close(1000, 'lesson over');
    await closed;
  });
  it('leaves with a farewell and a closing handshake, and the connection ends', async () => {
    const { sock } = await openBareSocket(`${url}/media`, AbortSignal.timeout(5_000));
    const ws = server.at(-1)!;
    const heard: string[] = [];
    ws.on('message', (d) => heard.push(String(d)));
    const code = new Promise<number>((r) => ws.once('close', (c) => r(c)));
    sock.listener = { message: () => undefined, closed: () => heard.push('closed') };
    const t0 = Date.now();
    await sock.leave!('{"type":"bye"}');
    expect(await code).toBe(1000);
    expect(heard[0]).toBe('{"type":"bye"}');
    expect(heard).toContain('closed');
    // The server answered the handshake: no need for the cut 2 s later.
    expect(Date.now() - t0).toBeLessThan(1_900);
  });
  it('fails like a step: an HTTP status instead of the upgrade, a refused port, an abort', async () => {
    await expect(openBareSocket(`${url}/elsewhere`, AbortSignal.timeout(5_000))).rejects.toSatisfy((e) => e instanceof HttpStatusError && e.status === 503);
    await expect(openBareSocket('ws://127.0.0.1:1/media', AbortSignal.timeout(5_000))).rejects.toMatchObject({ code: 'ECONNREFUSED' });
    const ctl = new AbortController();
    const p = openBareSocket(`${url}/media`, ctl.signal);
    ctl.abort(new Error('run over'));
    await expect(p).rejects.toThrow('run over');
  });
});
