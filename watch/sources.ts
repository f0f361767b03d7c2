// What a run watches of the platform beside its load (--watch): a process on this machine (by pid or by name), an
// nginx's stub_status page, or named PromQL queries of a Prometheus; each read once a second into columns of
// watch.csv. The sources, their columns and how each is read.
import { readdir, readFile, readlink } from 'node:fs/promises';
import { request } from 'node:http';
import { maxOf } from '../lib/numbers.js';

/** A watch source as given: `pid:<pid>`, `process:<name>`, `nginx:<stub_status url>` or `prometheus:<base url>`. */
export type WatchSpec =
  | { kind: 'pid'; pid: number; name: string; given: string }
  | { kind: 'process'; process: string; name: string; given: string }
  | { kind: 'nginx'; url: string; name: string; given: string }
  | { kind: 'prometheus'; url: string; name: string; given: string; queries: { name: string; query: string }[] };

export const WATCH_FORMS = "pid:<pid>, process:<name>, nginx:<stub_status url> or prometheus:<base url> (with --watch-query 'name=promql')";

/** The columns a process is read into, each second. */
export const PROCESS_COLUMNS = ['cpu_pct', 'rss_mb', 'fds', 'fd_limit', 'threads', 'tcp_established', 'tcp_listen', 'tcp_syn_recv', 'tcp_time_wait', 'tcp_close_wait', 'tcp_other'] as const;
/** The columns of an nginx stub_status page, each second (accepted and handled as rates). */
export const NGINX_COLUMNS = ['active', 'reading', 'writing', 'waiting', 'accepted_per_s', 'handled_per_s'] as const;

const QUERY_NAME = /^[a-z_][a-z0-9_]*$/i;

/** Parses `--watch` sources and `--watch-query` names; a problem is returned in words naming the source and the fix. */
export function parseWatch(sources: readonly string[], queries: readonly string[] = []): WatchSpec[] | string {
  const specs: WatchSpec[] = [];
  const names = new Set<string>();
  const unique = (base: string) => {
    let n = base;
    for (let k = 2; names.has(n); k++) n = `${base}_${k}`;
    names.add(n);
    return n;
  };
  const parsedQueries: { name: string; query: string }[] = [];
  for (const q of queries) {
    const eq = q.indexOf('=');
    const name = q.slice(0, eq).trim();
    if (eq < 1 || !QUERY_NAME.test(name) || !q.slice(eq + 1).trim()) return `--watch-query '${q}': give a name and a PromQL query, e.g. --watch-query 'janus_fds=process_open_fds{job="janus"}'`;
    if (parsedQueries.some((p) => p.name === name)) return `--watch-query '${q}': the name ${name} is given twice; each query needs its own`;
    parsedQueries.push({ name, query: q.slice(eq + 1).trim() });
  }
  for (const given of sources) {
    const colon = given.indexOf(':');
    const kind = given.slice(0, colon);
    const rest = given.slice(colon + 1).trim();
    if (kind === 'pid') {
      const pid = Number(rest);
      if (!Number.isInteger(pid) || pid < 1) return `--watch ${given}: ${rest} is not a process id; give pid:<pid> of a process on this machine, e.g. pid:$(pgrep -o janus)`;
      specs.push({ kind, pid, name: unique(`pid${pid}`), given });
    } else if (kind === 'process') {
      if (!rest || /[/\s]/.test(rest)) return `--watch ${given}: give the name of a process on this machine as ps shows it, e.g. process:janus`;
      specs.push({ kind, process: rest, name: unique(rest.replace(/[^a-z0-9_]/gi, '_')), given });
    } else if (kind === 'nginx' || kind === 'prometheus') {
      let url: URL;
      try {
        url = new URL(rest);
      } catch {
        return `--watch ${given}: ${rest} is not a URL; give e.g. ${kind === 'nginx' ? 'nginx:http://127.0.0.1:8080/nginx_status' : 'prometheus:http://127.0.0.1:9090'}`;
      }
      if (url.protocol !== 'http:') return `--watch ${given}: only http:// is read; give the ${kind === 'nginx' ? 'stub_status page' : "Prometheus's base URL"} over http`;
      if (kind === 'nginx') specs.push({ kind, url: url.href, name: unique('nginx'), given });
      else specs.push({ kind, url: url.href.replace(/\/$/, ''), name: unique('prometheus'), given, queries: [] });
    } else return `--watch ${given}: unknown source; give ${WATCH_FORMS}`;
  }
  const prometheus = specs.filter((s): s is Extract<WatchSpec, { kind: 'prometheus' }> => s.kind === 'prometheus');
  if (parsedQueries.length && !prometheus.length) return `--watch-query needs a Prometheus to ask: add --watch prometheus:<base url>, e.g. --watch prometheus:http://127.0.0.1:9090`;
  if (prometheus.length && !parsedQueries.length) return `--watch ${prometheus[0]!.given}: name what to ask it with --watch-query, e.g. --watch-query 'janus_fds=process_open_fds{job="janus"}'`;
  if (prometheus.length > 1) return `--watch: one Prometheus at a time; its queries name the jobs they read`;
  if (prometheus[0]) prometheus[0].queries = parsedQueries;
  return specs;
}

