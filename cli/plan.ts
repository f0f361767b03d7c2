// The plan as a person reads it, built once per run from the scenario, the seed, the target and the layout flags.
import { isIP } from 'node:net';
import { resolve } from 'node:path';
import { availableParallelism, networkInterfaces } from 'node:os';
import { Option, type Command } from 'commander';
import { shownTarget, type Platform } from '../targets/platform.js';
import { platformOfInput } from '../modules/journey.js';
import { buildPlan, type Plan } from '../plan/plan.js';
import { shareOf, shareSize, type Shard } from '../plan/shard.js';
import { AUTO_WORKERS_FROM_RATE, layoutLoad, LocalAddressError, parseLocalAddresses, type LoadLayout } from '../plan/limits.js';
import { costOfRun, CostError, heldAt, sizingOf, USABLE_CORE_SHARE, type JourneyCost, type Sizing } from '../plan/sizing.js';
import { spawnReferencePlatform } from '../fixtures/spawn.js';
import { RunFolderError } from '../run-folder/run-folder.js';
import { calibrate, loopMsPerArrival } from '../users/calibrate.js';
import { describeFault } from '../scenarios/flags.js';
import { BUILT_IN_SCENARIOS } from '../scenarios/index.js';
import type { ResolvedScenario } from '../scenarios/model.js';
import { runsApart } from '../run/conductor.js';
import { scenarioOfTimetable, timetableFlags, type TimetableFlags } from './timetable.js';
import { EXIT, faultFlags, fmt, type FaultFlags, localAddressOption, parseNumber, scaleOption, scenarioByName, seedOption, targetFlags, targetOfFlags, UsageError, workersOption, type Io, type SetAction, type TargetKindFlags } from './shared.js';
import { maxOf } from '../lib/numbers.js';

/** The layout flags of run, demo, whatif and plan. */
export interface LayoutFlags {
  workers?: number | 'auto';
  localAddress?: string[];
  /** This run is one shard of the schedule (run --shard, --start-at). */
  shardOf?: Shard;
}

/** The plan of a run: the schedule once, then worker processes and local addresses from its figures, the flags and this machine's limits. */
export function planRun(s: ResolvedScenario, seed: number, targetHost: string, flags: LayoutFlags, holds = true, apart = false): Plan & { layout: LoadLayout } {
  return planWith(s, seed, flags, runLayout(s, targetHost, flags, holds, apart));
}

/** The schedule of `s`, laid out by `layoutFor`. */
function planWith(s: ResolvedScenario, seed: number, flags: LayoutFlags, layoutFor: (summary: Plan['summary']) => LoadLayout): Plan & { layout: LoadLayout } {
  let layout: LoadLayout | undefined;
  const plan = buildPlan(s, seed, (summary) => (layout = layoutFor(summary)), flags.shardOf);
  return { ...plan, layout: layout! };
}

/** A shard's part of a whole run's count (its processes send that part of the load); the whole without --shard. */
function shardPart(n: number, flags: LayoutFlags): number {
  return Math.ceil(n / (flags.shardOf?.count ?? 1));
}

/**
 * The layout of a run's processes from its plan's figures (and an arrival's measured cost to an event loop, where
 * known), the flags and this machine's limits; the flags' local addresses are checked once, here.
 */
function runLayout(s: ResolvedScenario, targetHost: string, flags: LayoutFlags, holds: boolean, apart: boolean): (summary: Plan['summary'], loopMsPerArrival?: number) => LoadLayout {
  let given: string[] | undefined;
  try {
    given = flags.localAddress?.length ? parseLocalAddresses(flags.localAddress, new Set(Object.values(networkInterfaces()).flatMap((l) => (l ?? []).map((x) => x.address)))) : undefined;
  } catch (e) {
    if (e instanceof LocalAddressError) throw new UsageError(e.message);
    throw e;
  }
  // A connection goes from an address of the target's family: an IPv6 source cannot reach an IPv4 target, nor the reverse.
  const host = targetHost.replace(/^\[|\]$/g, '');
  const family = isIP(host);
  const other = family ? given?.find((a) => isIP(a) !== family) : undefined;
  if (other) throw new UsageError(`--local-address ${other} is IPv${isIP(other)} and the target ${host} is IPv${family}: no connection can go from one to the other; give local addresses of the target's family`);
  return (summary, loopMsPerArrival) => ({
    ...layoutLoad({
      participants: shardPart(summary.participants, flags), peakArrivalsPerSec: shardPart(summary.peakArrivalsPerSec, flags), targetHost: host, cores: availableParallelism(),
      workers: flags.workers === 'auto' ? undefined : flags.workers, localAddresses: given, holds, stepTimeoutMs: s.client.stepTimeoutMs, loopMsPerArrival,
    }),
    ...(apart ? { apart } : {}),
  });
}

