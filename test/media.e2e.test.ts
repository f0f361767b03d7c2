// The media layer for real: Janus farms behind the reference platform, browser users in Chromium beside protocol users.
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { buildReport } from '../reports/build-report.js';
import { findScenario } from '../scenarios/index.js';
import { resolveScenario } from '../scenarios/model.js';
import { BROWSER_USER_BASE } from '../users/browser/canaries.js';
import { FILES, readBrowserJourneys, readMedia } from '../run-folder/run-folder.js';
import { runScenario } from '../users/run.js';
import { referenceTarget } from '../targets/reference.js';
import { janusTarget } from '../targets/janus.js';
import { startJanusFarms } from '../fixtures/janus.js';
import { CHROMIUM_ARGS, chromiumPath, MEDIA_ARGS } from '../lib/chromium.js';
import { steadyScenario, tempDir, useReferencePlatform } from './helpers.js';

const LOOPBACK = /^127\.\d+\.\d+\.\d+:\d+$/;

describe('Janus as the target', () => {
  it('holds protocol users as Janus sessions in the VideoRoom of their class, with keepalives as heartbeats', async () => {
    const [farm] = await startJanusFarms(1);
    try {
      const r = await runScenario({ scenario: steadyScenario(40, 5_000, [], { heartbeatMs: 1_000 }, 3_000), seed: 1, target: janusTarget(new URL(farm!.wsUrl)), outDir: tempDir() });
      const connect = r.series.total((d) => d.step === 'connect');
      const heartbeat = r.series.total((d) => d.step === 'heartbeat');
      expect(connect.ok).toBe(200);
      expect(connect.failed).toBe(0);
      expect(heartbeat.ok).toBeGreaterThan(300);
      expect(heartbeat.failed).toBe(0);
      expect(r.series.journeys.joined).toBe(200);
    } finally {
      await farm!.stop();
    }
  });
});

