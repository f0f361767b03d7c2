// Limits of this machine that cap how many participants one process can hold.
import { readFileSync } from 'node:fs';
import { setFlagsFromString } from 'node:v8';
import { ephemeralPortRange, MIN_OWN_PORTS, ownPortCount } from '../lib/ports.js';

/** The soft limit on open file descriptors of this process, or undefined where it cannot be read. */
export function openFileLimit(): number | undefined {
  try {
    const m = /^Max open files\s+(\d+)/m.exec(readFileSync('/proc/self/limits', 'utf8'));
    return m ? Number(m[1]) : undefined;
  } catch {
    return undefined;
  }
}

/** Files one process keeps for itself (stdio, IPC, the run folder, timers) beside its participants' sockets. */
export const FILES_RESERVED = 500;

/** A bad --local-address value; names the value and the fix. */
export class LocalAddressError extends Error {}

const ipv4 = (s: string) => /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.exec(s)?.slice(1).map(Number).filter((x) => x <= 255);
const toInt = (p: number[]) => ((p[0]! << 24) >>> 0) + (p[1]! << 16) + (p[2]! << 8) + p[3]!;
const toAddr = (n: number) => [n >>> 24, (n >>> 16) & 255, (n >>> 8) & 255, n & 255].join('.');

/**
 * Local addresses from values like "127.0.1.1-127.0.1.20", "10.0.0.5,10.0.0.6" or "127.0.2.0/28" (host addresses of it).
 * Each must be in 127.0.0.0/8 (every one of those is this machine's) or on one of `local` (this machine's interfaces).
 */
export function parseLocalAddresses(values: string[], local: Set<string>): string[] {
  const out: string[] = [];
  const check = (a: string, v: string) => {
    if (!a.startsWith('127.') && !local.has(a)) {
      throw new LocalAddressError(`--local-address ${v}: ${a} is not an address of this machine; use addresses in 127.0.0.0/8 for a loopback target, or ones 'ip -brief address' lists`);
    }
    out.push(a);
  };
  for (const v of values.flatMap((x) => x.split(',')).map((x) => x.trim()).filter(Boolean)) {
    const range = /^([\d.]+)-([\d.]+)$/.exec(v);
    const cidr = /^([\d.]+)\/(\d{1,2})$/.exec(v);
    if (range) {
      const [a, b] = [ipv4(range[1]!), ipv4(range[2]!)];
      if (a?.length !== 4 || b?.length !== 4 || toInt(b) < toInt(a)) throw new LocalAddressError(`--local-address ${v}: not a range of IPv4 addresses; write it as 127.0.1.1-127.0.1.20`);
      if (toInt(b) - toInt(a) >= 4096) throw new LocalAddressError(`--local-address ${v}: more than 4,096 addresses; a few dozen are plenty (each brings ${'~28,000'} ports)`);
      for (let n = toInt(a); n <= toInt(b); n++) check(toAddr(n), v);
    } else if (cidr) {
      const a = ipv4(cidr[1]!);
      const bits = Number(cidr[2]);
      if (a?.length !== 4 || bits < 20 || bits > 32) throw new LocalAddressError(`--local-address ${v}: give a network of /20 to /32, e.g. 127.0.2.0/28`);
      const size = 2 ** (32 - bits);
      const base = toInt(a) - (toInt(a) % size);
      const [first, last] = size <= 2 ? [base, base + size - 1] : [base + 1, base + size - 2];
      for (let n = first; n <= last; n++) check(toAddr(n), v);
    } else if (ipv4(v)?.length === 4 || v.includes(':')) {
      check(v, v);
    } else {
      throw new LocalAddressError(`--local-address ${v}: not an address; give one like 127.0.1.1, a range 127.0.1.1-127.0.1.20, or a network 127.0.2.0/28`);
    }
  }
  return [...new Set(out)];
}

/** Loopback source addresses 127.0.1.1 onwards, as many as `n`. */
export function loopbackPool(n: number): string[] {
  const base = toInt([127, 0, 1, 0]);
  const out: string[] = [];
  for (let k = 1; out.length < n; k++) if ((base + k) % 256 !== 0 && (base + k) % 256 !== 255) out.push(toAddr(base + k));
  return out;
}

/** How a run's load is sent from this machine. */
export interface Layout {
  /** Processes that share the schedule (every n-th arrival each); 1 sends from the run's own process. */
  workers: number;
  /** Local addresses every connection of the participants is bound to (participant id modulo their count); none: the system's choice. */
  localAddresses: string[];
}

