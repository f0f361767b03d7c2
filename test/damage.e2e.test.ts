// What can go wrong around a run folder: a full disk, a read-only one, a file in the way, and damaged files read
// back. Each is named with the file and the fix, exits 2, and never turns into PASSED or a hang.
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EXIT, main } from '../cli.js';
import { captureIo, tempDir } from './helpers.js';
import { startSchoolApp, type SchoolApp } from './servers/school-app.js';

const STEADY = new URL('../examples/json-login/steady.json', import.meta.url).pathname;

let app: SchoolApp;
/** One completed run, copied for each damage. */
let good: string;
beforeAll(async () => {
  app = await startSchoolApp();
  const out = tempDir();
  const c = captureIo();
  expect(await main(['run', STEADY, '--target', app.url, '--scale', '1', '--out', out, '--no-progress'], c.io), c.err()).toBe(EXIT.ok);
  good = join(out, readdirSync(out)[0]!);
}, 60_000);
afterAll(async () => {
  await app?.close();
});

/** A copy of the good run folder, with one file changed. */
function damaged(file: string, change: (text: string) => string): string {
  const dir = tempDir('firstbell-damaged-');
  // The samples are the source of truth: a copy whose samples change has no series.json to contradict them.
  for (const f of readdirSync(good)) if (!(file === 'samples.csv' && f === 'series.json')) writeFileSync(join(dir, f), readFileSync(join(good, f)));
  writeFileSync(join(dir, file), change(readFileSync(join(good, file), 'utf8')));
  return dir;
}

/** Mounts a small tmpfs (the tests run as root where they run; without it the disk cases cannot be made). */
function tmpfs(sizeKb: number): { dir: string; ro: () => void; umount: () => void } | undefined {
  const dir = tempDir('firstbell-tmpfs-');
  const r = spawnSync('mount', ['-t', 'tmpfs', '-o', `size=${sizeKb}k`, 'tmpfs', dir]);
  if (r.status !== 0) return undefined;
  return {
    dir,
    ro: () => void spawnSync('mount', ['-o', 'remount,ro', dir]),
    umount: () => void spawnSync('umount', ['-l', dir]),
  };
}

describe('damaged run folders are named by file and line, never PASSED, never a hang', () => {
  it('a sample time that is not a number', async () => {
    const dir = damaged('samples.csv', (t) => t.replace(/\n(\d+(\.\d+)?),/, '\nabc,'));
    const c = captureIo();
    expect(await main(['report', dir, '--from-samples'], c.io)).toBe(EXIT.usage);
    expect(c.err()).toMatch(new RegExp(`${join(dir, 'samples.csv')}:2: intendedMs "abc" is not a time inside the run`));
  });

  it('a sample time of 1e13 ms, and a series second far beyond the run: an error, or the samples, within seconds', async () => {
    const dir = damaged('samples.csv', (t) => t.replace(/\n(\d+(\.\d+)?),(\d+(\.\d+)?),(\d+(\.\d+)?),/, '\n10000000000000,10000000000000,10000000000000,'));
    const c = captureIo();
    const started = Date.now();
    expect(await main(['report', dir, '--from-samples'], c.io)).toBe(EXIT.usage);
    expect(Date.now() - started).toBeLessThan(10_000);
    expect(c.err()).toContain(`${join(dir, 'samples.csv')}:2: intendedMs "10000000000000" is not a time inside the run`);
    // series.json with a second a year on is not believed: the report is built from the samples, as if it were not there.
    const series = damaged('series.json', (t) => {
      const j = JSON.parse(t) as { seconds: Record<string, unknown> };
      j.seconds['31536000'] = Object.values(j.seconds)[0];
      return JSON.stringify(j);
    });
    const s = captureIo();
    const t0 = Date.now();
    expect(await main(['report', series, '--json'], s.io)).toBe(EXIT.ok);
    expect(Date.now() - t0).toBeLessThan(10_000);
  });

  it('a run.json that is not JSON, or has no scenario', async () => {
    for (const [change, want] of [[() => '{ garbage', 'is not JSON'], [() => '{"plannedEndMs": 1000, "firstBellAtMs": 0}', 'has no scenario']] as const) {
      const dir = damaged('run.json', change);
      const c = captureIo();
      expect(await main(['report', dir], c.io)).toBe(EXIT.usage);
      expect(c.err()).toContain(`${join(dir, 'run.json')}: ${want}`);
      expect(c.err()).not.toContain('internal error');
    }
  });

  it('compare against a run that judged nothing says NOT JUDGED and exits 99', async () => {
    const dir = damaged('samples.csv', (t) => t.split('\n')[0] + '\n');
    const c = captureIo();
    expect(await main(['compare', good, dir, '--force', '--out', join(tempDir(), 'c.html')], c.io)).toBe(EXIT.objectivesFailed);
    expect(c.out()).toMatch(/^NOT JUDGED: .*Not judged: no evidence in /);
  });
});

