// The load of one process: its share of the schedule dispatched on time, one virtual user per arrival, samples out;
// and the generator of a run as the run sees it, whichever processes send its load: this one (InProcessGenerator) or
// workers (WorkerGenerator, in workers.ts).
import { createServer, isIP, type AddressInfo, type Socket } from 'node:net';
import { uniformFloat64 } from 'pure-rand/distribution/uniformFloat64';
import { mersenne } from 'pure-rand/generator/mersenne';
import type { Sample } from '../api/sample.js';
import type { JourneyEnd } from '../api/vu.js';
import type { Platform } from '../targets/platform.js';
import { identities, type Identity } from '../api/identity.js';
import { ephemeralPortRange, isLoopbackAddress, machineSockets, ownPorts } from '../lib/ports.js';
import { tuneHeapForLoad } from '../plan/limits.js';
import { evenSchedule, type Schedule } from '../plan/schedule.js';
import { rowOf, type Row } from '../modules/data.js';
import { HttpSession } from '../protocol/http-session.js';
import { SourcePorts } from '../protocol/source-ports.js';
import type { HealthSecond } from '../run-folder/run-folder.js';
import { Series } from '../run-folder/series.js';
import type { ResolvedScenario, RetryPolicy } from '../scenarios/model.js';
import { HeapMode } from './heap-mode.js';
import { HealthMonitor } from './health.js';
import { Recorder, type LiveLayers } from './recorder.js';
import { dispatch, type DispatchStats, type Share } from './scheduler.js';
import { StepControllers, VirtualUser, type HoldWatcher, type VirtualUserContext } from './virtual-user.js';
import type { NetPolicy } from '../protocol/address-guard.js';

export const WARM_ANSWER = 'HTTP/1.1 200 OK\r\ncontent-type: text/plain\r\nset-cookie: warm=1; Path=/\r\ncontent-length: 2\r\n\r\nok';

/**
 * Answers every request head on a connection with `answer`: the warm-up's server, and calibration's stand-in, which
 * runs this function's source on a thread of its own (so it names nothing from outside itself).
 */
export function answerEveryRequest(sock: Socket, answer: string): void {
  sock.on('data', (d: Buffer) => {
    for (let i = d.indexOf('\r\n\r\n'); i >= 0; i = d.indexOf('\r\n\r\n', i + 4)) sock.write(answer);
  });
  sock.on('error', () => undefined);
}

interface WarmUpOptions {
  origin: string;
  target: Platform;
  scenario: ResolvedScenario;
  /** How many arrivals the process will send: the warm-up sends no more. */
  arrivals: number;
  /** The run's network policy, for the one request to the target's origin. */
  net?: NetPolicy;
  /** Where the run's connections will come from (see `sourcePorts`): the warm-up's come from the same addresses. */
  source?: SourcePorts;
}

/**
 * Readies a process that is about to send load: its heap tuned for holding many participants, its code warmed up.
 * Before the clock starts, engines run the target's journey for up to 4,000 arrivals (no more than the process
 * will send) at 5,000 a second against a server of this process's own on loopback, which answers every request
 * with a small 200 (see warmJourneys); then the HTTP client sends one request to the target's origin. Code runs
 * slowly until V8 has compiled it, and at 5,000 arrivals a second that would make the first second's arrivals
 * late. Where the run binds its connections to loopback addresses, the warm-up's are bound as the run's will be
 * (from a copy of its source ports, towards the warm-up server's port), so that binding and taking ports are
 * compiled too: warmed without them, the workers of a run of 10,000 new connections a second fell a few hundred
 * milliseconds behind in its first second and took seconds to catch up. Nothing here is measured, and only the one
 * request reaches the target.
 */
export async function prepareForLoad(o: WarmUpOptions): Promise<void> {
  tuneHeapForLoad();
  if (!/^https?:/.test(o.origin)) return;
  // A user's journey may name addresses of its own: only firstbell's own journeys run against the warm-up server.
  if (o.target.kind !== 'journey') await warmJourneys(o);
  const http = new HttpSession(o.origin, { net: o.net });
  await http.request('GET', '/', { signal: AbortSignal.timeout(2_000) }).catch(() => undefined);
  http.close();
}

/** The warm-up waits at most this long for its journeys under way to end before it stops them, ms. */
const WARM_DRAIN_MS = 2_000;

/**
 * The target's journey for up to 4,000 arrivals against a loopback server of this process's own, in two halves
 * with an engine each. V8 optimises for what it has seen: code that has met one engine, one participants' context
 * and one scheduler takes their fields for fixed, and the run's own, a second of each, would throw that code away in
 * the run's first second and compile it again beside the load (at 10,000 arrivals a second, about 400 ms of
 * compiling in the run's first 600 ms, and arrivals late for it). Met twice here, they are not new to it then; with
 * the run's network policy and, without retries, its very scenario, the participants' objects are as the run's.
 */
