// firstbell's own shards on Kubernetes: an Indexed Job whose pod i runs shard i from one shared instant, the merge
// Job after it, the volume they share, and the script that starts them.
import { VERSION } from '../lib/version.js';

export interface ShardJobOptions {
  /** Name of the Jobs, the volume claim and the ConfigMap, e.g. firstbell-monday-0800. */
  name: string;
  /** The scenario as the pods name it: a built-in name, or /scenario/<file> from the ConfigMap. */
  scenario: string;
  /** Files of the scenario's folder, shipped in a ConfigMap and mounted at /scenario; none for a built-in scenario. */
  shipsFiles: boolean;
  target: string;
  allowTargets: string[];
  scale: number;
  seed: number;
  shards: number;
  image: string;
  /** Seconds from applying the Jobs to the shared start: time for pods to be scheduled and pull the image. */
  leadSeconds: number;
  cpu: string;
  memory: string;
  /** Further `firstbell run` flags, as the user wrote them. */
  runArgs: string[];
}

export interface ShardJobExport {
  shards: string;
  merge: string;
  volume: string;
  start: string;
}

/** The placeholder that start.sh replaces with the shared start instant. */
export const START_AT_PLACEHOLDER = '__START_AT__';

/** One argument quoted for sh, when it needs it. */
export function shQuote(a: string): string {
  return /^[A-Za-z0-9_@%+=:,./-]+$/.test(a) ? a : `'${a.replace(/'/g, `'\\''`)}'`;
}

/** A YAML string: JSON's quoting is valid YAML. */
const y = (s: string) => JSON.stringify(s);

/** The shell line pod `$JOB_COMPLETION_INDEX` runs: its shard of the schedule, from $START_AT, into the shared volume. */
export function shardCommand(o: ShardJobOptions): string {
  const args = [
    'run', o.scenario, '--target', o.target, ...o.allowTargets.flatMap((h) => ['--allow-target', h]), '--scale', String(o.scale), '--seed', String(o.seed),
  ].map(shQuote);
  // export k8s checked the scenario and its journey; the pods load them as they are, so that they are ready by START_AT.
  return `exec firstbell ${args.join(' ')} --shard "$((JOB_COMPLETION_INDEX + 1))/${o.shards}" --start-at "$START_AT" --out "/runs/${o.name}/$START_AT" --no-progress --no-typecheck${o.runArgs.length ? ' ' + o.runArgs.map(shQuote).join(' ') : ''}`;
}

function podSpec(o: ShardJobOptions, container: string, command: string, resources: boolean): string {
  // The image runs as its user node (uid and gid 1000): the volume is made writable for that group.
  return `      restartPolicy: Never
      securityContext: { fsGroup: 1000 }
      containers:
        - name: ${container}
          image: ${y(o.image)}
          command: ["sh", "-c"]
          args:
            - ${y(command)}
          env:
            - name: START_AT
              value: ${y(START_AT_PLACEHOLDER)}
${resources ? `          resources:
            requests: { cpu: ${y(o.cpu)}, memory: ${y(o.memory)} }
            limits: { memory: ${y(o.memory)} }
` : ''}          volumeMounts:
            - { name: runs, mountPath: /runs }
${o.shipsFiles ? '            - { name: scenario, mountPath: /scenario, readOnly: true }\n' : ''}      volumes:
        - name: runs
          persistentVolumeClaim: { claimName: ${y(`${o.name}-runs`)} }
${o.shipsFiles ? `        - name: scenario\n          configMap: { name: ${y(`${o.name}-scenario`)} }\n` : ''}`;
}

/** The manifests and start script for `shards` pods of one scenario. */
export function exportShardJobs(o: ShardJobOptions): ShardJobExport {
  const labels = `    app.kubernetes.io/name: firstbell\n    firstbell.run: ${y(o.name)}`;
  const shards = `# firstbell ${VERSION}: ${o.shards} shards of ${o.scenario} at scale ${o.scale}, seed ${o.seed}, against ${o.target}.
# Pod i (JOB_COMPLETION_INDEX i − 1) sends every ${o.shards}th arrival from the ith on; all start at START_AT, which
# start.sh sets ${o.leadSeconds} s after it applies this Job. Each writes its run folder to the shared volume.
# A shard that fails is not retried (it would start late): the merge names it instead.
apiVersion: batch/v1
kind: Job
metadata:
  name: ${y(o.name)}
  labels:
${labels}
spec:
  completionMode: Indexed
  completions: ${o.shards}
  parallelism: ${o.shards}
  backoffLimit: 0
  template:
    metadata:
      labels:
${labels.replace(/^ {4}/gm, '        ')}
    spec:
${podSpec(o, 'shard', shardCommand(o), true)}`;
  const merge = `# firstbell ${VERSION}: merges the run folders of ${o.name}'s shards into one run folder and report, beside them.
# Exit 0: every layer met its objectives; 99: not met, or a shard missing or failed (named in the report).
apiVersion: batch/v1
kind: Job
metadata:
  name: ${y(`${o.name}-merge`)}
  labels:
${labels}
spec:
  backoffLimit: 0
  template:
    spec:
${podSpec(o, 'merge', `exec firstbell merge "/runs/${o.name}/$START_AT"/*-shard-* --out "/runs/${o.name}/$START_AT"`, false)}`;
  const volume = `# The volume every shard writes its run folder to, and the merge reads them from: ReadWriteMany (NFS, CephFS, EFS,
# Azure Files, Filestore …); set storageClassName to such a class of your cluster.
apiVersion: v1
kind: PersistentVolumeClaim
metadata:
  name: ${y(`${o.name}-runs`)}
  labels:
${labels}
spec:
  accessModes: [ReadWriteMany]
  resources:
    requests:
      storage: 10Gi
`;
  const start = `#!/bin/sh
# Starts ${o.name}: ${o.shards} shard pods that all send from one instant (LEAD s from now, default ${o.leadSeconds}),
# waits for them, then merges their run folders into one report on the volume ${o.name}-runs.
set -eu
cd "$(dirname "$0")"
LEAD=\${LEAD:-${o.leadSeconds}}
T=$(( $(date -u +%s) + LEAD ))
START_AT=$(date -u -d "@$T" +%Y-%m-%dT%H:%M:%SZ 2>/dev/null || date -u -r "$T" +%Y-%m-%dT%H:%M:%SZ)
kubectl apply -f volume.yaml
${o.shipsFiles ? `kubectl create configmap ${o.name}-scenario --from-file=scenario/ --dry-run=client -o yaml | kubectl apply -f -\n` : ''}kubectl delete job ${o.name} ${o.name}-merge --ignore-not-found
sed "s/${START_AT_PLACEHOLDER}/$START_AT/g" shards.yaml | kubectl apply -f -
echo "${o.shards} shards start at $START_AT"
while :; do
  state=$(kubectl get job ${o.name} -o jsonpath='{.status.conditions[*].type}')
  case "$state" in *Complete*|*Failed*) break ;; esac
  sleep 5
done
echo "shards ended ($state); merging"
sed "s/${START_AT_PLACEHOLDER}/$START_AT/g" merge.yaml | kubectl apply -f -
kubectl wait --for=condition=complete --timeout=1800s job/${o.name}-merge >/dev/null 2>&1 || true
kubectl logs job/${o.name}-merge
[ "$(kubectl get job ${o.name}-merge -o jsonpath='{.status.succeeded}')" = "1" ] || exit 99
`;
  return { shards, merge, volume, start };
}
