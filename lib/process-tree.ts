// The processes under one process, from /proc: Chromium's renderers and helpers under the browser firstbell started.
import { readdirSync, readFileSync } from 'node:fs';

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
