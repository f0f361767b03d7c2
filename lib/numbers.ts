// The highest and lowest of a list of numbers of any length. A spread into Math.max takes at most about 120,000
// arguments, and the per-second series of a soak of a few days has more: these loop instead.

/** The highest of `xs`, or `floor` when there is none higher (none at all: -Infinity, as Math.max()). */
export function maxOf(xs: Iterable<number>, floor = Number.NEGATIVE_INFINITY): number {
  let m = floor;
  for (const x of xs) if (x > m) m = x;
  return m;
}

/** The lowest of `xs`, or `ceiling` when there is none lower (none at all: Infinity, as Math.min()). */
export function minOf(xs: Iterable<number>, ceiling = Number.POSITIVE_INFINITY): number {
  let m = ceiling;
  for (const x of xs) if (x < m) m = x;
  return m;
}
