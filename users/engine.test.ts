import { createServer, type AddressInfo, type Server } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ownPorts } from '../lib/ports.js';
import { platformOfInput } from '../modules/journey.js';
import { SourcePorts } from '../protocol/source-ports.js';
import { DEFAULT_CLIENT, DEFAULT_OBJECTIVES, resolveScenario } from '../scenarios/model.js';
import { prepareForLoad, retryDelayMs, untilJourneysEnd } from './engine.js';

const SCENARIO = resolveScenario(
  {
    name: 'warm', description: 'x', firstBell: '08:00:00', population: { schools: 1, conferences: 1, participantsPerConference: 10 },
    phases: [{ name: 'a', startMs: 0, durationMs: 1_000, participants: 10, curve: { kind: 'uniform' } }],
    observeMs: 1_000, client: DEFAULT_CLIENT, objectives: DEFAULT_OBJECTIVES, joinWithinMs: 10_000,
  },
  1,
);

describe('retry behaviour', () => {
  it('gives up at once without a policy', () => {
    expect(retryDelayMs(undefined, 1, 7, 1)).toBeUndefined();
    expect(retryDelayMs({ kind: 'none' }, 1, 7, 1)).toBeUndefined();
  });

  it('reloads every N ms until the last try', () => {
    const p = { kind: 'reload', everyMs: 30_000, maxTries: 3 } as const;
    expect([1, 2, 3].map((t) => retryDelayMs(p, t, 7, 1))).toEqual([30_000, 30_000, undefined]);
  });

  it('backs off exponentially with full jitter under a cap, the same for the same participant and seed', () => {
    const p = { kind: 'backoff', baseMs: 1_000, maxMs: 8_000, maxTries: 10 } as const;
    for (let t = 1; t <= 6; t++) {
      const d = retryDelayMs(p, t, 42, 3)!;
      expect(d).toBeGreaterThanOrEqual(0);
      expect(d).toBeLessThan(Math.min(8_000, 1_000 * 2 ** (t - 1)));
      expect(retryDelayMs(p, t, 42, 3)).toBe(d);
    }
    const spread = new Set(Array.from({ length: 50 }, (_, id) => Math.round(retryDelayMs(p, 4, id, 3)!)));
    expect(spread.size).toBeGreaterThan(40);
  });
});

describe('the warm-up before a load', () => {
  let origin: Server;
  let url: string;
  beforeAll(async () => {
    origin = createServer((c) => c.on('data', () => c.end('HTTP/1.1 200 OK\r\ncontent-length: 2\r\nconnection: close\r\n\r\nok')).on('error', () => undefined));
    await new Promise<void>((r) => origin.listen(0, '127.0.0.1', r));
    url = `http://127.0.0.1:${(origin.address() as AddressInfo).port}/`;
  });
  afterAll(() => new Promise<void>((r) => origin.close(() => r())));

  /** Source ports that count what they and their copies give out, by local address. */
  function counted(addresses: string[]): { source: SourcePorts; own: string[]; copies: string[] } {
    const own: string[] = [];
    const copies: string[] = [];
    const spy = (s: SourcePorts, into: string[]): SourcePorts => {
      const take = s.take.bind(s);
      s.take = (participant: number) => {
        const p = take(participant);
        into.push(p.localAddress);
        return p;
      };
      return s;
    };
    const source = spy(new SourcePorts(addresses, ownPorts([32768, 60999], { index: 0, count: 1 })), own);
    const copy = source.copy.bind(source);
    source.copy = () => spy(copy(), copies);
    return { source, own, copies };
  }

  it("binds its connections as the run will, from a copy of the run's loopback source ports, and takes none of the run's own", async () => {
    const c = counted(['127.0.1.31', '127.0.1.32']);
    await prepareForLoad({ origin: new URL(url).origin, target: await platformOfInput({ journey: 'http', target: url }), scenario: SCENARIO, arrivals: 40, source: c.source });
    expect(c.copies.length).toBe(40);
    expect(new Set(c.copies)).toEqual(new Set(['127.0.1.31', '127.0.1.32']));
    expect(c.own).toEqual([]);
  });

  it('leaves its connections to the system where the run binds to addresses that are not loopback', async () => {
    const c = counted(['192.0.2.7']);
    await prepareForLoad({ origin: new URL(url).origin, target: await platformOfInput({ journey: 'http', target: url }), scenario: SCENARIO, arrivals: 10, source: c.source });
    expect(c.copies).toEqual([]);
    expect(c.own).toEqual([]);
  });
});

describe("the warm-up's wait for its journeys", () => {
  /** An engine whose participants end `perWait` at each wait, down to `holding` that never end. */
  function fake(active: number, perWait: number, holding = 0) {
    const e = {
      active,
      waits: 0,
      async settle(ms: number) {
        e.waits++;
        await new Promise((r) => setTimeout(r, Math.min(ms, 5)));
        e.active = Math.max(holding, e.active - perWait);
      },
    };
    return e;
  }

  it('waits while journeys are still ending, until none is left', async () => {
    const e = fake(2_000, 600);
    await untilJourneysEnd(e, 50);
    expect(e.active).toBe(0);
    expect(e.waits).toBe(4);
  });

  it('stops waiting after a wait in which none ended: the ones left hold', async () => {
    const e = fake(900, 300, 300);
    await untilJourneysEnd(e, 50);
    expect(e.active).toBe(300);
    expect(e.waits).toBe(3);
  });

  it('does not wait when nothing is under way', async () => {
    const e = fake(0, 1);
    await untilJourneysEnd(e, 50);
    expect(e.waits).toBe(0);
  });
});
