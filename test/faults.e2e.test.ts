import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import type { TLSSocket } from 'node:tls';
import { describe, expect, it } from 'vitest';
import WebSocket, { WebSocketServer } from 'ws';
import { startFaultProxy } from '../faults/fault-proxy.js';
import type { Fault } from '../scenarios/model.js';
import { readSamples, type RunInfo } from '../run-folder/run-folder.js';
import type { Sample } from '../api/sample.js';
import { runScenario, steadyScenario, tempDir, useReferencePlatform } from './helpers.js';

/** Every fault here is on from 2 s to 4 s of a 6 s stream of 30 arrivals/s. */
const ON_MS = 2_000;
const OFF_MS = 4_000;
/** Tolerance at the client for a fault's start and end: timers, think time and the first step's own duration. */
const EDGE_MS = 300;

const platform = useReferencePlatform();

async function runWith(fault: Fault, stepTimeoutMs = 1_500, faultsVia: 'auto' | 'proxy' = 'proxy'): Promise<{ samples: Sample[]; info: RunInfo }> {
  const r = await runScenario({
    faultsVia,
    scenario: steadyScenario(30, 6_000, [fault], { stepTimeoutMs }),
    seed: 4,
    platform: { journey: 'reference', target: platform().url },
    outDir: tempDir(),
  });
  const samples: Sample[] = [];
  for await (const s of readSamples(r.dir)) samples.push(s);
  return { samples, info: r.info };
}

/** First-step samples clearly inside the window and clearly outside it. */
function split(samples: Sample[], step = 'login_page') {
  const first = samples.filter((s) => s.step === step);
  return {
    inside: first.filter((s) => s.intendedMs >= ON_MS + EDGE_MS && s.intendedMs < OFF_MS - EDGE_MS),
    outside: first.filter((s) => s.intendedMs < ON_MS - EDGE_MS || s.intendedMs >= OFF_MS + EDGE_MS),
  };
}

function expectOnSchedule(info: RunInfo, via: 'proxy' | 'target' = 'proxy'): void {
  const f = info.faults![0]!;
  expect(f.via).toBe(via);
  expect(Math.abs(f.appliedMs! - ON_MS)).toBeLessThan(50);
  expect(Math.abs(f.clearedMs! - OFF_MS)).toBeLessThan(50);
}

describe('faults take effect and end on schedule (edges ±300 ms at the client)', () => {
  it('latency: +400 ms on every request inside the window, none outside', async () => {
    const { samples, info } = await runWith({ kind: 'latency', atMs: ON_MS, forMs: OFF_MS - ON_MS, addMs: 400 });
    expectOnSchedule(info);
    const { inside, outside } = split(samples);
    expect(inside.length).toBeGreaterThan(30);
    for (const s of inside) expect(s.endMs - s.intendedMs).toBeGreaterThanOrEqual(400);
    for (const s of outside) expect(s.endMs - s.intendedMs).toBeLessThan(300);
  });

  it('errors: 503 for every request inside the window, ok outside', async () => {
    const { samples, info } = await runWith({ kind: 'errors', atMs: ON_MS, forMs: OFF_MS - ON_MS, status: 503, ratio: 1 });
    expectOnSchedule(info);
    const { inside, outside } = split(samples);
    expect(inside.map((s) => `${s.outcome}${s.status}`)).toEqual(inside.map(() => 'http503'));
    expect(outside.every((s) => s.outcome === 'ok')).toBe(true);
  });

  it('reset: connections reset inside the window, ok outside', async () => {
    const { samples, info } = await runWith({ kind: 'reset', atMs: ON_MS, forMs: OFF_MS - ON_MS, ratio: 1 });
    expectOnSchedule(info);
    const { inside, outside } = split(samples);
    expect(inside.length).toBeGreaterThan(30);
    expect(inside.every((s) => s.outcome === 'reset')).toBe(true);
    expect(outside.every((s) => s.outcome === 'ok')).toBe(true);
  });

  it('blackhole: no answer inside the window (timeouts after 1 s), ok outside', async () => {
    const { samples, info } = await runWith({ kind: 'blackhole', atMs: ON_MS, forMs: OFF_MS - ON_MS }, 1_000);
    expectOnSchedule(info);
    const { inside, outside } = split(samples);
    expect(inside.length).toBeGreaterThan(30);
    expect(inside.every((s) => s.outcome === 'timeout')).toBe(true);
    expect(outside.every((s) => s.outcome === 'ok')).toBe(true);
  });

  it('bandwidth: the login page trickles at 300 B/s inside the window, arrives at once outside', async () => {
    const { samples, info } = await runWith({ kind: 'bandwidth', atMs: ON_MS, forMs: OFF_MS - ON_MS, bytesPerSec: 300 }, 5_000);
    expectOnSchedule(info);
    const { inside, outside } = split(samples);
    expect(inside.length).toBeGreaterThan(30);
    for (const s of inside) expect(s.endMs - s.startMs).toBeGreaterThanOrEqual(800);
    for (const s of outside) expect(s.endMs - s.startMs).toBeLessThan(300);
  });

  it.each(['proxy', 'target'] as const)('farm-down (applied by the %s): conferences on farm 1 drop at the start, joins to it are refused inside the window, none after', async (via) => {
    const { samples, info } = await runWith({ kind: 'farm-down', atMs: ON_MS, forMs: OFF_MS - ON_MS, farm: 1 }, 1_500, via === 'proxy' ? 'proxy' : 'auto');
    expectOnSchedule(info, via);
    const dropped = samples.filter((s) => s.step === 'heartbeat' && s.outcome === 'reset');
    expect(dropped.length).toBeGreaterThan(0);
    for (const s of dropped) expect(Math.abs(s.endMs - ON_MS)).toBeLessThan(EDGE_MS);
    const connects = samples.filter((s) => s.step === 'connect');
    const refused = connects.filter((s) => s.outcome === 'http' && s.status === 503);
    expect(refused.length).toBeGreaterThan(10);
    for (const s of refused) {
      expect(s.startMs).toBeGreaterThanOrEqual(ON_MS - 50);
      expect(s.startMs).toBeLessThan(OFF_MS + 50);
    }
    expect(connects.filter((s) => s.startMs >= OFF_MS + EDGE_MS).every((s) => s.outcome === 'ok')).toBe(true);
  });

  it('slow-login (applied by the reference platform itself): logins take 700 ms longer inside the window only', async () => {
    const { samples, info } = await runWith({ kind: 'slow-login', atMs: ON_MS, forMs: OFF_MS - ON_MS, addMs: 700 }, 3_000, 'auto');
    expectOnSchedule(info, 'target');
    const { inside, outside } = split(samples, 'login');
    expect(inside.length).toBeGreaterThan(30);
    for (const s of inside) expect(s.endMs - s.startMs).toBeGreaterThanOrEqual(700);
    for (const s of outside) expect(s.endMs - s.startMs).toBeLessThan(400);
  });
});

