// Results as k6 writes them from an exported script, made from a run's samples: what k6 runners would have sent back.
import type { Sample } from '../api/sample.js';
import { stepDecls } from '../api/vu.js';
import { K6_META, K6_RUN_TAGS, K6_STEP_METRIC, K6_TAGS, stepsTag } from '../k6/names.js';
import { builtInJourney } from '../targets/index.js';

/** The reference journey's steps, as an exported script tags its results with them. */
export const REFERENCE_STEPS = { [K6_RUN_TAGS.steps]: stepsTag(stepDecls(builtInJourney('reference').steps)) };

/** A sample as k6 writes it from the exported script, in its CSV columns. */
export function csvRow(s: Sample, t0: number, runTags: Record<string, string>): string {
  const extra = { ...runTags, [K6_TAGS.layer]: s.layer, [K6_TAGS.step]: s.step, [K6_TAGS.outcome]: s.outcome, [K6_TAGS.status]: String(s.status) };
  const metadata = { [K6_META.user]: String(s.user), [K6_META.at]: String(Math.round(s.startMs)) };
  const kv = (o: Record<string, string>) => Object.entries(o).map(([k, v]) => `${k}=${v}`).join('&');
  // metric_name,timestamp,metric_value,check,error,error_code,expected_response,group,method,name,proto,scenario,service,status,subproto,tls_version,url,extra_tags,metadata
  return [K6_STEP_METRIC, Math.floor((t0 + s.endMs) / 1000), (s.endMs - s.startMs).toFixed(6), '', '', '', '', '', '', '', '', 'arrivals', '', '', '', '', '', kv(extra), kv(metadata)].join(',');
}

export function jsonLine(s: Sample, t0: number, runTags: Record<string, string>): string {
  return JSON.stringify({
    metric: K6_STEP_METRIC,
    type: 'Point',
    data: {
      time: new Date(t0 + s.endMs).toISOString(),
      value: s.endMs - s.startMs,
      tags: { ...runTags, scenario: 'arrivals', [K6_TAGS.layer]: s.layer, [K6_TAGS.step]: s.step, [K6_TAGS.outcome]: s.outcome, [K6_TAGS.status]: String(s.status) },
      metadata: { [K6_META.user]: String(s.user), [K6_META.at]: String(Math.round(s.startMs)) },
    },
  });
}

export const K6_CSV_HEADER = 'metric_name,timestamp,metric_value,check,error,error_code,expected_response,group,method,name,proto,scenario,service,status,subproto,tls_version,url,extra_tags,metadata';

