// The processes under one process, from /proc: Chromium's renderers and helpers under the browser firstbell started.
import { readdirSync, readFileSync } from 'node:fs';
import { CpuTrack, secondPct } from './cpu-track.js';

/** Clock ticks per second of /proc's CPU times: 100 on every Linux build in use. */
export const CLOCK_TICKS = 100;

export interface ProcStat {
  pid: number;
  ppid: number;
  /** CPU time used, user and system, in clock ticks. */
  ticks: number;
  /** Resident memory, in pages. */
  rssPages: number;
}

/** One process's /proc/<pid>/stat, or undefined when it is gone (or there is no /proc). */
export function readStat(pid: number): ProcStat | undefined {
  try {
    const text = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // The command name is in parentheses and may hold spaces; the fields after it are fixed.
    const f = text.slice(text.lastIndexOf(')') + 2).split(' ');
    return { pid, ppid: Number(f[1]), ticks: Number(f[11]) + Number(f[12]), rssPages: Number(f[21]) };
  } catch {
    return undefined;
  }
}

/** The root and every process under it, root first; empty when the root is gone. */
export function processTree(root: number): ProcStat[] {
  let pids: number[];
  try {
    pids = readdirSync('/proc').filter((d) => /^\d+$/.test(d)).map(Number);
  } catch {
    return [];
  }
  const children = new Map<number, ProcStat[]>();
  let top: ProcStat | undefined;
  for (const pid of pids) {
    const s = readStat(pid);
    if (!s) continue;
    if (pid === root) top = s;
    const siblings = children.get(s.ppid);
    if (siblings) siblings.push(s);
    else children.set(s.ppid, [s]);
  }
  if (!top) return [];
  const out = [top];
  for (let k = 0; k < out.length; k++) out.push(...(children.get(out[k]!.pid) ?? []));
  return out;
}

/**
 * CPU of some processes as the kernel counts it (user and system time of every thread), measured from outside them:
 * a process too busy to say how it fares is measured all the same. `take(t)` gives each process's CPU in second t of
 * the clock, in % of one core (0 for a process that is gone or was never there); a second read late has the CPU of
 * its own second, the time between two readings spread evenly over it.
 */
export class CpuMeter {
  private tracks: CpuTrack[];

  constructor(private readonly pids: readonly (number | undefined)[], private readonly clock: () => number) {
    this.tracks = pids.map(() => new CpuTrack());
    this.mark();
  }

  private mark(): number {
    const now = this.clock();
    this.pids.forEach((pid, k) => {
      const ticks = pid === undefined ? undefined : readStat(pid)?.ticks;
      if (ticks !== undefined) this.tracks[k]!.mark(now, (ticks / CLOCK_TICKS) * 1000);
    });
    return now;
  }

  take(t: number): number[] {
    const now = this.mark();
    return this.tracks.map((track) => secondPct(track, t, now));
  }
}
