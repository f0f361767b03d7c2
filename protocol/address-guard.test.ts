import type { LookupAddress } from 'node:dns';
import { describe, expect, it } from 'vitest';
import { NetPolicy } from './address-guard.js';

const look = (p: NetPolicy, host: string) =>
  new Promise<{ err: NodeJS.ErrnoException | null; address: string }>((r) => p.lookup(host, {}, (err, address) => r({ err, address: address as unknown as string })));

describe("a run's network policy", () => {
  it('refuses a name that is not allowed without asking the resolver, and resolves localhost and the allowed names', async () => {
    const p = new NetPolicy(['127.0.0.1']);
    const refused = await look(p, 'media.example.org');
    expect(refused.err?.code).toBe('FIRSTBELL_NOT_ALLOWED');
    expect(refused.err?.message).toContain('add --allow-target media.example.org');
    expect(await look(p, 'localhost')).toMatchObject({ err: null, address: expect.stringMatching(/^(127\.|::1)/) });
    const all = await new Promise<LookupAddress[]>((r) => new NetPolicy(['localhost']).lookup('localhost', { all: true }, (_e, a) => r(a as unknown as LookupAddress[])));
    expect(all.length).toBeGreaterThan(0);
  });
});