/** A calibration sends at the run's peak rate up to this, arrivals/s, for about CALIBRATION_S. */
const CALIBRATION_RATE = 5_000;
const CALIBRATION_S = 0.4;

/**
 * The plan of a run against `target`, its processes sized by what an arrival costs this machine's event loop where
 * that can be measured: no --workers given, a peak that calls for more than one process, more than one core, and a
 * built-in journey that ends without holding (its cost is all in its arrivals), measured against a stand-in on
 * loopback in about a second (loopMsPerArrival). Otherwise, and where the stand-in cannot play the target, as planRun.
 */
export async function planRunMeasured(s: ResolvedScenario, seed: number, target: Platform, flags: LayoutFlags): Promise<Plan & { layout: LoadLayout }> {
  const holds = target.holds !== false;
  const apart = runsApart(target);
  const layoutFor = runLayout(s, target.url.hostname, flags, holds, apart);
  const p = planWith(s, seed, flags, layoutFor);
  if ((flags.workers !== undefined && flags.workers !== 'auto') || holds || target.kind === 'journey' || availableParallelism() < 2) return p;
  const peak = shardPart(p.summary.peakArrivalsPerSec, flags);
  if (peak < AUTO_WORKERS_FROM_RATE) return p;
  const perSec = Math.min(peak, CALIBRATION_RATE);
  const loop = await loopMsPerArrival(target, s, perSec, Math.round(Math.min(2_000, Math.max(200, perSec * CALIBRATION_S))));
  // The schedule stays as built: only the processes that send it change.
  return loop === undefined ? p : { ...p, layout: layoutFor(p.summary, loop) };
}

/**
 * How many participants hold a connection at instants of the run, if every one of them joins and stays until it
 * leaves (a timetable's lesson end) or the run ends.
 */
export function heldOverTime(p: Pick<Plan, 'schedule' | 'scenario'>, points = 8): { atMs: number; held: number }[] {
  return Array.from({ length: points }, (_, k) => {
    const atMs = Math.round((p.schedule.endMs * (k + 1)) / points);
    return { atMs, held: heldAt(p, atMs) };
  });
}

/** A timetable's bells: the pupils due at each (at the plan's scale), its classes, and the spike it makes. */
export function bellSpikes(p: Plan): { clock: string; atMs: number; participants: number; classes: number; peakPerSec: number }[] {
  const s = p.scenario;
  if (!s.bells?.length) return [];
  const starts: number[] = [];
  s.phases.reduce((n, ph) => (starts.push(n), n + ph.participants), 0);
  return s.bells.map((b) => {
    const mine = s.phases.map((ph, i) => ({ ph, i })).filter(({ ph }) => ph.bell === b.clock);
    const perSec = new Map<number, number>();
    const ids = new Set(mine.map(({ i }) => i));
    p.schedule.phaseOf.forEach((ph, k) => {
      if (!ids.has(ph)) return;
      const sec = Math.floor(p.schedule.offsetsMs[k]! / 1000);
      perSec.set(sec, (perSec.get(sec) ?? 0) + 1);
    });
    return {
      clock: b.clock, atMs: b.atMs, participants: mine.reduce((a, { ph }) => a + ph.participants, 0),
      classes: new Set(mine.flatMap(({ ph }) => (ph.classes ?? []).map((c) => c.conference))).size, peakPerSec: maxOf(perSec.values(), 0),
    };
  });
}

/** The plan's held participants over time and its peak rate, beside what the target declares it takes. */
function targetLines(p: Plan, t: Pick<Platform, 'holds' | 'limits'>): string[] {
  const lines: string[] = [];
  const peakHeld = p.schedule.offsetsMs.length;
  if (t.holds === false) lines.push('      held: none; each participant ends its journey without holding a connection');
  else {
    const bell = p.schedule.firstBellAtMs;
    const points = heldOverTime(p).map((x) => `${Math.round((x.atMs - bell) / 1000)} s ${fmt(x.held)}`);
    lines.push(`      held: participants holding a connection if every one joins and stays${p.scenario.bells ? ' until its lesson ends' : ''} (t from the first bell): ${points.join(' · ')}`);
  }
  const lim = t.limits;
  if (lim?.heldConnections !== undefined) {
    const over = t.holds !== false && peakHeld > lim.heldConnections;
    const crossAt = over ? Math.round((p.schedule.offsetsMs[lim.heldConnections]! - p.schedule.firstBellAtMs) / 1000) : 0;
    lines.push(`      limit: the target takes ${fmt(lim.heldConnections)} held connections; the plan holds up to ${fmt(t.holds === false ? 0 : peakHeld)}${over ? `, crossing it at ${crossAt} s: beyond it, expect new connections to be refused` : ''}`);
  }
  for (const [layer, perSec] of Object.entries(lim?.perSec ?? {})) {
    const over = p.summary.peakArrivalsPerSec > perSec;
    lines.push(`      limit: the ${layer} layer takes ${fmt(perSec)}/s; the plan offers up to ${fmt(p.summary.peakArrivalsPerSec)} arrivals/s${over ? ': beyond it, expect the layer to break' : ''}`);
  }
  return lines;
}

