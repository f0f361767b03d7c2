#!/usr/bin/env node
// The benchmark: firstbell beside wrk, autocannon and artillery against one nginx sink, three rounds, medians.
// Writes bench/results/<time>.json (every figure of every round) and bench/RESULTS.md (medians and ratios).
//
//   npm run bench                  (installs the peer tools under bench/, then runs all)
//   node bench/run.mjs [--rounds 3] [--only keepalive,arrivals,cycles,hold,monday,live] [--merge bench/results/<earlier>.json]
//   (--merge keeps the other experiments' figures from an earlier run of the same rounds)
//   node bench/run.mjs --report-only bench/results/<run>.json     (RESULTS.md again from recorded figures)
//
// Every tool's CPU is read from /proc for its whole process tree while the sink's request counter moves with its
// load (start-up and shut-down left out alike; a tool's few requests before its load do not open the window);
// memory is the tree's resident set; held connections are counted with ss on the WebSocket sink's port. Loopback
// only.
import { execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { availableParallelism, cpus, loadavg, totalmem } from 'node:os';
import { basename, dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { startSink } from './sink.mjs';
import { median, medianInterval } from './stats.mjs';

const here = dirname(fileURLToPath(import.meta.url));
const root = join(here, '..');
const bin = (name) => join(here, 'node_modules', '.bin', name);
const args = process.argv.slice(2);
const opt = (name, dflt) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? args[i + 1] : dflt;
};
const ROUNDS = Number(opt('rounds', 3));
const EXPERIMENTS = ['keepalive', 'arrivals', 'cycles', 'hold', 'monday', 'live'];
const ONLY = new Set(opt('only', EXPERIMENTS.join(',')).split(','));
const PORT = 18181;
const WS_PORT = 18182;
const URL_ = `http://127.0.0.1:${PORT}`;
const WORK = join(here, '.work');
const PAGE = 4096;
const TICK = 200;
/**
 * Requests between two readings (250 a second) that open a tool's load window: more than its checks before its load,
 * fewer than any load here.
 */
const LOAD_RISE = 50;

function need() {
  const missing = [];
  if (!existsSync('/usr/bin/wrk')) missing.push('wrk (apt install wrk)');
  if (!existsSync('/usr/sbin/nginx')) missing.push('nginx (apt install nginx)');
  if (!existsSync(bin('autocannon')) || !existsSync(bin('artillery'))) missing.push("the peer tools ('npm run bench' installs them)");
  if (!existsSync(join(root, 'dist', 'cli.js'))) missing.push("firstbell's build (npm run build)");
  if (missing.length) {
    process.stderr.write(`bench: missing ${missing.join(', ')}; ./setup.sh installs the system's part, 'npm run bench' the rest\n`);
    process.exit(2);
  }
}

/** A process's resident memory of its own (anonymous and shared-memory pages) and of files it maps (code), MB. */
function residentParts(pid) {
  try {
    const st = readFileSync(`/proc/${pid}/status`, 'utf8');
    const kb = (name) => Number(new RegExp(`^${name}:\\s+(\\d+) kB`, 'm').exec(st)?.[1] ?? NaN);
    return { own: ((kb('RssAnon') + kb('RssShmem')) * 1024) / 1e6, files: (kb('RssFile') * 1024) / 1e6 };
  } catch {
    return { own: NaN, files: NaN };
  }
}

/**
 * CPU seconds and resident memory of a process and all its descendants, from /proc. The resident sets summed count
 * a page the processes share (Node's own code) once for each; with `once`, also the tree's memory with each page
 * counted once: every process's own pages, and the files they map (the same binary and libraries) as the most any
 * one of them has resident. (Proportional sets would share Node's pages with the sink's own Node processes.)
 */
function treeStat(rootPid, once = false) {
  const procs = procTable();
  const tick = 100; // USER_HZ
  let cpu = 0;
  let rss = 0;
  let own = 0;
  let files = 0;
  const pids = treePids(rootPid, procs);
  for (const pid of pids) {
    const p = procs.get(pid);
    cpu += p.cpu / tick;
    rss += (p.rss * PAGE) / 1e6;
    if (once) {
      const m = residentParts(pid);
      own += m.own;
      files = Math.max(files, m.files);
    }
  }
  return { cpu, rss, once: once ? own + files : NaN, count: pids.length };
}

/** Every process's parent, CPU ticks (its own and its reaped children's) and resident pages, from /proc. */
function procTable() {
  const procs = new Map();
  for (const d of readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    try {
      const s = readFileSync(`/proc/${d}/stat`, 'utf8');
      const f = s.slice(s.lastIndexOf(')') + 2).split(' ');
      procs.set(Number(d), { ppid: Number(f[1]), cpu: Number(f[11]) + Number(f[12]) + Number(f[13]) + Number(f[14]), rss: Number(f[21]) });
    } catch {
      // gone meanwhile
    }
  }
  return procs;
}

/** A process and all its descendants (those still running), by pid. */
function treePids(rootPid, procs = procTable()) {
  const out = [];
  const walk = (pid) => {
    if (!procs.has(pid)) return;
    out.push(pid);
    for (const [c, q] of procs) if (q.ppid === pid) walk(c);
  };
  walk(rootPid);
  return out;
}

/** Established client connections to the WebSocket sink. */
function heldCount() {
  try {
    const out = execFileSync('ss', ['-Htn', 'state', 'established', `( dport = :${WS_PORT} )`], { encoding: 'utf8', maxBuffer: 256 * 1024 * 1024 });
    return out ? out.trimEnd().split('\n').length : 0;
  } catch {
    return -1;
  }
}

function timeWaitCount() {
  try {
    return execFileSync('ss', ['-Htn', 'state', 'time-wait'], { encoding: 'utf8', maxBuffer: 256 * 1024 * 1024 }).split('\n').length - 1;
  } catch {
    return 0;
  }
}

async function drainTimeWait() {
  for (let k = 0; k < 70 && timeWaitCount() > 20_000; k++) await new Promise((r) => setTimeout(r, 1000));
}

/** A 1-minute load average below which the machine counts as quiet (2 cores). */
const QUIET_LOAD = 0.5;

/**
 * Waits, at most 2 minutes, for the machine to be quiet after the run before: its connections' ports freed and its
 * 1-minute load average below QUIET_LOAD. Returns the load average then, for the results to say.
 */
async function quietMachine() {
  await drainTimeWait();
  for (let k = 0; k < 120 && loadavg()[0] >= QUIET_LOAD; k++) await new Promise((r) => setTimeout(r, 1000));
  return loadavg()[0];
}

/** Runs one tool, watching its process tree, the sink's request counter and (optionally) held connections. */
async function runTool(sink, name, cmd, argv, { env = {}, countHeld = false, timeoutMs = 600_000, onStderr } = {}) {
  await drainTimeWait();
  process.stderr.write(`  ${name} ...`);
  const started = Date.now();
  const child = spawn(cmd, argv, { cwd: WORK, env: { ...process.env, ARTILLERY_DISABLE_TELEMETRY: 'true', ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d) => (stdout += d));
  child.stderr.on('data', (d) => {
    stderr = (stderr + d).slice(-20_000);
    onStderr?.(stderr, child.pid);
  });
  const samples = [];
  let polls = 0;
  let busy = false;
  const poll = async () => {
    if (busy) return;
    busy = true;
    try {
      const t = (Date.now() - started) / 1000;
      const st = treeStat(child.pid, countHeld);
      const requests = (await sink.requests()) - ++polls;
      samples.push({ t, cpu: st.cpu, rss: st.rss, once: st.once, procs: st.count, requests, held: countHeld ? heldCount() : 0 });
    } catch {
      // the tool is gone; its exit ends the watch
    } finally {
      busy = false;
    }
  };
  const timer = setInterval(poll, TICK);
  const killer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
  const code = await new Promise((r) => child.once('exit', (c, s) => r(c ?? s)));
  clearInterval(timer);
  clearTimeout(killer);
  await new Promise((r) => setTimeout(r, 300));
  // A tool that failed says why: the end of its error output, and of what it printed (firstbell's verdict with --json).
  process.stderr.write(` ${((Date.now() - started) / 1000).toFixed(0)} s, exit ${code}\n${code === 0 ? '' : `${stderr.slice(-1500)}\n${stdout.slice(-2500)}\n`}`);
  return { name, code, stdout, stderr, samples, wallS: (Date.now() - started) / 1000 };
}

/**
 * The load window: from the last sample before the sink's counter began to climb to the first after it stopped.
 * A tool's own requests before its load are not its load: firstbell's one request to the target's origin from its
 * main process and from each worker, before the workers warm up. The window opens at the first rise of more than
 * LOAD_RISE between two readings, so that start-up is left out for every tool alike; what the tree spent before it
 * (start-up, warm-up) is `beforeCpuS`.
 */
function loadWindow(samples) {
  let first = -1;
  let last = -1;
  for (let i = 1; i < samples.length; i++) {
    const up = samples[i].requests - samples[i - 1].requests;
    if (first < 0 && up > LOAD_RISE) first = i - 1;
    if (first >= 0 && up > 0) last = i;
  }
  if (first < 0) return undefined;
  const a = samples[first];
  const b = samples[last];
  return { requests: b.requests - a.requests, cpuS: b.cpu - a.cpu, wallS: b.t - a.t, beforeCpuS: a.cpu, window: 'load' };
}

/** A tool's CPU in its load window and before it, as an experiment records it. */
const cpuOf = (w) => ({ cpuS: w?.cpuS, wallS: w?.wallS, beforeCpuS: w?.beforeCpuS, window: w?.window });

function firstbellLoad(name, spec) {
  return ['node', [join(here, 'firstbell-load.mjs'), JSON.stringify({ name, out: join(WORK, 'runs'), ...spec })]];
}

/** Participants' start lag (first sample of each: start − intended) and outcome counts from a run folder. */
function readRun(dir) {
  const lines = readFileSync(join(dir, 'samples.csv'), 'utf8').split('\n');
  const firstLag = new Map();
  let ok = 0;
  let failed = 0;
  let lastOkEnd = 0;
  let firstIntended = Infinity;
  for (let i = 1; i < lines.length; i++) {
    const f = lines[i].split(',');
    if (f.length !== 8 && f.length !== 9) continue;
    const [intended, start, end, user, , , outcome] = f;
    if (!firstLag.has(user)) firstLag.set(user, Number(start) - Number(intended));
    firstIntended = Math.min(firstIntended, Number(intended));
    if (outcome === 'ok') {
      ok++;
      lastOkEnd = Math.max(lastOkEnd, Number(end));
    } else if (outcome !== 'aborted') failed++;
  }
  const lags = [...firstLag.values()].sort((a, b) => a - b);
  const p = (q) => (lags.length ? lags[Math.min(lags.length - 1, Math.floor(q * lags.length))] : NaN);
  const run = JSON.parse(readFileSync(join(dir, 'run.json'), 'utf8'));
  const health = readFileSync(join(dir, 'health.csv'), 'utf8').trim().split('\n').slice(1).map((l) => l.split(',').map(Number));
  return {
    run, ok, failed, participants: lags.length,
    onScheduleShare: lags.length ? lags.filter((x) => x <= 10).length / run.plan.participants : 0,
    onScheduleShare100: lags.length ? lags.filter((x) => x <= 100).length / run.plan.participants : 0,
    lagP50Ms: p(0.5), lagP99Ms: p(0.99), lagMaxMs: lags.at(-1) ?? NaN,
    okSpanS: (lastOkEnd - firstIntended) / 1000,
    health,
  };
}

function artilleryYaml(file, body) {
  writeFileSync(join(WORK, file), body);
  return join(WORK, file);
}

function artilleryReport(path) {
  const a = JSON.parse(readFileSync(path, 'utf8')).aggregate;
  return { counters: a.counters, spanS: ((a.lastCounterAt ?? 0) - (a.firstCounterAt ?? 0)) / 1000 };
}

// ---------------------------------------------------------------- experiments

/** firstbell's keep-alive requests when autocannon's run counted none. */
const KEEPALIVE_FALLBACK = 640_000;

async function keepalive(sink) {
  const out = {};
  const wrk = await runTool(sink, 'wrk', '/usr/bin/wrk', ['-t1', '-c64', '-d10s', `${URL_}/`]);
  out.wrk = { ...loadWindow(wrk.samples) };
  const ac = await runTool(sink, 'autocannon', bin('autocannon'), ['-c', '64', '-d', '10', `${URL_}/`]);
  out.autocannon = { ...loadWindow(ac.samples) };
  const yml = artilleryYaml('keepalive.yml', `config:\n  target: ${URL_}\n  phases:\n    - duration: 1\n      arrivalCount: 64\nscenarios:\n  - flow:\n      - loop:\n          - get:\n              url: /\n        count: 200\n`);
  const art = await runTool(sink, 'artillery', bin('artillery'), ['run', '-q', '-o', join(WORK, 'keepalive.json'), yml]);
  out.artillery = { ...loadWindow(art.samples) };
  // As many requests as autocannon sent in its 10 s just before, so that start and end weigh the same in both.
  const perConnection = Math.ceil((out.autocannon.requests ?? KEEPALIVE_FALLBACK) / 64);
  const [cmd, argv] = firstbellLoad('keepalive', {
    workers: 1, observeMs: 20_000,
    phases: [{ name: 'connections', startMs: 0, durationMs: 100, participants: 64, curve: { kind: 'uniform' } }],
    platform: { journey: 'http', target: `${URL_}/`, options: { requests: perConnection } },
  });
  const fb = await runTool(sink, 'firstbell', cmd, argv);
  out.firstbell = { ...loadWindow(fb.samples), perConnection };
  for (const v of Object.values(out)) v.reqPerCpuS = v.requests / v.cpuS;
  return out;
}

async function arrivals(sink) {
  const out = {};
  for (const rate of [5_000, 10_000]) {
    const name = `arrivals-${rate}`;
    const loadBefore = await quietMachine();
    const [cmd, argv] = firstbellLoad(name, {
      observeMs: 3_000, lateThresholdMs: 10,
      phases: [{ name: 'arrivals', startMs: 0, durationMs: 10_000, participants: rate * 10, curve: { kind: 'uniform' } }],
      platform: { journey: 'http', target: `${URL_}/`, options: { requests: 1 } },
    });
    const fb = await runTool(sink, `firstbell ${rate}/s`, cmd, argv);
    if (fb.code !== 0) {
      out[`firstbell${rate}`] = { error: fb.stderr.slice(-500) };
      continue;
    }
    const info = JSON.parse(fb.stdout.trim().split('\n').at(-1) ?? '{}');
    const r = readRun(info.dir);
    rmSync(info.dir, { recursive: true, force: true });
    const w = loadWindow(fb.samples);
    out[`firstbell${rate}`] = {
      asked: rate * 10, sent: r.run.generator.arrivalsSent, late: r.run.generator.late, dropped: r.run.generator.dropped,
      onScheduleShare: r.onScheduleShare, lagP50Ms: r.lagP50Ms, lagP99Ms: r.lagP99Ms, lagMaxMs: r.lagMaxMs,
      loadBefore, ok: r.ok, failed: r.failed, okPerSec: r.ok / 10, workers: info.workers, workersWhy: info.workersWhy, localAddresses: info.localAddresses, ...cpuOf(w),
      okPerCpuS: w ? r.ok / w.cpuS : NaN,
    };
  }
  // The kernel's own cost of a new connection per request, as near as a tool gets: wrk with `Connection: close`.
  const wrk = await runTool(sink, 'wrk Connection: close', '/usr/bin/wrk', ['-t1', '-c64', '-d10s', '-H', 'Connection: close', `${URL_}/`]);
  const ww = loadWindow(wrk.samples);
  out.wrkClose = { requests: ww?.requests, ...cpuOf(ww), reqPerCpuS: ww ? ww.requests / ww.cpuS : NaN };
  // Node's own floor: node:net alone, the same arrivals, nothing recorded.
  const floor = await runTool(sink, 'node:net alone 5000/s', process.execPath, [join(here, 'node-floor.mjs'), `${URL_}/`, '5000', '10']);
  const fw = loadWindow(floor.samples);
  const fr = JSON.parse(floor.stdout.trim().split('\n').at(-1) || '{}');
  out.nodeFloor5000 = { asked: 50_000, sent: fr.sent, ok: fr.answered, ...cpuOf(fw), okPerCpuS: fw ? fr.answered / fw.cpuS : NaN };
  const yml = artilleryYaml('arrivals.yml', `config:\n  target: ${URL_}\n  phases:\n    - duration: 10\n      arrivalRate: 5000\nscenarios:\n  - flow:\n      - get:\n          url: /\n`);
  const art = await runTool(sink, 'artillery 5000/s', bin('artillery'), ['run', '-q', '-o', join(WORK, 'arrivals.json'), yml]);
  const rep = artilleryReport(join(WORK, 'arrivals.json'));
  const w = loadWindow(art.samples);
  out.artillery5000 = {
    asked: 50_000, sent: rep.counters['vusers.created'] ?? 0, ok: rep.counters['http.codes.200'] ?? 0,
    failed: rep.counters['vusers.failed'] ?? 0, spanS: rep.spanS, createdPerSec: (rep.counters['vusers.created'] ?? 0) / Math.max(10, rep.spanS),
    okPerSec: (rep.counters['http.codes.200'] ?? 0) / Math.max(10, rep.spanS), ...cpuOf(w), okPerCpuS: w ? (rep.counters['http.codes.200'] ?? 0) / w.cpuS : NaN,
    errors: Object.fromEntries(Object.entries(rep.counters).filter(([k]) => k.startsWith('errors.'))),
  };
  return out;
}

/**
 * The live page's cost: 5,000 new-connection arrivals a second for 10 s without the live page and with it and one
 * page open in Chromium; and 10,000 a second with it. The generator's CPU is the load process's tree less the live
 * page's process, which reports its own; the page's Chromium is measured apart. Then the run that the goal is judged
 * from, the page stopped and let go in blocks within it (liveToggled).
 */
async function live(sink) {
  const out = {};
  const { launchChromium } = await import('../dist/lib/chromium.js');
  const browser = await launchChromium();
  try {
    // Without, with, without again (A-B-A): the page's cost set against the mean of the runs either side of it, so a
    // drift of the machine over the round (its other tenants, its caches) falls out.
    for (const [key, rate, withLive] of [['off5000', 5_000, false], ['on5000', 5_000, true], ['off5000b', 5_000, false], ['on10000', 10_000, true]]) {
      const [cmd, argv] = firstbellLoad(`live-${key}`, {
        observeMs: 3_000, lateThresholdMs: 10, live: withLive,
        phases: [{ name: 'arrivals', startMs: 0, durationMs: 10_000, participants: rate * 10, curve: { kind: 'uniform' } }],
        platform: { journey: 'http', target: `${URL_}/`, options: { requests: 1 } },
      });
      let page;
      let opening;
      const chromePid = browser.process()?.pid;
      const chromeCpuBefore = chromePid ? treeStat(chromePid).cpu : NaN;
      const seconds = [];
      const fb = await runTool(sink, `firstbell ${rate}/s${withLive ? ' with a live page' : ''}`, cmd, argv, {
        onStderr: (text) => {
          const m = /live page: (http:\S+)/.exec(text);
          if (!m || opening) return;
          opening = (async () => {
            page = await browser.newPage();
            await page.goto(m[1]);
            page.on('console', () => undefined);
            // The last second the page shows, every 250 ms: how far behind the run it is.
            const timer = setInterval(() => {
              page.evaluate(() => Number(document.body.getAttribute('data-live-second') ?? -1)).then((s) => seconds.push({ at: Date.now(), s }), () => undefined);
            }, 250);
            page.once('close', () => clearInterval(timer));
          })();
        },
      });
      const chromeCpuS = chromePid ? treeStat(chromePid).cpu - chromeCpuBefore : NaN;
      await page?.close();
      const info = JSON.parse(fb.stdout.trim().split('\n').at(-1) ?? '{}');
      if (fb.code !== 0 || !info.dir) {
        out[key] = { error: fb.stderr.slice(-500) };
        continue;
      }
      const r = readRun(info.dir);
      const w = loadWindow(fb.samples);
      // CPU of the generator's processes as it measured them itself, every second of the run.
      const generatorCpuS = r.health.reduce((a, h) => a + (h[11] ?? h[3]), 0) / 100;
      // From the run's first second on the page: before it, the page waits for the run to start.
      const shown = seconds.filter((x) => x.s >= 0);
      const changes = shown.filter((x, i) => i === 0 || x.s !== shown[i - 1].s);
      const gaps = changes.slice(1).map((c, i) => (c.at - changes[i].at) / 1000);
      rmSync(info.dir, { recursive: true, force: true });
      out[key] = {
        rate, live: withLive, onScheduleShare: r.onScheduleShare, lagP99Ms: r.lagP99Ms, ok: r.ok, okPerSec: r.ok / 10,
        treeCpuS: w?.cpuS, wallS: w?.wallS, window: w?.window, generatorCpuS, liveCpuS: info.live ? info.live.cpuMs / 1000 : 0, liveUpdates: info.live?.updates ?? 0,
        liveUpdateMs: info.live?.updates ? info.live.ms / info.live.updates : NaN, pagesAtEnd: info.live?.pages ?? 0,
        pageSeconds: changes.length, pageMaxGapS: gaps.length ? Math.max(...gaps) : NaN, chromiumCpuS: withLive ? chromeCpuS : 0,
      };
    }
    out.toggle5000 = await liveToggled(sink, browser);
  } finally {
    await browser.close();
  }
  return out;
}

/** The live page's cost within one run: its blocks of 2 s, the page running (1) or stopped (0), 20 times on-off-off-on. */
const TOGGLE_BLOCK_MS = 2_000;
const TOGGLE_ORDER = Array.from({ length: 20 }, () => [1, 0, 0, 1]).flat();
/** The toggled run: its blocks from its tenth second (the generator's code warmed up by then), and room after them. */
const TOGGLE_FROM_S = 10;
const TOGGLE_RUN_S = TOGGLE_FROM_S + (TOGGLE_ORDER.length * TOGGLE_BLOCK_MS) / 1000 + 5;

/**
 * The live page's cost set against the same run without it: 5,000 new-connection arrivals a second (for 175 s) with
 * the live page and one page open, the page's process and all of its Chromium stopped (SIGSTOP) and let go again
 * (SIGCONT) in blocks of 2 s, on-off-off-on 20 times from the run's tenth second. At each block's edge the
 * generator's CPU is read from /proc: the load process's tree less the page's process. Blocks side by side share the
 * machine's state, which between runs a minute apart drifts by more than the 2 % to be told. A block after a stopped
 * one also catches up what the page missed: the page's cost is, if anything, counted high.
 */
async function liveToggled(sink, browser) {
  const rate = 5_000;
  const [cmd, argv] = firstbellLoad('live-toggle', {
    observeMs: 3_000, lateThresholdMs: 10, live: true,
    phases: [{ name: 'arrivals', startMs: 0, durationMs: TOGGLE_RUN_S * 1000, participants: rate * TOGGLE_RUN_S, curve: { kind: 'uniform' } }],
    platform: { journey: 'http', target: `${URL_}/`, options: { requests: 1 } },
  });
  let toggling;
  const fb = await runTool(sink, `firstbell ${rate}/s with a live page, stopped and let go in ${TOGGLE_BLOCK_MS / 1000}-s blocks`, cmd, argv, {
    onStderr: (text, loadPid) => {
      const m = /live page: (http:\S+)/.exec(text);
      if (m && !toggling) toggling = toggleLive(browser, m[1], loadPid).catch((e) => ({ error: e instanceof Error ? e.message : String(e) }));
    },
  });
  const blocks = (await toggling) ?? { error: 'the live page never started' };
  const info = JSON.parse(fb.stdout.trim().split('\n').at(-1) ?? '{}');
  if (fb.code !== 0 || !info.dir || blocks.error) return { error: blocks.error ?? fb.stderr.slice(-500) };
  const r = readRun(info.dir);
  rmSync(info.dir, { recursive: true, force: true });
  return { rate, runS: TOGGLE_RUN_S, fromS: TOGGLE_FROM_S, blockMs: TOGGLE_BLOCK_MS, onScheduleShare: r.onScheduleShare, lagP99Ms: r.lagP99Ms, ok: r.ok, blocks };
}

/** The processes the toggled run has stopped now: let go again if the benchmark is interrupted meanwhile. */
let stopped = [];

function letGo(sig, pids) {
  for (const pid of pids) {
    try {
      process.kill(pid, sig);
    } catch {
      // gone meanwhile
    }
  }
}

/** Opens the page, waits for its second TOGGLE_FROM_S, then runs TOGGLE_ORDER: the blocks' CPU, generator's and page's. */
async function toggleLive(browser, url, loadPid) {
  const page = await browser.newPage();
  const chromePid = browser.process()?.pid;
  if (!chromePid) throw new Error('no Chromium process to stop');
  await page.goto(url);
  const waitUntil = Date.now() + 60_000;
  while ((await page.evaluate(() => Number(document.body.getAttribute('data-live-second') ?? -1))) < TOGGLE_FROM_S) {
    if (Date.now() > waitUntil) throw new Error(`the live page showed no second ${TOGGLE_FROM_S} within 60 s`);
    await new Promise((r) => setTimeout(r, 100));
  }
  const livePid = treePids(loadPid).find((pid) => {
    try {
      return readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes('live-process.js');
    } catch {
      return false;
    }
  });
  if (!livePid) throw new Error("the live page's process was not found under the load process");
  // CPU-s of the generator (the load tree less the page's process), of the page's process and of Chromium, at once.
  const read = () => {
    const procs = procTable();
    const sum = (pids) => pids.reduce((a, pid) => a + procs.get(pid).cpu / 100, 0);
    const live = sum(treePids(livePid, procs));
    return { generator: sum(treePids(loadPid, procs)) - live, live, chromium: sum(treePids(chromePid, procs)) };
  };
  const signal = (sig) => {
    const pids = [...treePids(livePid), ...treePids(chromePid)];
    stopped = sig === 'SIGSTOP' ? pids : [];
    letGo(sig, pids);
  };
  const blocks = [];
  try {
    let at = read();
    let t = performance.now();
    for (const on of TOGGLE_ORDER) {
      signal(on ? 'SIGCONT' : 'SIGSTOP');
      await new Promise((r) => setTimeout(r, t + TOGGLE_BLOCK_MS - performance.now()));
      const now = read();
      const end = performance.now();
      blocks.push({ on, ms: end - t, generatorCpuS: now.generator - at.generator, liveCpuS: now.live - at.live, chromiumCpuS: now.chromium - at.chromium });
      at = now;
      t = end;
    }
  } finally {
    signal('SIGCONT');
  }
  await page.close().catch(() => undefined);
  return blocks;
}

/**
 * Join-and-leave cycles: 1,000 new WebSocket connections a second for 20 s, one message each way, then the
 * participant leaves (through nginx to the WebSocket sink, whose request counter marks the load window).
 */
async function cycles(sink) {
  const out = {};
  const rate = 1_000;
  const seconds = 20;
  const dir = join(WORK, 'cycles');
  mkdirSync(dir, { recursive: true });
  const scenario = join(dir, 'cycles.json');
  writeFileSync(scenario, JSON.stringify({
    name: 'ws-cycles', journey: join(here, 'journeys', 'ws-cycle.ts'), observeMs: 2_000, client: { thinkTimeMs: 0, stepTimeoutMs: 10_000 },
    phases: [{ name: 'cycles', startMs: 0, durationMs: seconds * 1000, participants: rate * seconds, curve: { kind: 'uniform' } }],
  }));
  const runs = join(dir, 'runs');
  const fb = await runTool(sink, `firstbell cycles ${rate}/s`, 'node', [join(root, 'dist', 'cli.js'), 'run', scenario, '--target', URL_, '--scale', '1', '--out', runs, '--json', '--no-progress']);
  const folder = existsSync(runs) ? readdirSync(runs)[0] : undefined;
  if (!folder) return { error: fb.stderr.slice(-500) };
  const r = readRun(join(runs, folder));
  const w = loadWindow(fb.samples);
  let summary = {};
  try {
    summary = JSON.parse(fb.stdout);
  } catch {
    // no summary: the folder says what ran
  }
  out.firstbell = {
    asked: rate * seconds, sent: r.run.generator.arrivalsSent, late: r.run.generator.late, ok: r.ok, failed: r.failed,
    onScheduleShare: r.onScheduleShare, onScheduleShare100: r.onScheduleShare100, lagP99Ms: r.lagP99Ms,
    stalledSeconds: summary.generator?.suspectSeconds?.length, verdict: summary.verdict, ...cpuOf(w),
    cpuSPer1000: w ? (w.cpuS * 1000) / Math.max(1, r.ok) : NaN, workers: r.run.generator.workers,
  };
  rmSync(runs, { recursive: true, force: true });
  const yml = artilleryYaml('cycles.yml', `config:\n  target: ws://127.0.0.1:${PORT}/ws/cycle\n  phases:\n    - duration: ${seconds}\n      arrivalRate: ${rate}\nscenarios:\n  - engine: ws\n    flow:\n      - send:\n          payload: '{"type":"ping","t":1}'\n          match:\n            json: "$.type"\n            value: "pong"\n`);
  const art = await runTool(sink, `artillery cycles ${rate}/s`, bin('artillery'), ['run', '-q', '-o', join(WORK, 'cycles.json'), yml]);
  const rep = artilleryReport(join(WORK, 'cycles.json'));
  const aw = loadWindow(art.samples);
  const done = rep.counters['vusers.completed'] ?? 0;
  out.artillery = {
    asked: rate * seconds, sent: rep.counters['vusers.created'] ?? 0, ok: done, failed: rep.counters['vusers.failed'] ?? 0, spanS: rep.spanS,
    createdPerSec: (rep.counters['vusers.created'] ?? 0) / Math.max(seconds, rep.spanS), ...cpuOf(aw),
    cpuSPer1000: aw ? (aw.cpuS * 1000) / Math.max(1, done) : NaN,
    errors: Object.fromEntries(Object.entries(rep.counters).filter(([k]) => k.startsWith('errors.'))),
  };
  return out;
}

/**
 * The steady hold of one run: the tree's memory (resident sets summed, and each page counted once) over the last
 * 10 s in which at least 99 % of the peak were held (medians), and the CPU it used meanwhile.
 */
function steadyHold(samples) {
  const peakHeld = Math.max(0, ...samples.map((s) => s.held));
  const holding = samples.filter((s) => s.held >= 0.99 * peakHeld && peakHeld > 0);
  const tail = holding.filter((s) => s.t >= (holding.at(-1)?.t ?? 0) - 10);
  const cpu = tail.length > 1 ? (tail.at(-1).cpu - tail[0].cpu) / (tail.at(-1).t - tail[0].t) : NaN;
  return { held: peakHeld, rssMb: median(tail.map((s) => s.rss)), onceMb: median(tail.map((s) => s.once)), cpuPct: cpu * 100 };
}

/**
 * Memory per held participant, from two steady holds of the same tool in the same layout: half the participants,
 * then all of them. The difference of the two resident sets, per participant held in addition, is what one more
 * held participant costs; what the tool needs whatever it holds (its runtime, code, young generation, a warm-up's
 * heap) is in both and drops out. All of the tree's memory per held participant is given beside it: each page
 * counted once, and the resident sets summed (a page the processes share counted once per process).
 */
function heldMemory(half, all, want) {
  const a = steadyHold(half);
  const b = steadyHold(all);
  return {
    asked: want, held: b.held, halfHeld: a.held, halfRssMb: a.rssMb, holdRssMb: b.rssMb, halfOnceMb: a.onceMb, holdOnceMb: b.onceMb,
    kbPerHeld: b.held > a.held ? ((b.rssMb - a.rssMb) * 1000) / (b.held - a.held) : NaN,
    kbPerHeldWhole: (b.rssMb * 1000) / b.held,
    kbPerHeldAll: (b.onceMb * 1000) / b.held,
    cpuPctWhileHolding: b.cpuPct,
  };
}

async function hold(sink) {
  const out = {};
  const n = 25_000;
  // The same arrival rate (500/s) and layout (firstbell: 2 workers, as 25,000 needs) for both sizes.
  const runFirstbell = async (k) => {
    const [cmd, argv] = firstbellLoad(`hold-${k}`, {
      observeMs: 25_000, heartbeatMs: 5_000, thinkTimeMs: 200, workers: 2,
      phases: [{ name: 'arrive', startMs: 0, durationMs: k / 0.5, participants: k, curve: { kind: 'uniform' } }],
      platform: { journey: 'reference', target: `${URL_}/` },
    });
    const r = await runTool(sink, `firstbell hold ${k.toLocaleString('en')}`, cmd, argv, { countHeld: true });
    const info = JSON.parse(r.stdout.trim().split('\n').at(-1) ?? '{}');
    if (info.dir) rmSync(info.dir, { recursive: true, force: true });
    return { samples: r.samples, workers: info.workers };
  };
  const fbHalf = await runFirstbell(n / 2);
  const fbAll = await runFirstbell(n);
  out.firstbell = { ...heldMemory(fbHalf.samples, fbAll.samples, n), workers: fbAll.workers };
  const runArtillery = async (k) => {
    const yml = artilleryYaml(`hold-${k}.yml`, `config:\n  target: ws://127.0.0.1:${WS_PORT}/media\n  phases:\n    - duration: ${k / 500}\n      arrivalRate: 500\nscenarios:\n  - engine: ws\n    flow:\n      - loop:\n          - send: '{"type":"ping","t":1}'\n          - think: 5\n        count: 15\n`);
    const r = await runTool(sink, `artillery hold ${k.toLocaleString('en')}`, bin('artillery'), ['run', '-q', '-o', join(WORK, `hold-${k}.json`), yml], { countHeld: true });
    return { samples: r.samples, errors: Object.fromEntries(Object.entries(artilleryReport(join(WORK, `hold-${k}.json`)).counters).filter(([c]) => c.startsWith('errors.'))) };
  };
  const artHalf = await runArtillery(n / 2);
  const artAll = await runArtillery(n);
  out.artillery = { ...heldMemory(artHalf.samples, artAll.samples, n), errors: { ...artHalf.errors, ...artAll.errors } };
  return out;
}

async function monday(sink) {
  const runs = join(WORK, 'monday');
  rmSync(runs, { recursive: true, force: true });
  const r = await runTool(sink, 'firstbell monday-0800 scale 1.0', 'node', [join(root, 'dist', 'cli.js'), 'run', 'monday-0800', '--target', URL_, '--scale', '1', '--out', runs, '--json', '--no-progress'], { countHeld: true, timeoutMs: 900_000 });
  const dir = join(runs, readdirSync(runs)[0] ?? '');
  const run = JSON.parse(readFileSync(join(dir, 'run.json'), 'utf8'));
  let summary = {};
  try {
    summary = JSON.parse(r.stdout);
  } catch {
    // the run failed; its folder still says what ran
  }
  const burst = run.scenario.phases.find((p) => p.name === 'burst');
  const r2 = readRun(dir);
  const burstFirst = r2.health.filter((h) => h[0] * 1000 >= run.firstBellAtMs + burst.startMs && h[0] * 1000 < run.firstBellAtMs + burst.startMs + burst.durationMs);
  const out = {
    exit: r.code, status: run.status, verdict: summary.verdict, planned: run.generator?.arrivalsPlanned, sent: run.generator?.arrivalsSent,
    late: run.generator?.late, dropped: run.generator?.dropped, workers: run.generator?.workers, localAddresses: run.generator?.localAddresses,
    burstSentInWindow: burstFirst.reduce((a, h) => a + h[6], 0), burstPlanned: burst.participants,
    joined: summary.users?.joined, arrived: summary.users?.arrived, suspectSeconds: summary.generator?.suspectSeconds?.length,
    generatorNote: summary.generator?.note, headline: summary.headline, peakHeld: Math.max(0, ...r.samples.map((s) => s.held)),
    maxTreeRssMb: Math.max(0, ...r.samples.map((s) => s.rss)), cpuS: (r.samples.at(-1)?.cpu ?? 0) - (r.samples[0]?.cpu ?? 0), wallS: r.wallS,
    lagP99Ms: r2.lagP99Ms, onScheduleShare: r2.onScheduleShare,
  };
  rmSync(runs, { recursive: true, force: true });
  return out;
}

// ---------------------------------------------------------------- report

const f0 = (x) => (Number.isFinite(x) ? Math.round(x).toLocaleString('en-US') : '—');
const f1 = (x) => (Number.isFinite(x) ? x.toFixed(1) : '—');
const f2 = (x) => (Number.isFinite(x) ? x.toFixed(2) : '—');
const pct = (x) => (Number.isFinite(x) ? `${(x * 100).toFixed(1)} %` : '—');
const pctChange = (x, base) => (Number.isFinite(x) && Number.isFinite(base) && base > 0 ? `${x >= base ? "+" : "−"}${(Math.abs(x / base - 1) * 100).toFixed(1)} %` : "—");
const med = (rounds, path) => median(rounds.map((r) => path.split('.').reduce((o, k) => o?.[k], r)));

/** A change as a signed percentage to one decimal; one that rounds to nothing has no sign. */
const signedPct = (x) => {
  if (!Number.isFinite(x)) return '—';
  const shown = (Math.abs(x) * 100).toFixed(1);
  return `${shown === '0.0' ? '' : x > 0 ? '+' : '−'}${shown} %`;
};
/**
 * The live page's cost from the toggled runs: each on-off-off-on group of blocks gives the generator's CPU a second
 * with the page running against stopped, less 1; their median over all rounds' groups, with its 95 % interval; and
 * the CPU a second of the generator, the page's process and its Chromium in running and in stopped blocks.
 */
function toggleEffects(rounds) {
  const effects = [];
  const sums = { on: { ms: 0, generator: 0, live: 0, chromium: 0 }, off: { ms: 0, generator: 0, live: 0, chromium: 0 } };
  for (const r of rounds) {
    const blocks = r.live?.toggle5000?.blocks;
    if (!Array.isArray(blocks)) continue;
    for (let g = 0; g + 4 <= blocks.length; g += 4) {
      const rate = (on) => {
        const part = blocks.slice(g, g + 4).filter((b) => b.on === on);
        return part.reduce((a, b) => a + b.generatorCpuS, 0) / part.reduce((a, b) => a + b.ms, 0);
      };
      effects.push(rate(1) / rate(0) - 1);
    }
    for (const b of blocks) {
      const s = b.on ? sums.on : sums.off;
      s.ms += b.ms;
      s.generator += b.generatorCpuS;
      s.live += b.liveCpuS;
      s.chromium += b.chromiumCpuS;
    }
  }
  const perSecond = (s) => ({ generator: (s.generator * 1000) / s.ms, live: (s.live * 1000) / s.ms, chromium: (s.chromium * 1000) / s.ms });
  const sorted = [...effects].sort((a, b) => a - b);
  const [low, high] = medianInterval(sorted) ?? [NaN, NaN];
  return { effects, median: median(sorted), low, high, on: perSecond(sums.on), off: perSecond(sums.off) };
}

/** Each experiment's section, as RESULTS.md names it. */
const SECTION = { keepalive: 'the keep-alive requests', arrivals: 'the open-model arrivals', cycles: 'the WebSocket cycles', live: 'the live page\'s runs' };

function markdown(rounds, meta) {
  const L = [];
  const k = (tool, key) => med(rounds, `keepalive.${tool}.${key}`);
  // The live page's toggled runs, for its goal and its section.
  const toggle = toggleEffects(rounds);
  L.push('# Benchmark results', '');
  L.push(`Made by \`node bench/run.mjs\` on ${meta.date}: ${meta.cpus} × ${meta.cpuModel}, ${meta.memGb} GB, Node ${meta.node}, ${rounds.length} round(s)${EXPERIMENTS.some((e) => rounds.some((r) => !r[e]) && rounds.some((r) => r[e])) ? ` (${EXPERIMENTS.filter((e) => rounds.some((r) => r[e])).map((e) => `${e} ${rounds.filter((r) => r[e]).length}`).join(', ')})` : ''}; every figure is the median over the rounds.${mergedLine(meta, rounds)}`);
  L.push(`All tools ran one after another against the same nginx sink (\`return 200\`, 2 workers) and the WebSocket sink, on the same machine: the sink takes its share of the same cores. CPU is the whole process tree of each tool while the sink counted its load's requests: from the last reading before the counter first rose by more than ${LOAD_RISE} requests between two readings ${TICK} ms apart, so that a tool's start-up is left out (firstbell's one request to the target from each of its processes, before its workers warm up, does not open the window; what each tree spent before its load is given apart); memory is its resident sets summed, and its pages counted once (see the held participants).`, '');
  // Figures recorded before that rule have no `window`: their window opened at the tool's first request.
  const firstbellRun = { keepalive: 'firstbell', arrivals: 'firstbell5000', cycles: 'firstbell', live: 'on5000' };
  const before = Object.entries(firstbellRun).filter(([e, run]) => rounds.some((r) => r[e]?.[run] && r[e][run].window !== 'load')).map(([e]) => SECTION[e]);
  if (before.length) L.push(`The CPU-s of ${before.length > 1 ? `${before.slice(0, -1).join(', ')} and ${before.at(-1)}` : before[0]} were read before that rule: their window opened at a tool's first request, with firstbell's start-up and warm-up inside it.`, '');
  const goal = (ok) => (ok === undefined ? '—' : ok ? 'met' : 'not met');
  const G = [];
  if (rounds[0].keepalive) {
    const fb = k('firstbell', 'reqPerCpuS');
    // The ratio within each round too: the tools ran minutes apart, and this machine's speed varies by more than the goal's margin.
    const byRound = rounds.filter((r) => r.keepalive).map((r) => f2(r.keepalive.firstbell.reqPerCpuS / r.keepalive.autocannon.reqPerCpuS)).join(', ');
    G.push(`| keep-alive requests per CPU-s ≥ 1.2 × autocannon's | ${f2(fb / k('autocannon', 'reqPerCpuS'))} × autocannon (medians; round by round ${byRound}) | ${goal(fb >= 1.2 * k('autocannon', 'reqPerCpuS'))} |`);
    G.push(`| … and ≥ 10 × artillery's | ${f1(fb / k('artillery', 'reqPerCpuS'))} × artillery | ${goal(fb >= 10 * k('artillery', 'reqPerCpuS'))} |`);
  }
  if (rounds[0].arrivals) {
    const on = med(rounds, 'arrivals.firstbell5000.onScheduleShare');
    const p99 = med(rounds, 'arrivals.firstbell5000.lagP99Ms');
    G.push(`| 5,000 arrivals/s for 10 s: ≥ 99 % on schedule, start lag p99 < 10 ms | ${pct(on)} within 10 ms, p99 ${f0(p99)} ms | ${goal(on >= 0.99 && p99 < 10)} |`);
    const on10k = med(rounds, 'arrivals.firstbell10000.onScheduleShare');
    const load10k = rounds.map((r) => r.arrivals?.firstbell10000?.loadBefore).filter((x) => Number.isFinite(x));
    const byRound10k = rounds.filter((r) => r.arrivals?.firstbell10000).map((r) => pct(r.arrivals.firstbell10000.onScheduleShare)).join(', ');
    G.push(`| 10,000 new-connection arrivals/s for 10 s: ≥ 99 % within 10 ms | ${pct(on10k)} within 10 ms (round by round ${byRound10k}${load10k.length ? `; load average over the minute before the run: ${load10k.map((x) => x.toFixed(2)).join(', ')}` : ''}) | ${goal(on10k >= 0.99)} |`);
    const perCpu = med(rounds, 'arrivals.firstbell5000.okPerCpuS');
    const close = med(rounds, 'arrivals.wrkClose.reqPerCpuS');
    const art = med(rounds, 'arrivals.artillery5000.okPerCpuS');
    const byRoundWrk = rounds.filter((r) => r.arrivals?.firstbell5000 && r.arrivals.wrkClose).map((r) => f2(r.arrivals.firstbell5000.okPerCpuS / r.arrivals.wrkClose.reqPerCpuS)).join(', ');
    G.push(`| new-connection arrivals per CPU-s ≥ 0.5 × wrk's requests per CPU-s with \`Connection: close\` | ${f2(perCpu / close)} × wrk (${f0(perCpu)} against ${f0(close)}; round by round ${byRoundWrk}) | ${goal(perCpu >= 0.5 * close)} |`);
    G.push(`| … and ≥ 3 × artillery's | ${f1(perCpu / art)} × artillery (${f0(art)}) | ${goal(perCpu >= 3 * art)} |`);
    const okps = Math.max(med(rounds, 'arrivals.firstbell5000.okPerSec'), med(rounds, 'arrivals.firstbell10000.okPerSec'));
    G.push(`| ≥ 5,000 new-connection journeys/s on the two cores | ${f0(okps)} answered a second (with the sink on the same cores) | ${goal(okps >= 5000 && on >= 0.99)} |`);
  }
  if (rounds[0].cycles) {
    const on = med(rounds, 'cycles.firstbell.onScheduleShare100');
    G.push(`| WebSocket join-and-leave at 1,000/s for 20 s: ≥ 99 % on schedule (≤ 100 ms), no stalled second | ${pct(on)} within 100 ms, ${f0(med(rounds, 'cycles.firstbell.stalledSeconds'))} generator-bound seconds; ${f2(med(rounds, 'cycles.firstbell.cpuSPer1000'))} CPU-s per 1,000 cycles against artillery's ${f2(med(rounds, 'cycles.artillery.cpuSPer1000'))} | ${goal(on >= 0.99 && med(rounds, 'cycles.firstbell.stalledSeconds') === 0)} |`);
  }
  if (rounds[0].hold) {
    // The goal counts all of the generator's memory, each page once.
    const kb = med(rounds, 'hold.firstbell.kbPerHeldAll');
    G.push(`| ≤ 8 KB of generator memory per held participant at 25,000, all of it counted | ${f1(kb)} KB each counting all of the generator's memory (${f0(med(rounds, 'hold.firstbell.holdOnceMb'))} MB for ${f0(med(rounds, 'hold.firstbell.held'))} held; ${f1(med(rounds, 'hold.firstbell.kbPerHeldWhole'))} KB with each process's resident set summed, Node's shared code once per process); ${f1(med(rounds, 'hold.firstbell.kbPerHeld'))} KB for each participant held beyond the first ${f0(med(rounds, 'hold.firstbell.halfHeld'))} | ${goal(kb <= 8)} |`);
  }
  if (rounds[0].live) {
    if (Number.isFinite(toggle.high)) {
      // The interval's upper end at or below 2 % meets the goal; its lower end above 2 % does not; else not judged.
      const verdict = toggle.high <= 0.02 ? 'met' : toggle.low > 0.02 ? 'not met' : `not judged: the interval reaches above 2 %`;
      G.push(`| --live with one page open at 5,000 arrivals/s: generator CPU ≤ 2 % more than without | ${signedPct(toggle.median)} (median of ${toggle.effects.length} groups of ${f0(med(rounds, 'live.toggle5000.blockMs') / 1000)}-s blocks in one run a round, the page's process and its Chromium running against stopped in the blocks beside them; 95 % interval ${signedPct(toggle.low)} to ${signedPct(toggle.high)}); the generator ${f2(toggle.on.generator)} CPU-s a second with the page running, ${f2(toggle.off.generator)} with it stopped; the page's process ${f2(toggle.on.live)} and its Chromium ${f2(toggle.on.chromium)} CPU-s a second running, ${f2(toggle.off.live)} and ${f2(toggle.off.chromium)} stopped | ${verdict} |`);
    } else {
      // Each round's page against the mean of its runs without, before and after it; the median over the rounds.
      const offOf = (r) => (r.live?.off5000b?.generatorCpuS !== undefined ? (r.live.off5000.generatorCpuS + r.live.off5000b.generatorCpuS) / 2 : r.live?.off5000?.generatorCpuS);
      const ratios = rounds.filter((r) => r.live).map((r) => r.live?.on5000?.generatorCpuS / offOf(r)).filter((x) => Number.isFinite(x));
      const ratio = median(ratios);
      const off = median(rounds.map(offOf).filter((x) => Number.isFinite(x)));
      const on = med(rounds, 'live.on5000.generatorCpuS');
      const noise = rounds.filter((r) => r.live?.off5000b).map((r) => pctChange(r.live.off5000b.generatorCpuS, r.live.off5000.generatorCpuS));
      const paired = ratios.map((x) => pctChange(x, 1)).join(', ');
      // A 2 % difference is told apart only where the runs without the page agree with each other to within 2 %: else
      // the goal is not met only when the page's runs are above by more than that spread too, and not judged otherwise.
      const spread = median(rounds.filter((r) => r.live?.off5000b).map((r) => Math.abs(r.live.off5000b.generatorCpuS / r.live.off5000.generatorCpuS - 1)));
      const verdict = !(spread > 0.02) ? goal(ratio <= 1.02) : ratio - 1 > 0.02 + spread ? 'not met' : `not judged: the runs without the page differed from each other by ${pct(spread)} (median of the rounds), more than the 2 % to be told apart`;
      G.push(`| --live with one page open at 5,000 arrivals/s: generator CPU ≤ 2 % more than without | ${pctChange(ratio, 1)} (median of the rounds; round by round ${paired}: each against the mean of its runs without, before and after it${noise.length ? `, which differed from each other by ${noise.join(', ')}` : ''}); medians ${f1(on)} CPU-s against ${f1(off)}; the page's own process ${f1(med(rounds, 'live.on5000.liveCpuS'))} CPU-s apart, its Chromium ${f1(med(rounds, 'live.on5000.chromiumCpuS'))} | ${verdict} |`);
    }
    G.push(`| the live page keeps up at 10,000 arrivals/s: a new second on the page every second | longest wait for the next second on the page ${f2(med(rounds, 'live.on10000.pageMaxGapS'))} s (at most 1.5 s for the goal); ${pct(med(rounds, 'live.on10000.onScheduleShare'))} on schedule | ${goal(med(rounds, 'live.on10000.pageMaxGapS') <= 1.5)} |`);
  }
  if (rounds[0].monday) {
    G.push(`| monday-0800 at 1.0 completes, joins sent or shortfall reported, 25,000 held, health honest | ${rounds.filter((r) => r.monday).map((r) => r.monday.status).join(', ')}; ${f0(med(rounds, 'monday.sent'))} of 128,000 sent, shortfall in the report; ${f0(med(rounds, 'monday.peakHeld'))} held at peak; ${f0(med(rounds, 'monday.suspectSeconds'))} seconds marked generator-bound | ${goal(rounds.filter((r) => r.monday).every((r) => r.monday.status === 'completed') && med(rounds, 'monday.peakHeld') >= 25000)} (the burst itself is not sent in its window) |`);
  }
  if (G.length) L.push('## Goals', '', '| goal | measured (median) | |', '| --- | --- | --- |', ...G, '');
  if (rounds[0].keepalive) {
    L.push('## Keep-alive requests (64 connections)', '');
    L.push('| tool | requests | CPU-s | requests per CPU-s | requests/s | vs autocannon | vs artillery |', '| --- | --- | --- | --- | --- | --- | --- |');
    for (const t of ['wrk', 'autocannon', 'artillery', 'firstbell']) {
      L.push(`| ${t} | ${f0(k(t, 'requests'))} | ${f1(k(t, 'cpuS'))} | ${f0(k(t, 'reqPerCpuS'))} | ${f0(k(t, 'requests') / k(t, 'wallS'))} | ${f2(k(t, 'reqPerCpuS') / k('autocannon', 'reqPerCpuS'))} | ${f1(k(t, 'reqPerCpuS') / k('artillery', 'reqPerCpuS'))} |`);
    }
    // Rounds recorded before firstbell sent autocannon's count sent 5,000 requests a connection.
    const sent = rounds.every((r) => r.keepalive?.firstbell?.perConnection) ? "as many requests as autocannon did in its 10 s just before it (so that its run's start and end weigh the same)" : '5,000 requests on each connection';
    L.push('', `firstbell sends ${sent}, and records every one as a sample (CSV on disk, HDR histograms per second); the others keep histograms only.${Number.isFinite(k('firstbell', 'beforeCpuS')) ? ` Before the load, outside the window: firstbell ${f1(k('firstbell', 'beforeCpuS'))} CPU-s (its start-up and warm-up), wrk ${f1(k('wrk', 'beforeCpuS'))}, autocannon ${f1(k('autocannon', 'beforeCpuS'))}, artillery ${f1(k('artillery', 'beforeCpuS'))}.` : ''}`, '');
  }
  if (rounds[0].arrivals) {
    const a = (t, key) => med(rounds, `arrivals.${t}.${key}`);
    L.push('## Open-model arrivals, a new connection each (10 s)', '');
    L.push('| tool | asked | sent | on schedule (≤ 10 ms) | start lag p99 | ok responses | ok/s | CPU-s | CPU-s before the load |', '| --- | --- | --- | --- | --- | --- | --- | --- | --- |');
    for (const r of [5000, 10000]) {
      L.push(`| firstbell ${r.toLocaleString('en-US')}/s | ${f0(a(`firstbell${r}`, 'asked'))} | ${f0(a(`firstbell${r}`, 'sent'))} | ${pct(a(`firstbell${r}`, 'onScheduleShare'))} | ${f1(a(`firstbell${r}`, 'lagP99Ms'))} ms | ${f0(a(`firstbell${r}`, 'ok'))} | ${f0(a(`firstbell${r}`, 'okPerSec'))} | ${f1(a(`firstbell${r}`, 'cpuS'))} | ${f1(a(`firstbell${r}`, 'beforeCpuS'))} |`);
    }
    L.push(`| wrk, \`Connection: close\`, 64 connections | — | ${f0(a('wrkClose', 'requests'))} in 10 s | — | — | ${f0(a('wrkClose', 'requests'))} | ${f0(a('wrkClose', 'requests') / a('wrkClose', 'wallS'))} | ${f1(a('wrkClose', 'cpuS'))} | ${f1(a('wrkClose', 'beforeCpuS'))} |`);
    if (rounds.some((r) => r.arrivals?.nodeFloor5000)) L.push(`| node:net alone 5,000/s (connect, GET, read, close; nothing recorded) | ${f0(a('nodeFloor5000', 'asked'))} | ${f0(a('nodeFloor5000', 'sent'))} | not measured | — | ${f0(a('nodeFloor5000', 'ok'))} | ${f0(a('nodeFloor5000', 'ok') / 10)} | ${f1(a('nodeFloor5000', 'cpuS'))} | ${f1(a('nodeFloor5000', 'beforeCpuS'))} |`);
    L.push(`| artillery 5,000/s | ${f0(a('artillery5000', 'asked'))} | ${f0(a('artillery5000', 'sent'))} created in ${f1(a('artillery5000', 'spanS'))} s | not measured by the tool | — | ${f0(a('artillery5000', 'ok'))} | ${f0(a('artillery5000', 'okPerSec'))} | ${f1(a('artillery5000', 'cpuS'))} | ${f1(a('artillery5000', 'beforeCpuS'))} |`);
    const floorLine = rounds.some((r) => r.arrivals?.nodeFloor5000)
      ? ` Node.js's own floor, node:net alone on the same schedule with nothing recorded, was ${f0(a('nodeFloor5000', 'okPerCpuS'))} arrivals per CPU-s (${f2(a('nodeFloor5000', 'okPerCpuS') / a('wrkClose', 'reqPerCpuS'))} × wrk's): firstbell is at ${f2(a('firstbell5000', 'okPerCpuS') / a('nodeFloor5000', 'okPerCpuS'))} × it.`
      : '';
    L.push('', `Per CPU-s: firstbell ${f0(a('firstbell5000', 'okPerCpuS'))} answered arrivals at 5,000/s, wrk with \`Connection: close\` ${f0(a('wrkClose', 'reqPerCpuS'))} requests (the kernel's cost of a new connection, with nothing recorded), artillery ${f0(a('artillery5000', 'okPerCpuS'))}.${floorLine} At 10,000/s firstbell answered ${f0(a('firstbell10000', 'okPerCpuS'))} arrivals per CPU-s (${f2(a('firstbell10000', 'okPerCpuS') / a('wrkClose', 'reqPerCpuS'))} × wrk's): more arrivals share each turn of its event loop; the goal is judged at 5,000/s, where its arrivals keep their schedule. firstbell used ${rounds[0].arrivals.firstbell5000?.workers ?? '?'} (5,000/s) and ${rounds[0].arrivals.firstbell10000?.workers ?? '?'} (10,000/s) worker processes${[5000, 10000].some((r) => rounds[0].arrivals[`firstbell${r}`]?.workersWhy) ? ` (as its plan said why: ${[5000, 10000].map((r) => `${r.toLocaleString('en-US')}/s, "${rounds[0].arrivals[`firstbell${r}`]?.workersWhy ?? '?'}"`).join('; ')})` : ''} and spread its connections over ${rounds[0].arrivals.firstbell5000?.localAddresses || 1} and ${rounds[0].arrivals.firstbell10000?.localAddresses || 1} loopback source addresses. autocannon and wrk have no open arrival model and are not in this table but for wrk's closing line.`, '');
    for (const [i, r] of rounds.entries()) for (const [k, v] of Object.entries(r.arrivals ?? {})) if (v?.error) L.push(`Round ${i + 1}, ${k} failed: ${v.error.split('\n').filter(Boolean).slice(-3).join(' ')}`, '');
    const errs = rounds.filter((r) => r.arrivals).map((r) => r.arrivals?.artillery5000?.errors);
    L.push(`artillery errors per round: ${errs.map((e) => JSON.stringify(e)).join('; ')}`, '');
    const loads = (rate) => rounds.map((r) => r.arrivals?.[`firstbell${rate}`]?.loadBefore);
    if ([5000, 10000].every((rate) => loads(rate).every((x) => Number.isFinite(x)))) {
      const floorRounds = rounds.map((r) => r.arrivals?.nodeFloor5000?.okPerCpuS).filter((x) => Number.isFinite(x)).map(f0);
      L.push(`How quiet the machine was: before each of firstbell's runs the benchmark waits (at most 2 minutes) for the ports of the run before to be freed and the 1-minute load average to fall below ${QUIET_LOAD}; it was ${loads(5000).map((x) => x.toFixed(2)).join(', ')} before the 5,000/s runs and ${loads(10000).map((x) => x.toFixed(2)).join(', ')} before the 10,000/s runs (2 cores).${floorRounds.length ? ` The load average does not tell how fast the machine was: Node.js's own floor above, the same code in every round, answered ${floorRounds.join(', ')} arrivals per CPU-s round by round.` : ''}`, '');
    } else if (rounds.every((r) => Number.isFinite(r.loadBefore))) L.push(`How quiet the machine was: its load average over the minute before each round was ${rounds.map((r) => r.loadBefore.toFixed(2)).join(', ')} (2 cores).`, '');
  }
  if (rounds[0].cycles) {
    const c = (t, key) => med(rounds, `cycles.${t}.${key}`);
    L.push('## WebSocket join-and-leave cycles (1,000 a second for 20 s)', '');
    L.push('Each cycle opens a new WebSocket (through the nginx sink to the WebSocket sink), sends one message, waits for the answer and closes: the Monday burst\'s wall of new connections, as media signalling.', '');
    L.push('| tool | asked | started | completed | failed | on schedule (≤ 10 ms / ≤ 100 ms) | start lag p99 | CPU-s | CPU-s per 1,000 cycles |', '| --- | --- | --- | --- | --- | --- | --- | --- | --- |');
    L.push(`| firstbell | ${f0(c('firstbell', 'asked'))} | ${f0(c('firstbell', 'sent'))} | ${f0(c('firstbell', 'ok'))} | ${f0(c('firstbell', 'failed'))} | ${pct(c('firstbell', 'onScheduleShare'))} / ${pct(c('firstbell', 'onScheduleShare100'))} | ${f1(c('firstbell', 'lagP99Ms'))} ms | ${f1(c('firstbell', 'cpuS'))} | ${f2(c('firstbell', 'cpuSPer1000'))} |`);
    L.push(`| artillery | ${f0(c('artillery', 'asked'))} | ${f0(c('artillery', 'sent'))} in ${f1(c('artillery', 'spanS'))} s | ${f0(c('artillery', 'ok'))} | ${f0(c('artillery', 'failed'))} | not measured by the tool | — | ${f1(c('artillery', 'cpuS'))} | ${f2(c('artillery', 'cpuSPer1000'))} |`);
    L.push('', `firstbell's verdicts per round: ${rounds.filter((r) => r.cycles).map((r) => `${r.cycles.firstbell?.verdict ?? r.cycles.error ?? '?'} (${r.cycles.firstbell?.workers ?? '?'} workers, ${r.cycles.firstbell?.stalledSeconds ?? '?'} generator-bound seconds)`).join('; ')}. artillery errors per round: ${rounds.filter((r) => r.cycles).map((r) => JSON.stringify(r.cycles.artillery?.errors)).join('; ')}.`, '');
  }
  if (rounds[0].hold) {
    const h = (t, key) => med(rounds, `hold.${t}.${key}`);
    L.push('## Held participants (25,000 asked, heartbeat every 5 s)', '');
    L.push('| tool | held (half) | memory holding half | held (all) | memory holding all | KB per held participant (from half to all) | KB per held participant, all memory (resident sets summed) | KB per held participant, all memory (each page once) | CPU while holding all |', '| --- | --- | --- | --- | --- | --- | --- | --- | --- |');
    for (const t of ['firstbell', 'artillery']) {
      L.push(`| ${t} | ${f0(h(t, 'halfHeld'))} | ${f0(h(t, 'halfRssMb'))} MB | ${f0(h(t, 'held'))} | ${f0(h(t, 'holdRssMb'))} MB (${f0(h(t, 'holdOnceMb'))} MB, each page once) | ${f1(h(t, 'kbPerHeld'))} | ${f1(h(t, 'kbPerHeldWhole'))} | ${f1(h(t, 'kbPerHeldAll'))} | ${f0(h(t, 'cpuPctWhileHolding'))} % |`);
    }
    L.push('', 'Memory is that of the tool\'s whole process tree, in the last 10 s of a steady hold: the resident sets of its processes summed, and its memory with each page counted once (every process\'s own pages, from RssAnon in /proc/<pid>/status, and the files they map, Node\'s code and libraries, as the most that any one of them has resident: a page that several processes share counted once in all rather than once for each; proportional sets would divide Node\'s pages with the sink\'s own Node processes). Each tool ran twice, asked for 12,500 and for 25,000 (500 arrivals a second, then held 25 s or more), firstbell in 2 worker processes both times. "From half to all" is the difference between the two steady holds\' resident sets per participant held in addition: what one more held participant costs, with what the tool needs whatever it holds left out. "All memory" divides the whole tree\'s memory of the larger hold by the participants held; the goal counts each page once.');
    L.push('', `firstbell ran its reference journey (login, dashboard, join, then a WebSocket held) in ${rounds[0].hold.firstbell?.workers ?? '?'} worker processes; artillery held plain WebSockets. artillery errors per round: ${rounds.filter((r) => r.hold).map((r) => JSON.stringify(r.hold.artillery?.errors)).join('; ')}.`, '');
  }
  if (rounds[0].live) {
    const v = (k, key) => med(rounds, `live.${k}.${key}`);
    const toggled = Number.isFinite(toggle.high);
    L.push('## The live page (new-connection arrivals for 10 s, with and without --live)', '');
    L.push('| run | on schedule (≤ 10 ms) | start lag p99 | generator CPU-s (its own health record) | load process tree CPU-s | live page process CPU-s | updates sent, ms each | seconds seen on the page, longest wait | page\'s Chromium CPU-s |', '| --- | --- | --- | --- | --- | --- | --- | --- | --- |');
    for (const [k, label] of [['off5000', '5,000/s without --live'], ['on5000', '5,000/s with --live, one page'], ['off5000b', '5,000/s without --live, again'], ['on10000', '10,000/s with --live, one page']]) {
      if (!rounds.some((r) => r.live?.[k])) continue;
      L.push(`| ${label} | ${pct(v(k, 'onScheduleShare'))} | ${f1(v(k, 'lagP99Ms'))} ms | ${f1(v(k, 'generatorCpuS'))} | ${f1(v(k, 'treeCpuS'))} | ${f1(v(k, 'liveCpuS'))} | ${k.startsWith('off') ? '—' : `${f0(v(k, 'liveUpdates'))}, ${f1(v(k, 'liveUpdateMs'))} ms`} | ${k.startsWith('off') ? '—' : `${f0(v(k, 'pageSeconds'))}, ${f1(v(k, 'pageMaxGapS'))} s`} | ${k.startsWith('off') ? '—' : f1(v(k, 'chromiumCpuS'))} |`);
    }
    L.push('', 'The live page runs in a process of its own, which reads the run folder as the run writes it (samples.csv every 200 ms, health.csv every second), judges it and sends each open page what changed: the generator\'s processes do no work for it. "Generator CPU-s" sums the CPU the run\'s own health record measured in its processes, every second; "load process tree" is everything under the benchmark\'s load process, the live page\'s process included, from /proc; the live page\'s process reports its own. On these 2 cores the page\'s process, the page\'s Chromium, the generator and the sink share the machine.', '');
    L.push(`What the page costs where it shares the generator's cores: arrivals on schedule at 5,000/s were ${pct(v('on5000', 'onScheduleShare'))} with the page open against ${pct(v('off5000', 'onScheduleShare'))} without${rounds.some((r) => r.live?.off5000b) ? ` before it and ${pct(v('off5000b', 'onScheduleShare'))} after it` : ''} (start lag p99 ${f1(v('on5000', 'lagP99Ms'))} against ${f1(v('off5000', 'lagP99Ms'))}${rounds.some((r) => r.live?.off5000b) ? ` and ${f1(v('off5000b', 'lagP99Ms'))}` : ''} ms), the page's process and its Chromium taking ${f1(v('on5000', 'liveCpuS') + v('on5000', 'chromiumCpuS'))} CPU-s beside the generator's ${f1(v('on5000', 'generatorCpuS'))}.${rounds.some((r) => r.live?.off5000b) && !toggled ? ` The generator's CPU in the run with the page is set against the mean of the runs without it just before and just after (the goal above), since the two runs without it differ by themselves (by how much, the goal line says); what is left is the price of sharing two cores with the page's process and its Chromium: the generator's processes do no work for the page.` : ''} At 10,000/s the generator is behind its schedule with or without the page (see the arrivals above), and the page's process, below the generator's priority, showed a new second at least every ${f2(v('on10000', 'pageMaxGapS'))} s. Where the generator needs every core, open the page from another machine (--live-host).`, '');
    if (toggled) {
      L.push(`The goal's figure comes from one run a round of ${f0(v('toggle5000', 'runS'))} s at 5,000/s with the page open (${pct(v('toggle5000', 'onScheduleShare'))} on schedule), in which the page's process and all of its Chromium's were stopped (SIGSTOP) and let go again (SIGCONT) in blocks of ${f0(v('toggle5000', 'blockMs') / 1000)} s, on-off-off-on ${f0(toggle.effects.length / rounds.filter((r) => Array.isArray(r.live?.toggle5000?.blocks)).length)} times from the run's second ${f0(v('toggle5000', 'fromS'))} (the generator's code warmed up by then), the generator's CPU read from /proc at each block's edge (the load process's tree less the page's process). Whole runs differ by themselves (the two above without the page, a minute apart: ${f1(v('off5000', 'generatorCpuS'))} and ${f1(v('off5000b', 'generatorCpuS'))} CPU-s, medians; ${rounds.filter((r) => r.live?.off5000b).map((r) => pctChange(r.live.off5000b.generatorCpuS, r.live.off5000.generatorCpuS)).join(', ')} round by round); blocks side by side share the machine's state, and the order on-off-off-on takes a steady drift out of each group. A block after a stopped one also catches up what the page missed: the page's cost is, if anything, counted high. Each group, in the order they ran: ${toggle.effects.map(signedPct).join(', ')}.`, '');
    }
  }
  if (rounds[0].monday) {
    const m = (key) => med(rounds, `monday.${key}`);
    L.push('## monday-0800 at scale 1.0 against the sink', '');
    L.push('| figure | median |', '| --- | --- |');
    L.push(`| arrivals planned / sent | ${f0(m('planned'))} / ${f0(m('sent'))} |`);
    L.push(`| burst: planned / sent in its 10-s window | ${f0(m('burstPlanned'))} / ${f0(m('burstSentInWindow'))} |`);
    L.push(`| late (> 100 ms) / dropped | ${f0(m('late'))} / ${f0(m('dropped'))} |`);
    L.push(`| start lag p99 | ${f0(m('lagP99Ms'))} ms |`);
    L.push(`| joined / arrived | ${f0(m('joined'))} / ${f0(m('arrived'))} |`);
    L.push(`| peak held WebSockets | ${f0(m('peakHeld'))} |`);
    L.push(`| generator suspect seconds | ${f0(m('suspectSeconds'))} |`);
    L.push(`| worker processes / source addresses | ${f0(m('workers'))} / ${f0(m('localAddresses'))} |`);
    L.push(`| generator memory (all processes, peak) | ${f0(m('maxTreeRssMb'))} MB |`);
    L.push(`| generator CPU-s / wall-clock s | ${f0(m('cpuS'))} / ${f0(m('wallS'))} |`, '');
    L.push(`Verdicts per round: ${rounds.filter((r) => r.monday).map((r) => (r.monday.error ? `error: ${r.monday.error}` : `${r.monday.verdict} (exit ${r.monday.exit}, ${r.monday.status})`)).join(', ')}. The headline, round 1: "${rounds[0].monday.headline ?? '—'}" The generator's own note, round 1: "${rounds[0].monday.generatorNote}"`, '');
  }
  return L.join('\n');
}

// ---------------------------------------------------------------- main

/** A round's seconds of each experiment in the latest run here that ran it, and of a whole round in the latest run of them all. */
/**
 * The results file that each experiment's figures in a results file (its `meta`, its name `file`) come from: its
 * own for those it ran, and for those it kept from an earlier file, that file's source of them (read from
 * bench/results/ when the file says no sources of its own).
 */
function sourcesOf(meta, file) {
  if (meta.sources) return meta.sources;
  const ran = meta.merged ? meta.merged.only.split(', ') : EXPERIMENTS;
  const out = Object.fromEntries(ran.map((e) => [e, file]));
  if (!meta.merged) return out;
  const path = join(here, 'results', meta.merged.from);
  const deeper = existsSync(path) ? sourcesOf(JSON.parse(readFileSync(path, 'utf8')).meta ?? {}, meta.merged.from) : {};
  for (const e of EXPERIMENTS) if (!ran.includes(e)) out[e] = deeper[e] ?? meta.merged.from;
  return out;
}

/** For a run that kept earlier figures: the experiments it ran, and the results file the others' figures come from. */
function mergedLine(meta, rounds) {
  if (!meta.merged) return '';
  const ran = meta.merged.only.split(', ');
  const sources = sourcesOf(meta, '');
  const byFile = new Map();
  for (const e of EXPERIMENTS) if (!ran.includes(e) && rounds.some((r) => e in r)) byFile.set(sources[e], [...(byFile.get(sources[e]) ?? []), e]);
  return ` Only ${meta.merged.only} ran in this run; the other experiments' figures come from earlier runs made the same way: ${[...byFile].map(([f, es]) => `${es.join(', ')} from ${f}`).join('; ')}.`;
}

function earlierTiming() {
  const dir = join(here, 'results');
  const files = existsSync(dir) ? readdirSync(dir).filter((f) => f.endsWith('.json')).sort().reverse() : [];
  const perExperiment = {};
  let fullRound;
  for (const f of files) {
    const { meta } = JSON.parse(readFileSync(join(dir, f), 'utf8'));
    for (const [name, s] of Object.entries(meta?.experimentSeconds ?? {})) perExperiment[name] ??= s;
    fullRound ??= meta?.roundSeconds;
  }
  return { perExperiment, fullRound };
}

if (opt('report-only')) {
  // Rewrites RESULTS.md from a results file, without running anything.
  const { meta, rounds } = JSON.parse(readFileSync(opt('report-only'), 'utf8'));
  writeFileSync(join(here, 'RESULTS.md'), markdown(rounds, meta) + '\n');
  process.exit(0);
}
need();
{
  // How long this will take: from the latest recorded runs on this machine of the experiments asked for.
  const { perExperiment, fullRound } = earlierTiming();
  const seconds = [...ONLY].every((e) => perExperiment[e] !== undefined) ? [...ONLY].reduce((sum, e) => sum + perExperiment[e], 0) : ONLY.size === EXPERIMENTS.length ? fullRound : undefined;
  const perRound = seconds ? `about ${Math.round((seconds * ROUNDS) / 60)} minutes (${Math.round(seconds / 60)} minutes a round, as the latest runs here took)` : 'about 10 minutes a round (no earlier timing on this machine)';
  process.stderr.write(`bench: ${ROUNDS} round(s) of ${[...ONLY].join(', ')}: ${perRound}\n`);
}
const benchStarted = Date.now();
rmSync(WORK, { recursive: true, force: true });
mkdirSync(WORK, { recursive: true });
const sink = await startSink({ port: PORT, wsPort: WS_PORT, wsProcesses: 8 }).catch((e) => {
  process.stderr.write(`bench: ${e.message}\n`);
  process.exit(2);
});
const stop = async () => {
  // A page and its process stopped by the toggled run would stay stopped, deaf to their own ends, after this exits.
  letGo('SIGCONT', stopped);
  await sink.stop();
  process.exit(130);
};
// Ctrl-C, or a kill: the sink goes with the benchmark, never left listening on its ports.
process.once('SIGINT', stop);
process.once('SIGTERM', stop);
const rounds = [];
/** Seconds each experiment took, round by round. */
const spent = {};
try {
  for (let r = 1; r <= ROUNDS; r++) {
    process.stderr.write(`round ${r} of ${ROUNDS}\n`);
    // How quiet the machine was: its load average over the minute before the round.
    const round = { loadBefore: loadavg()[0] };
    // An experiment that fails is recorded as such; the others still run.
    const attempt = async (name, fn) => {
      const began = Date.now();
      try {
        round[name] = await fn(sink);
      } catch (e) {
        process.stderr.write(`  ${name} failed: ${e instanceof Error ? e.message : String(e)}\n`);
        round[name] = { error: e instanceof Error ? e.message : String(e) };
      }
      (spent[name] ??= []).push((Date.now() - began) / 1000);
    };
    for (const name of EXPERIMENTS) if (ONLY.has(name)) await attempt(name, { keepalive, arrivals, cycles, hold, monday, live }[name]);
    rounds.push(round);
  }
} finally {
  await sink.stop();
}
const stamp = new Date().toISOString().replace(/[:.]/g, '-');
/** The results file each experiment's figures come from: this run's for those it ran, an earlier one's for those merged. */
const sources = Object.fromEntries([...ONLY].filter((e) => EXPERIMENTS.includes(e)).map((e) => [e, `${stamp}.json`]));
if (opt('merge')) {
  const earlier = JSON.parse(readFileSync(opt('merge'), 'utf8'));
  const kept = sourcesOf(earlier.meta, basename(opt('merge')));
  for (const e of EXPERIMENTS) if (!ONLY.has(e) && earlier.rounds.some((r) => e in r)) sources[e] = kept[e];
  rounds.forEach((r, i) => {
    const e = earlier.rounds[i] ?? {};
    // The load average before a round goes with the arrivals, whose section says it.
    if (!('arrivals' in r) && 'arrivals' in e) r.loadBefore = e.loadBefore;
    for (const [k, v] of Object.entries(e)) if (!(k in r) && k !== 'loadBefore') r[k] = v;
  });
  // Rounds the earlier run made beyond this run's keep what they had of the other experiments; this run's replace its own in every round.
  for (const r of earlier.rounds.slice(rounds.length)) {
    const kept = Object.fromEntries(Object.entries(r).filter(([k]) => !ONLY.has(k)));
    if (EXPERIMENTS.some((e) => e in kept)) rounds.push(kept);
  }
}
const meta = { ...(opt('merge') ? { merged: { only: [...ONLY].join(', '), from: basename(opt('merge')) } } : {}), sources, date: new Date().toISOString().slice(0, 10), roundSeconds: ONLY.size < EXPERIMENTS.length ? undefined : Math.round((Date.now() - benchStarted) / 1000 / Math.max(1, ROUNDS)), experimentSeconds: Object.fromEntries(Object.entries(spent).map(([name, s]) => [name, Math.round(median(s))])), cpus: availableParallelism(), cpuModel: cpus()[0]?.model ?? '?', memGb: Math.round(totalmem() / 1e9), node: process.version };
mkdirSync(join(here, 'results'), { recursive: true });
writeFileSync(join(here, 'results', `${stamp}.json`), JSON.stringify({ meta, rounds }, null, 2));
writeFileSync(join(here, 'RESULTS.md'), markdown(rounds, meta) + '\n');
process.stdout.write(markdown(rounds, meta) + '\n');
rmSync(WORK, { recursive: true, force: true });
