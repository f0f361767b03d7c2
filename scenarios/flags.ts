// A scenario's parts given on the command line: objectives (--objective broker.p95=1.5s, --objective
// admission.errors=0.5%) and faults (--fault 'errors 502 at 10s for 20s on /api/join'); and how a scheduled fault
// reads in the plan, the report and the run folder.
import { FAULT_KINDS, faultProblems, LAYERS, type Fault, type Layer, type LayerObjective, type Problem } from './model.js';

export const FAULT_FLAG_FORM = "KIND [VALUE] at TIME for DURATION [on PATH], e.g. 'errors 502 at 10s for 20s on /api/join', 'latency 300ms at 0s for 1m', 'reset 50% at -10s for 5s'";

/** "10s", "500ms", "1.5m", "-30s": ms, or undefined. */
function time(v: string | undefined): number | undefined {
  const m = /^(-?\d+(?:\.\d+)?)(ms|s|m)$/.exec(v ?? '');
  if (!m) return undefined;
  return Number(m[1]) * (m[2] === 'm' ? 60_000 : m[2] === 's' ? 1000 : 1);
}

/** "50%": 0.5. */
function share(v: string | undefined): number | undefined {
  const m = /^(\d+(?:\.\d+)?)%$/.exec(v ?? '');
  return m ? Number(m[1]) / 100 : undefined;
}

/** "64kB/s", "1MB/s", "8000B/s": bytes per second. */
function rate(v: string | undefined): number | undefined {
  const m = /^(\d+(?:\.\d+)?)(B|kB|KB|MB)\/s$/.exec(v ?? '');
  if (!m) return undefined;
  return Math.round(Number(m[1]) * (m[2] === 'MB' ? 1e6 : m[2] === 'B' ? 1 : 1e3));
}

/** One --fault value as a fault, or the problem with it. */
export function parseFaultFlag(text: string): Fault | Problem {
  const where = `--fault '${text}'`;
  const problem = (message: string, hint = `write it as ${FAULT_FLAG_FORM}`): Problem => ({ where, message, hint });
  const words = text.trim().split(/\s+/);
  const kind = words.shift() ?? '';
  if (!(FAULT_KINDS as readonly string[]).includes(kind)) return problem(`'${kind}' is not a fault kind`, `start with one of ${FAULT_KINDS.join(', ')}`);
  const values: string[] = [];
  while (words.length && !['at', 'for', 'on'].includes(words[0]!)) values.push(words.shift()!);
  const when: Record<string, string | undefined> = {};
  while (words.length) {
    const key = words.shift()!;
    if (!['at', 'for', 'on'].includes(key)) return problem(`'${key}' is not expected here`);
    if (when[key] !== undefined) return problem(`'${key}' is given twice`);
    when[key] = words.shift();
  }
  const atMs = time(when.at);
  const forMs = time(when.for);
  if (atMs === undefined) return problem(when.at === undefined ? 'has no start' : `'${when.at}' is not a time`, "add 'at TIME' from the first bell, e.g. 'at 10s' or 'at -30s'");
  if (forMs === undefined || forMs <= 0) return problem(when.for === undefined ? 'has no length' : `'${when.for}' is not a length`, "add 'for DURATION', e.g. 'for 20s'");
  if (when.on !== undefined && !when.on.startsWith('/')) return problem(`'${when.on}' is not a path`, "give the path prefix the fault is on, starting with /, e.g. 'on /api/join'");
  const base = { atMs, forMs, ...(when.on !== undefined ? { pathPrefix: when.on } : {}) };
  const one = (what: string) => (values.length > 1 ? problem(`has ${values.length} values where ${kind} takes ${what}`) : undefined);
  let f: Fault;
  switch (kind) {
    case 'errors': {
      const status = Number(values.find((v) => /^\d{3}$/.test(v)));
      const ratio = share(values.find((v) => v.endsWith('%'))) ?? 1;
      if (!status) return problem('has no status', "give the status the proxy answers with, e.g. 'errors 502 at 10s for 20s'");
      if (values.length > 2) return problem(`has ${values.length} values where errors takes a status and a share`);
      f = { ...base, kind, status: status as 502 | 503 | 504, ratio };
      break;
    }
    case 'reset':
      f = { ...base, kind, ratio: share(values[0]) ?? (values[0] === undefined ? 1 : NaN) };
      if (one('a share')) return one('a share')!;
      break;
    case 'latency':
    case 'slow-login': {
      const addMs = time(values[0]);
      if (addMs === undefined) return problem(`'${values[0] ?? ''}' is not the time to add`, `e.g. '${kind} 300ms at 0s for 1m'`);
      f = { ...base, kind, addMs };
      break;
    }
    case 'bandwidth': {
      const bytesPerSec = rate(values[0]);
      if (bytesPerSec === undefined) return problem(`'${values[0] ?? ''}' is not a rate`, "e.g. 'bandwidth 64kB/s at 0s for 30s' (B/s, kB/s or MB/s)");
      f = { ...base, kind, bytesPerSec };
      break;
    }
    case 'blackhole':
      if (values.length) return problem('blackhole takes no value');
      f = { ...base, kind };
      break;
    case 'farm-down':
      f = { ...base, kind, farm: Number(values[0]) };
      break;
    default:
      f = { ...base, kind: 'broker-defect', threshold: Number(values[0]) };
  }
  // The model's own checks name what is still wrong (a status that is no gateway error, a share above 100 %).
  const wrong = faultProblems(f, 'fault');
  if (wrong.length) return problem(wrong[0]!.message, wrong[0]!.hint);
  return f;
}