async function warmJourneys(o: WarmUpOptions): Promise<void> {
  const server = createServer((sock) => answerEveryRequest(sock, WARM_ANSWER));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const n = Math.max(1, Math.min(4_000, o.arrivals));
  // The warm-up server listens on 127.0.0.1: connections bound to other addresses could not reach it.
  const source = o.source?.addresses.every((a) => isIP(a) === 4 && isLoopbackAddress(a)) ? o.source.copy() : undefined;
  const origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  try {
    for (const part of [Math.ceil(n / 2), Math.floor(n / 2)]) if (part > 0) await warmHalf(o, origin, part, source);
  } finally {
    server.close();
  }
}

/** One engine of the warm-up: `n` arrivals at 5,000 a second, their journeys left to end, then whatever holds stopped. */
async function warmHalf(o: WarmUpOptions, origin: string, n: number, source: SourcePorts | undefined): Promise<void> {
  // The same work per sample as a run does, into scratch figures.
  const recorder = new Recorder(new Series(o.target.decls, o.scenario.joinWithinMs));
  const monitor = new HealthMonitor(100);
  const t0 = performance.now();
  const engine = new Engine({
    scenario: o.scenario.client.retry ? { ...o.scenario, client: { ...o.scenario.client, retry: undefined } } : o.scenario, seed: 1, target: o.target,
    schedule: evenSchedule(n, n / 5), origin, clock: () => performance.now() - t0, maxActive: n, lateThresholdMs: 100, monitor, source, net: o.net,
    emit: recorder.add,
  });
  try {
    await engine.run(new AbortController().signal);
    await untilJourneysEnd(engine, Math.max(200, o.scenario.client.thinkTimeMs * 2));
    engine.stopAll(new Error('warm-up over'));
    await engine.settle(1_000);
  } finally {
    monitor.stop();
  }
}

/**
 * Waits while the engine's journeys are still ending, at most WARM_DRAIN_MS: a participant stopped mid-journey is
 * not what a run's participants mostly are, and stopping hundreds at once changes what V8 assumes of their objects.
 * Once a window of `windowMs` ends none, the ones left hold (or are stuck): the wait is over.
 */
export async function untilJourneysEnd(engine: Pick<Engine, 'active' | 'settle'>, windowMs: number): Promise<void> {
  const until = performance.now() + WARM_DRAIN_MS;
  for (let left = engine.active; left > 0 && performance.now() < until; left = engine.active) {
    await engine.settle(Math.min(windowMs, Math.max(0, until - performance.now())));
    if (engine.active >= left) return;
  }
}

/**
 * The source ports of one sending process, made before its clock starts (it reads the machine's sockets once):
 * each participant's connections come from one of the local addresses (a hash of it picks which), each from a port of the process's own
 * share, its share of the schedule being its share of the ports. Undefined without local addresses.
 */
export function sourcePorts(localAddresses: readonly string[] | undefined, share: Share | undefined): SourcePorts | undefined {
  if (!localAddresses?.length) return undefined;
  const sockets = machineSockets(localAddresses);
  return new SourcePorts(localAddresses, ownPorts(ephemeralPortRange(), share ?? { index: 0, count: 1 }, sockets.listening), sockets.held);
}

export interface EngineOptions {
  scenario: ResolvedScenario;
  seed: number;
  target: Platform;
  schedule: Schedule;
  /** Which arrivals this process sends; default all. */
  share?: Share;
  /** Where the virtual users send their requests (the fault proxy when one is in the way). */
  origin: string;
  /** ms from the run start, monotonic. */
  clock: () => number;
  maxActive: number;
  lateThresholdMs: number;
  monitor: HealthMonitor;
  emit: (s: Sample) => void;
  /** Where the participants' connections come from (see `sourcePorts`); default the kernel's choice of address and port. */
  source?: SourcePorts;
  /** The run's network policy (allowed hosts, answer size); default loopback only. */
  net?: NetPolicy;
  /** The scenario's data: participant n gets row n (with `reuseRows`, row n mod the rows). */
  rows?: readonly Row[];
  reuseRows?: boolean;
  /** Keep V8's heap for memory in pauses of the schedule (see HeapMode): the processes that send a run's load. */
  smallHeapInPauses?: boolean;
}

/**
 * One participant: its journey, and journeys again after failures as its retry policy says. Nothing waits on a
 * participant that holds (tens of thousands do at once): its hold tells it how it ended.
 */
class Participant implements HoldWatcher {
  private tries = 0;

