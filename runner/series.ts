// Per-second series: mergeable HDR histograms and outcome counts per step per second.
import * as hdr from 'hdr-histogram-js';
import { LAYERS, type Layer } from '../scenarios/model.js';
import { failureKind, type Sample } from './sample.js';

/** Latencies are recorded in microseconds with two significant digits (1 % resolution). */
const US_PER_MS = 1000;
function newHistogram(): hdr.Histogram {
  return hdr.build({ bitBucketSize: 32, numberOfSignificantValueDigits: 2, autoResize: true, lowestDiscernibleValue: 1, highestTrackableValue: 2 });
}

export function stepKey(layer: Layer, step: string): string {
  return `${layer}.${step}`;
}

/** One step in one second; attempts are bucketed by the second of their intended start. */
export class StepSecond {
  /** Attempts that ended, ok or failed (aborted ones excluded). */
  attempts = 0;
  ok = 0;
  /** Attempts the run itself stopped (not the target's doing). */
  aborted = 0;
  /** Failed attempts by kind: "http_503", "timeout", … */
  failures: Record<string, number> = {};
  /** Latency from intended start, µs, over all ended attempts. */
  latency = newHistogram();
  /** Service time from actual start, µs, over all ended attempts. */
  service = newHistogram();

  add(s: Sample): void {
    if (s.outcome === 'aborted') {
      this.aborted++;
      return;
    }
    this.attempts++;
    if (s.outcome === 'ok') this.ok++;
    else {
      const k = failureKind(s.outcome, s.status);
      this.failures[k] = (this.failures[k] ?? 0) + 1;
    }
    this.latency.recordValue(Math.max(1, Math.round((s.endMs - s.intendedMs) * US_PER_MS)));
    this.service.recordValue(Math.max(1, Math.round((s.endMs - s.startMs) * US_PER_MS)));
  }

  merge(o: StepSecond): void {
    this.attempts += o.attempts;
    this.ok += o.ok;
    this.aborted += o.aborted;
    for (const [k, v] of Object.entries(o.failures)) this.failures[k] = (this.failures[k] ?? 0) + v;
    this.latency.add(o.latency);
    this.service.add(o.service);
  }

  get failed(): number {
    return this.attempts - this.ok;
  }

  /** Latency percentile from intended start, in ms. */
  latencyMs(p: number): number {
    return this.latency.totalCount === 0 ? 0 : this.latency.getValueAtPercentile(p) / US_PER_MS;
  }

  serviceMs(p: number): number {
    return this.service.totalCount === 0 ? 0 : this.service.getValueAtPercentile(p) / US_PER_MS;
  }

  toJSON(): StepSecondJson {
    return {
      attempts: this.attempts, ok: this.ok, aborted: this.aborted, failures: this.failures,
      latency: hdr.encodeIntoCompressedBase64(this.latency), service: hdr.encodeIntoCompressedBase64(this.service),
    };
  }

  static fromJSON(j: StepSecondJson): StepSecond {
    const b = new StepSecond();
    b.attempts = j.attempts;
    b.ok = j.ok;
    b.aborted = j.aborted;
    b.failures = { ...j.failures };
    b.latency.add(hdr.decodeFromCompressedBase64(j.latency, 32, false));
    b.service.add(hdr.decodeFromCompressedBase64(j.service, 32, false));
    return b;
  }
}

export interface StepSecondJson {
  attempts: number;
  ok: number;
  aborted: number;
  failures: Record<string, number>;
  /** HdrHistogram compressed base64 (V2), µs. */
  latency: string;
  service: string;
}

export interface StepDecl {
  layer: Layer;
  step: string;
}

export interface SeriesJson {
  /** Declared steps in journey order. */
  steps: StepDecl[];
  /** Second index from run start → step key → bucket. */
  seconds: Record<string, Record<string, StepSecondJson>>;
}

export class Series {
  readonly steps: StepDecl[] = [];
  readonly seconds = new Map<number, Map<string, StepSecond>>();

  constructor(steps: StepDecl[] = []) {
    for (const s of steps) this.declare(s);
  }

  declare(s: StepDecl): void {
    if (!this.steps.some((d) => d.layer === s.layer && d.step === s.step)) this.steps.push(s);
  }

  bucket(second: number, key: string): StepSecond {
    let sec = this.seconds.get(second);
    if (!sec) this.seconds.set(second, (sec = new Map()));
    let b = sec.get(key);
    if (!b) sec.set(key, (b = new StepSecond()));
    return b;
  }

  add(s: Sample): void {
    this.declare({ layer: s.layer, step: s.step });
    this.bucket(Math.max(0, Math.floor(s.intendedMs / 1000)), stepKey(s.layer, s.step)).add(s);
  }

  merge(o: Series): void {
    for (const d of o.steps) this.declare(d);
    for (const [sec, m] of o.seconds) for (const [k, b] of m) this.bucket(sec, k).merge(b);
  }

  /** Last second that holds any bucket, or -1. */
  get lastSecond(): number {
    return this.seconds.size === 0 ? -1 : Math.max(...this.seconds.keys());
  }

  /** All buckets of one step (or of every step of a layer) merged into one, for a second. */
  merged(second: number, filter: (d: StepDecl) => boolean): StepSecond {
    const out = new StepSecond();
    const sec = this.seconds.get(second);
    if (sec) for (const d of this.steps) if (filter(d)) { const b = sec.get(stepKey(d.layer, d.step)); if (b) out.merge(b); }
    return out;
  }

  /** A step's buckets over the whole run merged into one. */
  total(filter: (d: StepDecl) => boolean): StepSecond {
    const out = new StepSecond();
    for (const sec of this.seconds.keys()) out.merge(this.merged(sec, filter));
    return out;
  }

  toJSON(): SeriesJson {
    const seconds: SeriesJson['seconds'] = {};
    for (const [sec, m] of [...this.seconds].sort((a, b) => a[0] - b[0])) {
      seconds[sec] = Object.fromEntries([...m].map(([k, b]) => [k, b.toJSON()]));
    }
    const order = (d: StepDecl) => LAYERS.indexOf(d.layer);
    return { steps: [...this.steps].sort((a, b) => order(a) - order(b)), seconds };
  }

  static fromJSON(j: SeriesJson): Series {
    const s = new Series(j.steps);
    for (const [sec, m] of Object.entries(j.seconds)) for (const [k, b] of Object.entries(m)) s.bucket(Number(sec), k).merge(StepSecond.fromJSON(b));
    return s;
  }
}
