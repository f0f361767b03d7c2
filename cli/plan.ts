// The plan as a person reads it, built once per run from the scenario, the seed, the target and the layout flags.
import { availableParallelism, networkInterfaces } from 'node:os';
import type { Command } from 'commander';
import { buildPlan, type Plan } from '../plan/plan.js';
import { layoutLoad, LocalAddressError, parseLocalAddresses, type LoadLayout } from '../plan/limits.js';
import { describeFault } from '../scenarios/fault-label.js';
import { BUILT_IN_SCENARIOS } from '../scenarios/index.js';
import type { ResolvedScenario } from '../scenarios/model.js';
import { EXIT, fmt, localAddressOption, scaleOption, scenarioByName, seedOption, UsageError, workersOption, type Io, type SetAction } from './shared.js';

/** This machine's interface addresses, for checking --local-address. */
function machineAddresses(): Set<string> {
  return new Set(Object.values(networkInterfaces()).flatMap((l) => (l ?? []).map((a) => a.address)));
}

/** The layout flags of run, demo, whatif and plan. */
export interface LayoutFlags {
  workers?: number | 'auto';
  localAddress?: string[];
}

/** The plan of a run: the schedule once, then worker processes and local addresses from its figures, the flags and this machine's limits. */
export function planRun(s: ResolvedScenario, seed: number, targetHost: string, flags: LayoutFlags, holds = true): Plan & { layout: LoadLayout } {
  let given: string[] | undefined;
  try {
    given = flags.localAddress?.length ? parseLocalAddresses(flags.localAddress, machineAddresses()) : undefined;
  } catch (e) {
    if (e instanceof LocalAddressError) throw new UsageError(e.message);
    throw e;
  }
  let layout: LoadLayout | undefined;
  const plan = buildPlan(s, seed, (summary) =>
    (layout = layoutLoad({
      participants: summary.participants, peakArrivalsPerSec: summary.peakArrivalsPerSec, targetHost: targetHost.replace(/^\[|\]$/g, ''), cores: availableParallelism(),
      workers: flags.workers === 'auto' ? undefined : flags.workers, localAddresses: given, holds,
    })),
  );
  return { ...plan, layout: layout! };
}

export function describePlan(p: Plan & { layout: LoadLayout }, target: string | undefined, browsers = 0): string {
  const { scenario: s, seed, schedule, summary: plan, layout } = p;
  const phases = plan.phases.map((p) => `${p.name} ${fmt(p.participants)} from ${p.startMs / 1000} s over ${p.durationMs / 1000} s`).join(', ');
  const lines = [
    `plan: ${s.name} at scale ${s.scale}, seed ${seed}: ${fmt(plan.participants)} participants (${phases}; t = 0 s is ${s.firstBell})`,
    `      peak ${fmt(plan.peakArrivalsPerSec)} arrivals/s; measuring ends ${(schedule.endMs / 1000).toFixed(0)} s after the start; ${browsers ? `${browsers} browser user${browsers === 1 ? '' : 's'} beside the protocol users` : 'protocol users only'}${target ? `; target ${target}` : ''}`,
  ];
  const retry = s.client.retry;
  if (retry && retry.kind !== 'none') {
    lines.push(`      retries: ${retry.kind === 'reload' ? `reload every ${retry.everyMs / 1000} s` : `back off ${retry.baseMs / 1000} s doubling to ${retry.maxMs / 1000} s with full jitter`}, up to ${retry.maxTries} journeys`);
  }
  for (const f of s.faults ?? []) lines.push(`      fault: ${describeFault(f)} from ${f.atMs / 1000} s for ${f.forMs / 1000} s`);
  const files = layout.filesPerProcess === undefined ? '' : `, ${fmt(layout.filesPerProcess)} files each`;
  const addrs = layout.localAddresses;
  lines.push(
    `      generator: ${layout.workers} process${layout.workers === 1 ? '' : 'es'} (${layout.workersWhy}${files}); ` +
      (addrs.length === 0
        ? `connections from the system's source address (${fmt(layout.portsPerAddress)} ports)`
        : `${layout.localAddressesFor === 'held' ? 'held connections' : 'connections'} spread over ${addrs.length} local address${addrs.length === 1 ? '' : 'es'} ${addrs.length > 2 ? `${addrs[0]}…${addrs.at(-1)}` : addrs.join(', ')} (${layout.localAddressesWhy ?? 'as given'}; ${fmt(addrs.length * layout.portsPerAddress)} ports)`),
  );
  for (const w of layout.warnings) lines.push(`      warning: ${w}`);
  return lines.join('\n');
}

/** plan and list: what would be sent, and what can be. */
export function addPlanCommands(program: Command, io: Io, setAction: SetAction): void {
  program
    .command('plan')
    .description('print the resolved plan of a scenario, and how this machine will send it, without sending anything')
    .argument('<scenario>', 'built-in scenario name')
    .addOption(scaleOption().default(1))
    .addOption(seedOption())
    .option('--target <url>', 'where the load would go (default: the reference platform on 127.0.0.1)')
    .addOption(workersOption())
    .addOption(localAddressOption())
    .action((name: string, o: { scale: number; seed: number; target?: string; workers: number | 'auto'; localAddress: string[] }) =>
      setAction(async () => {
        const s = await scenarioByName(name, o.scale);
        let host = '127.0.0.1';
        if (o.target !== undefined) {
          try {
            host = new URL(o.target).hostname;
          } catch {
            throw new UsageError(`--target '${o.target}' is not a URL; give one like http://127.0.0.1:8080`);
          }
        }
        io.stdout.write(describePlan(planRun(s, o.seed, host, o), o.target) + '\n');
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
