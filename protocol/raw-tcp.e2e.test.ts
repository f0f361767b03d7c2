import { connect, createServer, type AddressInfo, type Server, type Socket } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RawTcp, rawTcpFor, type RawOwner } from './raw-tcp.js';
import type { SourcePort } from './source-ports.js';

/** What a raw connection's owner heard, in order. */
function listener(): RawOwner & { heard: string[]; bytes: string; errors: Error[]; closed$: Promise<void> } {
  let done!: () => void;
  const o = {
    heard: [] as string[],
    bytes: '',
    errors: [] as Error[],
    closed$: new Promise<void>((r) => (done = r)),
    data(_c: RawTcp, d: Buffer) {
      o.heard.push('data');
      o.bytes += d.toString('latin1');
    },
    error(_c: RawTcp, e: Error) {
      o.heard.push('error');
      o.errors.push(e);
    },
    closed() {
      o.heard.push('closed');
      done();
    },
  };
  return o;
}

/** The error net.Socket gives for the same connection. */
function netError(port: number, localAddress?: string, localPort?: number): Promise<NodeJS.ErrnoException> {
  return new Promise((resolve) => connect({ host: '127.0.0.1', port, localAddress, localPort }).on('error', resolve));
}

let server: Server;
let port: number;
const accepted: Socket[] = [];

