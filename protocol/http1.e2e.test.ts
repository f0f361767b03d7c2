import { createServer as createHttpServer, type Server as HttpServer } from 'node:http';
import { createServer as createNetServer, type AddressInfo, type Server as NetServer, type Socket } from 'node:net';
import { afterEach, expect, it } from 'vitest';
import { Http1Connection, HttpParseError, ResponseReader, takeOver } from './http1.js';
import { HttpSession } from './http-session.js';
import { NetPolicy } from './address-guard.js';
import { RawTcp } from './raw-tcp.js';
import { onBothConnectionPaths } from '../test/connection-paths.js';

const servers: (HttpServer | NetServer)[] = [];
afterEach(async () => {
  for (const s of servers.splice(0)) {
    (s as HttpServer).closeAllConnections?.();
    await new Promise((r) => s.close(r));
  }
});

async function listen<T extends HttpServer | NetServer>(s: T): Promise<URL> {
  servers.push(s);
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  return new URL(`http://127.0.0.1:${(s.address() as AddressInfo).port}`);
}

/** A server that answers each request with the raw bytes `answer` returns for it. */
function rawServer(answer: (req: string, sock: Socket, n: number) => string | undefined): NetServer {
  let n = 0;
  return createNetServer((sock) => {
    let buf = '';
    sock.on('data', (d) => {
      buf += d.toString('latin1');
      const end = buf.indexOf('\r\n\r\n');
      if (end < 0) return;
      const req = buf.slice(0, end);
      buf = buf.slice(end + 4);
      const a = answer(req, sock, n++);
      if (a !== undefined) sock.write(a, 'latin1');
    });
    sock.on('error', () => undefined);
  });
}

const text = (b: Buffer[]) => Buffer.concat(b).toString();

