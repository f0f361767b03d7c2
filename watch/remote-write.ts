// firstbell's own figures into a team's Prometheus while the run goes (--prometheus-remote-write): read from the run
// folder as it is written, so that what Prometheus holds is what samples.csv says, sent every second with
// Prometheus's remote-write protocol (a protobuf WriteRequest, snappy-compressed).
import { request } from 'node:http';
import type * as hdr from 'hdr-histogram-js';
import protobuf from 'protobufjs';
import { compress } from 'snappyjs';
import { newHistogram } from '../lib/histogram.js';
import { failureKind, isHoldEvent, type Sample } from '../api/sample.js';
import { FolderFollower } from '../run-folder/follow.js';
import { LAYERS, type Layer } from '../scenarios/model.js';

/** Prometheus's remote-write messages (prometheus/prompb, version 1): a WriteRequest of time series. */
const WriteRequest = protobuf.Root.fromJSON({
  nested: {
    WriteRequest: { fields: { timeseries: { rule: 'repeated', type: 'TimeSeries', id: 1 } } },
    TimeSeries: { fields: { labels: { rule: 'repeated', type: 'Label', id: 1 }, samples: { rule: 'repeated', type: 'Sample', id: 2 } } },
    Label: { fields: { name: { type: 'string', id: 1 }, value: { type: 'string', id: 2 } } },
    Sample: { fields: { value: { type: 'double', id: 1 }, timestamp: { type: 'int64', id: 2 } } },
  },
}).lookupType('WriteRequest');

/** The metrics firstbell writes, for dashboards (examples/grafana-dashboard.json) and queries. */
export const METRICS = {
  completed: 'firstbell_completed_total',
  failed: 'firstbell_failed_total',
  offered: 'firstbell_offered_total',
  latency: 'firstbell_latency_ms',
  held: 'firstbell_held',
  cpu: 'firstbell_generator_cpu_percent',
  loopLag: 'firstbell_generator_loop_lag_ms',
  sendLag: 'firstbell_generator_send_lag_ms',
  arrivals: 'firstbell_arrivals_total',
  late: 'firstbell_late_arrivals_total',
  dropped: 'firstbell_dropped_arrivals_total',
} as const;

type Labels = Record<string, string>;

/**
 * The run's figures, from its samples as they are read: ended attempts that succeeded (completed) and failed (by
 * kind) per layer and step, participants offered to each layer, and latency from the intended start of the
 * attempts that ended since the last push.
 */
class Figures {
  readonly completed = new Map<string, number>();
  readonly failed = new Map<string, number>();
  readonly offered = new Map<Layer, number>();
  private latency = new Map<Layer, hdr.Histogram>();

  readonly add = (s: Sample): void => {
    if (s.entry && s.outcome !== 'script_error' && s.outcome !== 'not_allowed') this.offered.set(s.layer, (this.offered.get(s.layer) ?? 0) + 1);
    if (s.outcome === 'aborted' || s.outcome === 'generator' || isHoldEvent(s.outcome)) return;
    const key = `${s.layer}\u0000${s.step}`;
    if (s.outcome === 'ok') this.completed.set(key, (this.completed.get(key) ?? 0) + 1);
    else {
      const k = `${key}\u0000${failureKind(s.outcome, s.status)}`;
      this.failed.set(k, (this.failed.get(k) ?? 0) + 1);
    }
    let h = this.latency.get(s.layer);
    if (!h) this.latency.set(s.layer, (h = newHistogram(2)));
    h.recordValue(Math.max(1, Math.round(s.endMs - s.intendedMs)));
  };

  /** Latency percentiles of each layer since the last call, and a fresh start. */
  takeLatency(): { layer: Layer; p50: number; p95: number; p99: number }[] {
    const out = [...this.latency].filter(([, h]) => h.totalCount > 0).map(([layer, h]) => ({ layer, p50: h.getValueAtPercentile(50), p95: h.getValueAtPercentile(95), p99: h.getValueAtPercentile(99) }));
    for (const h of this.latency.values()) h.reset();
    return out;
  }
}

/** Sends a run's figures to a Prometheus remote-write endpoint every second, read from its run folder. */
export class RemoteWriter {
  private readonly follower: FolderFollower;
  private readonly figures = new Figures();
  private readonly base: Labels;
  private lastMs = 0;

