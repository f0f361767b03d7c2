import { createServer, type Server } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_CLIENT } from '../scenarios/model.js';
import { HttpStatusError } from '../api/errors.js';
import type { Sample } from '../api/sample.js';
import { identityOf } from '../api/identity.js';
import { StepControllers, VirtualUser } from './virtual-user.js';

/** A raw TCP server that behaves badly on purpose: resets, or answers with a status line of our choosing. */
let bad: Server;
let port: number;
beforeAll(async () => {
  bad = createServer((sock) => {
    sock.once('data', (d) => {
      const path = /^[A-Z]+ (\S+)/.exec(String(d))?.[1];
      if (path === '/reset') sock.resetAndDestroy();
      else if (path === '/hang') return;
      else sock.end('HTTP/1.1 502 Bad Gateway\r\ncontent-length: 0\r\nconnection: close\r\n\r\n');
    });
    sock.on('error', () => undefined);
  });
  await new Promise<void>((r) => bad.listen(0, '127.0.0.1', r));
  port = (bad.address() as { port: number }).port;
});
afterAll(() => new Promise<void>((r) => bad.close(() => r())));

const PROBE = { probe: 'admission' } as const;
const POPULATION = { schools: 1, conferences: 1, participantsPerConference: 10 };

async function oneStep(origin: string, path: string, timeoutMs = 2_000): Promise<Sample> {
  const samples: Sample[] = [];
  const t0 = performance.now();
  const vu = new VirtualUser({ origin, target: new URL(origin), client: { ...DEFAULT_CLIENT, stepTimeoutMs: timeoutMs }, options: {}, steps: PROBE, identify: (id) => identityOf(id, POPULATION), clock: () => performance.now() - t0, emit: (s) => samples.push(s) }, 1, 0);
  await vu.step('probe', async (signal) => {
    const res = await vu.http.request('GET', path, { signal });
    if (res.status !== 200) throw new HttpStatusError(res.status, 'probe');
  });
  await vu.close();
  return samples[0]!;
}

describe('a virtual user classifies how each attempt ended', () => {
  it('records an HTTP error status as http with the status', async () => {
    expect(await oneStep(`http://127.0.0.1:${port}`, '/')).toMatchObject({ outcome: 'http', status: 502 });
  });

  it('records a connection reset as reset', async () => {
    expect(await oneStep(`http://127.0.0.1:${port}`, '/reset')).toMatchObject({ outcome: 'reset', status: 0 });
  });

  it('records a refused connection as refused', async () => {
    const srv = createServer();
    await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
    const closed = (srv.address() as { port: number }).port;
    await new Promise((r) => srv.close(r));
    expect(await oneStep(`http://127.0.0.1:${closed}`, '/')).toMatchObject({ outcome: 'refused' });
  });

  it('records a target that never answers as a timeout after the step timeout (tolerance +300 ms)', async () => {
    const s = await oneStep(`http://127.0.0.1:${port}`, '/hang', 500);
    expect(s.outcome).toBe('timeout');
    expect(s.endMs - s.intendedMs).toBeGreaterThanOrEqual(499);
    expect(s.endMs - s.intendedMs).toBeLessThan(800);
  });

  it('records an attempt the run stopped as aborted, not as the target failing', async () => {
    const samples: Sample[] = [];
    const t0 = performance.now();
    const vu = new VirtualUser({ origin: `http://127.0.0.1:${port}`, target: new URL(`http://127.0.0.1:${port}`), client: DEFAULT_CLIENT, options: {}, steps: PROBE, identify: (id) => identityOf(id, POPULATION), clock: () => performance.now() - t0, emit: (s) => samples.push(s) }, 2, 0);
    const step = vu.step('probe', (signal) => vu.http.request('GET', '/hang', { signal }));
    setTimeout(() => vu.stop(new Error('planned end')), 100);
    expect(await step).toEqual({ ok: false });
    await vu.close();
    expect(samples[0]).toMatchObject({ outcome: 'aborted' });
  });
});

describe("a step's signal", () => {
  const context = (controllers: StepControllers, stepTimeoutMs = 2_000) => {
    const t0 = performance.now();
    const origin = `http://127.0.0.1:${port}`;
    return { origin, target: new URL(origin), client: { ...DEFAULT_CLIENT, stepTimeoutMs }, options: {}, steps: PROBE, identify: (id: number) => identityOf(id, POPULATION), clock: () => performance.now() - t0, emit: () => undefined, controllers };
  };
  const signalOf = async (vu: VirtualUser, work: (s: AbortSignal) => Promise<void> = async () => undefined): Promise<AbortSignal> => {
    let seen: AbortSignal | undefined;
    await vu.step('probe', (signal) => ((seen = signal), work(signal)));
    vu.close();
    return seen!;
  };

  it('goes to a later participant once its journey ended as good as new, never aborted or still listened to', async () => {
    const controllers = new StepControllers();
    const first = await signalOf(new VirtualUser(context(controllers), 1, 0));
    expect(await signalOf(new VirtualUser(context(controllers), 2, 0))).toBe(first);
    // A listener left on it: the next participant has a signal of its own.
    const listened = await signalOf(new VirtualUser(context(controllers), 3, 0), async (s) => void s.addEventListener('abort', () => undefined));
    const fourth = await signalOf(new VirtualUser(context(controllers), 4, 0));
    expect(fourth).not.toBe(listened);
    expect(fourth.aborted).toBe(false);
    // A step that timed out aborted its signal: it is never handed on.
    const timedOut = await signalOf(new VirtualUser(context(controllers, 200), 5, 0), (signal) => new Promise((r) => signal.addEventListener('abort', () => r(), { once: true })));
    expect(timedOut.aborted).toBe(true);
    const sixth = await signalOf(new VirtualUser(context(controllers), 6, 0));
    expect(sixth).not.toBe(timedOut);
    expect(sixth.aborted).toBe(false);
    // A step still under way when its participant closed (a journey that did not await it) keeps its signal.
    const seventh = new VirtualUser(context(controllers), 7, 0);
    let stray: AbortSignal | undefined;
    const under = seventh.step('probe', (signal) => ((stray = signal), new Promise<void>((r) => setTimeout(r, 50))));
    seventh.close();
    expect(await signalOf(new VirtualUser(context(controllers), 8, 0))).not.toBe(stray);
    await under;
  });
});
