// The live page: the report's page filling while a run goes, served on loopback and updated by server-sent events
// from the run folder as it is written (the run's own, or one another process writes). At the run's end the page
// becomes the report file itself.
import { existsSync, readFileSync, watch, type FSWatcher } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { analyse, clockAt } from '../analysis/analysis.js';
import type { Analysis } from '../analysis/model.js';
import { FolderFollower } from '../run-folder/follow.js';
import { FirstbellError } from '../lib/errors.js';
import { isLoopback } from '../lib/ports.js';
import { blocksHtml, DRAW_SCRIPT, esc, htmlPage, reportView, type ReportView } from './html.js';

/** Where the live page listens by default: loopback only. */
export const LIVE_HOST = '127.0.0.1';
/** Its port when none is given. */
export const LIVE_PORT = 5680;

/** The warning printed when the live page listens beyond loopback: what it shows, to whom. */
export function liveHostWarning(host: string, url: string): string | undefined {
  return isLoopback(host) ? undefined : `warning: the live page listens on ${host}, not on loopback alone: anyone who can reach ${url} sees the target's address and the run's results as they come`;
}

/** What the page shows of the run under way, beside the report's blocks. */
export interface LiveStatus {
  /** The last second the run has closed, from its start; -1 before the first. */
  second: number;
  /** The run's planned length, in whole seconds. */
  of: number;
  /** That second on the scenario's clock ("08:00:12"). */
  clock: string;
  /** Lines of the run folder that could not be read, skipped, and the first of them. */
  damaged: number;
  damage?: string;
}

/** The page's state: the report's blocks and chart data, and the live status. What the server sends is changes of it. */
export interface LiveState {
  live: LiveStatus;
  title: string;
  blocks: Record<string, string>;
  order: string[];
  data: ReportView['data'] | null;
}

/** A change of a JSON value: set anew (s), an array cut at `a` and `v` appended, or an object's keys changed (o) and removed (d). */
export type Patch = { s: unknown } | { a: number; v: unknown[] } | { o: Record<string, Patch>; d?: string[] };

const isObject = (x: unknown): x is Record<string, unknown> => typeof x === 'object' && x !== null && !Array.isArray(x);
const same = (x: unknown, y: unknown) => x === y || (typeof x === 'object' && x !== null && typeof y === 'object' && y !== null && JSON.stringify(x) === JSON.stringify(y));

/**
 * What changed from `a` to `b`, two JSON values; undefined when nothing did. Arrays that grow at their end (the
 * per-second series) change by their tail only, so an update costs what the last seconds changed, not the run so far.
 */
export function diff(a: unknown, b: unknown): Patch | undefined {
  if (a === b) return undefined;
  if (Array.isArray(a) && Array.isArray(b)) {
    const n = Math.min(a.length, b.length);
    let i = 0;
    while (i < n && same(a[i], b[i])) i++;
    return i === a.length && i === b.length ? undefined : { a: i, v: b.slice(i) };
  }
  if (isObject(a) && isObject(b)) {
    const o: Record<string, Patch> = {};
    let changed = false;
    for (const k of Object.keys(b)) {
      const p = diff(a[k], b[k]);
      if (p) {
        o[k] = p;
        changed = true;
      }
    }
    const d = Object.keys(a).filter((k) => !(k in b));
    if (!changed && d.length === 0) return undefined;
    return d.length ? { o, d } : { o };
  }
  return same(a, b) ? undefined : { s: b };
}

/** The page's side of `diff`, as the page runs it (plain JavaScript, tested against `diff`). */
export const APPLY_SCRIPT = String.raw`
function firstbellApply(a, p) {
  if ('s' in p) return p.s;
  if ('a' in p) return (Array.isArray(a) ? a.slice(0, p.a) : []).concat(p.v);
  var r = a && typeof a === 'object' && !Array.isArray(a) ? a : {};
  Object.keys(p.o).forEach(function (k) { r[k] = firstbellApply(r[k], p.o[k]); });
  (p.d || []).forEach(function (k) { delete r[k]; });
  return r;
}
`;

