// The live page: opened in real Chromium while a run goes against the reference platform, and its server under
// pages that read, close, or never read, fed by a run folder as it is written.
import { spawn } from 'node:child_process';
import { appendFileSync, copyFileSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { join } from 'node:path';
import type { Browser, Page } from 'puppeteer-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { launchChromium } from '../lib/chromium.js';
import { APPLY_SCRIPT, diff, liveHostWarning, LiveServer } from '../reports/live.js';
import { EXIT, main } from '../cli.js';
import { captureIo } from './helpers.js';
import { FILES, type RunInfo } from '../run-folder/run-folder.js';
import { writeReport } from '../reports/build-report.js';
import { rampScenario, runScenario, tempDir, useReferencePlatform } from './helpers.js';

const CLI = join(import.meta.dirname, '..', 'dist', 'cli.js');
const platform = useReferencePlatform(['--join-capacity', '40']);

let browser: Browser;
beforeAll(async () => {
  browser = await launchChromium();
});
afterAll(async () => {
  await browser?.close();
});

/** The command line in a process of its own, once it has printed its live page's address: that, what it printed, and its exit. */
async function startCli(args: string[]) {
  const child = spawn(process.execPath, [CLI, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  const io = { out: '', err: '' };
  child.stdout.on('data', (d: Buffer) => (io.out += d));
  const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
  const url = await new Promise<string>((resolve, reject) => {
    child.stderr.on('data', (d: Buffer) => {
      io.err += d;
      const m = /live page: (http:\/\/127\.0\.0\.1:\d+\/)/.exec(io.err);
      if (m) resolve(m[1]!);
    });
    child.once('exit', () => reject(new Error(`it ended before its live page was up: ${io.err}`)));
  });
  return { url, exited, io };
}

/** What the page shows: the last second of its broker chart, the seconds it has, the verdict and whether the broker card says broken. */
async function look(page: Page) {
  return page.evaluate(async () => {
    // What a user watching the broker's chart sees: charts out of view are brought up to date as they come into it.
    document.getElementById('chart-broker-load')?.scrollIntoView({ block: 'center' });
    await new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(r)));
    const g = globalThis as unknown as { Chart: { getChart(c: Element): { data: { labels: string[]; datasets: { label: string; data: number[] }[] } } | undefined } };
    const canvas = document.getElementById('chart-broker-load');
    const chart = canvas ? g.Chart.getChart(canvas) : undefined;
    const broker = [...document.querySelectorAll('.card')].find((c) => c.querySelector('h3')?.textContent === 'broker');
    return {
      second: Number(document.body.getAttribute('data-live-second') ?? document.getElementById('live-second')?.getAttribute('data-second') ?? -1),
      labels: chart?.data.labels ?? [],
      offered: chart?.data.datasets.find((d) => d.label.startsWith('offered'))?.data ?? [],
      verdict: document.getElementById('verdict')?.textContent ?? '',
      brokerBroke: broker?.querySelector('.state')?.textContent ?? '',
      live: document.getElementById('live-banner') !== null,
    };
  });
}

describe('the live page of a run against the reference platform', () => {
  it('advances every second, shows the broker break within 2 s, serves every second from the start to a page opened late, and becomes the report', async () => {
    const dir = tempDir();
    // A first bell in slow motion: 0 to 120 joins/s over 11 s against a broker that assigns 40/s.
    const scenario = {
      name: 'live-ramp', description: 'a ramp that breaks the broker', firstBell: '08:00:00',
      population: { schools: 1, conferences: 1, participantsPerConference: 10 },
      phases: [{ name: 'ramp', startMs: 0, durationMs: 11_000, participants: 660, curve: { kind: 'ramp', fromRate: 0, toRate: 1 } }],
      observeMs: 3_000, client: { thinkTimeMs: 50, stepTimeoutMs: 10_000 },
    };
    writeFileSync(join(dir, 'live-ramp.json'), JSON.stringify(scenario));
    const cli = await startCli(['run', join(dir, 'live-ramp.json'), '--target', platform().url, '--out', join(dir, 'runs'), '--live', '0', '--no-progress']);
    const { url, exited } = cli;
    const page = await browser.newPage();
    const errors: string[] = [];
    page.on('pageerror', (e) => errors.push(String(e)));
    page.on('console', (m) => m.type() === 'error' && errors.push(m.text()));
    await page.goto(url);

    // Once a second: the last second the page shows, and when the broker card first said broken.
    const seen: { at: number; second: number; labels: number }[] = [];
    let brokeSeenAt: number | undefined;
    let brokeSeenAs = '';
    let late: Awaited<ReturnType<typeof look>> | undefined;
    let early: Awaited<ReturnType<typeof look>> | undefined;
    for (let k = 0; k < 60; k++) {
      const v = await look(page).catch(() => undefined);
      if (!v || !v.live) break;
      if (v.second >= 0) seen.push({ at: Date.now(), second: v.second, labels: v.labels.length });
      if (v.brokerBroke.startsWith('broke at') && brokeSeenAt === undefined) {
        brokeSeenAt = Date.now();
        brokeSeenAs = v.brokerBroke;
      }
      if (v.second >= 6 && !late) {
        // A page opened mid-run: every second from the start, as the first page has them.
        early = v;
        const second = await browser.newPage();
        await second.goto(url);
        await second.waitForFunction(() => document.body.getAttribute('data-rendered') === 'true');
        late = await look(second);
        await second.close();
      }
      await new Promise((r) => setTimeout(r, 250));
    }
    expect(await exited).toBe(99);
    // The page has gone to the report: the same file as report.html, verdict and all.
    await page.waitForFunction(() => document.getElementById('live-banner') === null && document.body.getAttribute('data-rendered') === 'true', { timeout: 10_000 });
    const final = await look(page);
    const runDir = join(dir, 'runs', readdirSync(join(dir, 'runs'))[0]!);
    const file = await browser.newPage();
    await file.goto(`file://${join(runDir, FILES.report)}`);
    const fileLook = await look(file);
    await file.close();
    expect(await page.content()).toContain('Capacity report: live-ramp');
    expect(final.verdict).toBe(fileLook.verdict);
    expect(final.labels).toEqual(fileLook.labels);
    expect(final.verdict).toMatch(/^FAILED — (The generator was the bottleneck in \d+ s \([^)]*\); there only what the target answered counts, not its timeouts or latency\. )?The broker layer broke at 08:00:\d\d/);
    expect(cli.io.out).toContain(final.verdict.replace(/^FAILED — /, '').slice(0, 60));
    expect(errors).toEqual([]);

    // The charts' last second advanced every second: a new second about every second, never one waited for long
    // (looked at every 250 ms; the page's process runs below the load's, on cores the run and Chromium share).
    const changes = seen.filter((s, i) => i === 0 || s.second !== seen[i - 1]!.second);
    expect(changes.length).toBeGreaterThan(8);
    const gaps = changes.slice(1).map((c, i) => c.at - changes[i]!.at).sort((x, y) => x - y);
    expect(gaps[Math.floor(gaps.length / 2)]!).toBeLessThanOrEqual(1_100);
    expect(gaps[gaps.length - 1]!).toBeLessThan(2_500);
    for (const s of seen) expect(s.labels).toBe(s.second + 1);

    // The broker's break on the page within 2 s of the end of the second it broke in.
    const summary = JSON.parse(readFileSync(join(runDir, FILES.summary), 'utf8')) as { layers: { layer: string; breakPoint?: { second: number } }[] };
    const run = JSON.parse(readFileSync(join(runDir, FILES.run), 'utf8')) as RunInfo;
    const breakSecond = summary.layers.find((l) => l.layer === 'broker')!.breakPoint!.second;
    expect(brokeSeenAt).toBeDefined();
    const afterBreak = brokeSeenAt! - (run.zeroEpochMs! + (breakSecond + 1) * 1000);
    console.log(`live page: broker break (second ${breakSecond}) shown ${afterBreak} ms after its second ended, as '${brokeSeenAs}'`);
    expect(afterBreak).toBeLessThanOrEqual(2_000);

    // The page opened late had every second from the start, the same as the page open from the start.
    expect(late!.labels.length).toBeGreaterThanOrEqual(7);
    expect(late!.labels[0]).toBe(early!.labels[0]);
    const common = Math.min(late!.offered.length, early!.offered.length) - 4;
    expect(late!.offered.slice(0, common)).toEqual(early!.offered.slice(0, common));
    await page.close();
  }, 120_000);
});

