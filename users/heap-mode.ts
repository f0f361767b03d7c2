// How a load process asks V8 to keep its heap: for speed while arrivals come, for memory while it only holds.
import { setFlagsFromString } from 'node:v8';

/** After the last arrival before a pause, the journeys under way this long to end before the heap is made small, ms. */
export const SETTLE_MS = 3_000;
/** Back to speed this long before the next arrival is due, ms. */
export const LEAD_MS = 1_000;

/**
 * A burst of arrivals leaves the old generation's pages half empty around the participants it left holding: their
 * journeys' objects lived long enough to be promoted, then died. V8 compacts such pages only when it optimises for
 * memory, and it does not while heartbeats keep its allocation rate up. Optimising for memory also costs a fifth
 * more CPU per arrival. So a load process optimises for memory only in a pause of its schedule: from SETTLE_MS after
 * the last arrival before it until LEAD_MS before the next one. V8 then compacts in its own incremental steps.
 */
export class HeapMode {
  private timers: NodeJS.Timeout[] = [];
  private forMemory = false;

  constructor(private readonly clock: () => number, private readonly setFlag: (flag: string) => void = setFlagsFromString) {}

  /** The schedule sends nothing until `untilMs` (run time, ms; Infinity: nothing more). */
  readonly idle = (untilMs: number): void => {
    this.cancel();
    const now = this.clock();
    if (untilMs - now < SETTLE_MS + LEAD_MS) return this.set(false);
    this.timers.push(setTimeout(() => this.set(true), SETTLE_MS).unref());
    if (Number.isFinite(untilMs)) this.timers.push(setTimeout(() => this.set(false), untilMs - now - LEAD_MS).unref());
  };

  /** Back to speed, timers cleared (the run ends or goes on without pauses). */
  stop(): void {
    this.cancel();
    this.set(false);
  }

  get optimisingForMemory(): boolean {
    return this.forMemory;
  }

  private cancel(): void {
    for (const t of this.timers) clearTimeout(t);
    this.timers = [];
  }

  private set(forMemory: boolean): void {
    if (forMemory === this.forMemory) return;
    this.forMemory = forMemory;
    this.setFlag(forMemory ? '--optimize-for-size' : '--no-optimize-for-size');
  }
}
