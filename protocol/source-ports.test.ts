import { connect, createServer, type AddressInfo, type Socket } from 'node:net';
import { describe, expect, it } from 'vitest';
import { machineSockets, ownPorts } from '../lib/ports.js';
import { Http1Connection } from './http1.js';
import { addressIndex, OutOfPortsError, PORT_REST_SECONDS, SourcePorts } from './source-ports.js';

describe('source ports', () => {
  it('are those the kernel never picks, less the listened ones, dealt out to the sending processes without overlap', () => {
    const listening = new Set([8080, 5432]);
    const a = ownPorts([32768, 60999], { index: 0, count: 2 }, listening)!;
    const b = ownPorts([32768, 60999], { index: 1, count: 2 }, listening)!;
    const all = [...a, ...b];
    expect(all.length).toBe(65536 - 1024 - (60999 - 32768 + 1) - 2);
    expect(new Set(all).size).toBe(all.length);
    expect(all.some((p) => p >= 32768 && p <= 60999)).toBe(false);
    expect(all).not.toContain(8080);
    expect(Math.min(...all)).toBe(1024);
    // An ephemeral range over nearly every port leaves too few: the kernel picks.
    expect(ownPorts([1024, 65000], { index: 0, count: 1 }, listening)).toBeUndefined();
  });

  it("read from the machine's sockets: the ports listened on, and those that an address's connections hold", async () => {
    const server = createServer((s) => s.on('error', () => undefined));
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const port = (server.address() as AddressInfo).port;
    const clients = await Promise.all(
      ['127.0.1.201', '127.0.1.201', '127.0.1.202'].map(
        (localAddress) => new Promise<Socket>((r) => { const c = connect({ host: '127.0.0.1', port, localAddress }, () => r(c)); }),
      ),
    );
    try {
      const s = machineSockets(['127.0.1.201', '127.0.1.202', '127.0.1.203']);
      expect(s.listening.has(port)).toBe(true);
      // Connections this test made a minute ago may still be closing on the same addresses (TIME_WAIT): held too.
      expect([...(s.held.get('127.0.1.201') ?? [])]).toEqual(expect.arrayContaining([clients[0]!.localPort, clients[1]!.localPort]));
      expect([...(s.held.get('127.0.1.202') ?? [])]).toEqual(expect.arrayContaining([clients[2]!.localPort]));
      expect(s.held.has('127.0.1.203')).toBe(false);
    } finally {
      for (const c of clients) c.destroy();
      server.close();
    }
  });

  it("give each participant its own address's ports in turn, and rest a closed one before it is used again", () => {
    const s = new SourcePorts(['127.0.1.1', '127.0.1.2'], Uint16Array.from([2000, 2001, 2002]));
    // Participants of one address, and of the other.
    const [u, v, w] = Array.from({ length: 50 }, (_, i) => i).filter((i) => addressIndex(i, 2) === 0);
    const other = Array.from({ length: 50 }, (_, i) => i).find((i) => addressIndex(i, 2) === 1)!;
    const p = s.take(u!);
    expect(p.localAddress).toBe('127.0.1.1');
    expect(s.take(u!).localAddress).toBe('127.0.1.1');
    expect(s.take(other).localAddress).toBe('127.0.1.2');
    p.release();
    // In turn, from wherever this process began: the third port, then the first only after its rest.
    const third = s.take(v!).localPort;
    expect(third).toBe(2000 + ((p.localPort - 2000 + 2) % 3));
    // The first rests PORT_REST_SECONDS after its close, the other two are open: nothing is free on 127.0.1.1.
    expect(PORT_REST_SECONDS).toBeGreaterThanOrEqual(60);
    expect(() => s.take(w!)).toThrow(OutOfPortsError);
    expect(() => s.take(w!)).toThrow(/no local port free on 127\.0\.1\.1/);
  });

  it("spread each sending process's participants over every address, whichever n-th arrivals it sends", () => {
    // 7 processes, 14 addresses: process 3 sends participants 3, 10, 17, …
    const per = new Array<number>(14).fill(0);
    for (let j = 0; j < 14_000; j++) per[addressIndex(3 + 7 * j, 14)]!++;
    expect(Math.min(...per)).toBeGreaterThan(800);
    expect(Math.max(...per)).toBeLessThan(1_200);
  });

  it("leave alone the ports an earlier run's connections still hold on the same address", () => {
    const s = new SourcePorts(['127.0.1.1'], Uint16Array.from([2000, 2001, 2002]), new Map([['127.0.1.1', new Set([2000, 2002])]]));
    expect(s.take(0).localPort).toBe(2001);
    expect(() => s.take(0)).toThrow(OutOfPortsError);
  });

  it('copy into a set of the same addresses and ports with none taken, the taking of one apart from the other', () => {
    const s = new SourcePorts(['127.0.1.1'], Uint16Array.from([2000, 2001]), new Map([['127.0.1.1', new Set([2000])]]));
    const c = s.copy();
    expect(c.addresses).toEqual(['127.0.1.1']);
    // Both leave the held port alone; taking the only free one from the copy leaves it free in the original.
    expect(c.take(0).localPort).toBe(2001);
    expect(() => c.take(0)).toThrow(OutOfPortsError);
    expect(s.take(0).localPort).toBe(2001);
  });

  it('bind a real connection to the address and port they give, and take the port back when it closes', async () => {
    const server = createServer((c) => c.end('HTTP/1.1 200 OK\r\ncontent-length: 2\r\nconnection: close\r\n\r\nok'));
    const from: { address?: string; port?: number } = {};
    server.on('connection', (c) => Object.assign(from, { address: c.remoteAddress, port: c.remotePort }));
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const ports = ownPorts([32768, 60999], { index: 0, count: 1 })!;
    const source = new SourcePorts(['127.0.1.9'], ports);
    let released = 0;
    const conn = new Http1Connection(new URL(`http://127.0.0.1:${(server.address() as AddressInfo).port}`), {
      source: () => {
        const p = source.take(0);
        return { ...p, release: (bad) => (released++, p.release(bad)) };
      },
    });
    try {
      const a = await conn.request('GET', '/', '', undefined);
      expect(a.status).toBe(200);
      expect(from.address).toBe('127.0.1.9');
      expect(ports).toContain(from.port);
      await new Promise((r) => setTimeout(r, 50));
      expect(released).toBe(1);
    } finally {
      conn.close();
      server.close();
    }
  });
});
