// Scheduled faults: who applies each one (the target natively, or the fault proxy) and when it starts and ends.
import type { NativeFaults } from '../api/vu.js';
import type { FaultRecord } from '../run-folder/records.js';
import { describeFault } from '../scenarios/flags.js';
import { ProblemsError, type Fault, type Problem } from '../scenarios/model.js';
import { PROXY_FAULTS, startFaultProxy, type FaultProxy } from './fault-proxy.js';

/** What the fault plan needs of a platform: its name and address, the faults it switches itself, and its farms. */
export interface FaultablePlatform {
  kind: string;
  url: URL;
  faults?: NativeFaults;
  farmOf?(path: string): number | undefined;
}

export interface ArmedFaults {
  /** Where the virtual users should send their requests (the proxy when one is needed). */
  origin: string;
  records: FaultRecord[];
  /** Starts the timers; `clock` is ms from the run start. */
  start(clock: () => number): void;
  /** Clears every fault still on and closes the proxy. */
  stop(): Promise<void>;
}

/** Decides how each fault is applied and starts the proxy if one is needed; a fault nobody can apply is a problem. */
export async function armFaults(target: FaultablePlatform, faults: Fault[], firstBellAtMs: number, via: 'auto' | 'proxy' = 'auto'): Promise<ArmedFaults> {
  const native =
    via === 'auto' && target.faults && faults.length > 0 && (await target.faults.available(AbortSignal.timeout(5_000)).catch(() => false)) ? target.faults : undefined;
  const problems: Problem[] = [];
  const plan = faults.map((f, i) => {
    const byProxy = PROXY_FAULTS.has(f.kind) && (f.kind !== 'farm-down' || target.farmOf !== undefined);
    const via: FaultRecord['via'] | undefined = native?.supports(f) ? 'target' : byProxy ? 'proxy' : undefined;
    const named = `${f.kind} (${describeFault(f)}, at ${f.atMs / 1000} s)`;
    const wayOut = "run without the scenario's own faults (--no-faults), or schedule one the fault proxy injects in front of any target: --fault 'errors 502 at 10s for 20s on /api/join' or in the scenario's faults (latency, errors, reset, blackhole, bandwidth, with pathPrefix)";
    if (!via && f.kind === 'farm-down') problems.push({ where: `faults[${i}]`, message: `${named} needs to know which requests go to which farm, and the ${target.kind} target does not say (it declares no farmOf)`, hint: wayOut });
    else if (!via) problems.push({ where: `faults[${i}]`, message: `${named} needs the platform's own control surface, which the ${target.kind} target at ${target.url.origin} does not offer`, hint: wayOut });
    return { f, via: via ?? 'proxy' };
  });
  if (problems.length) throw new ProblemsError(problems);
  const proxy: FaultProxy | undefined = plan.some((p) => p.via === 'proxy') ? await startFaultProxy(target.url, { farmOf: target.farmOf?.bind(target) }) : undefined;
  const records: FaultRecord[] = plan.map(({ f, via }) => ({ kind: f.kind, label: describeFault(f), startMs: firstBellAtMs + f.atMs, endMs: firstBellAtMs + f.atMs + f.forMs, via }));
  const timers: NodeJS.Timeout[] = [];
  const on = new Set<number>();
  const set = async (i: number, active: boolean, clock: () => number) => {
    const { f, via } = plan[i]!;
    if (via === 'proxy') active ? proxy!.apply(f) : proxy!.clear(f);
    else await (active ? native!.apply(f) : native!.clear(f)).catch(() => undefined);
    if (active) on.add(i);
    else on.delete(i);
    records[i]![active ? 'appliedMs' : 'clearedMs'] = Math.round(clock());
  };
  let clock: (() => number) | undefined;
  return {
    origin: proxy?.url ?? target.url.origin,
    records,
    start(c) {
      clock = c;
      records.forEach((r, i) => {
        timers.push(setTimeout(() => void set(i, true, c), Math.max(0, r.startMs - c())));
        timers.push(setTimeout(() => void set(i, false, c), Math.max(0, r.endMs - c())));
      });
    },
    async stop() {
      for (const t of timers) clearTimeout(t);
      if (clock) for (const i of [...on]) await set(i, false, clock);
      await proxy?.close();
    },
  };
}