describe('where the run folder goes', () => {
  it('--out on a file, inside /proc (by any path), or on a read-only file system: exit 2 before anything is sent (probe 10)', async () => {
    const file = join(tempDir(), 'a-file');
    writeFileSync(file, 'x');
    const before = app.seen.logins;
    const cases: [string, string][] = [
      [file, `--out ${file} is a file; give a folder for the run folders`],
      ['/proc/firstbell-runs', '--out /proc/firstbell-runs is inside /proc, which holds no files; give a folder on a disk'],
    ];
    // Through a link, /proc is still /proc.
    const link = join(tempDir(), 'runs');
    symlinkSync('/proc/self', link);
    cases.push([join(link, 'x'), `--out ${join(link, 'x')} is inside /proc, which holds no files; give a folder on a disk`]);
    // A second mount of the proc file system, by its type (where this machine lets the test mount one).
    const procMount = tempDir('firstbell-proc-');
    const mounted = spawnSync('mount', ['-t', 'proc', 'proc', procMount]).status === 0;
    if (mounted) cases.push([join(procMount, 'runs'), `--out ${join(procMount, 'runs')} is inside ${procMount} (proc), which holds no files; give a folder on a disk`]);
    const fs = tmpfs(256);
    if (fs) {
      fs.ro();
      cases.push([fs.dir, `--out ${fs.dir}: cannot write there: read-only file system (EROFS); give a folder you may write to`]);
    }
    try {
      for (const [out, want] of cases) {
        const c = captureIo();
        expect(await main(['run', STEADY, '--target', app.url, '--scale', '1', '--out', out, '--no-progress'], c.io), out).toBe(EXIT.usage);
        expect(c.err(), out).toBe(`error: ${want}\n`);
      }
    } finally {
      if (mounted) spawnSync('umount', ['-l', procMount]);
      fs?.umount();
    }
    expect(app.seen.logins).toBe(before);
    expect(fs, 'a tmpfs could be mounted for the read-only case').toBeDefined();
  });

  it('a disk that fills up mid-run: the run stops, run.json says failed naming the file, no temporary file is left, exit 2', async () => {
    const fs = tmpfs(1024);
    expect(fs, 'a tmpfs could be mounted for the full disk').toBeDefined();
    try {
      // Room for the run's first files and a few seconds of samples, not for the whole run.
      writeFileSync(join(fs!.dir, 'filler'), Buffer.alloc((1024 - 36) * 1024));
      const c = captureIo();
      const code = await main(['run', STEADY, '--target', app.url, '--scale', '1', '--out', join(fs!.dir, 'runs'), '--no-progress'], c.io);
      expect(code, c.err() + c.out()).toBe(EXIT.usage);
      const runs = join(fs!.dir, 'runs');
      const dir = join(runs, readdirSync(runs)[0]!);
      expect(c.err(), c.err()).toMatch(/error: the run stopped: cannot write .*(samples|health)\.csv: no space left on device \(ENOSPC\)/);
      expect(c.err()).toContain('free some space or give another --out');
      const run = JSON.parse(readFileSync(join(dir, 'run.json'), 'utf8')) as { status: string; stopReason: string };
      expect(run.status).toBe('failed');
      expect(run.stopReason).toMatch(/cannot write .*\.csv: no space left on device \(ENOSPC\)/);
      expect(readdirSync(dir).filter((f) => f.endsWith('.tmp'))).toEqual([]);
      // Once there is room again, the report of what ran is built from the samples that were written.
      spawnSync('rm', [join(fs!.dir, 'filler')]);
      const r = captureIo();
      expect(await main(['report', dir], r.io), r.err()).toBe(EXIT.objectivesFailed);
      expect(existsSync(join(dir, 'report.html'))).toBe(true);
      expect(r.out()).not.toMatch(/^PASSED/);
    } finally {
      fs?.umount();
    }
  });
});

describe('the preflight goes out as the load does', () => {
  it('answers on a port fetch refuses (10080) and sends credentials in the URL as Basic authorization', async () => {
    const seen: (string | undefined)[] = [];
    const server = createServer((req, res) => {
      seen.push(req.headers.authorization);
      res.writeHead(req.headers.authorization === `Basic ${Buffer.from('teacher:s3cret').toString('base64')}` ? 200 : 401).end('ok');
    });
    // 10080 and 6000 are among the ports fetch will not use; whichever is free here.
    let port = 0;
    for (const p of [10080, 6000, 6665]) {
      const ok = await new Promise<boolean>((r) => server.once('error', () => r(false)).listen(p, '127.0.0.1', () => r(true)));
      if (ok) {
        port = p;
        break;
      }
    }
    expect(port, 'one of the ports fetch refuses is free').toBeGreaterThan(0);
    try {
      const dir = tempDir();
      writeFileSync(join(dir, 'few.json'), JSON.stringify({ name: 'few', phases: [{ name: 'few', startMs: 0, durationMs: 500, participants: 5, curve: { kind: 'uniform' } }], observeMs: 500 }));
      const c = captureIo();
      const code = await main(['run', join(dir, 'few.json'), '--target-kind', 'http', '--target', `http://teacher:s3cret@127.0.0.1:${port}/`, '--scale', '1', '--out', tempDir(), '--no-progress'], c.io);
      expect(code, c.err()).not.toBe(EXIT.unreachable);
      expect(seen[0]).toBe(`Basic ${Buffer.from('teacher:s3cret').toString('base64')}`);
    } finally {
      server.closeAllConnections();
      await new Promise((r) => server.close(r));
    }
  });
});

describe('flags', () => {
  it('a misspelt flag is named as such, not as a missing --target', async () => {
    const c = captureIo();
    expect(await main(['run', 'monday-0800', '--targt', 'http://127.0.0.1:1'], c.io)).toBe(EXIT.usage);
    expect(c.err()).toContain("error: unknown option '--targt'");
    expect(c.err()).not.toContain("required option '--target");
  });
});

