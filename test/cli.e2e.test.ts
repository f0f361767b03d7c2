import { spawn } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EXIT, main } from '../cli.js';
import { spawnReferencePlatform, type SpawnedPlatform } from '../fixtures/spawn.js';
import { startReferencePlatform } from '../fixtures/reference-platform.js';
import { PACKAGE_ROOT } from '../lib/version.js';
import { captureIo, tempDir } from './helpers.js';
import { processTree } from '../lib/process-tree.js';
import { processAlive } from '../run/conductor.js';

/** A loopback port with nothing listening on it. */
async function closedPort(): Promise<number> {
  const srv = createServer();
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  const port = (srv.address() as { port: number }).port;
  await new Promise((r) => srv.close(r));
  return port;
}

describe('bad input gives one line with the fix and a documented exit code', () => {
  it('names an unknown scenario, suggests the closest one and exits 2', async () => {
    const c = captureIo();
    expect(await main(['run', 'monday-800', '--target', 'http://127.0.0.1:9'], c.io)).toBe(EXIT.usage);
    expect(c.err()).toBe("error: unknown scenario 'monday-800'; did you mean 'monday-0800'? (built in: monday-0800, monday-0800-staggered, monday-0800-retry-storm, monday-0800-backoff, tuesday-farm-down; see 'firstbell list'; a scenario file's path ends in .ts, .js or .json, a timetable's in .csv or .txt)\n");
  });

  it('rejects a scale that is not a number and exits 2', async () => {
    const c = captureIo();
    expect(await main(['run', 'monday-0800', '--target', 'http://127.0.0.1:9', '--scale', 'abc'], c.io)).toBe(EXIT.usage);
    expect(c.err()).toBe("error: option '--scale <fraction>' argument 'abc' is invalid. the scale must be a number from 0.0001 to 1.\n");
  });

  it('refuses a target outside loopback unless allowed, and exits 2', async () => {
    const c = captureIo();
    expect(await main(['run', 'monday-0800', '--target', 'http://example.org'], c.io)).toBe(EXIT.usage);
    expect(c.err()).toBe('error: refusing to load example.org: only loopback targets are allowed by default; add --allow-target example.org if you may load it\n');
  });

  it('says when the target refuses connections before the start and exits 3', async () => {
    const port = await closedPort();
    const c = captureIo();
    expect(await main(['run', 'monday-0800', '--target', `http://127.0.0.1:${port}`, '--out', tempDir()], c.io)).toBe(EXIT.unreachable);
    expect(c.err().split('\n').filter((l) => l.startsWith('error:'))).toEqual([
      `error: target http://127.0.0.1:${port} did not answer before the start: connection refused; start the platform or fix --target ('firstbell fixture' starts the reference platform)`,
    ]);
  });

  it('asks for a WebSocket or HTTP address for a Janus target, and exits 2', async () => {
    const c = captureIo();
    expect(await main(['run', 'monday-0800', '--target-kind', 'janus', '--target', 'ftp://127.0.0.1:8188'], c.io)).toBe(EXIT.usage);
    expect(c.err()).toBe("error: --target 'ftp://127.0.0.1:8188' must start with ws:// or wss:// or http:// or https:// for --target-kind janus\n");
  });

  it('refuses browser users without real media in the demo, and exits 2', async () => {
    const c = captureIo();
    expect(await main(['demo', '--media', 'stand-in', '--browsers', '2'], c.io)).toBe(EXIT.usage);
    expect(c.err()).toBe('error: --browsers: browser users need real media; drop --media stand-in or pass --browsers 0\n');
  });

  it('refuses browser users against a target without a web client, naming the flags that give one, and exits 2', async () => {
    const port = await closedPort();
    const c = captureIo();
    const out = tempDir();
    expect(await main(['run', 'monday-0800', '--target-kind', 'janus', '--target', `ws://127.0.0.1:${port}`, '--browsers', '2', '--out', out], c.io)).toBe(EXIT.usage);
    const err = c.err().split('\n').filter((l) => l.startsWith('error:'));
    expect(err).toHaveLength(1);
    expect(err[0]).toContain('--browsers: the janus target has no web client for browser users');
    expect(err[0]).toContain("--page '");
    expect(err[0]).toContain('--joined');
    expect(err[0]).toContain('--web-client');
    expect(readdirSync(out)).toEqual([]);
  });

  it('checks the browser journey and fault flags before anything is sent, and exits 2', async () => {
    const cases: [string[], string][] = [
      [['--browsers', '1', '--page', 'http://127.0.0.1:1/room?c={conference}'], "error: --page needs --joined: what the page shows once a pupil is in, e.g. '#status[data-state=joined]'"],
      [['--browsers', '1', '--page', '/room?c={klass}', '--joined', '#in'], 'error: --page: has {klass}, which is not a field of the participant; use {participant}, {user}, {password}, {conference}, {school}, {place}, {class} or {schoolName}'],
      [['--page', '/room', '--joined', '#in'], 'error: --page says how browser users get in, but there are none; add --browsers N (e.g. --browsers 2)'],
      [['--fault', 'errors 502 at 10s'], "--fault 'errors 502 at 10s': has no length; fix: add 'for DURATION', e.g. 'for 20s'"],
      [['--fault', 'errors 500 at 1s for 2s'], "--fault 'errors 500 at 1s for 2s': 500 is not 502, 503 or 504; fix: use a gateway error status"],
    ];
    for (const [flags, want] of cases) {
      const c = captureIo();
      expect(await main(['run', 'monday-0800', '--target', 'http://127.0.0.1:1', '--out', tempDir(), ...flags], c.io), flags.join(' ')).toBe(EXIT.usage);
      expect(c.err(), flags.join(' ')).toContain(want);
    }
  });

  it('names a platform-only fault against another target and the way out, and exits 2', async () => {
    const app = await startReferencePlatform();
    try {
      const c = captureIo();
      expect(await main(['run', 'monday-0800-retry-storm', '--target-kind', 'http', '--target', app.url, '--out', tempDir()], c.io)).toBe(EXIT.usage);
      expect(c.err()).toContain('broker-defect (broker defect past 100 joins/s, at -30 s) needs the platform');
      expect(c.err()).toContain('--no-faults');
      expect(c.err()).toContain("--fault 'errors 502 at 10s for 20s on /api/join'");
    } finally {
      await app.close();
    }
  });

  it('names a missing Chromium for browser users before anything is sent, and exits 2', async () => {
    const platform = await startReferencePlatform();
    const out = tempDir();
    try {
      const c = captureIo();
      expect(await main(['run', 'monday-0800', '--target', platform.url, '--browsers', '1', '--chromium', '/nonexistent/chromium', '--out', out], c.io)).toBe(EXIT.usage);
      expect(c.err().split('\n').filter((l) => l.startsWith('error:'))).toEqual([
        "error: no Chromium at /nonexistent/chromium; install Debian's chromium (setup.sh does) or set FIRSTBELL_CHROMIUM to its path",
      ]);
      expect(readdirSync(out)).toEqual([]);
    } finally {
      await platform.close();
    }
  });

  it('refuses a local address that is not this machine\'s, and a worker count of 0, and exits 2', async () => {
    const c = captureIo();
    expect(await main(['run', 'monday-0800', '--target', 'http://127.0.0.1:9', '--local-address', '192.0.2.7'], c.io)).toBe(EXIT.usage);
    expect(c.err()).toMatch(/^error: --local-address 192\.0\.2\.7: 192\.0\.2\.7 is not an address of this machine; use addresses in 127\.0\.0\.0\/8/);
    const d = captureIo();
    expect(await main(['run', 'monday-0800', '--target', 'http://127.0.0.1:9', '--workers', '0'], d.io)).toBe(EXIT.usage);
    expect(d.err()).toMatch(/--workers must be a whole number from 1 to 64/);
    // An IPv6 source cannot reach an IPv4 target.
    const e = captureIo();
    expect(await main(['run', 'monday-0800', '--target', 'http://127.0.0.1:9', '--local-address', '::1'], e.io)).toBe(EXIT.usage);
    expect(e.err()).toContain('--local-address ::1 is IPv6 and the target 127.0.0.1 is IPv4');
  });

  it('plans full scale across processes and source addresses, and says which limits given settings hit', async () => {
    const c = captureIo();
    expect(await main(['plan', 'monday-0800'], c.io)).toBe(EXIT.ok);
    // Every connection comes from a loopback address and a port firstbell picks, with room for those held and lingering;
    // the processes are as many as the held sockets need where one may open fewer than them (here, 20,000 files).
    expect(c.out()).toMatch(/generator: \d+ processes \((128,000 sockets held at [\d,]+ a process; the arrival rate alone needs \d+, and fewer would do with a higher open-file limit \(ulimit -Hn\)|every core for 25,138 arrivals\/s)(; [\d,]+ files each)?\); connections spread over \d+ local addresses 127\.0\.1\.1…[\d.]+ \(up to 384,000 client ports busy at 25,138 arrivals\/s, at most 80 % of each address's; [\d,]+ ports\)/);
    expect(c.out()).not.toMatch(/EMFILE|EADDRNOTAVAIL/);
    // What the burst needs of generators, from a calibration of the reference journey against a platform started for it.
    expect(c.out()).toMatch(/sizing: the peak second begins 25,138 journeys; at [\d.]+ CPU-ms each \(calibrated here: 1,000 journeys against a reference platform started for it\) it needs ≈ [\d,]+ generator cores at 70 % each: run it as [\d,]+ shards of 2 cores \(--shard i\/\d+, or export k8s --shards \d+\)/);
    const d = captureIo();
    expect(await main(['plan', 'monday-0800', '--workers', '1', '--local-address', '127.0.1.1'], d.io)).toBe(EXIT.ok);
    expect(d.out()).toMatch(/warning: up to 128,000 sockets held at once, but 1 process may open only/);
    expect(d.out()).toMatch(/connections will fail with EADDRNOTAVAIL/);
  });

  it('says a folder is not a run folder and exits 2', async () => {
    const dir = tempDir();
    const c = captureIo();
    expect(await main(['report', dir], c.io)).toBe(EXIT.usage);
    expect(c.err()).toBe(`error: ${dir}: no run.json here; give the folder of a run (it holds run.json and samples.csv)\n`);
  });

  it('prints help and exits 0', async () => {
    const c = captureIo();
    expect(await main(['--help'], c.io)).toBe(EXIT.ok);
    expect(c.out()).toContain('Exit codes: 0 objectives met');
  });
});

describe('an interrupted run', () => {
  let platform: SpawnedPlatform;
  beforeAll(async () => {
    platform = await spawnReferencePlatform(['--join-capacity', '50']);
  });
  afterAll(async () => {
    await platform?.stop();
  });

  it('stops on SIGINT with exit 130 and leaves a run folder that `firstbell report` rebuilds from its samples', async () => {
    const out = tempDir();
    const child = spawn(process.execPath, [join(PACKAGE_ROOT, 'dist', 'cli.js'), 'run', 'monday-0800', '--target', platform.url, '--scale', '0.01', '--out', out], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    // Interrupt once the generator has sent a few seconds of arrivals.
    await new Promise((r) => setTimeout(r, 6_000));
    child.kill('SIGINT');
    const code = await new Promise<number | null>((r) => child.once('exit', r));
    expect(code, stderr).toBe(EXIT.interrupted);
    expect(stderr).toContain('interrupted (SIGINT): stopping the run and writing the report');

    const [id] = readdirSync(out);
    const dir = join(out, id!);
    const run = JSON.parse(readFileSync(join(dir, 'run.json'), 'utf8')) as { status: string; stopReason: string };
    expect(run.status).toBe('interrupted');
    expect(run.stopReason).toMatch(/^interrupted at \d+\.\d s of \d+\.\d s$/);
    expect(readFileSync(join(dir, 'samples.csv'), 'utf8').split('\n').length).toBeGreaterThan(50);

    // Rebuild from the raw samples alone, as after a crash.
    rmSync(join(dir, 'series.json'));
    rmSync(join(dir, 'report.html'));
    const c = captureIo();
    const rc = await main(['report', dir], c.io);
    // What did not run cannot have passed.
    expect(rc).toBe(EXIT.objectivesFailed);
    expect(existsSync(join(dir, 'report.html'))).toBe(true);
    // A report reads the run folder and writes only its own outputs: the series is rebuilt, not written back.
    expect(existsSync(join(dir, 'series.json'))).toBe(false);
    expect(c.out()).toMatch(/^(NOT-JUDGED|FAILED|GENERATOR-BOUND): Interrupted run\./);
    expect(c.out()).not.toMatch(/^PASSED/);
  });
});

describe('signals end everything firstbell started and still leave the report', () => {
  /** Starts `firstbell demo` (reference platform, two Janus farms, Chromium) and resolves once its run is under way. */
  async function demo(out: string) {
    const child = spawn(process.execPath, [join(PACKAGE_ROOT, 'dist', 'cli.js'), 'demo', '--scale', '0.004', '--browsers', '1', '--out', out], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const seen = new Set<number>();
    const look = () => {
      for (const p of processTree(child.pid!)) if (p.pid !== child.pid) seen.add(p.pid);
    };
    // The first progress line comes once the clock runs: by then the platform, Janus and Chromium are all up.
    for (let k = 0; k < 600 && !/\[\s*\d+s /.test(stderr); k++) {
      if (child.exitCode !== null) throw new Error(`demo ended early: ${stderr}`);
      look();
      await new Promise((r) => setTimeout(r, 100));
    }
    look();
    return { child, seen, stderr: () => stderr, exited: new Promise<number | null>((r) => child.once('exit', r)) };
  }

  /** Waits until none of the pids is running, up to `ms`; the ones still running. */
  async function gone(pids: Set<number>, ms: number): Promise<number[]> {
    const until = Date.now() + ms;
    let left = [...pids];
    while (left.length && Date.now() < until) {
      await new Promise((r) => setTimeout(r, 100));
      left = left.filter((pid) => processAlive(pid));
    }
    return left;
  }

  it('SIGTERM during the demo: exit 143, the run closed as interrupted with its report, no process left, no browser journey blamed on the platform', async () => {
    const out = tempDir();
    const d = await demo(out);
    // The platform, two Janus processes and Chromium with its helpers.
    expect(d.seen.size).toBeGreaterThanOrEqual(4);
    d.child.kill('SIGTERM');
    const code = await d.exited;
    expect(code, d.stderr()).toBe(143);
    expect(d.stderr()).toContain('interrupted (SIGTERM): stopping the run and writing the report');
    expect(await gone(d.seen, 10_000)).toEqual([]);
    const dir = join(out, readdirSync(out)[0]!);
    const run = JSON.parse(readFileSync(join(dir, 'run.json'), 'utf8')) as { status: string };
    expect(run.status).toBe('interrupted');
    expect(existsSync(join(dir, 'report.html'))).toBe(true);
    const journeys = readFileSync(join(dir, 'browsers.jsonl'), 'utf8').trim().split('\n').filter(Boolean).map((l) => JSON.parse(l) as { end: string; error?: string });
    expect(journeys.filter((j) => j.end === 'failed' && /closed/i.test(j.error ?? ''))).toEqual([]);
  });

  it('Ctrl-C during the demo with its browser users: exit 130, the report written, no process left (the browser library does not exit first)', async () => {
    const out = tempDir();
    const d = await demo(out);
    d.child.kill('SIGINT');
    const code = await d.exited;
    expect(code, d.stderr()).toBe(130);
    expect(await gone(d.seen, 10_000)).toEqual([]);
    const dir = join(out, readdirSync(out)[0]!);
    expect((JSON.parse(readFileSync(join(dir, 'run.json'), 'utf8')) as { status: string }).status).toBe('interrupted');
    expect(existsSync(join(dir, 'report.html'))).toBe(true);
  });

  it('a second Ctrl-C quits at once, still ending every process it started', async () => {
    const out = tempDir();
    const d = await demo(out);
    d.child.kill('SIGINT');
    await new Promise((r) => setTimeout(r, 50));
    d.child.kill('SIGINT');
    const code = await d.exited;
    expect(code, d.stderr()).toBe(130);
    expect(await gone(d.seen, 10_000)).toEqual([]);
  });
});

