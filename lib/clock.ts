// The run's wall clock, read from the machine's monotonic clock, alike in every process of one run.
//
// `performance.timeOrigin + performance.now()` pairs a wall-clock reading and a monotonic one that Node takes at
// different moments of a process's start-up: two processes that read it at the same instant can disagree by as long
// as a start-up took on a loaded machine (a worker started beside a busy test suite read 1.8 s ahead of its parent,
// and sent its first second "late" by that much). The monotonic clock is one for the whole machine; a process
// anchors it to the wall clock once, at a tick of Date.now(), and a worker takes its parent's anchor, so that the
// processes of a run read the same instant to the microsecond.

const hrMs = (): number => {
  const [s, ns] = process.hrtime();
  return s * 1e3 + ns / 1e6;
};

/** performance.now() plus this is the machine's monotonic clock, ms: of a few readings, the one taken in the least time. */
function monotonicShift(): number {
  let best = Infinity;
  let shift = 0;
  for (let i = 0; i < 20; i++) {
    const a = performance.now();
    const h = hrMs();
    const b = performance.now();
    if (b - a < best) [best, shift] = [b - a, h - (a + b) / 2];
  }
  return shift;
}
const MONO_SHIFT = monotonicShift();

/** The wall clock less the monotonic clock, ms, read at a tick of Date.now() (exact to well under a microsecond). */
function wallLessMonotonic(): number {
  const first = Date.now();
  // Date.now() moves on once a millisecond; the loop is bounded in case the wall clock is held still.
  for (let i = 0; i < 1_000_000; i++) {
    const mono = performance.now() + MONO_SHIFT;
    const wall = Date.now();
    if (wall !== first) return wall - mono;
  }
  return Date.now() - (performance.now() + MONO_SHIFT);
}

let anchor = wallLessMonotonic();
let base = anchor + MONO_SHIFT;

/** Wall-clock milliseconds with sub-ms resolution, the same in every process that shares this process's anchor. */
export const epochNow = (): number => base + performance.now();

/** This process's anchor: the wall clock less the machine's monotonic clock, ms. A worker is given it (adoptClockAnchor). */
export const clockAnchor = (): number => anchor;

/** Reads the clock from now on with another process's anchor (its parent's): both then read the same instant. */
export function adoptClockAnchor(a: number): void {
  if (!Number.isFinite(a)) return;
  anchor = a;
  base = a + MONO_SHIFT;
}
