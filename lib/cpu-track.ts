// CPU time over a clock, as marks of the CPU used so far: a second's share is read between its two edges, the CPU
// used between two marks taken as spread evenly over them. A process measured late (its reader or itself stalled)
// still has every CPU-second of the stall counted in the seconds it fell in.

/** Cumulative CPU at instants of one clock, and what was used between any two of them. */
export class CpuTrack {
  private at: number[] = [];
  private used: number[] = [];

  /** The CPU used so far (ms, any origin) at `atMs` on the clock; marks come in the clock's order. */
  mark(atMs: number, usedMs: number): void {
    const last = this.at.length - 1;
    if (last >= 0 && atMs <= this.at[last]!) {
      this.used[last] = Math.max(this.used[last]!, usedMs);
      return;
    }
    this.at.push(atMs);
    this.used.push(usedMs);
  }

  /** CPU ms used from `fromMs` to `toMs`; nothing before the first mark or after the last counts. */
  between(fromMs: number, toMs: number): number {
    // Marks before the one at or just before `fromMs` are never read again: seconds are read in order.
    let drop = 0;
    while (drop + 1 < this.at.length && this.at[drop + 1]! <= fromMs) drop++;
    if (drop) {
      this.at.splice(0, drop);
      this.used.splice(0, drop);
    }
    return Math.max(0, this.usedAt(toMs) - this.usedAt(fromMs));
  }

  private usedAt(x: number): number {
    const n = this.at.length;
    if (n === 0) return 0;
    if (x <= this.at[0]!) return this.used[0]!;
    if (x >= this.at[n - 1]!) return this.used[n - 1]!;
    let k = 0;
    while (this.at[k + 1]! < x) k++;
    const a = this.at[k]!;
    const b = this.at[k + 1]!;
    return this.used[k]! + ((this.used[k + 1]! - this.used[k]!) * (x - a)) / (b - a);
  }
}

/**
 * One process's CPU in second `t` of a clock whose last mark is at `nowMs`, in % of one core: what it used between
 * the second's edges over its length (a last, short second measured over at least a quarter second).
 */
export function secondPct(track: CpuTrack, t: number, nowMs: number): number {
  const from = t * 1000;
  const to = Math.min((t + 1) * 1000, nowMs);
  return Math.round((track.between(from, to) / Math.max(250, to - from)) * 100);
}