/**
 * What is wrong with the watch before anything runs: a pid that is not running, an address outside loopback, the
 * target and --allow-target (the watch connects only where the load may go). Undefined when nothing is.
 */
export function watchProblem(specs: readonly WatchSpec[], allowedHosts: readonly string[], alive: (pid: number) => boolean, remoteWrite?: string): string | undefined {
  const allowed = new Set(allowedHosts.map((h) => h.replace(/^\[|\]$/g, '').toLowerCase()));
  const outside = (host: string) => {
    const h = host.replace(/^\[|\]$/g, '').toLowerCase();
    return !(h === 'localhost' || /^127\./.test(h) || h === '::1' || allowed.has(h));
  };
  if (remoteWrite !== undefined) {
    let url: URL;
    try {
      url = new URL(remoteWrite);
    } catch {
      return `--prometheus-remote-write ${remoteWrite}: not a URL; give Prometheus's write endpoint, e.g. http://127.0.0.1:9090/api/v1/write`;
    }
    if (url.protocol !== 'http:') return `--prometheus-remote-write ${remoteWrite}: only http:// is written to`;
    if (outside(url.hostname)) return `--prometheus-remote-write ${remoteWrite}: ${url.hostname} is not an allowed address: firstbell connects only to loopback, the target and --allow-target hosts; add --allow-target ${url.hostname}`;
  }
  for (const s of specs) {
    if (s.kind === 'pid' && !alive(s.pid)) return `--watch ${s.given}: no process ${s.pid} is running on this machine; give the pid of the platform's process (e.g. from pgrep), or process:<name>`;
    if (s.kind !== 'nginx' && s.kind !== 'prometheus') continue;
    const host = new URL(s.url).hostname.replace(/^\[|\]$/g, '').toLowerCase();
    if (outside(host)) return `--watch ${s.given}: ${host} is not an allowed address: the watch reads only loopback, the target and --allow-target hosts; add --allow-target ${host} if you may read it`;
  }
  return undefined;
}

/** A source as run.json and the report show it: as given, with a URL's credentials left out. */
export function shownWatch(spec: WatchSpec): string {
  if (spec.kind !== 'nginx' && spec.kind !== 'prometheus') return spec.given;
  const u = new URL(spec.url);
  u.username = '';
  u.password = '';
  return `${spec.kind}:${u.href}`;
}

/** The columns of a source in watch.csv, each `<source name>.<signal>`. */
export function columnsOf(spec: WatchSpec): string[] {
  const signals = spec.kind === 'pid' || spec.kind === 'process' ? [...PROCESS_COLUMNS] : spec.kind === 'nginx' ? [...NGINX_COLUMNS] : spec.queries.map((q) => q.name);
  return signals.map((s) => (spec.kind === 'prometheus' ? s : `${spec.name}.${s}`));
}

