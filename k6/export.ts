// What every k6 script of firstbell's shares: the scenario's arrivals as k6 options, its name, and a k6-operator TestRun.
import type { Layer, ResolvedScenario } from '../scenarios/model.js';
import { LAYERS } from '../scenarios/model.js';
import { arrivalsPerSecond, type Schedule } from '../plan/schedule.js';

import { K6_META, K6_RUN_TAGS, K6_STEP_METRIC, K6_TAGS } from './names.js';

export { K6_META, K6_RUN_TAGS, K6_STEP_METRIC, K6_TAGS } from './names.js';

/** VUs beyond the participants under way at once: k6 needs a little room while one iteration ends and the next starts. */
export const K6_VU_MARGIN = { share: 0.05, plus: 10 };

export interface K6Export {
  script: string;
  manifest: string;
  /** Name used for the TestRun, ConfigMap and files, e.g. firstbell-monday-0800. */
  name: string;
}

/** k6 stages for the schedule: a step function, one level per second, each jump a stage of duration 0. */
export function k6Stages(perSecond: number[]): { duration: string; target: number }[] {
  const stages: { duration: string; target: number }[] = [];
  let level = 0;
  for (const n of perSecond) {
    if (n !== level) stages.push({ duration: '0s', target: n });
    stages.push({ duration: '1s', target: n });
    level = n;
  }
  // Merge runs of equal seconds into one stage.
  const merged: typeof stages = [];
  for (const s of stages) {
    const last = merged[merged.length - 1];
    if (last && s.duration !== '0s' && last.duration !== '0s' && last.target === s.target) last.duration = `${Number(last.duration.slice(0, -1)) + 1}s`;
    else merged.push({ ...s });
  }
  return merged;
}

function thresholds(s: ResolvedScenario): Record<string, string[]> {
  const out: Record<string, string[]> = {};
  for (const l of LAYERS as readonly Layer[]) {
    const o = s.objectives[l];
    out[`${K6_STEP_METRIC}{${K6_TAGS.layer}:${l}}`] = [`p(95)<${o.p95Ms}`];
    out[`${K6_STEP_METRIC}_failed{${K6_TAGS.layer}:${l}}`] = [`rate<${o.maxErrorRate}`];
  }
  return out;
}

/** k6's options for a scenario's arrivals: its stages, a VU for everyone under way at once, its objectives, and tags saying what ran. */
export function arrivalOptions(s: ResolvedScenario, seed: number, target: URL, kind: string, schedule: Schedule, tags: Record<string, string> = {}) {
  const perSecond = arrivalsPerSecond(schedule);
  // Every participant that holds stays until the run's end: all of them can be under way at once by the last
  // arrival. k6 starts VUs beyond the pre-allocated ones too slowly for a spike, so every one is allocated up front.
  const underWay = schedule.offsetsMs.length;
  const vus = Math.ceil(underWay * (1 + K6_VU_MARGIN.share)) + K6_VU_MARGIN.plus;
  const options = {
    tags: {
      [K6_RUN_TAGS.scenario]: s.name,
      [K6_RUN_TAGS.scale]: String(s.scale),
      [K6_RUN_TAGS.seed]: String(seed),
      [K6_RUN_TAGS.target]: target.href,
      [K6_RUN_TAGS.kind]: kind,
      // The planned arrivals, so that the import knows what k6 should have sent.
      [K6_RUN_TAGS.planned]: String(schedule.offsetsMs.length),
      ...tags,
    },
    scenarios: {
      arrivals: {
        executor: 'ramping-arrival-rate',
        startRate: 0,
        timeUnit: '1s',
        // Each participant stays until the end: a VU for everyone under way at once, allocated before the start.
        preAllocatedVUs: vus,
        maxVUs: vus,
        stages: k6Stages(perSecond.slice(0, Math.ceil(schedule.endMs / 1000))),
        gracefulStop: '5s',
        exec: 'journey',
      },
    },
    thresholds: thresholds(s),
    summaryTrendStats: ['avg', 'p(50)', 'p(95)', 'p(99)', 'max'],
  };
  return { options, vus, peak: Math.max(1, ...perSecond) };
}

/** The name of a scenario's TestRun, ConfigMap and files. */
export function k6Name(s: ResolvedScenario): string {
  return `firstbell-${s.name}`.toLowerCase().replace(/[^a-z0-9-]+/g, '-').slice(0, 50);
}

/** A k6-operator TestRun: the script from a ConfigMap, N runners, each writing its results to a shared volume. */
export function testRunManifest(name: string, parallelism: number, file: string): string {
  return `# k6-operator TestRun for ${name}. First:
#   kubectl create configmap ${name} --from-file=${file}
#   kubectl apply -f testrun.yaml        (needs the PersistentVolumeClaim ${name}-results, ReadWriteMany)
# Then copy /results/*.csv off the volume and: firstbell import k6 results/*.csv
apiVersion: k6.io/v1alpha1
kind: TestRun
metadata:
  name: ${name}
spec:
  parallelism: ${parallelism}
  script:
    configMap:
      name: ${name}
      file: ${file}
  arguments: --out csv=/results/$(POD_NAME).csv --tag testid=${name}
  runner:
    env:
      - name: POD_NAME
        valueFrom:
          fieldRef:
            fieldPath: metadata.name
    volumeMounts:
      - name: results
        mountPath: /results
    volumes:
      - name: results
        persistentVolumeClaim:
          claimName: ${name}-results
`;
}