/** A layout with the reasons for it and the limits it will meet, for the plan a person reads. */
export interface LoadLayout extends Layout {
  /** Why that many. */
  workersWhy: string;
  /** The journey is the user's own code: even one process that sends is a worker apart from the run's. */
  apart?: boolean;
  /** Files each process may open, or undefined where unknown. */
  filesPerProcess?: number;
  /** Set when the addresses were chosen here, not given. */
  localAddressesWhy?: string;
  /** Ports per local address that the participants' connections may use: firstbell's own (outside the kernel's range), or the kernel's range. */
  portsPerAddress: number;
  /** Client ports that may be busy at once at the peak: connections open, and closed ones the kernel still keeps. */
  busyPorts: number;
  warnings: string[];
}

/**
 * How the load is laid out on this machine: worker processes (every core when the arrival rate asks for it,
 * and enough that no process needs more files than it may open) and local addresses. Every connection keeps its
 * client port busy while it is open (up to a step timeout when the target is slow) and for about a minute after it
 * closes (TIME_WAIT, or FIN-WAIT-2 when the target does not close its side). When many of one source address's
 * ports are busy towards one destination, every connect costs the kernel a search for a free port, and a worker
 * opening hundreds a second stalls in that search. So against a loopback target every connection is bound to a pool
 * of loopback addresses that keeps each address at most PORT_LOAD busy. Given values are kept and checked; the plan
 * says where they fall short.
 */