// Plain connections to an address go on Node's raw TCP handle; FIRSTBELL_NET_SOCKET=1 sends them through net.Socket.
onBothConnectionPaths('an HTTP/1.1 connection', () => {

  it('keeps one connection for many requests and reads sized, chunked and empty answers', async () => {
    const ports = new Set<number>();
    const got: string[] = [];
    const url = await listen(
      createHttpServer((req, res) => {
        ports.add(req.socket.remotePort!);
        let body = '';
        req.on('data', (d) => (body += d));
        req.on('end', () => {
          got.push(`${req.method} ${req.url} ${req.headers.host} ${req.headers['content-length'] ?? '-'} ${body}`);
          if (req.url === '/chunked') {
            res.setHeader('set-cookie', ['a=1', 'b=2']);
            res.write('one,');
            setTimeout(() => res.end('two'), 20);
          } else if (req.url === '/none') res.writeHead(204).end();
          else if (req.url === '/same') res.writeHead(304).end();
          else res.end(`you said ${body}`);
        });
      }),
    );
    const c = new Http1Connection(url);
    const a = await c.request('GET', '/chunked', 'x-test: 1\r\n', undefined);
    expect(a.status).toBe(200);
    expect(text(a.body)).toBe('one,two');
    expect(a.raw.filter((_, i) => i % 2 === 0 && a.raw[i]!.toLowerCase() === 'set-cookie').length).toBe(2);
    const p = await c.request('POST', '/post', 'content-type: text/plain\r\n', 'Grüße');
    expect(text(p.body)).toBe('you said Grüße');
    expect((await c.request('HEAD', '/head', '', undefined)).body).toEqual([]);
    expect((await c.request('GET', '/none', '', undefined)).status).toBe(204);
    expect((await c.request('GET', '/same', '', undefined)).status).toBe(304);
    expect((await c.request('GET', '/last', '', undefined)).status).toBe(200);
    c.close();
    expect(ports.size).toBe(1);
    expect(got[1]).toBe(`POST /post ${url.host} 7 Grüße`);
  });

  it('reads a body that runs to the close, skips 100 Continue, and reconnects after the server closes', async () => {
    const url = await listen(
      rawServer((req, sock, n) => {
        if (req.startsWith('GET /old')) {
          sock.end('HTTP/1.0 200 OK\r\nServer: old\r\n\r\nall of it');
          return undefined;
        }
        if (req.startsWith('GET /continue')) return 'HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 201 Created\r\nContent-Length: 2\r\n\r\nok';
        if (req.startsWith('GET /bye')) return 'HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 3\r\n\r\nbye';
        if (req.startsWith('GET /idle-close')) {
          setTimeout(() => sock.end(), 10);
          return 'HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n';
        }
        return `HTTP/1.1 200 OK\r\nContent-Length: ${String(n).length}\r\n\r\n${n}`;
      }),
    );
    const c = new Http1Connection(url);
    const old = await c.request('GET', '/old', '', undefined);
    expect([old.status, text(old.body)]).toEqual([200, 'all of it']);
    const cont = await c.request('GET', '/continue', '', undefined);
    expect([cont.status, text(cont.body)]).toEqual([201, 'ok']);
    expect(text((await c.request('GET', '/bye', '', undefined)).body)).toBe('bye');
    expect((await c.request('GET', '/idle-close', '', undefined)).status).toBe(200);
    await new Promise((r) => setTimeout(r, 50));
    expect((await c.request('GET', '/after', '', undefined)).status).toBe(200);
    // A caller's shape of the answer is the promise's value; its error rejects the request, and the next one goes on.
    expect(await c.request('GET', '/shaped', '', undefined, false, (a) => `${a.status} ${text(a.body)}`)).toMatch(/^200 \d+$/);
    await expect(c.request('GET', '/shaped', '', undefined, false, () => {
      throw new Error('not this answer');
    })).rejects.toThrow('not this answer');
    expect((await c.request('GET', '/after', '', undefined)).status).toBe(200);
    c.close();
  });

  it('fails a request whose answer is cut short, or not HTTP, or never comes', async () => {
    const url = await listen(
      rawServer((req, sock) => {
        if (req.startsWith('GET /cut')) {
          sock.end('HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nnot all');
          return undefined;
        }
        if (req.startsWith('GET /junk')) return 'SSH-2.0-OpenSSH\r\n\r\n';
        if (req.startsWith('GET /never')) return undefined;
        return 'HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n';
      }),
    );
    const c = new Http1Connection(url);
    await expect(c.request('GET', '/cut', '', undefined)).rejects.toMatchObject({ code: 'ECONNRESET' });
    await expect(c.request('GET', '/junk', '', undefined)).rejects.toBeInstanceOf(HttpParseError);
    const never = c.request('GET', '/never', '', undefined);
    setTimeout(() => c.abort(new Error('step timed out')), 30);
    await expect(never).rejects.toThrow('step timed out');
    expect((await c.request('GET', '/fine', '', undefined)).status).toBe(200);
    c.close();
    const refused = new Http1Connection(new URL('http://127.0.0.1:1'));
    await expect(refused.request('GET', '/', '', undefined)).rejects.toMatchObject({ code: 'ECONNREFUSED' });
  });

  it('sends from the local address asked for', async () => {
    let from = '';
    const url = await listen(
      createHttpServer((req, res) => {
        from = req.socket.remoteAddress!;
        res.end();
      }),
    );
    const c = new Http1Connection(url, { localAddress: '127.0.0.3' });
    await c.request('GET', '/', '', undefined);
    c.close();
    expect(from).toBe('127.0.0.3');
  });

  it('hands its socket over when the server switches protocols, and opens another for the next request', async () => {
    const ports: number[] = [];
    const url = await listen(
      rawServer((req, sock) => {
        ports.push(sock.remotePort!);
        if (!req.startsWith('GET /upgrade')) return 'HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok';
        // The new protocol's first bytes come in the same packet as the 101, more of them later, then the end.
        sock.write('HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: x\r\n\r\nfirst');
        setTimeout(() => sock.end('second'), 30);
        return undefined;
      }),
    );
    const c = new Http1Connection(url);
    expect((await c.request('GET', '/before', '', undefined)).status).toBe(200);
    const a = await c.request('GET', '/upgrade', 'connection: Upgrade\r\nupgrade: websocket\r\n', undefined, true);
    expect(a.status).toBe(101);
    expect(a.raw).toContain('Sec-WebSocket-Accept');
    expect(a.switched!.rest.toString()).toBe('first');
    const got: string[] = [];
    const closed = new Promise<void>((resolve) => takeOver(a.switched!.socket, { data: (_s, d) => got.push(d.toString()), error: () => undefined, closed: () => resolve() }));
    await closed;
    expect(got.join('')).toBe('second');
    // The upgraded socket is the one the earlier request used; the next request opens a new one.
    expect((await c.request('GET', '/after', '', undefined)).status).toBe(200);
    expect(ports[0]).toBe(ports[1]);
    expect(ports[2]).not.toBe(ports[1]);
    c.close();
    // A 101 nobody asked for is not HTTP the connection can go on with.
    const unasked = await listen(rawServer(() => 'HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n\r\n'));
    const u = new Http1Connection(unasked);
    await expect(u.request('GET', '/', '', undefined)).rejects.toBeInstanceOf(HttpParseError);
    u.close();
  });

  it('parses answers that come a byte at a time', () => {
    const bytes = Buffer.from(
      'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nX-A: 1\r\n\r\n4;ext=1\r\nWiki\r\n5\r\npedia\r\n0\r\nTrailer: x\r\n\r\n' +
        'HTTP/1.1 404 Not Found\r\ncontent-length: 3\r\n\r\nnop',
    );
    const answers: string[] = [];
    const r: ResponseReader = new ResponseReader(() => {
      answers.push(`${r.status} ${text(r.body)} ${r.raw.join('|')}`);
      if (answers.length === 1) r.expect(false);
    }, 1024);
    r.expect(false);
    for (let i = 0; i < bytes.length; i++) r.feed(bytes.subarray(i, i + 1));
    expect(answers).toEqual(['200 Wikipedia Transfer-Encoding|chunked|X-A|1', '404 nop content-length|3']);
    const bad = new ResponseReader(() => undefined, 1024);
    bad.expect(false);
    expect(() => bad.feed(Buffer.from('HTTP/1.1 200 OK\r\nContent-Length: 1, 2\r\n\r\n'))).toThrow(HttpParseError);
    bad.expect(false);
    expect(() => bad.feed(Buffer.from('HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n'))).toThrow('bad chunk size');
  });

  it('keeps cookies across requests, as a browser would', async () => {
    const seen: (string | undefined)[] = [];
    const url = await listen(
      createHttpServer((req, res) => {
        seen.push(req.headers.cookie);
        if (req.url === '/login') res.setHeader('set-cookie', ['sid=abc; Path=/; HttpOnly', 'lang=de']);
        if (req.url === '/logout') res.setHeader('set-cookie', 'sid=; Max-Age=0');
        res.end();
      }),
    );
    const s = new HttpSession(url.origin);
    const signal = new AbortController().signal;
    for (const p of ['/login', '/page', '/logout', '/after']) await s.request('GET', p, { signal });
    await s.close();
    expect(seen).toEqual([undefined, 'sid=abc; lang=de', 'sid=abc; lang=de', 'lang=de']);
    await expect(s.request('GET', 'no-slash', { signal })).rejects.toThrow('not a request path: "no-slash" (give a path starting with / and without spaces, or a URL on');
    await expect(s.request('GET', '/', { signal, headers: { 'x-a': 'b\r\nx-evil: 1' } })).rejects.toThrow('line break');
  });
});

