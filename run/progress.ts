// What a run says once a second while it goes, for a progress line.
import type { Layer } from '../scenarios/model.js';

/** One second of a run. */
export interface RunProgress {
  /** Seconds since the run start. */
  t: number;
  planned: number;
  sent: number;
  late: number;
  dropped: number;
  active: number;
  /** Per layer in the last second: ended attempts, failed ones, and p95 latency in ms. */
  layers: Record<Layer, { ended: number; failed: number; p95Ms: number }>;
}