/** One source's reading of one second: its values in its columns' order, null where a value could not be read. */
export type Reading = (number | null)[];

/**
 * A source read once a second. `read` throws a WatchError when the source cannot be read at all this second;
 * `peek`, where a source has it, is a cheaper look several times a second at what can climb to its limit between reads.
 */
export interface WatchSource {
  spec: WatchSpec;
  read(): Promise<Reading>;
  peek?(): Promise<void>;
  /** What went wrong with part of the last read (a query of several), when the rest was read. */
  problem?: string;
}

/** A source that could not be read: what went wrong, in words. */
export class WatchError extends Error {}

export function sourceOf(spec: WatchSpec): WatchSource {
  if (spec.kind === 'pid' || spec.kind === 'process') return new ProcessSource(spec);
  if (spec.kind === 'nginx') return new NginxSource(spec);
  return new PrometheusSource(spec);
}

const TCP_STATES: Record<string, number> = { '01': 0, '0A': 1, '03': 2, '06': 3, '08': 4 };

/** A process (or, by name, every process of that name together): CPU, memory, open files against its limit, threads and TCP sockets by state. */
class ProcessSource implements WatchSource {
  private last = new Map<number, { ticks: number; at: number }>();
  /** The most open files a peek saw since the last read, by pid. */
  private peaks = new Map<number, number>();
  private known: number[] = [];
  /** The limit of open files at the last read. */
  private lastLimit = 0;
  constructor(readonly spec: Extract<WatchSpec, { kind: 'pid' | 'process' }>) {}

  /** Counts the open files of the processes of the last read: the second's most, not only its last. */
  async peek(): Promise<void> {
    await Promise.all(this.known.map(async (pid) => {
      const n = (await readdir(`/proc/${pid}/fd`).catch(() => undefined))?.length;
      if (n !== undefined) this.peaks.set(pid, Math.max(n, this.peaks.get(pid) ?? 0));
    }));
  }

  private async pids(): Promise<number[]> {
    if (this.spec.kind === 'pid') return [this.spec.pid];
    const name = this.spec.process;
    const all = (await readdir('/proc')).filter((d) => /^\d+$/.test(d));
    const found: number[] = [];
    await Promise.all(all.map(async (d) => {
      const comm = await readFile(`/proc/${d}/comm`, 'utf8').catch(() => '');
      if (comm.trim() === name.slice(0, 15) && (name.length <= 15 || (await sameLongName(d, name)))) found.push(Number(d));
    }));
    return found.sort((a, b) => a - b);
  }

  async read(): Promise<Reading> {
    const pids = await this.pids();
    const peaks = this.peaks;
    this.peaks = new Map();
    const gone = this.spec.kind === 'pid' ? `process ${this.spec.pid} is not running (it exited)` : `no process named ${this.spec.process} is running`;
    if (!pids.length) {
      this.known = [];
      // What the peeks saw before it went is the last of it: its open files as it died.
      if (peaks.size && this.lastLimit) return [null, null, maxOf(peaks.values()), this.lastLimit, ...Array(PROCESS_COLUMNS.length - 4).fill(null)];
      throw new WatchError(gone);
    }
    this.known = pids;
    let cpu = 0;
    let rss = 0;
    let threads = 0;
    // Open files: of the process nearest its own limit (each process has its own).
    let fds = -1;
    let limit = 0;
    const inodes = new Set<string>();
    let alive = 0;
    for (const pid of pids) {
      const p = await readProcess(pid).catch(() => undefined);
      if (!p) continue;
      alive++;
      const now = performance.now();
      const before = this.last.get(pid);
      this.last.set(pid, { ticks: p.ticks, at: now });
      if (before) cpu += ((p.ticks - before.ticks) / 100 / ((now - before.at) / 1000)) * 100;
      rss += p.rssKb / 1024;
      threads += p.threads;
      const open = Math.max(p.fds, peaks.get(pid) ?? 0);
      if (fds < 0 || (p.limit > 0 && open / p.limit > fds / Math.max(1, limit))) {
        fds = open;
        limit = p.limit;
      }
      for (const i of p.socketInodes) inodes.add(i);
    }
    if (!alive) {
      if (peaks.size && this.lastLimit) return [null, null, maxOf(peaks.values()), this.lastLimit, ...Array(PROCESS_COLUMNS.length - 4).fill(null)];
      throw new WatchError(gone);
    }
    this.lastLimit = limit;
    const states = await tcpStates(inodes);
    return [Math.round(cpu * 10) / 10, Math.round(rss * 10) / 10, fds, limit, threads, ...states];
  }
}

