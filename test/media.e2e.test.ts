// The media layer for real: Janus farms behind the reference platform, browser users in Chromium beside protocol users.
import { spawn } from 'node:child_process';
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { writeReport } from '../reports/build-report.js';
import { findScenario } from '../scenarios/index.js';
import { resolveScenario } from '../scenarios/model.js';
import { BROWSER_USER_BASE } from '../users/browser/canaries.js';
import { FILES, readBrowserJourneys, readMedia } from '../run-folder/run-folder.js';
import { startJanusFarms, type JanusFarm } from '../fixtures/janus.js';
import { CHROMIUM_ARGS, chromiumPath, MEDIA_ARGS } from '../lib/chromium.js';
import { captureIo, runScenario, steadyScenario, tempDir, useReferencePlatform } from './helpers.js';
import { startClassroomNginx, type Nginx } from './servers/nginx.js';
import { EXIT, main } from '../cli.js';

const LOOPBACK = /^127\.\d+\.\d+\.\d+:\d+$/;

describe('Janus as the target', () => {
  it('holds protocol users as Janus sessions in the VideoRoom of their class, with keepalives as heartbeats', async () => {
    const [farm] = await startJanusFarms(1);
    try {
      const r = await runScenario({ scenario: steadyScenario(40, 5_000, [], { heartbeatMs: 1_000 }, 3_000), seed: 1, platform: { journey: 'janus', target: farm!.wsUrl }, outDir: tempDir() });
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
      platform: { journey: 'reference', target: platform().url },
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
        platform: { journey: 'reference', target: platform().url },
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
    // Peak 251 arrivals/s against logins at 100/s and joins at 60/s: the burst overloads admission and broker. The
    // participants held before the bell come in over 12 s (not 25 s), and the late joiners are left out: the browser
    // users' journeys before the burst and in it are what is compared.
    const monday = findScenario('monday-0800')!;
    const phases = monday.phases.filter((p) => p.name !== 'late joiners').map((p) => (p.name === 'baseline' ? { ...p, startMs: -16_000, durationMs: 12_000 } : p));
    const scenario = resolveScenario({ ...monday, phases, observeMs: 8_000 }, 0.01);
    const r = await runScenario({ scenario, seed: 1, platform: { journey: 'reference', target: platform().url }, outDir: out, browsers: { count: 2, cycleMs: 4_000 } });
    const { analysis, reportPath } = await writeReport(r.dir);
    const b = analysis.browsers!;
    expect(b.before.journeys).toBeGreaterThanOrEqual(2);
    expect(b.burst.journeys).toBeGreaterThanOrEqual(1);
    const burstStart = r.info.firstBellAtMs / 1000;
    const inBurst = b.journeys.filter((j) => j.startMs >= burstStart * 1000 && j.startMs < (burstStart + 8) * 1000 && j.end !== 'stopped');
    // Each user's first journey starts a cold browser window: it is no baseline.
    const before = b.journeys.filter((j) => j.n > 1 && j.clickSecond < burstStart && j.end !== 'stopped');
    const took = (j: (typeof inBurst)[number], k: string) => (k === 'pageMs' || k === 'joinMs' || k === 'firstFrameMs' ? j[k] : j.steps?.find((s) => s.name === k)?.ms) ?? 0;
    const slowest = (js: typeof inBurst, k: string) => Math.max(0, ...js.map((j) => took(j, k)));
    const typical = (js: typeof inBurst, k: string) => {
      const xs = js.map((j) => took(j, k)).sort((x, y) => x - y);
      return xs[Math.floor(xs.length / 2)] ?? 0;
    };
    // Worse in the burst: a journey that failed, or a page, login, assignment (the wait for the join button), join or
    // first frame a fifth slower than the typical journey before it (one warming journey before it is no measure).
    // A journey slowed by the burst keeps its browser busy, so the burst may see only one start of the two users.
    expect(inBurst.length, JSON.stringify(b.journeys)).toBeGreaterThanOrEqual(1);
    const worse =
      inBurst.some((j) => j.end === 'failed') ||
      ['pageMs', 'login', 'assign', 'joinMs', 'firstFrameMs'].some((k) => slowest(inBurst, k) > 1.2 * typical(before, k));
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
    const r = await runScenario({ scenario, seed: 1, platform: { journey: 'reference', target: platform().url }, outDir: out, browsers: { count: 2, cycleMs: 60_000 } });
    const { analysis } = await writeReport(r.dir);
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

describe('browser users in a classroom page firstbell did not write (examples/janus-classroom)', () => {
  const ex = new URL('../examples/janus-classroom/', import.meta.url).pathname;
  let farm: JanusFarm;
  let site: Nginx;
  beforeAll(async () => {
    [farm] = (await startJanusFarms(1)) as [JanusFarm];
    site = await startClassroomNginx(ex, farm.wsUrl);
  });
  afterAll(async () => {
    await site?.stop();
    await farm?.stop();
  });

  it('join a janus.js page behind nginx through a user-written web client, and report first frames, fps and the browser on the machine', async () => {
    {
      const out = tempDir();
      const c = captureIo();
      const code = await main(['run', join(ex, 'steady.ts'), '--target-kind', 'janus', '--target', `${site.url.replace('http:', 'ws:')}/janus`, '--scale', '1', '--browsers', '2', '--browser-cycle', '10', '--web-client', join(ex, 'web-client.ts'), '--out', out, '--no-progress'], c.io);
      // Two Chromium windows with WebRTC beside Janus and nginx fill this machine's cores while they load: the
      // generator's event loop may lag in those seconds, which then stay out of the verdict (generator-bound).
      expect([EXIT.ok, EXIT.objectivesFailed], c.err() + c.out()).toContain(code);
      const dir = join(out, readdirSync(out)[0]!);
      const journeys = readBrowserJourneys(dir);
      const inClass = journeys.filter((j) => j.joinMs !== undefined && j.firstFrameMs !== undefined);
      // Both users got in through the page's own button and saw each other's video.
      expect(new Set(inClass.map((j) => j.user)).size, JSON.stringify(journeys)).toBe(2);
      for (const j of inClass) {
        expect(j.steps!.map((s) => s.name)).toEqual(['enter']);
        expect(j.firstFrameMs!).toBeGreaterThanOrEqual(j.joinMs! - 1000);
        expect(j.firstFrameMs!).toBeLessThan(10_000);
        for (const pair of j.pairs ?? []) for (const end of pair.split('-')) expect(end).toMatch(LOOPBACK);
      }
      const { analysis } = await writeReport(dir);
      expect(['passed', 'generator-bound'], analysis.headline).toContain(analysis.verdict);
      expect(analysis.layers.find((l) => l.layer === 'media')!.breakPoint).toBeFalsy();
      const b = analysis.browsers!;
      console.info(`measured: classroom page, ${inClass.length} journeys in; click to joined ${inClass.map((j) => Math.round(j.joinMs!)).join(', ')} ms; first frame ${inClass.map((j) => Math.round(j.firstFrameMs!)).join(', ')} ms; ${b.meanFps} fps; Chromium peak ${b.resources?.peakCpuPct} % CPU, ${b.resources?.peakRssMb} MB, machine busy ${b.resources?.busySeconds} s (limited: ${b.resources?.machineLimited})`);
      expect(b.meanFps!).toBeGreaterThan(5);
      // The page's own peer connections, found by firstbell without the page's help, gave the media figures.
      const media = readMedia(dir);
      expect(media.filter((m) => m.kbpsIn > 50).length).toBeGreaterThan(5);
      // The steps are the web client's, beside the protocol users' connect and heartbeat.
      const steps = stepNames(dir);
      expect(steps).toEqual(expect.arrayContaining(['browser_page', 'browser_enter', 'browser_join', 'browser_first_frame', 'connect']));
      // The browser's own use of the machine, every second.
      expect(b.resources!.peakProcesses).toBeGreaterThanOrEqual(3);
      expect(b.resources!.peakRssMb).toBeGreaterThan(50);
      expect(readFileSync(join(dir, 'report.html'), 'utf8')).toContain('id="browser-resources"');
    }
  });

  it('join the same page from the command line alone: --page, --click and --joined', async () => {
    const dir = tempDir();
    writeFileSync(join(dir, 'few.json'), JSON.stringify({ name: 'few', phases: [{ name: 'few', startMs: 0, durationMs: 1_000, participants: 5, curve: { kind: 'uniform' } }], observeMs: 6_000 }));
    const out = tempDir();
    const c = captureIo();
    const code = await main(['run', join(dir, 'few.json'), '--target-kind', 'janus', '--target', `${site.url.replace('http:', 'ws:')}/janus`, '--scale', '1', '--browsers', '2', '--browser-cycle', '30',
      '--page', '/classroom.html?room={conference}&name={user}', '--click', '#join', '--joined', '#status[data-state=joined]', '--failed-selector', '#status[data-state=failed]', '--out', out, '--no-progress'], c.io);
    expect([EXIT.ok, EXIT.objectivesFailed], c.err() + c.out()).toContain(code);
    const journeys = readBrowserJourneys(join(out, readdirSync(out)[0]!));
    const inClass = journeys.filter((j) => j.joinMs !== undefined && j.firstFrameMs !== undefined);
    expect(new Set(inClass.map((j) => j.user)).size, JSON.stringify(journeys)).toBe(2);
    expect(inClass[0]!.steps!.map((s) => s.name)).toEqual(['click']);
  });
});

/** The step names of a run folder. */
function stepNames(dir: string): string[] {
  return (JSON.parse(readFileSync(join(dir, FILES.run), 'utf8')) as { steps: { step: string }[] }).steps.map((s) => s.step);
}
