import { describe, expect, it } from 'vitest';
import { layoutLoad, LocalAddressError, loopbackPool, openFileLimit, parseLocalAddresses } from './limits.js';

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
  it('keeps a small run in one process on the system address', () => {
    const l = layoutLoad({ participants: 1_280, peakArrivalsPerSec: 251, targetHost: '127.0.0.1', cores: 2 });
    expect(l).toMatchObject({ workers: 1, localAddresses: [], warnings: [] });
  });
  it('uses every core for a high arrival rate', () => {
    expect(layoutLoad({ participants: 5_000, peakArrivalsPerSec: 2_000, targetHost: '127.0.0.1', cores: 2 }).workers).toBe(2);
  });
  it.runIf(Number.isFinite(files))('spreads held sockets over enough processes and loopback addresses', () => {
    const l = layoutLoad({ participants: 128_000, peakArrivalsPerSec: 25_138, targetHost: '127.0.0.1', cores: 2 });
    expect(l.workers).toBeGreaterThanOrEqual(Math.ceil(128_000 / (files - 500)));
    // A burst's HTTP connections alone would use up the system address: every connection is bound to the pool,
    // with room for the closed ones in TIME_WAIT.
    expect(l.localAddressesFor).toBe('all');
    expect(l.localAddresses.length * l.portsPerAddress).toBeGreaterThanOrEqual(2 * 128_000);
    expect(l.warnings.join(' ')).not.toMatch(/EMFILE|EADDRNOTAVAIL/);
    // Arriving slowly, only the held connections are bound; short HTTP connections reuse loopback ports in TIME_WAIT.
    const slow = layoutLoad({ participants: 25_000, peakArrivalsPerSec: 500, targetHost: '127.0.0.1', cores: 2 });
    expect(slow.localAddressesFor).toBe('held');
    expect(slow.localAddresses.length * slow.portsPerAddress).toBeGreaterThanOrEqual(25_000);
    expect(slow.warnings.join(' ')).not.toMatch(/EMFILE|EADDRNOTAVAIL/);
  });
  it.runIf(Number.isFinite(files))('says in the plan when given settings will hit a limit', () => {
    const l = layoutLoad({ participants: 128_000, peakArrivalsPerSec: 25_138, targetHost: '10.0.0.1', cores: 2, workers: 2 });
    expect(l.localAddresses).toEqual([]);
    expect(l.warnings.join('\n')).toMatch(/EMFILE \(use --workers \d+/);
    expect(l.warnings.join('\n')).toMatch(/EADDRNOTAVAIL \(give more with --local-address/);
  });
  it('counts few open sockets for journeys that hold nothing', () => {
    const l = layoutLoad({ participants: 50_000, peakArrivalsPerSec: 100, targetHost: '127.0.0.1', cores: 2, holds: false });
    expect(l.workers).toBe(1);
  });
});
