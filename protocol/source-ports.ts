// Where a participant's connections come from: a local address of its own and a port firstbell picks itself, so
// that opening a connection costs the kernel no search for a free port, and the ports the kernel picks for everyone
// else on this machine stay untouched.
import type { Socket } from 'node:net';

/**
 * How long a closed connection's port rests before it is used again, s: the kernel keeps a closed connection about a
 * minute (TIME_WAIT, or FIN-WAIT-2 while the peer has not closed its side), and a new connection from the same
 * address and port to the same target fails until it is gone.
 */
export const PORT_REST_SECONDS = 61;
const IN_USE = 0xffff_ffff;

/** A local address and port taken for one connection; `release` once it has closed (`bad`: never use that port again). */
export interface SourcePort {
  localAddress: string;
  localPort: number;
  release(bad?: boolean): void;
}

/** The local ports this machine has run out of for a participant's address: the generator's failure, never the target's. */
export class OutOfPortsError extends Error {
  override name = 'OutOfPortsError';
  readonly code = 'EADDRNOTAVAIL';
}

/** One address's ports: when each is free again (s since the start; IN_USE while its connection is open), and where the search goes on. */
interface AddressPorts {
  address: string;
  freeAt: Uint32Array;
  next: number;
}

/**
 * The source ports of one sending process. Participant n's connections all come from one address (a pupil is one
 * client machine; see addressIndex), each from a port of this process's own share, taken in turn: a port is used again
 * only after its last connection closed and rested PORT_REST_SECONDS. Taking a port costs a step or two, whatever
 * the load: the kernel binds the exact address and port it is given.
 */
export class SourcePorts {
  private readonly byAddress: AddressPorts[];
  private readonly t0 = performance.now();

  /**
   * With `ports` undefined, each connection is bound to its participant's address and the kernel picks the port.
   * `inUse`: ports on the addresses that connections hold now (an earlier run's, closing): they rest first.
   */
  constructor(readonly addresses: readonly string[], private readonly ports: Uint16Array | undefined, private readonly inUse = new Map<string, Set<number>>()) {
    if (!addresses.length) throw new Error('source ports need at least one address');
    // Every address's ports are laid out here, before a clock starts: a run's first arrivals do not wait for it.
    this.byAddress = ports ? addresses.map((a) => this.addressPorts(a, ports)) : [];
  }

  /** The same addresses and ports, none of them taken: for connections to another destination (a warm-up's). */
  copy(): SourcePorts {
    return new SourcePorts(this.addresses, this.ports, this.inUse);
  }

  private now(): number {
    return Math.floor((performance.now() - this.t0) / 1000);
  }

  /** A port on participant `participant`'s address; an OutOfPortsError when every one of them is open or resting. */
  take(participant: number): SourcePort {
    const k = addressIndex(participant, this.addresses.length);
    if (!this.ports) return { localAddress: this.addresses[k]!, localPort: 0, release: () => undefined };
    const a = this.byAddress[k]!;
    const n = this.ports.length;
    const now = this.now();
    for (let step = 0; step < n; step++) {
      const i = (a.next + step) % n;
      if (a.freeAt[i]! > now) continue;
      a.freeAt[i] = IN_USE;
      a.next = (i + 1) % n;
      return new TakenPort(a, i, this.ports[i]!, this);
    }
    throw new OutOfPortsError(`no local port free on ${a.address}: all ${n} of this process's are open or resting after a close; give more addresses with --local-address`);
  }

  /** An address's ports, those that connections hold already resting from now. */
  private addressPorts(address: string, ports: Uint16Array): AddressPorts {
    // From a place of its own: another firstbell on this machine (a run beside this one) starts elsewhere in the ports.
    const a: AddressPorts = { address, freeAt: new Uint32Array(ports.length), next: Math.floor(Math.random() * ports.length) };
    for (const p of this.inUse.get(address) ?? []) {
      const i = indexOf(ports, p);
      if (i >= 0) a.freeAt[i] = this.now() + PORT_REST_SECONDS;
    }
    return a;
  }

  /** The port rests from now, or for good when `bad`. */
  rest(a: AddressPorts, i: number, bad: boolean): void {
    a.freeAt[i] = bad ? IN_USE : this.now() + PORT_REST_SECONDS;
  }
}

/**
 * Which of `count` addresses participant `participant` comes from: the same one for all its connections, and the
 * participants of any one process spread over all of them (a process sends every n-th arrival, so the id itself, mod
 * the addresses, would give each process a few addresses only, and only their ports).
 */
export function addressIndex(participant: number, count: number): number {
  // murmur3's finaliser: every bit of the id moves every bit of the result.
  let h = participant >>> 0;
  h ^= h >>> 16;
  h = Math.imul(h, 0x85eb_ca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2_ae35);
  h ^= h >>> 16;
  return (h >>> 0) % count;
}

/** Where `p` is in the ascending `ports`, or -1. */
function indexOf(ports: Uint16Array, p: number): number {
  let lo = 0;
  let hi = ports.length - 1;
  while (lo <= hi) {
    const mid = (lo + hi) >> 1;
    if (ports[mid] === p) return mid;
    if (ports[mid]! < p) lo = mid + 1;
    else hi = mid - 1;
  }
  return -1;
}

class TakenPort implements SourcePort {
  private released = false;
  readonly localAddress: string;

  constructor(private a: AddressPorts, private i: number, readonly localPort: number, private owner: SourcePorts) {
    this.localAddress = a.address;
  }

  release(bad = false): void {
    if (this.released) return;
    this.released = true;
    this.owner.rest(this.a, this.i, bad);
  }
}

/** Releases `p` when `s` closes; a port the kernel would not bind (something took it since the start) is never used again. */
export function watchPort(s: Socket, p: SourcePort): void {
  let bad = false;
  s.once('error', (e: NodeJS.ErrnoException) => (bad = e.code === 'EADDRINUSE'));
  s.once('close', () => p.release(bad));
}