describe('the fault proxy in front of an HTTPS and WSS upstream', () => {
  it('speaks TLS onwards with the upstream name, keeps the upstream Host, brings redirects back through itself, and injects its faults', async () => {
    const dir = tempDir('firstbell-tls-');
    const made = spawnSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '1', '-subj', '/CN=localhost', '-addext', 'subjectAltName=DNS:localhost', '-keyout', join(dir, 'key.pem'), '-out', join(dir, 'cert.pem')], { encoding: 'utf8' });
    expect(made.status, made.stderr).toBe(0);
    const cert = readFileSync(join(dir, 'cert.pem'));
    const seen: { host?: string; servername?: string }[] = [];
    const server = createHttpsServer({ key: readFileSync(join(dir, 'key.pem')), cert }, (req, res) => {
      seen.push({ host: req.headers.host, servername: (req.socket as TLSSocket).servername || undefined });
      if (req.url === '/go') {
        res.writeHead(302, { location: `https://localhost:${port}/there` });
        return res.end();
      }
      res.end(`hello ${req.url}`);
    });
    const wss = new WebSocketServer({ server });
    wss.on('connection', (ws) => ws.on('message', (m) => ws.send(`echo ${String(m)}`)));
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const port = (server.address() as AddressInfo).port;
    // The name is localhost, resolved to loopback: the certificate is checked against it.
    const proxy = await startFaultProxy(new URL(`https://localhost:${port}`), { tls: { ca: cert } });
    try {
      const plain = await fetch(`${proxy.url}/lesson`);
      expect(plain.status).toBe(200);
      expect(await plain.text()).toBe('hello /lesson');
      expect(seen.at(-1)).toEqual({ host: `localhost:${port}`, servername: 'localhost' });
      const moved = await fetch(`${proxy.url}/go`, { redirect: 'manual' });
      expect(moved.headers.get('location')).toBe(`${proxy.url}/there`);
      const ws = new WebSocket(`${proxy.url.replace('http:', 'ws:')}/ws`);
      const echoed = await new Promise<string>((resolve, reject) => {
        ws.once('open', () => ws.send('hi'));
        ws.once('message', (m) => resolve(String(m)));
        ws.once('error', reject);
      });
      expect(echoed).toBe('echo hi');
      ws.close();
      const fault: Fault = { kind: 'errors', status: 502, ratio: 1, atMs: 0, forMs: 1_000, pathPrefix: '/lesson' };
      proxy.apply(fault);
      expect((await fetch(`${proxy.url}/lesson`)).status).toBe(502);
      expect((await fetch(`${proxy.url}/other`)).status).toBe(200);
      proxy.clear(fault);
      expect((await fetch(`${proxy.url}/lesson`)).status).toBe(200);
    } finally {
      await proxy.close();
      wss.close();
      server.closeAllConnections();
      await new Promise((r) => server.close(r));
    }
  });

  it('refuses an upstream whose certificate it cannot trust: the answer is a 502, not a silent plain connection', async () => {
    const dir = tempDir('firstbell-tls-');
    spawnSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '1', '-subj', '/CN=localhost', '-addext', 'subjectAltName=DNS:localhost', '-keyout', join(dir, 'key.pem'), '-out', join(dir, 'cert.pem')]);
    const server = createHttpsServer({ key: readFileSync(join(dir, 'key.pem')), cert: readFileSync(join(dir, 'cert.pem')) }, (_req, res) => res.end('secret'));
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const proxy = await startFaultProxy(new URL(`https://localhost:${(server.address() as AddressInfo).port}`));
    try {
      expect((await fetch(`${proxy.url}/`)).status).toBe(502);
    } finally {
      await proxy.close();
      server.closeAllConnections();
      await new Promise((r) => server.close(r));
    }
  });
});