/** The page's live script: the state first, then its changes, every block and chart brought up to date; the report at the end. */
const LIVE_SCRIPT = String.raw`
(function () {
  var state = JSON.parse(document.getElementById('firstbell-state').textContent);
  var shown = {};
  function show() {
    var l = state.live;
    var el = document.getElementById('live-second');
    el.setAttribute('data-second', String(l.second));
    el.textContent = l.second < 0 ? 'waiting for the run\u2019s first second' : 'second ' + (l.second + 1) + ' of ' + l.of + ' (' + l.clock + ')';
    document.getElementById('live-damage').textContent = l.damaged ? l.damaged + ' line(s) of the run folder could not be read and were skipped: ' + (l.damage || '') : '';
    document.title = state.title;
    state.order.forEach(function (id) {
      var html = state.blocks[id] || '';
      if (shown[id] === html) return;
      var el = document.getElementById('fb-' + id);
      // A page first served before the run's first second has no blocks yet: they come in page order.
      if (!el) { el = document.createElement('div'); el.id = 'fb-' + id; document.getElementById('live-blocks').appendChild(el); }
      el.innerHTML = html;
      shown[id] = html;
    });
    if (state.data) firstbellDraw(state.data);
    document.body.setAttribute('data-live-second', String(l.second));
  }
  state.order.forEach(function (id) { shown[id] = state.blocks[id] || ''; });
  if (state.data) firstbellDraw(state.data);
  var source = new EventSource('events');
  source.addEventListener('state', function (e) { state = JSON.parse(e.data); show(); });
  source.addEventListener('patch', function (e) { state = firstbellApply(state, JSON.parse(e.data)); show(); });
  source.addEventListener('final', function () { source.close(); location.reload(); });
  source.onerror = function () { document.getElementById('live-link').textContent = 'connection lost; the page retries'; };
  source.onopen = function () { document.getElementById('live-link').textContent = 'live'; };
})();
`;

const LIVE_CSS = `.live{position:sticky;top:0;z-index:5;background:#263238;color:#fff;padding:6px 12px;border-radius:0 0 6px 6px;font-size:13px;display:flex;gap:16px;align-items:center}
.live b{color:#80cbc4}.live #live-damage{color:#ffcc80}`;

/** The live page as it is now: the report's blocks and data, and the script that keeps them up to date. */
export function livePage(state: LiveState): string {
  const banner = `<div class="live" id="live-banner"><b id="live-link">live</b><span id="live-second" data-second="${state.live.second}"></span><span>the page fills as the run goes; at its end it becomes the report</span><span id="live-damage"></span></div>`;
  const blocks = `<div id="live-blocks">${blocksHtml(state.order.map((id) => ({ id, html: state.blocks[id] ?? '' })))}</div>`;
  const json = JSON.stringify(state).replace(/</g, '\\u003c');
  return htmlPage(state.title, null, `${DRAW_SCRIPT}${APPLY_SCRIPT}${LIVE_SCRIPT}`, LIVE_CSS, `${banner}\n${blocks}\n<script type="application/json" id="firstbell-state">${json}</script>`);
}

/** The state of a run folder judged so far; before its first second, an empty page that waits. */
export function liveState(a: Analysis | undefined, folder: { second: number; damaged: number; damage?: string }, name: string): LiveState {
  if (!a) {
    return { live: { second: -1, of: 0, clock: '', damaged: folder.damaged, ...(folder.damage ? { damage: folder.damage } : {}) }, title: `firstbell live — ${name}`, blocks: {}, order: [], data: null };
  }
  const v = reportView(a);
  const live: LiveStatus = {
    second: folder.second, of: Math.ceil(a.run.plannedEndMs / 1000), clock: folder.second < 0 ? '' : clockAt(a.run.scenario, a.run.firstBellAtMs, folder.second),
    damaged: folder.damaged, ...(folder.damage ? { damage: folder.damage } : {}),
  };
  // JSON and back: the state is what the page holds, so that a change of it is exactly what the page applies.
  return JSON.parse(JSON.stringify({ live, title: v.title.replace('firstbell report', 'firstbell live'), blocks: Object.fromEntries(v.blocks.map((b) => [b.id, b.html])), order: v.blocks.map((b) => b.id), data: v.data })) as LiveState;
}

/** The live page could not listen: its address and port, why, and what to give instead. */
export class LiveListenError extends FirstbellError {}

interface Client {
  res: ServerResponse;
  /** Has every change so far: the next is a patch; else the next is the whole state. */
  synced: boolean;
  /** Its socket is full (a page that does not read): nothing is sent until it drains. */
  blocked: boolean;
}

/** How often the run folder is read, ms, besides when its health record (a closed second) or run.json is written. */
const POLL_MS = 200;
/** The files whose writes are read at once: a second closed, the run's state changed. */
const WOKEN_BY = new Set(['health.csv', 'run.json']);

/**
 * The live page's server. `follow` a run folder; every second the run closes is read, judged and sent to the pages
 * open; `final` sends them to the report. A page whose socket is full gets nothing more until it drains, and then
 * the whole state: what this process holds for a page that never reads is one message, never the run.
 */