/** 1st, 2nd, 3rd, 4th, 11th, 21st. */
function ordinal(n: number): string {
  const teen = n % 100 >= 11 && n % 100 <= 13;
  return `${n}${teen ? 'th' : ['th', 'st', 'nd', 'rd'][n % 10] ?? 'th'}`;
}

export function describePlan(p: Plan & { layout: LoadLayout }, target: string | undefined, browsers = 0, t?: Pick<Platform, 'holds' | 'limits'>): string {
  const { scenario: s, seed, schedule, summary: plan, layout } = p;
  const phases = s.bells?.length
    ? `${s.phases.length} phases at ${s.bells.length} bells`
    : plan.phases.slice(0, 6).map((p) => `${p.name} ${fmt(p.participants)} from ${p.startMs / 1000} s over ${p.durationMs / 1000} s`).join(', ') + (plan.phases.length > 6 ? `, and ${fmt(plan.phases.length - 6)} phases more` : '');
  const lines = [
    `plan: ${s.name} at scale ${s.scale}, seed ${seed}: ${fmt(plan.participants)} participants (${phases}; t = 0 s is ${s.firstBell})`,
    `      peak ${fmt(plan.peakArrivalsPerSec)} arrivals/s; measuring ends ${(schedule.endMs / 1000).toFixed(0)} s after the start; ${browsers ? `${browsers} browser user${browsers === 1 ? '' : 's'} beside the protocol users` : 'protocol users only'}${target ? `; target ${target}` : ''}`,
  ];
  if (p.shard) {
    const mine = shareSize(plan.participants, shareOf(p.shard, 0, 1));
    lines.push(`      shard ${p.shard.index} of ${p.shard.count}: every ${p.shard.count === 1 ? '' : `${ordinal(p.shard.count)} `}arrival from the ${ordinal(p.shard.index)} on (${fmt(mine)} participants), from ${new Date(p.shard.startAtEpochMs).toISOString()}`);
  }
  const retry = s.client.retry;
  if (retry && retry.kind !== 'none') {
    lines.push(`      retries: ${retry.kind === 'reload' ? `reload every ${retry.everyMs / 1000} s` : `back off ${retry.baseMs / 1000} s doubling to ${retry.maxMs / 1000} s with full jitter`}, up to ${retry.maxTries} journeys`);
  }
  for (const f of s.faults ?? []) lines.push(`      fault: ${describeFault(f)} from ${f.atMs / 1000} s for ${f.forMs / 1000} s`);
  for (const b of bellSpikes(p)) lines.push(`      bell ${b.clock}: ${fmt(b.participants)} pupils in ${fmt(b.classes)} classes, peak ${fmt(b.peakPerSec)} arrivals/s, from t = ${Math.round(b.atMs / 1000)} s`);
  if (t) lines.push(...targetLines(p, t));
  const files = layout.filesPerProcess === undefined ? '' : `; ${fmt(layout.filesPerProcess)} files each`;
  const addrs = layout.localAddresses;
  lines.push(
    `      generator: ${layout.workers} ${layout.apart ? 'worker ' : ''}process${layout.workers === 1 ? '' : 'es'} (${layout.workersWhy}${files}${layout.apart ? "; your journey runs apart from the run's own process, with a heap cap" : ''}); ` +
      (addrs.length === 0
        ? `connections from the system's source address (${fmt(layout.portsPerAddress)} ports)`
        : `connections spread over ${addrs.length} local address${addrs.length === 1 ? '' : 'es'} ${addrs.length > 2 ? `${addrs[0]}…${addrs.at(-1)}` : addrs.join(', ')} (${layout.localAddressesWhy ?? 'as given'}; ${fmt(addrs.length * layout.portsPerAddress)} ports)`),
  );
  for (const w of layout.warnings) lines.push(`      warning: ${w}`);
  return lines.join('\n');
}

