import { ephemeralPortRange } from '../lib/ports.js';
import { describe, expect, it } from 'vitest';
import { layoutLoad, loadProcessSpawn, LocalAddressError, loopbackPool, openFileLimit, parseLocalAddresses, USABLE_CORE_SHARE } from './limits.js';

describe('local addresses', () => {
  const none = new Set<string>();
  it('reads ranges, lists and networks', () => {
    expect(parseLocalAddresses(['127.0.1.1-127.0.1.3'], none)).toEqual(['127.0.1.1', '127.0.1.2', '127.0.1.3']);
    expect(parseLocalAddresses(['127.0.2.1,127.0.2.9', '127.0.2.1'], none)).toEqual(['127.0.2.1', '127.0.2.9']);
    expect(parseLocalAddresses(['127.0.3.0/30'], none)).toEqual(['127.0.3.1', '127.0.3.2']);
    expect(parseLocalAddresses(['10.1.2.3'], new Set(['10.1.2.3']))).toEqual(['10.1.2.3']);
  });
  it('names the value and the fix when it is wrong', () => {
    expect(() => parseLocalAddresses(['10.9.9.9'], none)).toThrow(/--local-address 10\.9\.9\.9: 10\.9\.9\.9 is not an address of this machine/);
    expect(() => parseLocalAddresses(['127.0.1.9-127.0.1.1'], none)).toThrow(LocalAddressError);
    expect(() => parseLocalAddresses(['127.0.0.0/8'], none)).toThrow(/\/20 to \/32/);
    expect(() => parseLocalAddresses(['pupils'], none)).toThrow(/not an address/);
  });
  it('makes a loopback pool that skips network and broadcast addresses', () => {
    const pool = loopbackPool(300);
    expect(pool[0]).toBe('127.0.1.1');
    expect(pool).toHaveLength(300);
    expect(pool.some((a) => a.endsWith('.0') || a.endsWith('.255'))).toBe(false);
  });
});

