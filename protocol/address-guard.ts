// A run's network policy. Which addresses firstbell may connect to: loopback, the target, and the hosts the user
// allowed; every connection the virtual users open passes here, whoever named its address (the target, a join
// answer, a redirect, a Janus URL). And how much of a target's answer it reads (a body, a WebSocket message with all
// its fragments): a hostile or broken target cannot make a participant hold more; beyond it the step fails as `too_large`.
import { lookup as dnsLookup, type LookupAddress } from 'node:dns';
import { isIP, Socket, type LookupFunction } from 'node:net';
import { DEFAULT_MAX_ANSWER_BYTES } from '../api/sample.js';
import { isLoopbackAddress } from '../lib/ports.js';

/** An answer over the limit: the step fails as `too_large`, the connection closes. */
export class TooLargeError extends Error {
  override name = 'TooLargeError';
  readonly code = 'FIRSTBELL_TOO_LARGE';
}

/** A WebSocket peer that broke the protocol (a bad frame, a masked server frame, a bad opcode): outcome `ws_protocol`. */
export class WsProtocolError extends Error {
  override name = 'WsProtocolError';
  readonly code = 'FIRSTBELL_WS_PROTOCOL';
}


/** An address firstbell refused to connect to: nothing was sent there. Its outcome is `not_allowed`. */
export class NotAllowedError extends Error {
  override name = 'NotAllowedError';
  readonly code = 'FIRSTBELL_NOT_ALLOWED';
  constructor(readonly host: string, readonly address?: string) {
    super(`${host}${address && address !== host ? ` (${address})` : ''} is not an allowed address: only loopback, the target and --allow-target hosts are loaded; add --allow-target ${host} if you may load it`);
  }
}

/** Hosts a policy remembers as allowed, at most (a journey may name many). */
const PASSED_KEPT = 1024;

const bare = (host: string) => host.replace(/^\[|\]$/g, '').toLowerCase();

/**
 * One run's rules for the network: the hosts (names or addresses) allowed beyond loopback, the target's among them,
 * and the most bytes of one answer a participant reads. Each run has its own: two runs in one process keep theirs.
 */
export class NetPolicy {
  private readonly hosts: Set<string>;
  /** Names resolved once per run: the address a name had at its first use is the one used and checked. */
  private readonly resolved = new Map<string, Promise<LookupAddress[]>>();

  /** `resolve`: how a name's addresses are found, the system's resolver (as `dns.lookup` asks it) unless given. */
  constructor(hosts: Iterable<string> = [], readonly maxAnswerBytes = DEFAULT_MAX_ANSWER_BYTES, private readonly resolve: (name: string) => Promise<LookupAddress[]> = systemResolve) {
    this.hosts = new Set([...hosts].map(bare));
  }

  private allowedName(host: string): boolean {
    return this.hosts.has(bare(host));
  }

  private allowedAddress(address: string): boolean {
    return isLoopbackAddress(address) || this.hosts.has(bare(address));
  }

  /**
   * Checks a host before connecting: an address literal now (a name is checked as its address by `lookup`).
   * Throws NotAllowedError.
   */
  assert(host: string): void {
    if (this.passed.has(host)) return;
    const h = bare(host);
    if (h === 'localhost') return;
    if (isIP(h) && !this.allowedAddress(h)) throw new NotAllowedError(host);
    if (this.passed.size < PASSED_KEPT) this.passed.add(host);
  }

  /** Hosts that passed assert(), as given: a participant's every new connection asks again. */
  private readonly passed = new Set<string>();

  /** Per name, the address that a connection to it reached first (see `reachedAddress`). */
  private readonly reached = new Map<string, string>();

  /** Per name, how many allowed addresses its resolution gave. */
  private readonly choices = new Map<string, number>();

  /** A connection to the name `host` reached `address`: the first one for a name is kept for the run. */
  noteReached(host: string, address: string | undefined): void {
    const name = bare(host);
    if (address && !this.reached.has(name) && this.reached.size < PASSED_KEPT) this.reached.set(name, address);
  }

  /**
   * A connection to `address`, the name `host`'s reached address, was refused: where the name has other addresses,
   * its next connections go by `lookup` again, among all of them, as its first did (the server may have moved to
   * another), and true says so.
   */
  forgetReached(host: string, address: string): boolean {
    const name = bare(host);
    // A name with one address has nowhere else to go: its connections stay on the raw handle, refused or not.
    if ((this.choices.get(name) ?? 1) < 2) return false;
    if (this.reached.get(name) === address) this.reached.delete(name);
    return true;
  }