it("goes to a name's address on the raw handle once a connection to the name has reached it", async () => {
  const hosts: string[] = [];
  const url = await listen(
    rawServer((req) => {
      hosts.push(/\r\nhost: ([^\r]*)/i.exec(req)?.[1] ?? '');
      return 'HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok';
    }),
  );
  const named = new URL(`http://localhost:${url.port}`);
  const net = new NetPolicy();
  const socketOf = (c: Http1Connection) => (c as unknown as { socket?: unknown }).socket;
  // The first connection resolves the name by the policy (whichever of its addresses answers) on net.Socket.
  const first = new Http1Connection(named, { net });
  expect((await first.request('GET', '/', '', undefined)).status).toBe(200);
  expect(socketOf(first)).not.toBeInstanceOf(RawTcp);
  expect(net.reachedAddress('localhost')).toBe('127.0.0.1');
  // The next ones go to the address it reached, on the raw handle, and still name the host they asked for.
  const next = new Http1Connection(named, { net });
  expect(text((await next.request('GET', '/', '', undefined)).body)).toBe('ok');
  expect(socketOf(next)).toBeInstanceOf(RawTcp);
  expect(hosts).toEqual([`localhost:${url.port}`, `localhost:${url.port}`]);
  first.close();
  next.close();
});

it("follows a name to its other address once the address its connections reached refuses them", async () => {
  const answerFrom = (who: string) => rawServer(() => `HTTP/1.1 200 OK\r\nContent-Length: ${who.length}\r\n\r\n${who}`);
  const url = await listen(answerFrom('first'));
  const second = answerFrom('second');
  servers.push(second);
  await new Promise<void>((r) => second.listen(Number(url.port), '127.0.0.2', r));
  const addresses = [{ address: '127.0.0.1', family: 4 }, { address: '127.0.0.2', family: 4 }];
  const net = new NetPolicy(['platform.test'], undefined, async () => addresses);
  const named = new URL(`http://platform.test:${url.port}`);
  const get = async () => {
    const c = new Http1Connection(named, { net });
    try {
      return text((await c.request('GET', '/', '', undefined)).body);
    } finally {
      c.close();
    }
  };
  expect(await get()).toBe('first');
  expect(net.reachedAddress('platform.test')).toBe('127.0.0.1');
  expect(await get()).toBe('first');
  // The first address stops answering: the next request is refused there, and goes to the name's other address.
  const first = servers[0] as NetServer;
  await new Promise((r) => first.close(r));
  expect(await get()).toBe('second');
  expect(net.reachedAddress('platform.test')).toBe('127.0.0.2');
  expect(await get()).toBe('second');
  // Where no address answers, a request is refused as it would be at its first.
  await new Promise((r) => second.close(r));
  await expect(get()).rejects.toMatchObject({ code: 'ECONNREFUSED' });
  // A name of one address stays on it: nowhere else to go.
  const one = new NetPolicy(['single.test'], undefined, async () => addresses.slice(0, 1));
  expect(one.forgetReached('single.test', '127.0.0.1')).toBe(false);
});
