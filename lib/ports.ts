// The addresses and ports of this machine's client connections: loopback (the only addresses firstbell loads unless
// told otherwise), the port range the kernel picks from, and the ports firstbell may pick itself.
import { readFileSync } from 'node:fs';

/** Ports outside the kernel's ephemeral range, from 1024: those firstbell may pick for its participants' connections itself. */
export function ownPortCount(range: [number, number]): number {
  return 65535 - 1024 + 1 - Math.max(0, Math.min(65535, range[1]) - Math.max(1024, range[0]) + 1);
}

/** The ephemeral port range the kernel picks client ports from, [low, high]; Linux's default where it cannot be read. */
export function ephemeralPortRange(): [number, number] {
  try {
    const [lo, hi] = readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8').trim().split(/\s+/).map(Number);
    if (Number.isInteger(lo) && Number.isInteger(hi) && hi! >= lo!) return [lo!, hi!];
  } catch {
    // Not Linux: take Linux's default.
  }
  return [32768, 60999];
}

/** An IPv4 address as /proc/net/tcp writes it: a little-endian word in upper-case hex (127.0.0.1 is 0100007F). */
function procHex(address: string): string {
  return address.split('.').reverse().map((b) => Number(b).toString(16).toUpperCase().padStart(2, '0')).join('');
}

/** This machine's TCP sockets, as far as the ports firstbell may pick need them. */
export interface MachineSockets {
  /** Ports that something listens on, on any address. */
  listening: Set<number>;
  /** For each address asked about, the ports that connections hold now, open or closing (an earlier run's, not yet gone). */
  held: Map<string, Set<number>>;
}

/**
 * Reads /proc/net/tcp and tcp6 once (none where they cannot be read). A machine after many runs lists every closing
 * connection there, hundreds of thousands of lines: each line is read where its fields stand, and only the lines of
 * `addresses` (IPv4, dotted) make a port for `held`.
 */
export function machineSockets(addresses: readonly string[] = []): MachineSockets {
  const byHex = new Map(addresses.filter((a) => /^\d+\.\d+\.\d+\.\d+$/.test(a)).map((a) => [procHex(a), a]));
  const out: MachineSockets = { listening: new Set(), held: new Map() };
  for (const file of ['/proc/net/tcp', '/proc/net/tcp6']) {
    let text: string;
    try {
      text = readFileSync(file, 'latin1');
    } catch {
      continue;
    }
    // A line: "  sl: LOCAL:PORT REMOTE:PORT ST ...", the addresses in hex (8 digits for IPv4, 32 for IPv6).
    for (let i = text.indexOf('\n') + 1; i > 0 && i < text.length; ) {
      const next = text.indexOf('\n', i);
      const stop = next < 0 ? text.length : next;
      let a = text.indexOf(':', i) + 1;
      while (text.charCodeAt(a) === 32) a++;
      const sep = text.indexOf(':', a);
      i = stop + 1;
      if (a <= 0 || sep < 0 || sep + 5 > stop) continue;
      const port = parseInt(text.slice(sep + 1, sep + 5), 16);
      // The state follows the local and the remote address, each as long as the other, a space after each.
      const st = a + 2 * (sep - a + 5) + 2;
      if (text.charCodeAt(st) === 48 && text.charCodeAt(st + 1) === 65) out.listening.add(port); // "0A": LISTEN
      const address = sep - a === 8 ? byHex.get(text.slice(a, sep)) : undefined;
      if (address === undefined) continue;
      let ports = out.held.get(address);
      if (!ports) out.held.set(address, (ports = new Set()));
      ports.add(port);
    }
  }
  return out;
}

/** Ports that something on this machine listens on, from /proc/net/tcp and tcp6; none where they cannot be read. */
export function listeningPorts(): Set<number> {
  return machineSockets().listening;
}

/** Fewest ports a process's share must have for firstbell to pick them itself; with fewer, the kernel picks. */
export const MIN_OWN_PORTS = 2_048;

/**
 * The ports process `part.index` of `part.count` may use: those the kernel never picks by itself (outside its ephemeral
 * range [low, high], from 1024), less the ones something listens on, every part.count-th of them. Undefined when that
 * leaves fewer than MIN_OWN_PORTS (an ephemeral range that spans nearly all ports).
 */
export function ownPorts(range: [number, number], part: { index: number; count: number }, listening = listeningPorts()): Uint16Array | undefined {
  const ports: number[] = [];
  for (let p = 1024, k = 0; p <= 65535; p++) {
    if ((p >= range[0] && p <= range[1]) || listening.has(p)) continue;
    if (k++ % part.count === part.index) ports.push(p);
  }
  return ports.length >= MIN_OWN_PORTS ? Uint16Array.from(ports) : undefined;
}

/** 127.0.0.0/8, ::1 and ::ffff:127.x.y.z (brackets and case aside). */
export function isLoopbackAddress(address: string): boolean {
  const a = address.replace(/^\[|\]$/g, '').toLowerCase();
  return a === '::1' || /^(::ffff:)?127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(a);
}

/** True for addresses in 127.0.0.0/8, ::1 and localhost. */
export function isLoopback(hostname: string): boolean {
  return hostname.toLowerCase() === 'localhost' || isLoopbackAddress(hostname);
}