  /** `onProblem` hears what went wrong with a write (a refusal, no answer), in words. */
  constructor(readonly url: string, dir: string, run: { id: string; scenario: string }, private readonly onProblem: (message: string) => void, private readonly onOk: () => void) {
    this.follower = new FolderFollower(dir, this.figures.add);
    this.base = { run: run.id, scenario: run.scenario };
  }

  /** Reads what the run added and sends the figures as of now; `final`: the run's files are closed. */
  async push(final = false): Promise<void> {
    try {
      if (!this.follower.poll(final)) return;
    } catch {
      return;
    }
    // Timestamps only go forward: Prometheus refuses a series' sample older than its last.
    const at = Math.max(Date.now(), this.lastMs + 1);
    this.lastMs = at;
    const series = this.series();
    const body = compress(WriteRequest.encode(WriteRequest.create({ timeseries: series.map((s) => ({ labels: s.labels, samples: [{ value: s.value, timestamp: at }] })) })).finish());
    try {
      await post(this.url, body);
      this.onOk();
    } catch (e) {
      this.onProblem(e instanceof Error ? e.message : String(e));
    }
  }

  close(): void {
    this.follower.close();
  }

  /** Every series with its labels (sorted by name, as Prometheus wants them) and its value now. */
  private series(): { labels: { name: string; value: string }[]; value: number }[] {
    const out: { labels: { name: string; value: string }[]; value: number }[] = [];
    const add = (name: string, labels: Labels, value: number) =>
      out.push({ labels: Object.entries({ __name__: name, ...this.base, ...labels }).sort(([a], [b]) => (a < b ? -1 : 1)).map(([n, v]) => ({ name: n, value: v })), value });
    const f = this.figures;
    for (const [key, v] of f.completed) {
      const [layer, step] = key.split('\u0000') as [string, string];
      add(METRICS.completed, { layer, step }, v);
    }
    for (const [key, v] of f.failed) {
      const [layer, step, kind] = key.split('\u0000') as [string, string, string];
      add(METRICS.failed, { layer, step, kind }, v);
    }
    for (const [layer, v] of f.offered) add(METRICS.offered, { layer }, v);
    for (const l of f.takeLatency()) for (const q of ['p50', 'p95', 'p99'] as const) add(METRICS.latency, { layer: l.layer, quantile: q.slice(1) === '50' ? '0.5' : `0.${q.slice(1)}` }, l[q]);
    const folder = this.follower.folder();
    const sec = this.follower.lastSecond;
    if (folder && sec >= 0) {
      for (const layer of LAYERS) {
        if (!folder.series.steps.some((d) => d.layer === layer)) continue;
        add(METRICS.held, { layer }, folder.series.concurrency(sec, layer).held[sec] ?? 0);
      }
      const h = folder.health[folder.health.length - 1]!;
      add(METRICS.cpu, {}, h.cpuTotalPct ?? h.cpuPct);
      add(METRICS.loopLag, {}, h.loopLagP99Ms);
      add(METRICS.sendLag, {}, h.sendLagP99Ms);
      add(METRICS.arrivals, {}, folder.health.reduce((a, x) => a + x.arrivals, 0));
      add(METRICS.late, {}, folder.health.reduce((a, x) => a + x.late, 0));
      add(METRICS.dropped, {}, folder.health.reduce((a, x) => a + x.dropped, 0));
    }
    return out;
  }
}

/** POSTs one remote-write body; anything but a 2xx answer within 5 s is an error in words. */
function post(url: string, body: Uint8Array): Promise<void> {
  return new Promise((resolve, reject) => {
    const req = request(url, {
      method: 'POST', timeout: 5_000,
      headers: { 'content-type': 'application/x-protobuf', 'content-encoding': 'snappy', 'x-prometheus-remote-write-version': '0.1.0', 'content-length': body.length },
    }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (d: string) => (text = (text + d).slice(0, 300)));
      res.on('end', () => (res.statusCode! >= 200 && res.statusCode! < 300 ? resolve() : reject(new Error(`${url} answered ${res.statusCode}${text.trim() ? `: ${text.trim()}` : ''}`))));
    });
    req.on('timeout', () => req.destroy(new Error(`${url} did not answer within 5 s`)));
    req.on('error', (e: NodeJS.ErrnoException) => reject(new Error(`${url}: ${e.code === 'ECONNREFUSED' ? 'connection refused' : e.message}`)));
    req.end(body);
  });
}