  constructor(private engine: Engine, readonly vu: VirtualUser) {}

  /** Starts the next journey. */
  go(): void {
    this.tries++;
    this.vu.beginJourney();
    this.engine.target.journey(this.vu).then(
      (end) => this.ended(end),
      // A journey that throws has a fault of its own: a script error, and the journey failed.
      (err: unknown) => {
        if (this.vu.stopped) return this.ended('failed');
        this.vu.scriptError(err);
        this.ended('failed');
      },
    );
  }

  holdEnded(how: 'stopped' | 'dropped'): void {
    this.ended(how === 'stopped' ? 'joined' : 'dropped');
  }

  private ended(end: JourneyEnd): void {
    const vu = this.vu;
    if (end === 'holding') return vu.whenHoldEnds(this);
    vu.close();
    if (end === 'joined' || vu.stopped) return this.engine.done(vu);
    const delay = retryDelayMs(this.engine.retry, this.tries, vu.id, this.engine.seed);
    if (delay === undefined) return this.engine.done(vu);
    vu.waitBeforeNext(delay);
    this.go();
  }
}

export class Engine {
  readonly stats: DispatchStats = { sent: 0, late: 0, dropped: 0 };
  readonly target: Platform;
  readonly retry: RetryPolicy | undefined;
  readonly seed: number;
  /** Participants with a journey or a hold under way. */
  private users = new Set<VirtualUser>();
  private drained?: () => void;
  private readonly identify: (participant: number) => Identity;
  /** Farewells under way: a stopped participant saying goodbye on its held connection. */
  private departures = new Set<Promise<unknown>>();
  /** Participants who leave as planned (their lesson ends), by the run time they leave at: one timer per time. */
  private leaving = new Map<number, { users: VirtualUser[]; timer: NodeJS.Timeout }>();
  private readonly heap?: HeapMode;

  constructor(private o: EngineOptions) {
    if (o.smallHeapInPauses) this.heap = new HeapMode(o.clock);
    this.identify = identities(o.scenario);
    this.target = o.target;
    this.retry = o.scenario.client.retry;
    this.seed = o.seed;
  }

  /** Participants with a journey or a hold under way. */
  get active(): number {
    return this.users.size;
  }

  /** Dispatches this process's share of the schedule; resolves when the last arrival is sent or the signal stops it. */
  async run(signal: AbortSignal): Promise<void> {
    const o = this.o;
    const shared: VirtualUserContext = {
      origin: o.origin, target: o.target.url, client: o.scenario.client, steps: o.target.steps, options: o.target.options, net: o.net, identify: this.identify, clock: o.clock, emit: o.emit,
      source: o.source, departures: this.departures, controllers: new StepControllers(),
    };
    await dispatch(
      o.schedule,
      {
        clock: o.clock,
        maxActive: o.maxActive,
        lateThresholdMs: o.lateThresholdMs,
        share: o.share,
        active: () => this.users.size,
        start: (i, lag) => {
          o.monitor.dispatched(lag);
          const id = o.schedule.participantIds[i]!;
          const vu = new VirtualUser(shared, id, o.schedule.offsetsMs[i]!, rowOf(o.rows, id, o.reuseRows));
          this.users.add(vu);
          const leaveAt = o.scenario.phases[o.schedule.phaseOf[i]!]?.leaveAtMs;
          if (leaveAt !== undefined) this.leaveAt(o.schedule.firstBellAtMs + leaveAt, vu);
          new Participant(this, vu).go();
        },
        onDropped: () => o.monitor.droppedOne(),
        idle: this.heap?.idle,
      },
      signal,
      this.stats,
    );
  }

  /** Has `vu` leave at run time `atMs`, whatever it is doing then. */
  private leaveAt(atMs: number, vu: VirtualUser): void {
    let group = this.leaving.get(atMs);
    if (!group) {
      const timer = setTimeout(() => {
        this.leaving.delete(atMs);
        for (const u of group!.users) if (this.users.has(u)) u.leave();
      }, Math.max(0, atMs - this.o.clock()));
      timer.unref();
      this.leaving.set(atMs, (group = { users: [], timer }));
    }
    group.users.push(vu);
  }

  /** A participant is over: its journeys ended, and its hold if it had one. */
  done(vu: VirtualUser): void {
    this.users.delete(vu);
    if (this.users.size === 0) this.drained?.();
  }

  /** Stops every participant; their steps under way end as aborted. */
  stopAll(reason: unknown): void {
    this.heap?.stop();
    for (const g of this.leaving.values()) clearTimeout(g.timer);
    this.leaving.clear();
    for (const vu of this.users) vu.stop(reason);
  }