export function layoutLoad(o: {
  participants: number; peakArrivalsPerSec: number; targetHost: string; cores: number;
  workers?: number; localAddresses?: string[];
  /** False when journeys end without holding a connection; then about OPEN_SECONDS of peak arrivals are open at once. */
  holds?: boolean;
  /** Longest a step may wait for the target (the scenario's step timeout), ms; default 30 s. */
  stepTimeoutMs?: number;
  /**
   * How long one arrival keeps a process's event loop busy, ms, measured on this machine (loopMsPerArrival): then
   * as many processes as keep each loop at most USABLE_CORE_SHARE busy at the peak; unknown, every core from
   * AUTO_WORKERS_FROM_RATE arrivals/s on.
   */
  loopMsPerArrival?: number;
}): LoadLayout {
  const files = openFileLimit();
  const perProcess = files === undefined ? Number.POSITIVE_INFINITY : Math.max(1, files - FILES_RESERVED);
  const sockets = o.holds === false ? Math.min(o.participants, Math.ceil(o.peakArrivalsPerSec * OPEN_SECONDS)) : o.participants;
  const needForFiles = Math.ceil(sockets / perProcess);
  const loop = o.loopMsPerArrival;
  const rated = o.peakArrivalsPerSec < AUTO_WORKERS_FROM_RATE ? undefined : loop === undefined ? o.cores : Math.min(o.cores, Math.max(1, Math.ceil((o.peakArrivalsPerSec * loop) / 1000 / USABLE_CORE_SHARE)));
  const forRate = rated ?? 1;
  const warnings: string[] = [];
  let workers: number;
  let workersWhy: string;
  if (o.workers !== undefined) {
    workers = o.workers;
    workersWhy = 'as given';
  } else {
    workers = Math.min(64, Math.max(1, needForFiles, forRate));
    workersWhy = needForFiles >= forRate && workers > 1 ? whyForFiles(sockets, perProcess, o.holds !== false, needForFiles, forRate) : whyForRate(workers, o.peakArrivalsPerSec, rated === undefined ? undefined : loop);
  }
  if (files !== undefined && sockets > workers * perProcess) {
    warnings.push(`up to ${sockets.toLocaleString('en-US')} sockets ${o.holds === false ? 'open' : 'held'} at once, but ${workers} process${workers === 1 ? '' : 'es'} may open only ${(workers * perProcess).toLocaleString('en-US')} for participants (${files.toLocaleString('en-US')} files each); the rest will fail with EMFILE (use --workers ${needForFiles} or lower --scale)`);
  }
  if (workers > o.cores) warnings.push(`${workers} worker processes share ${o.cores} cores; the generator's health will show whether they kept up`);
  const range = ephemeralPortRange();
  // Bound to given addresses, connections take ports firstbell picks outside the kernel's range: any share of them
  // may be busy. Left to the kernel, a quarter of its range is where its search for a free port starts to cost.
  const own = ownPortCount(range);
  const picksOwn = own >= MIN_OWN_PORTS * workers;
  const kernelPorts = range[1] - range[0] + 1;
  const loopbackV4 = /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(o.targetHost);
  // Ports busy at once: the held connections, and at the peak each arrival's connections from the moment they open
  // until the kernel frees their ports (a slow target keeps them open up to the step timeout, then a minute's linger).
  const lifeSeconds = Math.min(o.stepTimeoutMs ?? 30_000, 60_000) / 1000 + LINGER_SECONDS;
  const churn = Math.ceil(o.peakArrivalsPerSec * CONNECTIONS_PER_JOURNEY * lifeSeconds);
  const busyPorts = Math.min(o.participants * CONNECTIONS_PER_JOURNEY, churn) + (o.holds === false ? 0 : o.participants);
  let localAddresses = o.localAddresses ?? [];
  let localAddressesWhy: string | undefined;
  const bound = localAddresses.length > 0 || loopbackV4;
  const portsPerAddress = bound && picksOwn ? own : kernelPorts;
  const load = bound && picksOwn ? OWN_PORT_LOAD : PORT_LOAD;
  if (localAddresses.length === 0 && loopbackV4) {
    localAddresses = loopbackPool(Math.min(MAX_POOL, Math.max(1, Math.ceil(busyPorts / (portsPerAddress * load)))));
    localAddressesWhy = `up to ${busyPorts.toLocaleString('en-US')} client ports busy at ${o.peakArrivalsPerSec.toLocaleString('en-US')} arrivals/s, at most ${load * 100} % of each address's`;
  }
  const addrCount = Math.max(1, localAddresses.length);
  if (busyPorts > addrCount * portsPerAddress) {
    warnings.push(
      `up to ${busyPorts.toLocaleString('en-US')} client ports busy at once (connections held, open and lingering after they close), but ${addrCount === 1 ? 'one source address has' : `${addrCount} source addresses have`} ${(addrCount * portsPerAddress).toLocaleString('en-US')}; connections will fail with EADDRNOTAVAIL, the generator's own failure (give more with --local-address${loopbackV4 ? '' : ', addresses of this machine that reach the target'})`,
    );
  } else if (busyPorts > addrCount * portsPerAddress * load) {
    warnings.push(
      load === PORT_LOAD
        ? `up to ${busyPorts.toLocaleString('en-US')} client ports busy at once on ${addrCount === 1 ? 'one source address' : `${addrCount} source addresses`}: past ${PORT_LOAD * 100} % of an address's ports each connect costs the kernel a search for a free one, and the generator stalls in it (give more with --local-address${loopbackV4 ? '' : ', addresses of this machine that reach the target'})`
        : `up to ${busyPorts.toLocaleString('en-US')} client ports busy at once on ${addrCount} source address${addrCount === 1 ? '' : 'es'}, near all ${(addrCount * portsPerAddress).toLocaleString('en-US')} of them (give more with --local-address)`,
    );
  }
  return { workers, workersWhy, filesPerProcess: files, localAddresses, localAddressesWhy, portsPerAddress, busyPorts, warnings };
}

/** Without held connections, a journey is assumed to keep its socket about this long: two seconds' worth of arrivals are open at once. */
const OPEN_SECONDS = 2;
/** From this peak arrival rate on, the load is spread over more than one process by default. */
export const AUTO_WORKERS_FROM_RATE = 500;
/** Share of a core one sending process can use and still keep its schedule: the rest is its event loop's slack. */
export const USABLE_CORE_SHARE = 0.7;

// A sending process's event loop is given at most USABLE_CORE_SHARE of its time for arrivals at the peak. Each
// process more costs every arrival more CPU on a machine whose cores are shared (with the target, or with each
// other: on 2 cores beside the target, one process sent 5,000 new-connection arrivals a second at 93–117 µs of CPU
// each, two at 130–170), so processes are added only as the arrivals need them; and a busier loop starts its
// arrivals late (one process at about 90 µs an arrival kept 99.98 % of 7,000 a second within 10 ms, a loop 63 %
// busy, and 98.6 % of 8,500, 77 % busy).

/**
 * Why more processes than the peak rate asks for: the sockets. Each process may open only as many files as its
 * limit (Node.js raises its own to the hard limit at start), so a higher hard limit lets fewer processes send the load.
 */
