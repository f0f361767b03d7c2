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

/** Each TCP socket of this machine: its local IPv4 address (dotted; undefined for IPv6), port and state (hex, 0A is LISTEN). */
function* tcpSockets(): Generator<{ address?: string; port: number; state: string }> {
  for (const file of ['/proc/net/tcp', '/proc/net/tcp6']) {
    let text: string;
    try {
      text = readFileSync(file, 'utf8');
    } catch {
      continue;
    }
    for (const line of text.split('\n').slice(1)) {
      const f = line.trim().split(/\s+/);
      // local_address is ADDR:PORT in hex, an IPv4 address as a little-endian word.
      const [addr, port] = (f[1] ?? '').split(':');
      if (!addr || !port) continue;
      const x = addr.length === 8 ? parseInt(addr, 16) : undefined;
      yield { address: x === undefined ? undefined : [x & 255, (x >>> 8) & 255, (x >>> 16) & 255, x >>> 24].join('.'), port: parseInt(port, 16), state: f[3] ?? '' };
    }
  }
}

/** Ports that something on this machine listens on, from /proc/net/tcp and tcp6; none where they cannot be read. */
export function listeningPorts(): Set<number> {
  const out = new Set<number>();
  for (const s of tcpSockets()) if (s.state === '0A') out.add(s.port);
  return out;
}

/**
 * The ports on `addresses` that connections hold now, open or closing (an earlier run's, not yet gone): a connection
 * from one of them to the same target would fail until the kernel lets it go.
 */
export function portsInUse(addresses: readonly string[]): Map<string, Set<number>> {
  const mine = new Set(addresses);
  const out = new Map<string, Set<number>>();
  for (const s of tcpSockets()) {
    if (!s.address || !mine.has(s.address)) continue;
    let ports = out.get(s.address);
    if (!ports) out.set(s.address, (ports = new Set()));
    ports.add(s.port);
  }
  return out;
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
