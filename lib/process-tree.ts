// The processes under one process, from /proc: Chromium's renderers and helpers under the browser firstbell started.
import { readdirSync, readFileSync } from 'node:fs';

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
 * a process too busy to say how it fares is measured all the same. Each `take` gives each process's CPU since the
 * last one, in % of one core (0 for a process that is gone or was never there).
 */
export class CpuMeter {
  private last: number[];
  private wall = performance.now();

  constructor(private readonly pids: readonly (number | undefined)[]) {
    this.last = pids.map((pid) => (pid === undefined ? 0 : (readStat(pid)?.ticks ?? 0)));
  }

  take(): number[] {
    const now = performance.now();
    // A short interval (a second closed late, then the next at once) is measured over at least a quarter second.
    const seconds = Math.max(0.25, (now - this.wall) / 1000);
    this.wall = now;
    return this.pids.map((pid, k) => {
      const ticks = pid === undefined ? undefined : readStat(pid)?.ticks;
      if (ticks === undefined) return 0;
      const used = ticks - this.last[k]!;
      this.last[k] = ticks;
      return Math.round((used / CLOCK_TICKS / seconds) * 100);
    });
  }
}