function whyForFiles(sockets: number, perProcess: number, held: boolean, needForFiles: number, forRate: number): string {
  const open = held ? 'held' : `open at once (${OPEN_SECONDS} s of the peak's arrivals)`;
  const files = `${sockets.toLocaleString('en-US')} sockets ${open} at ${perProcess.toLocaleString('en-US')} a process`;
  if (forRate >= needForFiles) return `${files}, as many as the arrival rate needs`;
  return `${files}; the arrival rate alone needs ${forRate === 1 ? 'one' : forRate}, and fewer would do with a higher open-file limit (ulimit -Hn)`;
}

/** Why `workers` processes for the peak rate, with the event loop's measured cost per arrival if known. */
function whyForRate(workers: number, perSec: number, loopMs: number | undefined): string {
  const rate = `${perSec.toLocaleString('en-US')} arrivals/s`;
  if (loopMs === undefined) return workers === 1 ? 'one process is enough' : `every core for ${rate}`;
  const cost = `${(loopMs * 1000).toFixed(0)} µs of an event loop each, measured here`;
  return workers === 1 ? `one process is enough: ${rate} at ${cost}` : `${rate} at ${cost}, each loop at most ${USABLE_CORE_SHARE * 100} % busy`;
}
/** Share of an address's ports in the kernel's range that may be busy: beyond it the kernel's search for a free port on each connect grows long. */
const PORT_LOAD = 0.25;
/** Share of firstbell's own ports of an address that may be busy: taking one costs the same however many are, but leave room. */
const OWN_PORT_LOAD = 0.8;

/** Connections a journey opens, as planned for (its HTTP connection and its WebSocket). */
const CONNECTIONS_PER_JOURNEY = 2;
/** How long the kernel keeps a closed connection's port (TIME_WAIT, or FIN-WAIT-2 when the peer does not close), s. */
const LINGER_SECONDS = 60;
/** Most loopback addresses firstbell picks by itself. */
const MAX_POOL = 250;

/** Old-generation growth allowed over the live heap before V8 collects it, in %, for processes that send load. */
export const HEAP_GROWING_PERCENT = 30;

/**
 * Tunes the heap of a process that sends load. V8 lets the old generation grow to several times what is live
 * before it collects; a journey leaves much short-lived garbage there, so a process holding thousands of
 * participants would keep two to three times their memory. Growing by at most 30 % over what is live cut the
 * memory per held participant by half, with more frequent (mostly concurrent) collections and no measurable
 * change in requests per CPU-second. V8 reads this setting each time it sizes the heap, so setting it at run
 * time takes effect.
 */
export function tuneHeapForLoad(): void {
  setFlagsFromString(`--heap-growing-percent=${HEAP_GROWING_PERCENT}`);
}

/** A semi-space of V8's young generation in a process whose participants hold, MB (V8's own default grows it to 16). */
export const LOAD_SEMI_SPACE_MB = 4;
/** glibc's malloc arenas in a process that sends load (its default: eight a core). */
export const LOAD_MALLOC_ARENAS = 2;

/**
 * How a worker process that sends load is started: its malloc arenas kept small, and its young generation too where
 * its participants hold connections. A worker holding thousands of participants keeps whatever its young generation
 * grew to during the arrivals (V8 grows each semi-space to 16 MB under a high allocation rate and gives it back only
 * when the rate is low, which heartbeats never let it be), and each of its threads' malloc arenas keeps the memory it
 * once had. With 4 MB semi-spaces and two arenas a worker holding 12,500 participants took about a quarter less
 * memory. Where participants hold nothing (`holds` false: each leaves once its journey ends), a small young
 * generation only costs CPU: it is scavenged four times as often and promotes what a larger one would have let die,
 * and new-connection arrivals took about a tenth more CPU each with it; such workers keep V8's own. A setting given
 * in NODE_OPTIONS, the process's own flags or the environment is kept.
 */
export function loadProcessSpawn(execArgv: readonly string[], env: NodeJS.ProcessEnv, holds = true): { execArgv: string[]; env: NodeJS.ProcessEnv } {
  const given = [...execArgv, ...(env.NODE_OPTIONS ?? '').split(/\s+/)].some((a) => /^--max[-_]semi[-_]space[-_]size\b/.test(a));
  return {
    execArgv: given || !holds ? [...execArgv] : [...execArgv, `--max-semi-space-size=${LOAD_SEMI_SPACE_MB}`],
    env: env.MALLOC_ARENA_MAX ? env : { ...env, MALLOC_ARENA_MAX: String(LOAD_MALLOC_ARENAS) },
  };
}