describe('layout of the load', () => {
  const files = openFileLimit() ?? Number.POSITIVE_INFINITY;
  it('keeps a small run in one process, its connections on one loopback address', () => {
    const l = layoutLoad({ participants: 1_280, peakArrivalsPerSec: 251, targetHost: '127.0.0.1', cores: 2 });
    expect(l).toMatchObject({ workers: 1, localAddresses: ['127.0.1.1'], warnings: [] });
  });
  it('uses every core for a high arrival rate', () => {
    expect(layoutLoad({ participants: 5_000, peakArrivalsPerSec: 2_000, targetHost: '127.0.0.1', cores: 2 }).workers).toBe(2);
  });
  it('adds processes for a high rate only as an arrival\'s measured cost to an event loop needs them', () => {
    const at = (loopMsPerArrival: number, cores = 4) => layoutLoad({ participants: 50_000, peakArrivalsPerSec: 5_000, targetHost: '127.0.0.1', cores, holds: false, loopMsPerArrival });
    // 5,000 a second at 0.1 ms each keep one loop half busy; at 0.2 ms one loop full, two at 71 %, three at 48 %.
    expect(at(0.1)).toMatchObject({ workers: 1, workersWhy: 'one process is enough: 5,000 arrivals/s at 100 µs of an event loop each, measured here' });
    expect(at(0.2)).toMatchObject({ workers: Math.ceil(1 / USABLE_CORE_SHARE), workersWhy: `5,000 arrivals/s at 200 µs of an event loop each, measured here, each loop at most ${USABLE_CORE_SHARE * 100} % busy` });
    // Never more than the cores, and below the rate that spreads load at all, one.
    expect(at(2).workers).toBe(4);
    expect(layoutLoad({ participants: 1_000, peakArrivalsPerSec: 400, targetHost: '127.0.0.1', cores: 4, holds: false, loopMsPerArrival: 5 }).workers).toBe(1);
  });
  it.runIf(Number.isFinite(files))('spreads held sockets over enough processes, and every connection over enough loopback addresses', () => {
    const l = layoutLoad({ participants: 128_000, peakArrivalsPerSec: 25_138, targetHost: '127.0.0.1', cores: 2 });
    expect(l.workers).toBeGreaterThanOrEqual(Math.ceil(128_000 / (files - 500)));
    // Held, open and lingering connections: every address keeps most of its ports free.
    expect(l.localAddresses.length * l.portsPerAddress).toBeGreaterThanOrEqual(3 * 128_000);
    expect(l.warnings.join(' ')).not.toMatch(/EMFILE|EADDRNOTAVAIL|search/);
    // Join-and-leave cycles at 500 a second against a slow target: ports stay busy up to the step timeout and a
    // minute after; firstbell picks them itself, below the kernel's range, and leaves a fifth of them free.
    const cycles = layoutLoad({ participants: 60_000, peakArrivalsPerSec: 500, targetHost: '127.0.0.1', cores: 2, holds: false, stepTimeoutMs: 10_000 });
    expect(cycles.busyPorts).toBe(500 * 2 * 70);
    expect(cycles.portsPerAddress).toBe(65536 - 1024 - (ephemeralPortRange()[1] - ephemeralPortRange()[0] + 1));
    expect(cycles.localAddresses.length).toBe(Math.ceil(70_000 / (cycles.portsPerAddress * 0.8)));
    expect(cycles.warnings).toEqual([]);
  });
  it('warns before a remote target when one source address would search for free ports on each connect', () => {
    const l = layoutLoad({ participants: 25_000, peakArrivalsPerSec: 500, targetHost: '10.0.0.1', cores: 2, holds: false, stepTimeoutMs: 10_000 });
    expect(l.localAddresses).toEqual([]);
    expect(l.warnings.join('\n')).toMatch(/EADDRNOTAVAIL, the generator's own failure \(give more with --local-address, addresses of this machine that reach the target\)/);
    const fewer = layoutLoad({ participants: 25_000, peakArrivalsPerSec: 100, targetHost: '10.0.0.1', cores: 2, holds: false, stepTimeoutMs: 10_000 });
    expect(fewer.warnings.join('\n')).toMatch(/each connect costs the kernel a search for a free one, and the generator stalls in it/);
  });
  it.runIf(Number.isFinite(files))('says in the plan when given settings will hit a limit', () => {
    const l = layoutLoad({ participants: 128_000, peakArrivalsPerSec: 25_138, targetHost: '10.0.0.1', cores: 2, workers: 2 });
    expect(l.localAddresses).toEqual([]);
    expect(l.warnings.join('\n')).toMatch(/EMFILE \(use --workers \d+/);
    expect(l.warnings.join('\n')).toMatch(/EADDRNOTAVAIL, the generator's own failure \(give more with --local-address/);
  });
  it.runIf(Number.isFinite(files))('says when the sockets, not the arrival rate, asked for more processes, and what would need fewer', () => {
    // Journeys that hold nothing: two seconds of the peak's arrivals open at once, at the files one process may open.
    const perSec = Math.ceil((files - 500) / 2) + 1;
    const cheap = layoutLoad({ participants: perSec * 10, peakArrivalsPerSec: perSec, targetHost: '127.0.0.1', cores: 64, holds: false, loopMsPerArrival: 0.01 });
    expect(cheap.workers).toBe(2);
    expect(cheap.workersWhy).toBe(`${(perSec * 2).toLocaleString('en-US')} sockets open at once (2 s of the peak's arrivals) at ${(files - 500).toLocaleString('en-US')} a process; the arrival rate alone needs one, and fewer would do with a higher open-file limit (ulimit -Hn)`);
    // Where the rate needs as many, a higher limit would not change the count.
    const dear = layoutLoad({ participants: perSec * 10, peakArrivalsPerSec: perSec, targetHost: '127.0.0.1', cores: 64, holds: false, loopMsPerArrival: (0.99 * USABLE_CORE_SHARE * 2 * 1000) / perSec });
    expect(dear.workers).toBe(2);
    expect(dear.workersWhy).toMatch(/ at [\d,]+ a process, as many as the arrival rate needs$/);
  });
  it('counts few open sockets for journeys that hold nothing', () => {
    const l = layoutLoad({ participants: 50_000, peakArrivalsPerSec: 100, targetHost: '127.0.0.1', cores: 2, holds: false });
    expect(l.workers).toBe(1);
  });
});

describe('a worker process that sends load', () => {
  it('starts with a small young generation and two malloc arenas, unless told otherwise', () => {
    const d = loadProcessSpawn(['--max-old-space-size=512'], { PATH: '/bin' });
    expect(d.execArgv).toEqual(['--max-old-space-size=512', '--max-semi-space-size=4']);
    expect(d.env).toEqual({ PATH: '/bin', MALLOC_ARENA_MAX: '2' });
    // The user's own settings stay as given.
    expect(loadProcessSpawn(['--max-semi-space-size=16'], {}).execArgv).toEqual(['--max-semi-space-size=16']);
    expect(loadProcessSpawn([], { NODE_OPTIONS: '--require x --max-semi-space-size=8', MALLOC_ARENA_MAX: '4' })).toEqual({ execArgv: [], env: { NODE_OPTIONS: '--require x --max-semi-space-size=8', MALLOC_ARENA_MAX: '4' } });
  });

  it("keeps V8's own young generation where participants hold nothing", () => {
    const d = loadProcessSpawn(['--max-old-space-size=512'], { PATH: '/bin' }, false);
    expect(d.execArgv).toEqual(['--max-old-space-size=512']);
    expect(d.env).toEqual({ PATH: '/bin', MALLOC_ARENA_MAX: '2' });
  });
});
