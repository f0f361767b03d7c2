// The HDR histograms a run records into: hdr-histogram-js's, with the index of a whole number worked out in integers.
//
// A run records two or three values into histograms for every attempt (its latency, its service time, the progress
// line's latency), tens of thousands a second. The library finds a value's place by Math.log2 and two Math.pow,
// about 120 ns a value here, more than the rest of recording an attempt; for a whole number below 2^31 (every value
// a run records is one, rounded and at least 1) the same place is found by counting its leading zero bits, in a
// few nanoseconds. Any other value goes the library's way. Reading, merging and encoding are the library's own.
import * as hdr from 'hdr-histogram-js';

/** An Int32Histogram whose recording of a whole number finds its counts' index without floating point. */
class WholeNumberHistogram extends hdr.Int32Histogram {
  override countsArrayIndex(value: number): number {
    if ((value | 0) !== value || value < 0) return super.countsArrayIndex(value);
    // The bucket: how many doublings the value is above what bucket 0 holds (floor(log2(value)) = 31 - clz32).
    let bucket = 31 - Math.clz32(value) - this.subBucketHalfCountMagnitude - this.unitMagnitude;
    if (bucket < 0) bucket = 0;
    // Its place in the bucket: the value shifted down by the bucket's unit, as floor(value / 2^(bucket + unit)).
    const sub = value >>> (bucket + this.unitMagnitude);
    return ((bucket + 1) << this.subBucketHalfCountMagnitude) + sub - this.subBucketHalfCount;
  }
}

/**
 * A histogram that grows to any value from 1 up, with `digits` significant decimal digits (2: 1 % resolution), as
 * `hdr.build({ bitBucketSize: 32, numberOfSignificantValueDigits: digits, autoResize: true })` makes it.
 */
export function newHistogram(digits: 1 | 2 | 3 | 4 | 5 = 2): hdr.Histogram {
  const h = new WholeNumberHistogram(1, 2, digits);
  h.autoResize = true;
  return h;
}