/** Every --fault value as faults; every bad one is a problem. */
export function parseFaultFlags(texts: string[]): { faults: Fault[]; problems: Problem[] } {
  const faults: Fault[] = [];
  const problems: Problem[] = [];
  for (const t of texts) {
    const r = parseFaultFlag(t);
    if ('kind' in r) faults.push(r);
    else problems.push(r);
  }
  return { faults, problems };
}

/** E.g. "errors 503 × 50 % on /api/". */
export function describeFault(f: Fault): string {
  const where = f.pathPrefix ? ` on ${f.pathPrefix}` : '';
  switch (f.kind) {
    case 'latency': return `latency +${f.addMs} ms${where}`;
    case 'errors': return `errors ${f.status} × ${Math.round(f.ratio * 100)} %${where}`;
    case 'reset': return `resets × ${Math.round(f.ratio * 100)} %${where}`;
    case 'blackhole': return `blackhole${where}`;
    case 'bandwidth': return `bandwidth ${f.bytesPerSec} B/s${where}`;
    case 'farm-down': return `farm ${f.farm} down`;
    case 'broker-defect': return `broker defect past ${f.threshold} joins/s`;
    case 'slow-login': return `slow logins +${f.addMs} ms`;
  }
}

const FORM = /^([a-z]+)\.([a-z0-9]+)=(.+)$/;

function duration(v: string): number | undefined {
  const m = /^(\d+(?:\.\d+)?)(ms|s)?$/.exec(v.trim());
  if (!m) return undefined;
  return Number(m[1]) * (m[2] === 's' ? 1000 : 1);
}

/** "0.5%" or "0.005": a share from 0 to 1. */
function shareOrFraction(v: string): number | undefined {
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
      const r = shareOrFraction(value);
      if (r === undefined) problems.push({ where, message: `'${value}' is not a share from 0 to 1`, hint: 'write a percentage like 0.5% or a fraction like 0.005' });
      else o.maxErrorRate = r;
    } else {
      problems.push({ where, message: `'${metric}' is not an objective`, hint: 'use p95 (latency) or errors (error rate)' });
    }
  }
  return { objectives, problems };
}