  /**
   * Waits for the stopped participants to end, at most `ms`. The timer keeps the process alive: a journey stuck on a
   * promise that never settles must not let the process exit before the run is written.
   */
  async settle(ms: number): Promise<void> {
    const until = performance.now() + ms;
    if (this.users.size > 0) {
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, ms);
        this.drained = () => {
          clearTimeout(t);
          resolve();
        };
      });
      this.drained = undefined;
    }
    // Their goodbyes too: a process that ends next would cut them off.
    if (this.departures.size === 0) return;
    let t: NodeJS.Timeout | undefined;
    await Promise.race([Promise.allSettled([...this.departures]), new Promise((r) => (t = setTimeout(r, Math.max(0, until - performance.now()))))]);
    clearTimeout(t);
  }
}

/**
 * Delay before journey number `tryNo + 1`, in ms, or undefined when the participant gives up.
 * Jitter is seeded by participant and try, so a run repeats exactly.
 */
export function retryDelayMs(policy: RetryPolicy | undefined, tryNo: number, participant: number, seed: number): number | undefined {
  if (!policy || policy.kind === 'none' || tryNo >= policy.maxTries) return undefined;
  if (policy.kind === 'reload') return policy.everyMs;
  const ceiling = Math.min(policy.maxMs, policy.baseMs * 2 ** (tryNo - 1));
  // Mersenne Twister's seeding mixes neighbouring seeds well; the first draw is used.
  const rng = mersenne((seed * 1_000_003 + participant * 131 + tryNo) | 0);
  return uniformFloat64(rng) * ceiling;
}

/** What a generator hands back when the load has stopped. */
export interface Finished {
  /** The series of every process merged; undefined when the run's own recorder holds it all (one process). */
  series?: Series;
  /** Arrivals sent, late and dropped, over all processes. */
  stats: DispatchStats;
  /** Processes that did not hand back their series in time (counted from 0). */
  missing: number[];
  /** Why, in words, when some did not. */
  missingWhy?: string;
}

/** The processes that send a run's load, seen from the run: one interface for one process or many. */
export interface Generator {
  /** Participants under way in this process. */
  readonly active: number;
  /** Why a sending process was lost mid-run, once one was. */
  readonly lost: Error | undefined;
  /** Arrivals sent, late and dropped so far, as last reported. */
  stats(): DispatchStats;
  /**
   * Sends the load from the shared instant t = 0 (epoch ms); resolves once this process has sent its share. This
   * process's samples go to `io.emit`, its dispatch figures to `io.monitor`.
   */
  run(t0Epoch: number, signal: AbortSignal, io: { monitor: HealthMonitor; emit: (s: Sample) => void }): Promise<void>;
  /** True once every sending process has reported second `t`. */
  complete(t: number): boolean;
  /**
   * Adds the other processes' figures up to second `t` to this process's health record and live figures, and
   * hands over the sample lines they sent; `nowMs` is the run clock, for processes that have gone silent.
   */
  collect(t: number, h: HealthSecond, live: LiveLayers, write: (lines: string) => void, nowMs: number): void;
  /**
   * Stops the load after the run's last second: `closeLast` closes that second once every process had the
   * chance to report it; resolves when the processes have stopped their participants and handed back their results.
   */
  finish(reason: unknown, lastSecond: number, closeLast: () => void, write: (lines: string) => void): Promise<Finished>;
  /** Ends the load at once after a failure; hands over what sample lines came in. */
  abort(reason: unknown, write: (lines: string) => void): void;
}

/** The load sent from the run's own process. */
export class InProcessGenerator implements Generator {
  private engine?: Engine;
  readonly lost = undefined;

  constructor(private o: Omit<EngineOptions, 'monitor' | 'emit'>) {}

  get active(): number {
    return this.engine?.active ?? 0;
  }

  stats(): DispatchStats {
    return this.engine?.stats ?? { sent: 0, late: 0, dropped: 0 };
  }

  run(_t0Epoch: number, signal: AbortSignal, io: { monitor: HealthMonitor; emit: (s: Sample) => void }): Promise<void> {
    this.engine = new Engine({ ...this.o, ...io, smallHeapInPauses: true });
    return this.engine.run(signal);
  }

  complete(): boolean {
    return true;
  }

  collect(): void {
    // Every sample of this process went through the run's recorder already.
  }

  async finish(reason: unknown, _lastSecond: number, closeLast: () => void): Promise<Finished> {
    closeLast();
    this.engine?.stopAll(reason);
    // Journeys see the abort and end; give stragglers a moment, then move on regardless.
    await this.engine?.settle(3_000);
    return { stats: this.stats(), missing: [] };
  }

  abort(reason: unknown): void {
    this.engine?.stopAll(reason);
  }
}