describe('the live server', () => {
  let folder: string;
  let source: string;
  beforeAll(async () => {
    const r = await runScenario({ scenario: rampScenario(80, 6_000, 1_000), seed: 3, platform: { journey: 'reference', target: platform().url }, outDir: tempDir() });
    source = r.dir;
    await writeReport(source);
    folder = join(tempDir(), 'growing');
  });

  /** Writes the run folder `source` into `to` second by second, as its run wrote it, `stepMs` apart. */
  async function replay(to: string, stepMs: number, each?: (second: number) => Promise<void> | void): Promise<void> {
    mkdirSync(to, { recursive: true });
    const run = JSON.parse(readFileSync(join(source, FILES.run), 'utf8')) as RunInfo;
    writeFileSync(join(to, FILES.run), JSON.stringify({ ...run, status: 'running', endedAt: undefined, generator: undefined }));
    const [sampleHeader, ...samples] = readFileSync(join(source, FILES.samples), 'utf8').trim().split('\n');
    const [healthHeader, ...health] = readFileSync(join(source, FILES.health), 'utf8').trim().split('\n');
    writeFileSync(join(to, FILES.samples), `${sampleHeader}\n`);
    writeFileSync(join(to, FILES.health), `${healthHeader}\n`);
    let i = 0;
    let carry = '';
    for (const line of health) {
      const t = Number(line.split(',')[0]);
      const upTo: string[] = [];
      while (i < samples.length && Number(samples[i]!.split(',')[2]) < (t + 1) * 1000) upTo.push(samples[i++]!);
      // The last line in part: the rest of it comes with the next write, as a reader may find a batch cut mid-line.
      const text = carry + (upTo.length ? upTo.join('\n') + '\n' : '');
      const cut = Math.max(0, text.length - 7);
      appendFileSync(join(to, FILES.samples), text.slice(0, cut));
      carry = text.slice(cut);
      appendFileSync(join(to, FILES.health), `${line}\n`);
      await each?.(t);
      await new Promise((r) => setTimeout(r, stepMs));
    }
    appendFileSync(join(to, FILES.samples), carry + (i < samples.length ? samples.slice(i).join('\n') + '\n' : ''));
    copyFileSync(join(source, FILES.run), join(to, FILES.run));
    copyFileSync(join(source, FILES.report), join(to, FILES.report));
  }

  /** The run folder `from`, every time in it a second later, written to `to`. */
  function shiftBySecond(from: string, to: string): void {
    mkdirSync(to, { recursive: true });
    copyFileSync(join(from, FILES.run), join(to, FILES.run));
    const [sh, ...samples] = readFileSync(join(from, FILES.samples), 'utf8').trim().split('\n');
    const later = samples.map((l) => {
      const f = l.split(',');
      for (const k of [0, 1, 2]) f[k] = String(Number(f[k]) + 1000);
      return f.join(',');
    });
    writeFileSync(join(to, FILES.samples), [sh, ...later].join('\n') + '\n');
    const [hh, ...health] = readFileSync(join(from, FILES.health), 'utf8').trim().split('\n');
    const zero = health[0]!.split(',').map((x, k) => (k === 0 ? '0' : x)).join(',');
    writeFileSync(join(to, FILES.health), [hh, zero, ...health.map((l) => l.replace(/^(\d+)/, (n) => String(Number(n) + 1)))].join('\n') + '\n');
  }

  it("follows with 'report --live' a run folder another process writes, then prints the verdict of its report and ends", async () => {
    const to = join(tempDir(), 'followed');
    const cli = await startCli(['report', to, '--live', '0']);
    const { url, exited } = cli;
    for (let k = 0; k < 50 && !cli.io.err.includes('waiting'); k++) await new Promise((r) => setTimeout(r, 20));
    expect(cli.io.err).toContain(`waiting for ${join(to, FILES.run)}: no run writes into ${to} yet (Ctrl-C stops waiting)`);
    const events = await fetch(`${url}events`);
    const got: string[] = [];
    const reading = (async () => {
      for await (const chunk of events.body as unknown as AsyncIterable<Uint8Array>) got.push(...[...Buffer.from(chunk).toString().matchAll(/^event: (\w+)/gm)].map((m) => m[1]!));
    })();
    await replay(to, 250);
    expect(await exited).toBe(99);
    await reading;
    expect(got[0]).toBe('state');
    expect(got.filter((e) => e === 'patch').length).toBeGreaterThan(3);
    expect(got[got.length - 1]).toBe('final');
    expect(cli.io.out).toMatch(/^FAILED: The broker layer broke at 08:00:\d\d/);
    expect(cli.io.out).toContain(`report: ${join(to, FILES.report)}`);
  });

  it('listens on loopback unless told otherwise, names a port it cannot have before anything runs, and warns of another address', async () => {
    const a = await LiveServer.listen({ port: 0 });
    expect(a.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/$/);
    const port = Number(new URL(a.url).port);
    await expect(LiveServer.listen({ port })).rejects.toThrow(`the live page cannot listen on 127.0.0.1:${port}: the port is taken; give another port (--live 5681, or --live 0 for any free one)`);
    const out = tempDir();
    const taken = captureIo();
    expect(await main(['run', 'monday-0800', '--target', platform().url, '--scale', '0.001', '--out', out, '--live', String(port)], taken.io)).toBe(EXIT.usage);
    expect(taken.err()).toContain(`error: the live page cannot listen on 127.0.0.1:${port}: the port is taken`);
    expect(readdirSync(out)).toEqual([]);
    await a.close();
    const alone = captureIo();
    expect(await main(['run', 'monday-0800', '--target', platform().url, '--live-host', '0.0.0.0'], alone.io)).toBe(EXIT.usage);
    expect(alone.err()).toBe('error: --live-host says where the live page listens, but there is none; add --live (e.g. --live 5680)\n');
    expect(liveHostWarning('0.0.0.0', 'http://0.0.0.0:5680/')).toBe("warning: the live page listens on 0.0.0.0, not on loopback alone: anyone who can reach http://0.0.0.0:5680/ sees the target's address and the run's results as they come");
    expect(liveHostWarning('127.0.0.1', 'http://127.0.0.1:5680/')).toBeUndefined();
  });

  it('keeps pages that read up to date while a page that never reads and a closed page hold nothing up and nothing grows', async () => {
    const server = await LiveServer.listen({ port: 0, pollMs: 20 });
    const port = Number(new URL(server.url).port);
    // A page that reads every change as it comes.
    let state: unknown;
    const seconds: number[] = [];
    const apply = new Function(`${APPLY_SCRIPT}; return firstbellApply;`)() as (a: unknown, p: unknown) => unknown;
    const reader = await fetch(`${server.url}events`);
    const events = (async () => {
      const dec = new TextDecoder();
      let buf = '';
      for await (const chunk of reader.body as unknown as AsyncIterable<Uint8Array>) {
        buf += dec.decode(chunk, { stream: true });
        let end: number;
        while ((end = buf.indexOf('\n\n')) >= 0) {
          const ev = buf.slice(0, end);
          buf = buf.slice(end + 2);
          const kind = /^event: (\w+)/.exec(ev)?.[1];
          const data = ev.slice(ev.indexOf('data: ') + 6);
          if (kind === 'state') state = JSON.parse(data);
          if (kind === 'patch') state = apply(state, JSON.parse(data));
          if (kind === 'final') return;
          if (kind !== 'final') seconds.push((state as { live: { second: number } }).live.second);
        }
      }
    })();
    // A page that never reads: its socket paused from the start.
    const deaf = connect(port, '127.0.0.1');
    deaf.write('GET /events HTTP/1.1\r\nHost: x\r\n\r\n');
    deaf.pause();
    // A page that closes at once.
    const closing = connect(port, '127.0.0.1');
    closing.write('GET /events HTTP/1.1\r\nHost: x\r\n\r\n');
    setTimeout(() => closing.destroy(), 50);
    let maxHeld = 0;
    server.follow(folder);
    await replay(folder, 40, () => {
      maxHeld = Math.max(maxHeld, server.stats().heldBytes);
    });
    await new Promise((r) => setTimeout(r, 300));
    const last = (state as { live: { second: number } }).live.second;
    expect(server.stats().pages).toBe(2);
    // The reading page saw every second close, in order, up to the last.
    const health = readFileSync(join(source, FILES.health), 'utf8').trim().split('\n').length - 1;
    expect(last).toBe(health - 1);
    expect(seconds.filter((s, i) => i === 0 || s !== seconds[i - 1]).length).toBeGreaterThan(health / 2);

    // Many more changes than any socket's buffers take: the same run and the run a second later, in turn, each
    // a change of every second. The deaf page's socket fills; this process then holds one message for it, no more.
    const shifted = join(tempDir(), 'shifted');
    shiftBySecond(folder, shifted);
    const sentBefore = server.stats().sentBytes;
    for (let k = 0; k < 5_000 && server.stats().blocked === 0; k++) {
      server.follow(k % 2 ? folder : shifted);
      await new Promise((r) => setImmediate(r));
      maxHeld = Math.max(maxHeld, server.stats().heldBytes);
    }
    const stats = server.stats();
    expect(stats.blocked).toBe(1);
    expect(stats.sentBytes - sentBefore).toBeGreaterThan(1_000_000);
    for (let k = 0; k < 100; k++) {
      server.follow(k % 2 ? folder : shifted);
      await new Promise((r) => setImmediate(r));
      maxHeld = Math.max(maxHeld, server.stats().heldBytes);
    }
    expect(maxHeld).toBeLessThanOrEqual(stats.largestMessage + 64 * 1024);
    // The reading page kept up throughout, and both are let go at the end.
    expect(server.stats().pages).toBe(2);
    server.final(join(folder, FILES.report));
    await events;
    expect(server.stats().pages).toBe(0);
    deaf.destroy();
    await server.close();
  });

  it("'s changes, applied by the page's own code, give the new state", () => {
    const apply = new Function(`${APPLY_SCRIPT}; return firstbellApply;`)() as (a: unknown, p: unknown) => unknown;
    const cases: [unknown, unknown][] = [
      [{ a: [1, 2, 3], b: 'x', c: { d: [null, 1] } }, { a: [1, 2, 4, 5], b: 'x', c: { d: [null, 1, 2] } }],
      [{ a: [1, 2, 3], gone: 1 }, { a: [1], added: { x: [1] } }],
      [{ rows: [{ t: 0, v: 1 }, { t: 1, v: 2 }] }, { rows: [{ t: 0, v: 1 }, { t: 1, v: 3 }, { t: 2, v: 1 }] }],
      [{ x: null }, { x: { y: 1 } }],
      [[1, 2], [1, 2]],
    ];
    for (const [a, b] of cases) {
      const p = diff(a, b);
      const next = p ? apply(JSON.parse(JSON.stringify(a)), JSON.parse(JSON.stringify(p))) : a;
      expect(next).toEqual(b);
    }
    // A series that grew by a second changes by its tail only.
    expect(diff({ s: [1, 2, 3] }, { s: [1, 2, 3, 4] })).toEqual({ o: { s: { a: 3, v: [4] } } });
  });
});