  /**
   * The address that a connection to the name `host` reached first in this run (or first since it refused, see
   * `forgetReached`), if one did: a plain connection then
   * goes there straight, as the name's one resolution per run and its check by `lookup` had it go (the resolver's
   * first address can be one that refuses, as ::1 for a server on 127.0.0.1 only; the one reached is not).
   */
  reachedAddress(host: string): string | undefined {
    return this.reached.get(bare(host));
  }

  /** A dns lookup for net, tls, http and ws that resolves an allowed name once (and localhost) and refuses every other name and address. */
  readonly lookup: LookupFunction = (hostname, options, callback) => {
    const name = bare(hostname);
    // A name that is not allowed is refused as it is: nothing asks the system's resolver about it.
    if (name !== 'localhost' && !this.allowedName(name)) return callback(new NotAllowedError(hostname), '', 4);
    let all = this.resolved.get(name);
    if (!all) {
      all = this.resolve(name);
      this.resolved.set(name, all);
      all.catch(() => this.resolved.delete(name));
    }
    all.then(
      (addrs) => {
        const family = typeof options === 'object' ? options.family : undefined;
        const usable = addrs.filter((a) => !family || a.family === family);
        const ok = this.allowedName(name) ? usable : usable.filter((a) => this.allowedAddress(a.address));
        if (ok.length && this.choices.size < PASSED_KEPT) this.choices.set(name, ok.length);
        if (!ok.length) return callback(usable.length ? new NotAllowedError(hostname, usable[0]!.address) : Object.assign(new Error(`getaddrinfo ENOTFOUND ${hostname}`), { code: 'ENOTFOUND' }), '', 4);
        if (typeof options === 'object' && options.all) return (callback as unknown as (e: null, a: LookupAddress[]) => void)(null, ok);
        callback(null, ok[0]!.address, ok[0]!.family);
      },
      (err: NodeJS.ErrnoException) => callback(err, '', 4),
    );
  };
}

/** A name's addresses as the system's resolver gives them. */
function systemResolve(name: string): Promise<LookupAddress[]> {
  return new Promise((resolve, reject) => dnsLookup(name, { all: true }, (err, addrs) => (err ? reject(err) : resolve(addrs))));
}

/**
 * Holds every TCP connection this process opens to `policy`, not only the vu API's: `fetch`, `node:net`, `node:http`
 * and packages on them all connect through net.Socket's connect, which refuses an address or name the policy does
 * not allow (the socket fails with NotAllowedError, nothing is sent) and resolves names by the policy's lookup. For
 * a process that runs a user's journey and nothing else: a worker of the run.
 */
export function guardConnections(policy: NetPolicy): void {
  const connect = Socket.prototype.connect as (this: Socket, ...args: unknown[]) => Socket;
  Socket.prototype.connect = function guarded(this: Socket, ...args: unknown[]): Socket {
    // net.connect hands over its arguments normalised ([options, callback]); a caller may give options, or a port and host.
    const given = Array.isArray(args[0]) ? (args[0] as unknown[])[0] : args[0];
    let opts: { host?: string; path?: string; lookup?: LookupFunction };
    if (typeof given === 'object' && given !== null) opts = given as typeof opts;
    else if (typeof given === 'string' && !/^\d+$/.test(given)) return connect.apply(this, args);
    else {
      opts = { host: typeof args[1] === 'string' ? args[1] : undefined };
      args = [{ port: Number(given), ...opts }, ...args.filter((a) => typeof a === 'function')];
      opts = args[0] as typeof opts;
    }
    // A local socket file stays on this machine.
    if (opts.path !== undefined) return connect.apply(this, args);
    try {
      policy.assert(opts.host ?? 'localhost');
    } catch (e) {
      process.nextTick(() => this.destroy(e as Error));
      return this;
    }
    // Names are resolved by the policy, which refuses those not allowed and addresses outside it.
    opts.lookup = policy.lookup;
    return connect.apply(this, args);
  } as typeof Socket.prototype.connect;
}

/** Loopback only, answers up to the default size: for connections made outside a run (tests, tools). */
export const LOOPBACK_ONLY = new NetPolicy();
