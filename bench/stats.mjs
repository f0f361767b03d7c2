// The benchmark's statistics: a median, and a 95 % interval of a median that assumes nothing of how the values spread.

/** The median of the finite values of `xs`; NaN when there are none. */
export function median(xs) {
  const v = xs.filter((x) => Number.isFinite(x)).sort((p, q) => p - q);
  if (!v.length) return NaN;
  return v.length % 2 ? v[(v.length - 1) / 2] : (v[v.length / 2 - 1] + v[v.length / 2]) / 2;
}

/**
 * A 95 % interval of the median of `sorted` (ascending), by ranks: the sign test's, which takes the k-th value from
 * either end, k the largest rank for which fewer than k of n values fall below the median with a chance of at most
 * 2.5 % (binomial, p = 1/2). One value that the machine slowed moves it by one rank only. Undefined below 6 values,
 * where no such rank is left.
 */
export function medianInterval(sorted) {
  const n = sorted.length;
  let tail = 0;
  let k = 0;
  let term = 0.5 ** n;
  while (tail + term <= 0.025) {
    tail += term;
    k++;
    term = (term * (n - k + 1)) / k;
  }
  return k >= 1 ? [sorted[k - 1], sorted[n - k]] : undefined;
}