/**
 * The kernel keeps a process's name to its first 15 characters (a name of 15 is matched as `ps` shows it): for a
 * longer name, the program the process runs (the first word of its command line) tells two names alike in those
 * apart. A process that rewrote its command line (nginx's "nginx: worker process") keeps the match its name gave.
 */
async function sameLongName(pid: string, name: string): Promise<boolean> {
  const argv0 = (await readFile(`/proc/${pid}/cmdline`, 'utf8').catch(() => '')).split('\0')[0] ?? '';
  const program = argv0.slice(argv0.lastIndexOf('/') + 1);
  return program === name || !program.startsWith(name.slice(0, 15));
}

/** One process's figures from /proc; a rejection when it is gone. Open files: the most in the second, peeks included. */
async function readProcess(pid: number): Promise<{ ticks: number; rssKb: number; threads: number; fds: number; limit: number; socketInodes: string[] }> {
  const stat = await readFile(`/proc/${pid}/stat`, 'utf8');
  const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const ticks = Number(f[11]) + Number(f[12]);
  const status = await readFile(`/proc/${pid}/status`, 'utf8');
  const rssKb = Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? 0);
  const threads = Number(/Threads:\s+(\d+)/.exec(status)?.[1] ?? 0);
  const limits = await readFile(`/proc/${pid}/limits`, 'utf8');
  const soft = /Max open files\s+(\S+)/.exec(limits)?.[1];
  const limit = soft === undefined || soft === 'unlimited' ? 0 : Number(soft);
  const fdNames = await readdir(`/proc/${pid}/fd`).catch(() => [] as string[]);
  const socketInodes: string[] = [];
  // Sockets among them: each a link "socket:[inode]".
  await Promise.all(fdNames.map(async (n) => {
    const l = await readlink(`/proc/${pid}/fd/${n}`).catch(() => '');
    if (l.startsWith('socket:[')) socketInodes.push(l.slice(8, -1));
  }));
  return { ticks, rssKb, threads, fds: fdNames.length, limit, socketInodes };
}

/** TCP sockets among `inodes` by state: established, listen, syn_recv, time_wait, close_wait, other. */
async function tcpStates(inodes: Set<string>): Promise<number[]> {
  const counts = [0, 0, 0, 0, 0, 0];
  if (!inodes.size) return counts;
  for (const file of ['/proc/net/tcp', '/proc/net/tcp6']) {
    const text = await readFile(file, 'utf8').catch(() => '');
    let at = text.indexOf('\n') + 1;
    while (at > 0 && at < text.length) {
      const end = text.indexOf('\n', at);
      const line = text.slice(at, end < 0 ? text.length : end);
      at = end < 0 ? -1 : end + 1;
      const f = line.trim().split(/\s+/);
      if (f.length < 10 || !inodes.has(f[9]!)) continue;
      counts[TCP_STATES[f[3]!] ?? 5]!++;
    }
  }
  return counts;
}

