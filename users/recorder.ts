// The one fan-out of a sample: into the run's series, its samples.csv line, and the live figures of the progress line.
import * as hdr from 'hdr-histogram-js';
import { newHistogram } from '../lib/histogram.js';
import { isHoldEvent, type Sample } from '../api/sample.js';
import { CsvBytes } from '../run-folder/csv-bytes.js';
import type { Series } from '../run-folder/series.js';
import { LAYERS, type Layer } from '../scenarios/model.js';

/** Where a process's samples.csv lines go: a run folder's file, or the bytes a worker sends on. */
export interface SampleLines {
  sample(s: Sample): void;
}

/** Lines written to be thrown away (a warm-up, a calibration): the same work per sample as a run's. */
class ScratchLines implements SampleLines {
  private bytes = new CsvBytes();
  sample(s: Sample): void {
    this.bytes.sample(s);
    if (this.bytes.length > 32 * 1024) this.bytes.clear();
  }
}

/** Every sample of a process goes through here once. */
export class Recorder {
  readonly live = new LiveLayers();

  /** `lines` receives each sample's samples.csv line; without it, the lines are written and thrown away. */
  constructor(readonly series: Series, private lines: SampleLines = new ScratchLines()) {}

  readonly add = (s: Sample): void => {
    this.series.add(s);
    this.live.add(s);
    this.lines.sample(s);
  };
}

/** Per layer in the current second: ended attempts, failed ones and latency from the intended start; for the progress line. */
export class LiveLayers {
  private v = Object.fromEntries(LAYERS.map((l) => [l, { ended: 0, failed: 0, latency: newHistogram(2) }])) as Record<
    Layer, { ended: number; failed: number; latency: hdr.Histogram }
  >;

  add(s: Sample): void {
    if (s.outcome === 'aborted' || isHoldEvent(s.outcome)) return;
    const l = this.v[s.layer];
    l.ended++;
    if (s.outcome !== 'ok') l.failed++;
    l.latency.recordValue(Math.max(1, Math.round(s.endMs - s.intendedMs)));
  }

  /** Adds another process's second, as taken by `takeEncoded`. */
  addEncoded(e: EncodedLayers): void {
    for (const l of LAYERS) {
      const x = e[l];
      const v = this.v[l];
      v.ended += x.ended;
      v.failed += x.failed;
      if (x.latency) v.latency.add(hdr.decodeFromCompressedBase64(x.latency));
    }
  }

  /** Closes the second: each layer's figures as `out` shapes them, and a fresh start. */
  private close<T>(out: (v: { ended: number; failed: number; latency: hdr.Histogram }) => T): Record<Layer, T> {
    return Object.fromEntries(
      LAYERS.map((l) => {
        const v = this.v[l];
        const o = out(v);
        v.ended = v.failed = 0;
        v.latency.reset();
        return [l, o];
      }),
    ) as Record<Layer, T>;
  }

  /** Closes the second: its figures, and a fresh start. */
  take(): Record<Layer, { ended: number; failed: number; p95Ms: number }> {
    return this.close((v) => ({ ended: v.ended, failed: v.failed, p95Ms: v.latency.totalCount ? v.latency.getValueAtPercentile(95) : 0 }));
  }

  /** Closes the second in a form that crosses a process boundary. */
  takeEncoded(): EncodedLayers {
    return this.close((v) => ({ ended: v.ended, failed: v.failed, latency: v.latency.totalCount ? hdr.encodeIntoCompressedBase64(v.latency) : '' }));
  }
}

export type EncodedLayers = Record<Layer, { ended: number; failed: number; latency: string }>;