/** What the plan's peak second needs of generators, in a line a person reads. */
export function sizingLine(z: Sizing, fitsHere: number): string {
  const cores = `≈ ${fmt(z.cores)} generator core${z.cores === 1 ? '' : 's'} at ${USABLE_CORE_SHARE * 100} % each`;
  const where = z.cores <= fitsHere ? `: this machine's ${fitsHere} cores are enough, if the target does not share them` : `: run it as ${fmt(z.shards)} shard${z.shards === 1 ? '' : 's'} of ${z.coresPerShard} core${z.coresPerShard === 1 ? '' : 's'} (--shard i/${z.shards}, or export k8s --shards ${z.shards})`;
  const held = z.underWay > 0 ? ` and ${fmt(z.underWay)} participants under way at its end at ${Math.round((z.cost.cpuMsPerParticipantSecond ?? 0) * 1000)} µs a second each` : '';
  return `      sizing: the peak second begins ${fmt(z.peakPerSec)} journeys; at ${z.cost.cpuMsPerJourney} CPU-ms each${held} (${z.cost.source}) it needs ${cores}${where}`;
}

/**
 * What one journey of the plan costs this machine: from an earlier run's folder (`--cost-from`), or, for the
 * reference platform's own journey, from a short calibration against a reference platform started for it. Undefined
 * (and the plan says how to get it) where neither can be had without sending load to the target.
 */
export async function journeyCost(io: Io, costFrom: string | undefined, referenceJourney: boolean, s: ResolvedScenario): Promise<JourneyCost | undefined> {
  if (costFrom) {
    try {
      return await costOfRun(resolve(io.cwd ?? process.cwd(), costFrom));
    } catch (e) {
      if (e instanceof CostError || e instanceof RunFolderError) throw new UsageError(`--cost-from ${e.message}`);
      throw e;
    }
  }
  if (!referenceJourney) return undefined;
  const platform = await spawnReferencePlatform(['--media', 'stand-in']);
  try {
    return await calibrate(await platformOfInput({ journey: 'reference', target: platform.url }), s, { what: 'a reference platform started for it' });
  } finally {
    await platform.stop();
  }
}

/** plan and list: what would be sent, and what can be. */
export function addPlanCommands(program: Command, io: Io, setAction: SetAction): void {
  const plan = program
    .command('plan')
    .description('print the resolved plan of a scenario, the participants it holds over time, and how this machine will send it, without sending anything')
    .argument('<scenario>', 'built-in scenario name, a scenario file (.ts, .js or .json), or a timetable (.csv, .txt)')
    .addOption(scaleOption())
    .addOption(seedOption())
    .option('--target <url>', 'where the load would go (default: the reference platform on 127.0.0.1)')
    .option('--objective <layer.metric=value>', 'override an objective, as with run (repeatable)', (v: string, acc: string[]) => [...acc, v], [] as string[])
    .addOption(new Option('--browsers <n>', 'browser users the run would have beside the protocol users').argParser(parseNumber('--browsers', 0, 50, true)).default(0))
    .addOption(workersOption())
    .addOption(localAddressOption())
    .option('--cost-from <run-dir>', "what a journey costs this machine, from an earlier run of the same journey at any scale (default: measured against a reference platform started for it, for the reference journey)")
    .addOption(new Option('--cores-per-shard <n>', 'cores each shard machine gives the generator, for the shards the peak needs').argParser(parseNumber('--cores-per-shard', 1, 1024, true)).default(2));
  faultFlags(timetableFlags(targetFlags(plan))).action(
    (name: string, o: TargetKindFlags & TimetableFlags & FaultFlags & { scale: number; target?: string; objective: string[]; browsers: number; workers: number | 'auto'; localAddress: string[]; costFrom?: string; coresPerShard: number }, cmd: Command) =>
      setAction(async () => {
        const s = await scenarioByName(name, o.scale, o.objective, o.data, (f) => scenarioOfTimetable(f, o, io.cwd), o);
        // Nothing is sent: the target is built only to know whether it holds and what it declares it takes.
        const target = await targetOfFlags(o, o.target ?? 'http://127.0.0.1/', s, cmd);
        const p = await planRunMeasured(s, o.seed, target, o);
        io.stdout.write(describePlan(p, o.target ? `${target.kind} ${shownTarget(target.url)}` : undefined, o.browsers, target) + '\n');
        // The reference journey is measured against a platform started for it; another target is never sent to.
        const cost = await journeyCost(io, o.costFrom, o.target === undefined && target.kind === 'reference', s);
        io.stdout.write(
          (cost
            ? sizingLine(sizingOf(p, cost, o.coresPerShard, target.holds !== false), availableParallelism())
            : `      sizing: give --cost-from <run folder> (a run of this journey at any scale) to know the generator cores and shards the peak second needs`) + '\n',
        );
        return EXIT.ok;
      }),
  );

  program
    .command('list')
    .description('list the built-in scenarios')
    .action(() =>
      setAction(async () => {
        for (const s of BUILT_IN_SCENARIOS) io.stdout.write(`${s.name.padEnd(16)} ${s.description}\n`);
        return EXIT.ok;
      }),
    );

}
