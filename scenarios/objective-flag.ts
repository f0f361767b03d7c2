// Objectives given on the command line: --objective broker.p95=1.5s, --objective admission.errors=0.5%.
import { LAYERS, type Layer, type LayerObjective, type Problem } from './model.js';

const FORM = /^([a-z]+)\.([a-z0-9]+)=(.+)$/;

function duration(v: string): number | undefined {
  const m = /^(\d+(?:\.\d+)?)(ms|s)?$/.exec(v.trim());
  if (!m) return undefined;
  return Number(m[1]) * (m[2] === 's' ? 1000 : 1);
}

function share(v: string): number | undefined {
  const m = /^(\d+(?:\.\d+)?)(%)?$/.exec(v.trim());
  if (!m) return undefined;
  const n = Number(m[1]) / (m[2] ? 100 : 1);
  return n >= 0 && n <= 1 ? n : undefined;
}

/** Applies each `layer.metric=value` to a copy of the objectives; every bad one is a problem. */
export function applyObjectiveFlags(base: Record<Layer, LayerObjective>, flags: string[]): { objectives: Record<Layer, LayerObjective>; problems: Problem[] } {
  const objectives = structuredClone(base);
  const problems: Problem[] = [];
  for (const f of flags) {
    const m = FORM.exec(f);
    const where = `--objective ${f}`;
    if (!m) {
      problems.push({ where, message: 'is not of the form LAYER.METRIC=VALUE', hint: 'e.g. --objective broker.p95=1.5s or --objective admission.errors=0.5%' });
      continue;
    }
    const [, layer, metric, value] = m as unknown as [string, string, string, string];
    if (!(LAYERS as readonly string[]).includes(layer)) {
      problems.push({ where, message: `'${layer}' is not a layer`, hint: `use one of ${LAYERS.join(', ')}` });
      continue;
    }
    const o = objectives[layer as Layer];
    if (metric === 'p95') {
      const ms = duration(value);
      if (ms === undefined || ms <= 0) problems.push({ where, message: `'${value}' is not a duration`, hint: 'write it in ms or s, e.g. 800ms or 1.5s' });
      else o.p95Ms = ms;
    } else if (metric === 'errors') {
      const r = share(value);
      if (r === undefined) problems.push({ where, message: `'${value}' is not a share from 0 to 1`, hint: 'write a percentage like 0.5% or a fraction like 0.005' });
      else o.maxErrorRate = r;
    } else {
      problems.push({ where, message: `'${metric}' is not an objective`, hint: 'use p95 (latency) or errors (error rate)' });
    }
  }
  return { objectives, problems };
}
