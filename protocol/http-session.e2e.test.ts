import { getEventListeners } from 'node:events';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { HttpSession } from './http-session.js';

let server: Server;
let origin = '';
const seen: string[] = [];
beforeAll(async () => {
  server = createServer((req, res) => {
    let body = '';
    req.on('data', (d: Buffer) => (body += d));
    req.on('end', () => {
      seen.push(`${req.method} ${req.url} ${req.headers['content-type'] ?? '-'} ${body}`);
      if (req.url === '/old') return res.writeHead(302, { location: '/new' }).end();
      if (req.url === '/away') return res.writeHead(302, { location: 'http://elsewhere.invalid/' }).end();
      if (req.url === '/denied') return res.writeHead(401).end('who are you');
      res.writeHead(200, { 'content-type': 'text/plain' }).end(`${req.method} ok`);
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(() => new Promise<void>((r) => server.close(() => r())));

describe("a participant's HTTP session", () => {
  const signal = new AbortController().signal;

  it('keeps one abort listener on its signal however often its journey reloads (closes and opens again)', async () => {
    const s = new HttpSession(origin);
    const own = new AbortController().signal;
    for (let k = 0; k < 15; k++) {
      await s.request('GET', '/', { signal: own });
      s.close();
    }
    expect(getEventListeners(own, 'abort')).toHaveLength(1);
  });

  it("adds no listener to its owner's signal: the owner tells it of the abort, which ends the request under way", async () => {
    let ctl = new AbortController();
    const s = new HttpSession(origin, {}, () => ctl.signal);
    expect((await s.request('GET', '/', { signal: ctl.signal })).status).toBe(200);
    expect(getEventListeners(ctl.signal, 'abort')).toHaveLength(0);
    // A request under way on the owner's signal ends with the reason the owner gives.
    const slow = s.request('GET', '/', { signal: ctl.signal });
    ctl.abort(new Error('step timed out'));
    s.aborted(ctl.signal, ctl.signal.reason);
    await expect(slow).rejects.toThrow('step timed out');
    // A signal of another's is heard by a listener, as before; the owner's next signal by the owner again.
    const other = new AbortController();
    const theirs = s.request('GET', '/', { signal: other.signal });
    other.abort(new Error('their own abort'));
    await expect(theirs).rejects.toThrow('their own abort');
    ctl = new AbortController();
    expect((await s.request('GET', '/', { signal: ctl.signal })).status).toBe(200);
    expect(getEventListeners(ctl.signal, 'abort')).toHaveLength(0);
    // An abort of a signal no request used leaves the connection alone.
    s.aborted(new AbortController().signal, new Error('not ours'));
    expect((await s.request('GET', '/', { signal: ctl.signal })).status).toBe(200);
    s.close();
  });

  it('sends any method with a raw body, and takes an absolute URL on its own origin', async () => {
    const s = new HttpSession(origin);
    expect((await s.request('PUT', '/doc', { body: 'raw text', headers: { 'content-type': 'text/plain' }, signal })).body).toBe('PUT ok');
    expect((await s.request('DELETE', `${origin}/doc?x=1`, { signal })).body).toBe('DELETE ok');
    expect(seen.slice(-2)).toEqual(['PUT /doc text/plain raw text', 'DELETE /doc?x=1 - ']);
    s.close();
  });

  it('follows redirects on its origin when asked, and hands back one to another origin as it came', async () => {
    const s = new HttpSession(origin);
    expect((await s.request('GET', '/old', { signal })).status).toBe(302);
    const followed = await s.request('GET', '/old', { signal, redirect: 'follow' });
    expect([followed.status, followed.body]).toEqual([200, 'GET ok']);
    expect((await s.request('GET', '/away', { signal, redirect: 'follow' })).status).toBe(302);
    s.close();
  });

  it('fails a status it was not told to expect, and returns one it was', async () => {
    const s = new HttpSession(origin);
    expect((await s.request('GET', '/denied', { signal, expect: [401] })).body).toBe('who are you');
    await expect(s.request('GET', '/denied', { signal, expect: [200] })).rejects.toMatchObject({ name: 'HttpStatusError', status: 401 });
    expect((await s.request('GET', '/denied', { signal })).status).toBe(401);
    s.close();
  });
});