describe('media layer with Janus and browser users', () => {
  const platform = useReferencePlatform(['--media', 'janus', '--login-capacity', '100', '--join-capacity', '60']);

  it('two browser users in one room each receive the other one\'s video, over loopback only', async () => {
    const out = tempDir();
    const r = await runScenario({
      scenario: steadyScenario(5, 12_000, [], {}, 3_000),
      seed: 1,
      target: referenceTarget(new URL(platform().url)),
      outDir: out,
      browsers: { count: 2, cycleMs: 60_000 },
    });
    const journeys = readBrowserJourneys(r.dir);
    const media = readMedia(r.dir);
    for (const user of [BROWSER_USER_BASE, BROWSER_USER_BASE + 1]) {
      const mine = journeys.filter((j) => j.user === user);
      const joined = mine.find((j) => j.joinMs !== undefined && j.firstFrameMs !== undefined);
      expect(joined, `pupil-${user} joined and saw a frame: ${JSON.stringify(mine)}`).toBeDefined();
      const seconds = media.filter((m) => m.user === user && m.state === 'joined');
      expect(seconds.reduce((a, m) => a + m.framesDecoded, 0)).toBeGreaterThan(0);
      expect(Math.max(...seconds.map((m) => m.fps))).toBeGreaterThan(5);
      // Publisher and subscriber paths, both ends on 127.0.0.0/8.
      expect(joined!.pairs!.length).toBeGreaterThanOrEqual(2);
      for (const pair of joined!.pairs!) for (const end of pair.split('-')) expect(end).toMatch(LOOPBACK);
    }
    // The protocol users meanwhile held real Janus sessions.
    const connect = r.series.total((d) => d.layer === 'media' && d.step === 'connect');
    expect(connect.ok).toBeGreaterThan(50);
    expect(connect.failed).toBe(0);
  });

  it('drives browser users in a Chromium started elsewhere, through --browser-endpoint', async () => {
    const profile = tempDir('firstbell-chromium-');
    const chromium = spawn(chromiumPath(), [...CHROMIUM_ARGS, ...MEDIA_ARGS, '--headless', '--remote-debugging-port=0', '--remote-debugging-address=127.0.0.1', `--user-data-dir=${profile}`, 'about:blank'], { stdio: ['ignore', 'ignore', 'pipe'] });
    try {
      const endpoint = await new Promise<string>((resolve, reject) => {
        let buf = '';
        chromium.stderr!.on('data', (d: Buffer) => {
          buf += d.toString();
          const m = /DevTools listening on (ws:\/\/\S+)/.exec(buf);
          if (m) resolve(m[1]!);
        });
        chromium.once('exit', (code) => reject(new Error(`chromium exited (${code}): ${buf}`)));
      });
      const r = await runScenario({
        scenario: steadyScenario(5, 8_000, [], {}, 3_000),
        seed: 1,
        target: referenceTarget(new URL(platform().url)),
        outDir: tempDir(),
        browsers: { count: 2, cycleMs: 60_000, endpoint },
      });
      const journeys = readBrowserJourneys(r.dir);
      expect(journeys.filter((j) => j.joinMs !== undefined && j.firstFrameMs !== undefined).length, JSON.stringify(journeys)).toBe(2);
      expect(r.info.browsers!.endpoint).toBe(endpoint);
      // The browser was lent, not owned: it is still running after the run.
      expect(chromium.exitCode).toBeNull();
    } finally {
      chromium.kill('SIGKILL');
    }
  });

  it('a hybrid monday-0800 shows the browser users faring worse in the burst than before it', async () => {
    const out = tempDir();
    // Peak 251 arrivals/s against logins at 100/s and joins at 60/s: the burst overloads admission and broker.
    const scenario = resolveScenario(findScenario('monday-0800')!, 0.01);
    const r = await runScenario({ scenario, seed: 1, target: referenceTarget(new URL(platform().url)), outDir: out, browsers: { count: 2, cycleMs: 4_000 } });
    const { analysis, reportPath } = await buildReport(r.dir);
    const b = analysis.browsers!;
    expect(b.before.journeys).toBeGreaterThanOrEqual(2);
    expect(b.burst.journeys).toBeGreaterThanOrEqual(1);
    const burstStart = r.info.firstBellAtMs / 1000;
    const inBurst = b.journeys.filter((j) => j.startMs >= burstStart * 1000 && j.startMs < (burstStart + 8) * 1000 && j.end !== 'stopped');
    // Each user's first journey starts a cold browser window: it is no baseline.
    const before = b.journeys.filter((j) => j.n > 1 && j.clickSecond < burstStart && j.end !== 'stopped');
    const slowest = (js: typeof inBurst, k: 'pageMs' | 'loginMs' | 'assignMs' | 'joinMs' | 'firstFrameMs') => Math.max(0, ...js.map((j) => j[k] ?? 0));
    // Worse in the burst: a journey that failed, or a page, login, assignment, join or first frame slower than any before it.
    expect(inBurst.length).toBeGreaterThanOrEqual(2);
    const worse =
      inBurst.some((j) => j.end === 'failed') ||
      (['pageMs', 'loginMs', 'assignMs', 'joinMs', 'firstFrameMs'] as const).some((k) => slowest(inBurst, k) > slowest(before, k));
    expect(worse, JSON.stringify({ before, inBurst })).toBe(true);
    const html = readFileSync(reportPath, 'utf8');
    expect(html).toContain('id="media-section"');
    expect(html).toContain('chart-browser-journeys');
    expect(html).toContain('chart-browser-media');
    expect(b.media.length).toBeGreaterThan(10);
  });

  it('a Janus farm going down mid-run shows as lost conferences and reconnects', async () => {
    const out = tempDir();
    // The browser users' class (conference 900000) sits on farm 0.
    const scenario = steadyScenario(8, 30_000, [{ kind: 'farm-down', atMs: 10_000, forMs: 12_000, farm: 0 }], { retry: { kind: 'reload', everyMs: 2_000, maxTries: 20 } }, 3_000);
    const r = await runScenario({ scenario, seed: 1, target: referenceTarget(new URL(platform().url)), outDir: out, browsers: { count: 2, cycleMs: 60_000 } });
    const { analysis } = await buildReport(r.dir);
    const b = analysis.browsers!;
    expect(b.dropped, JSON.stringify(b.journeys)).toBeGreaterThanOrEqual(1);
    expect(b.reconnects).toBeGreaterThanOrEqual(1);
    // After the drop, a browser user got back in (the broker moved the class to the farm still up).
    const fault = r.info.faults![0]!;
    expect(b.journeys.some((j) => j.startMs > fault.startMs && j.joinMs !== undefined)).toBe(true);
    // Protocol users on the farm lost their sessions and rejoined.
    const heartbeat = r.series.total((d) => d.layer === 'media' && d.step === 'heartbeat');
    const connect = r.series.total((d) => d.layer === 'media' && d.step === 'connect');
    expect(heartbeat.failed + connect.failed).toBeGreaterThan(0);
    const media = analysis.layers.find((l) => l.layer === 'media')!;
    expect(media.failed).toBeGreaterThan(0);
    expect(JSON.parse(readFileSync(join(r.dir, FILES.run), 'utf8')).browsers.count).toBe(2);
  });
});