export class LiveServer {
  private readonly clients = new Set<Client>();
  private follower?: FolderFollower;
  private state: LiveState;
  private shownSecond = -2;
  private timer?: NodeJS.Timeout;
  /** The run folder's changes as the kernel tells them (inotify), where it can: a closed second shows without waiting for the next poll. */
  private watcher?: FSWatcher;
  private finalPath?: string;
  /** Characters sent to every page together, and the longest message. */
  private sentBytes = 0;
  private largest = 0;
  /** ms spent judging the run folder and shaping the state, over all updates, and their count. */
  readonly cost = { updates: 0, ms: 0 };
  /** Not before this instant (performance.now) is the folder judged again: an update costs at most a fifth of the time. */
  private notBefore = 0;

  private constructor(private readonly server: Server, readonly url: string, private readonly pollMs: number) {
    this.state = liveState(undefined, { second: -1, damaged: 0 }, 'waiting for a run');
    server.on('request', (req, res) => this.serve(req, res));
  }

  /** Listens on `host`:`port` (port 0: any free one); reads the run folder every `pollMs`. */
  static async listen(o: { host?: string; port?: number; pollMs?: number } = {}): Promise<LiveServer> {
    const host = o.host ?? LIVE_HOST;
    const port = o.port ?? LIVE_PORT;
    const server = createServer();
    server.keepAliveTimeout = 5_000;
    await new Promise<void>((resolve, reject) => {
      server.once('error', (e: NodeJS.ErrnoException) =>
        reject(new LiveListenError(`the live page cannot listen on ${host}:${port}: ${e.code === 'EADDRINUSE' ? 'the port is taken' : e.code === 'EADDRNOTAVAIL' ? 'no such address on this machine' : e.code === 'EACCES' ? 'not permitted' : e.message}; give another port (--live 5681, or --live 0 for any free one)`)),
      );
      server.listen(port, host, () => resolve());
    });
    const a = server.address() as AddressInfo;
    const shown = a.family === 'IPv6' ? `[${a.address}]` : a.address;
    return new LiveServer(server, `http://${shown}:${a.port}/`, o.pollMs ?? POLL_MS);
  }

  /** Pages open now. */
  get pages(): number {
    return this.clients.size;
  }

  /** Pages open, those not reading (sent nothing until they drain), and the bytes waiting for all of them in this process. */
  stats(): { pages: number; blocked: number; heldBytes: number; sentBytes: number; largestMessage: number } {
    let blocked = 0;
    let heldBytes = 0;
    for (const c of this.clients) {
      if (c.blocked) blocked++;
      heldBytes += c.res.writableLength;
    }
    return { pages: this.clients.size, blocked, heldBytes, sentBytes: this.sentBytes, largestMessage: this.largest };
  }

  /** Follows the run folder `dir` from its start (another run's folder replaces the one followed). */
  follow(dir: string): void {
    this.follower?.close();
    this.follower = new FolderFollower(dir);
    this.finalPath = undefined;
    this.shownSecond = -2;
    this.notBefore = 0;
    clearInterval(this.timer);
    this.timer = setInterval(() => this.tick(), this.pollMs);
    this.timer.unref();
    this.watchFolder(dir);
    this.tick();
  }

  private watchFolder(dir: string): void {
    this.watcher?.close();
    this.watcher = undefined;
    try {
      this.watcher = watch(dir, { persistent: false }, (_event, name) => {
        if (name && WOKEN_BY.has(String(name))) this.tick();
      });
      // A folder the kernel stops telling about (removed, out of inotify watches) is still read every poll.
      this.watcher.on('error', () => this.watcher?.close());
    } catch {
      // No such folder yet, or no watches left: the poll alone reads it.
    }
  }

  /** The run followed has closed (its run.json no longer says running). */
  get runClosed(): boolean {
    return this.follower?.closed ?? false;
  }

  /** The run's report is written: every page goes to it, and `/` serves it from now on. */
  final(reportPath: string): void {
    clearInterval(this.timer);
    this.watcher?.close();
    this.follower?.poll(true);
    this.finalPath = reportPath;
    for (const c of this.clients) {
      c.res.end('event: final\ndata: {}\n\n');
    }
    this.clients.clear();
  }

  async close(): Promise<void> {
    clearInterval(this.timer);
    this.watcher?.close();
    this.follower?.close();
    for (const c of this.clients) c.res.destroy();
    this.clients.clear();
    this.server.closeAllConnections?.();
    await new Promise<void>((r) => this.server.close(() => r()));
  }

