// CPU and memory of the browser that firstbell started, with all its processes (renderers, GPU, network service),
// and of the whole machine: when they ran out, the browser users' figures say more about this machine than the platform.
import { readFileSync } from 'node:fs';
import { CLOCK_TICKS as TICKS, processTree } from '../../lib/process-tree.js';
import type { BrowserSecond } from '../../run-folder/records.js';

const PAGE = 4096;

/** Busy and total ticks of the whole machine, from /proc/stat. */
function machineTicks(): { busy: number; total: number } | undefined {
  try {
    const cpu = readFileSync('/proc/stat', 'utf8').split('\n')[0]!.trim().split(/\s+/).slice(1).map(Number);
    const total = cpu.reduce((a, b) => a + b, 0);
    const idle = (cpu[3] ?? 0) + (cpu[4] ?? 0);
    return { busy: total - idle, total };
  } catch {
    return undefined;
  }
}

/**
 * Proportional memory of a process in bytes (its shared pages split among their users), so that a browser's
 * processes add up to what they take together; the resident size where the kernel does not say.
 */
function memoryOf(pid: number, rssPages: number): number {
  try {
    const m = /^Pss:\s+(\d+) kB/m.exec(readFileSync(`/proc/${pid}/smaps_rollup`, 'utf8'));
    if (m) return Number(m[1]) * 1024;
  } catch {
    // Gone, or no smaps_rollup on this kernel.
  }
  return rssPages * PAGE;
}

/** Measures a process tree second by second; on systems without /proc it measures nothing. */
export class ProcessTreeMeter {
  private last = new Map<number, number>();
  private machine = machineTicks();
  private wall = performance.now();

  constructor(private readonly root: number) {
    for (const s of processTree(this.root)) this.last.set(s.pid, s.ticks);
  }

  take(t: number): BrowserSecond {
    const now = performance.now();
    const seconds = Math.max(0.25, (now - this.wall) / 1000);
    const tree = processTree(this.root);
    let ticks = 0;
    const seen = new Map<number, number>();
    for (const s of tree) {
      // A process born in this second counts from its birth; one gone took its last ticks with it.
      ticks += s.ticks - (this.last.get(s.pid) ?? 0);
      seen.set(s.pid, s.ticks);
    }
    const m = machineTicks();
    const machineCpuPct = m && this.machine && m.total > this.machine.total ? ((m.busy - this.machine.busy) / (m.total - this.machine.total)) * 100 : 0;
    this.last = seen;
    this.machine = m;
    this.wall = now;
    return {
      t,
      processes: tree.length,
      cpuPct: Math.round((ticks / TICKS / seconds) * 100),
      rssMb: Math.round(tree.reduce((a, s) => a + memoryOf(s.pid, s.rssPages), 0) / 1e6),
      machineCpuPct: Math.round(machineCpuPct),
    };
  }
}