/** GET of `url` on loopback or an allowed host, its body as text; a status other than 200 or no answer within 900 ms is a WatchError. */
function get(url: string, what: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const req = request(url, { timeout: 900, headers: { accept: 'application/json, text/plain' } }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (d: string) => {
        body += d;
        if (body.length > 1_000_000) req.destroy(new WatchError(`${what} answered more than 1 MB`));
      });
      res.on('end', () => (res.statusCode === 200 ? resolve(body) : reject(new WatchError(`${what} answered ${res.statusCode}${body ? `: ${body.slice(0, 200).trim()}` : ''}`))));
    });
    req.on('timeout', () => req.destroy(new WatchError(`${what} did not answer within 900 ms`)));
    req.on('error', (e: NodeJS.ErrnoException) => reject(e instanceof WatchError ? e : new WatchError(`${what}: ${e.code === 'ECONNREFUSED' ? 'connection refused' : e.message}`)));
    req.end();
  });
}

/** nginx's stub_status: connections now, and accepted and handled per second. */
class NginxSource implements WatchSource {
  private last?: { accepted: number; handled: number; at: number };
  constructor(readonly spec: Extract<WatchSpec, { kind: 'nginx' }>) {}

  async read(): Promise<Reading> {
    const text = await get(this.spec.url, `nginx's stub_status at ${this.spec.url}`);
    const active = /Active connections:\s*(\d+)/.exec(text);
    const counts = /\n\s*(\d+)\s+(\d+)\s+(\d+)\s*\n/.exec(text);
    const rww = /Reading:\s*(\d+)\s+Writing:\s*(\d+)\s+Waiting:\s*(\d+)/.exec(text);
    if (!active || !counts || !rww) throw new WatchError(`${this.spec.url} is not an nginx stub_status page (no "Active connections:"); point it at a location with stub_status on`);
    const now = performance.now();
    const accepted = Number(counts[1]);
    const handled = Number(counts[2]);
    const before = this.last;
    this.last = { accepted, handled, at: now };
    const rate = (x: number, y: number) => (before ? Math.round(((x - y) / ((now - before.at) / 1000)) * 10) / 10 : null);
    // The watch's own request is one active (writing) connection as nginx counts it: left out.
    return [Math.max(0, Number(active[1]) - 1), Number(rww[1]), Math.max(0, Number(rww[2]) - 1), Number(rww[3]), rate(accepted, before?.accepted ?? 0), rate(handled, before?.handled ?? 0)];
  }
}

/** Named PromQL queries, each an instant query of Prometheus's HTTP API every second; a query with several series is summed. */
class PrometheusSource implements WatchSource {
  problem?: string;
  constructor(readonly spec: Extract<WatchSpec, { kind: 'prometheus' }>) {}

  async read(): Promise<Reading> {
    const problems: string[] = [];
    const values = await Promise.all(this.spec.queries.map((q) => this.query(q).catch((e: unknown) => {
      problems.push(e instanceof Error ? e.message : String(e));
      return null;
    })));
    // Nothing read at all is the source failing; some queries failing is a problem of those.
    if (problems.length === values.length) throw new WatchError(problems[0]!);
    this.problem = problems[0];
    return values;
  }

  private async query(q: { name: string; query: string }): Promise<number | null> {
    const text = await get(`${this.spec.url}/api/v1/query?query=${encodeURIComponent(q.query)}`, `Prometheus at ${this.spec.url} for ${q.name}`).catch((e: unknown) => {
      // A bad query is Prometheus's 400 with its error: the query's to fix.
      const m = e instanceof WatchError ? /"error":"([^"]+)"/.exec(e.message) : null;
      throw m ? new WatchError(`Prometheus refused the query ${q.name} (${q.query}): ${m[1]}`) : e;
    });
    const r = (JSON.parse(text) as { data?: { resultType: string; result: unknown } }).data;
    if (r?.resultType === 'scalar') return Number((r.result as [number, string])[1]);
    if (r?.resultType !== 'vector') return null;
    const series = r.result as { value: [number, string] }[];
    return series.length ? series.reduce((a, s) => a + Number(s.value[1]), 0) : null;
  }
}