  /** Reads what the run added; with pages open and a new second closed, judges it and sends the change. */
  private tick(): void {
    const f = this.follower;
    if (!f) return;
    try {
      if (!f.poll(f.closed)) return;
    } catch {
      return;
    }
    const second = f.lastSecond;
    if (this.clients.size === 0 || second === this.shownSecond || performance.now() < this.notBefore) return;
    this.update();
  }

  /** Judges the folder as read so far and sends each page what changed. */
  private update(): void {
    const f = this.follower!;
    const started = performance.now();
    const folder = f.folder();
    const second = f.lastSecond;
    const name = folder?.run.scenario.name ?? 'waiting for a run';
    let a: Analysis | undefined;
    if (folder && second >= 0) {
      a = analyse(folder.run, folder.series, folder.health, { journeys: folder.journeys, media: folder.media, health: folder.browserHealth, ...(folder.watch ? { watch: folder.watch } : {}) }, { second });
      // What the judgement decoded of the cold seconds goes; what it read of them stays for the next update.
      folder.series.compact();
    }
    const next = liveState(a, { second, damaged: f.damaged, ...(f.firstDamage ? { damage: f.firstDamage } : {}) }, name);
    const patch = diff(this.state, next);
    this.state = next;
    this.shownSecond = second;
    const took = performance.now() - started;
    this.cost.updates++;
    this.cost.ms += took;
    this.notBefore = performance.now() + 4 * took;
    const patchText = patch ? `event: patch\ndata: ${JSON.stringify(patch)}\n\n` : undefined;
    let whole: string | undefined;
    for (const c of this.clients) {
      if (c.blocked) {
        // It misses this change: once it drains, it gets the whole state.
        if (patchText) c.synced = false;
        continue;
      }
      if (!c.synced) this.send(c, (whole ??= `event: state\ndata: ${JSON.stringify(this.state)}\n\n`));
      else if (patchText) this.send(c, patchText);
    }
  }

  private send(c: Client, text: string): void {
    c.synced = true;
    this.sentBytes += text.length;
    this.largest = Math.max(this.largest, text.length);
    if (!c.res.write(text)) {
      // Held here until its socket takes it: nothing more until it drains (a page that does not read never does).
      c.blocked = true;
      c.res.once('drain', () => (c.blocked = false));
    }
  }

  private serve(req: IncomingMessage, res: ServerResponse): void {
    const path = (req.url ?? '/').split('?')[0];
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.writeHead(405, { allow: 'GET' }).end();
      return;
    }
    if (path === '/events') return this.events(req, res);
    if (path === '/favicon.ico') {
      res.writeHead(204).end();
      return;
    }
    if (path === '/' || path === '/index.html' || path === '/report.html') {
      if (this.finalPath && existsSync(this.finalPath)) {
        res.writeHead(200, { 'content-type': 'text/html; charset=utf-8', 'cache-control': 'no-store' }).end(readFileSync(this.finalPath));
        return;
      }
      if (path === '/report.html') {
        res.writeHead(404, { 'content-type': 'text/plain; charset=utf-8' }).end('the report is written when the run ends; until then the live page is at /\n');
        return;
      }
      // The page as of the last second closed, even when no page was open to be kept up to date.
      if (this.follower && this.follower.lastSecond !== this.shownSecond) this.update();
      res.writeHead(200, { 'content-type': 'text/html; charset=utf-8', 'cache-control': 'no-store' }).end(livePage(this.state));
      return;
    }
    res.writeHead(404, { 'content-type': 'text/html; charset=utf-8' }).end(`<p>Not here: ${esc(path ?? '')}. The live page is at <a href="/">/</a>.</p>\n`);
  }

  /** A page's stream of changes: the whole state first (a page opened late gets every second from the start), then the changes. */
  private events(req: IncomingMessage, res: ServerResponse): void {
    res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-store', connection: 'keep-alive' });
    if (this.finalPath) {
      res.end('event: final\ndata: {}\n\n');
      return;
    }
    const c: Client = { res, synced: false, blocked: false };
    this.clients.add(c);
    req.socket.setNoDelay(true);
    const gone = () => this.clients.delete(c);
    res.on('close', gone);
    res.on('error', gone);
    // Brought up to the last second now, not at the next one.
    if (this.follower) {
      this.shownSecond = -2;
      this.notBefore = 0;
      this.tick();
    }
    if (!c.synced && !c.blocked) this.send(c, `event: state\ndata: ${JSON.stringify(this.state)}\n\n`);
  }
}