beforeAll(async () => {
  // Echoes what it reads, upper-cased, and closes after a line "bye".
  server = createServer((s) => {
    accepted.push(s);
    s.on('error', () => undefined);
    s.on('data', (d) => {
      const t = d.toString('latin1');
      s.write(t.toUpperCase());
      if (t.includes('bye')) s.end();
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  port = (server.address() as AddressInfo).port;
});
afterAll(async () => {
  for (const s of accepted) s.destroy();
  await new Promise((r) => server.close(r));
});

describe('a raw TCP connection', () => {
  it('is used for an address on this Node.js, and not for a name or when net.Socket is asked for', () => {
    expect(rawTcpFor('127.0.0.1')).toBe(true);
    expect(rawTcpFor('::1')).toBe(true);
    expect(rawTcpFor('localhost')).toBe(false);
    process.env.FIRSTBELL_NET_SOCKET = '1';
    try {
      expect(rawTcpFor('127.0.0.1')).toBe(false);
    } finally {
      delete process.env.FIRSTBELL_NET_SOCKET;
    }
  });

  it('sends a first write larger than one segment, and writes after it, whole', async () => {
    const o = listener();
    const c = new RawTcp(o, '127.0.0.1', port);
    const big = 'x'.repeat(5000);
    await new Promise<void>((r) => {
      const t = setInterval(() => {
        if (c.connecting) return;
        clearInterval(t);
        r();
      }, 1);
    });
    c.write(big);
    for (const part of ['a', 'b', 'c']) c.write(part);
    c.write(' bye');
    await o.closed$;
    expect(o.bytes).toBe(`${big.toUpperCase()}ABC BYE`);
    expect(o.errors).toEqual([]);
  });

  it("hands each owner bytes of its own: what one kept is not changed by another connection's reads", async () => {
    // Owners that keep every buffer they are given, as a reader keeps a body's parts.
    const kept: Buffer[][] = [[], []];
    const ends: Promise<void>[] = [];
    const conns = kept.map((list, i) => {
      let done!: () => void;
      ends.push(new Promise<void>((r) => (done = r)));
      return new RawTcp({ data: (_c, d) => list.push(d), error: () => undefined, closed: () => done() }, '127.0.0.1', port);
    });
    // Read after read on both connections, large and small, one connection's bytes arriving between the other's.
    for (let k = 0; k < 20; k++) conns[k % 2]!.write(`${k % 2 ? 'b' : 'a'}`.repeat(k % 4 === 0 ? 70_000 : 10 + k));
    for (const c of conns) c.write(' bye');
    await Promise.all(ends);
    const expected = (side: number) => Array.from({ length: 20 }, (_, k) => (k % 2 === side ? `${side ? 'B' : 'A'}`.repeat(k % 4 === 0 ? 70_000 : 10 + k) : '')).join('') + ' BYE';
    expect(Buffer.concat(kept[0]!).toString('latin1')).toBe(expected(0));
    expect(Buffer.concat(kept[1]!).toString('latin1')).toBe(expected(1));
  });

  it('sends what it is given before it connected, hears the answer, and closes once after the server ends', async () => {
    const o = listener();
    const c = new RawTcp(o, '127.0.0.1', port);
    expect(c.connecting).toBe(true);
    c.write('hello ');
    c.write(Buffer.from('bye'));
    await o.closed$;
    expect(o.bytes).toBe('HELLO BYE');
    expect(o.heard.at(-1)).toBe('closed');
    expect(o.heard.filter((h) => h === 'closed')).toHaveLength(1);
    expect(o.errors).toEqual([]);
    // Closing again, or writing after the close, does nothing.
    c.destroy();
    c.write('more');
  });

  it('fails a refused connection with the error net.Socket gives, then closes', async () => {
    const o = listener();
    new RawTcp(o, '127.0.0.1', 1);
    await o.closed$;
    expect(o.heard).toEqual(['error', 'closed']);
    const mine = o.errors[0] as unknown as Record<string, unknown>;
    const theirs = (await netError(1)) as unknown as Record<string, unknown>;
    for (const k of ['code', 'errno', 'syscall', 'address', 'port', 'message']) expect(mine[k]).toEqual(theirs[k]);
  });

  it('binds the source port it is given, gives it back when closed, and marks it bad when something else holds it', async () => {
    const released: boolean[] = [];
    const take = (localPort: number): SourcePort => ({ localAddress: '127.0.1.61', localPort, release: (bad = false) => released.push(bad) });
    const o = listener();
    const c = new RawTcp(o, '127.0.0.1', port, take(0));
    c.write('bye');
    await o.closed$;
    expect(released).toEqual([false]);
    // A port a listening socket holds on the same address: the kernel refuses it, and the port is not used again.
    const holder = createServer();
    await new Promise<void>((r) => holder.listen(0, '127.0.1.61', r));
    const held = (holder.address() as AddressInfo).port;
    try {
      const o2 = listener();
      new RawTcp(o2, '127.0.0.1', port, take(held));
      await o2.closed$;
      expect((o2.errors[0] as NodeJS.ErrnoException).code).toBe('EADDRINUSE');
      expect(released).toEqual([false, true]);
      const theirs = await netError(port, '127.0.1.61', held);
      expect(o2.errors[0]!.message).toBe(theirs.message);
    } finally {
      holder.close();
    }
  });

  it('pauses, goes to another owner that reads on where it stopped, and ends its side', async () => {
    const o = listener();
    const c = new RawTcp(o, '127.0.0.1', port);
    // Paused before it connected: it reads nothing until resumed.
    c.pause();
    c.write('first');
    await new Promise((r) => setTimeout(r, 50));
    expect(o.bytes).toBe('');
    const next = listener();
    c.handTo(next);
    c.resume();
    await new Promise<void>((r) => {
      const wait = () => (next.bytes === 'FIRST' ? r() : setTimeout(wait, 5));
      wait();
    });
    expect(o.heard).toEqual([]);
    // Ended on this side, the server ends its own (it does not stay half-open), and the connection closes.
    c.write('then');
    c.end();
    // A second end does nothing more, as net.Socket's.
    c.end();
    await next.closed$;
    expect(next.bytes).toBe('FIRSTTHEN');
    expect(next.heard.at(-1)).toBe('closed');
    expect(next.errors).toEqual([]);
    expect(c.closed).toBe(true);
    // An end asked for before the connection was made follows what was written before it.
    const early = listener();
    const e = new RawTcp(early, '127.0.0.1', port);
    e.write('early');
    e.end();
    await early.closed$;
    expect(early.bytes).toBe('EARLY');
  });
});
