// merge and export k8s: firstbell's own shards, merged into one run, and run as pods of a Kubernetes Indexed Job.
import { copyFileSync, lstatSync, mkdirSync, readdirSync, statSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import { Command, Option } from 'commander';
import { exportShardJobs } from '../kubernetes/jobs.js';
import { VERSION } from '../lib/version.js';
import { writeReport } from '../reports/build-report.js';
import { mergeShards } from '../run-folder/merge.js';
import { shardState } from '../run-folder/run-folder.js';
import { writeFileAtomic } from '../run-folder/writer.js';
import { isScenarioFile } from '../modules/scenario.js';
import { moduleFiles } from '../modules/bundle.js';
import { buildPlan } from '../plan/plan.js';
import { platformOfInput } from '../modules/journey.js';
import type { ResolvedScenario } from '../scenarios/model.js';
import { sizingOf } from '../plan/sizing.js';
import { journeyCost, sizingLine } from './plan.js';
import { targetUrl } from '../targets/platform.js';
import { isTargetKind, TARGET_KINDS } from '../targets/index.js';
import { allowTargetOption, EXIT, parseNumber, requireTarget, scaleOption, scenarioByName, seedOption, printVerdict, shownPath, UsageError, writableFolder, type Io, type SetAction } from './shared.js';

/** What a ConfigMap may hold, with room for its own fields. */
const CONFIGMAP_BYTES = 1_000_000;

/** The files of a scenario's folder that go into the ConfigMap the pods mount; everything the scenario names must be among them. */
function scenarioFiles(file: string, named: (string | undefined)[]): string[] {
  const dir = dirname(file);
  for (const f of named) {
    if (f !== undefined && dirname(resolve(f)) !== dir) {
      throw new UsageError(`${f}: the pods get the scenario's own folder (${dir}) only; put the journey and data files the scenario names beside it`);
    }
  }
  const entries = readdirSync(dir).map((n) => join(dir, n));
  // A link could ship a file from elsewhere on this machine (a password file, a key) to the cluster.
  const link = entries.find((p) => lstatSync(p).isSymbolicLink());
  if (link) throw new UsageError(`${link}: a symbolic link in the scenario's folder, whose files are shipped to the pods as they are; replace it with a copy of the file it points to, or give the scenario a folder of its own`);
  const files = entries.filter((p) => statSync(p).isFile());
  const bytes = files.reduce((a, p) => a + statSync(p).size, 0);
  if (bytes > CONFIGMAP_BYTES) throw new UsageError(`${dir}: its files come to ${Math.round(bytes / 1000)} kB, more than a ConfigMap holds (1 MB); give the scenario a folder of its own with only what it needs`);
  return files;
}

/** Refuses a journey that imports a file the pods do not get: one outside the scenario's folder, in a folder of it, or an npm package's. */
async function journeyShipped(journey: string, files: readonly string[]): Promise<void> {
  const shipped = new Set(files);
  for (const f of await moduleFiles(journey)) {
    if (shipped.has(f)) continue;
    const pkg = /\/node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(f)?.[1];
    throw new UsageError(pkg
      ? `${journey}: imports the package '${pkg}', which the pods do not have (they get the scenario's folder and the image's firstbell); copy what the journey needs of it into a file beside the journey`
      : `${journey}: imports ${f}, which the pods do not get: a ConfigMap carries only the files beside the scenario, no folders; put it beside ${basename(journey)}`);
  }
}

/** merge, and export k8s (beside export k6). */
export function addShardCommands(program: Command, exporter: Command, io: Io, setAction: SetAction): void {
  program
    .command('merge')
    .description("merge the run folders of a run's shards (firstbell run --shard i/N --start-at T) into one run folder and report; a missing or failed shard is named and the verdict is not confirmed")
    .argument('<run-dirs...>', "every shard's run folder")
    .option('--out <dir>', 'folder that receives the merged run folder (default: the folder the first shard is in)')
    .option('--json', 'print only summary.json on stdout')
    .action((dirs: string[], o: { out?: string; json?: boolean }) =>
      setAction(async () => {
        const cwd = io.cwd ?? process.cwd();
        const given = dirs.map((d) => resolve(cwd, d));
        const out = writableFolder('--out', o.out ?? dirname(given[0]!), cwd);
        const merged = await mergeShards(given, out, { signal: io.signal });
        const { analysis, reportPath } = await writeReport(merged.dir, { signal: io.signal });
        const s = merged.shards;
        return printVerdict(io, analysis, shownPath(io, reportPath), o.json, [
          `merged ${s.members.length} of ${s.count} shards started at ${s.startAt}`,
          ...s.members.map((m) => `  shard ${m.index}: ${shardState(m.status)}, start skew ${m.startSkewMs ?? '—'} ms, ${m.arrivalsSent} of ${m.arrivalsPlanned} arrivals sent, worst CPU ${m.worstCpuPct} %, ${shownPath(io, m.dir)}`),
          ...s.missing.map((m) => `  shard ${m.index}: MISSING (${m.why})`),
        ]);
      }),
    );

  exporter
    .command('k8s')
    .description("write a Kubernetes Indexed Job whose pod i runs shard i of a scenario from one shared instant, the merge Job, their volume, and start.sh")
    .argument('<scenario>', 'built-in scenario name, or a scenario file (its folder is shipped to the pods in a ConfigMap)')
    .option('--target <url>', 'base URL of the platform as the pods reach it (required)')
    .addOption(allowTargetOption())
    .addOption(scaleOption())
    .addOption(seedOption())
    .addOption(new Option('--shards <n>', "pods, each sending every n-th arrival (default: what the peak second needs at --cost-from's cost per journey, else 4)").argParser(parseNumber('--shards', 1, 1000, true)))
    .option('--cost-from <run-dir>', 'an earlier run of the same journey: what a journey costs, for the shards the peak second needs')
    .option('--image <ref>', 'container image with firstbell on its PATH (see the Dockerfile)', `firstbell:${VERSION}`)
    .addOption(new Option('--lead <s>', 'seconds from applying the Job to the shared start: time for the pods to be scheduled and pull the image').argParser(parseNumber('--lead', 10, 3600, true)).default(90))
    .option('--cpu <cores>', "each shard pod's CPU request", '2')
    .option('--memory <size>', "each shard pod's memory request and limit (firstbell holds a participant in about 8 kB)", '2Gi')
    .option('--run-arg <flag>', "a further 'firstbell run' flag for every shard, e.g. --run-arg=--objective=broker.p95=2s (repeatable)", (v: string, acc: string[]) => [...acc, v], [] as string[])
    .option('--out <dir>', 'folder to write the files into (default: k8s/<name>)')
    .action((name: string, o: { target: string; allowTarget: string[]; scale: number; seed: number; shards?: number; costFrom?: string; image: string; lead: number; cpu: string; memory: string; runArg: string[]; out?: string }) =>
      setAction(async () => {
        requireTarget(o.target);
        const cwd = io.cwd ?? process.cwd();
        const file = isScenarioFile(name) ? resolve(cwd, name) : undefined;
        // The scenario is loaded here so that a mistake in it shows now, not in every pod.
        const scenario = await scenarioByName(file ?? name, o.scale);
        targetUrl(o.target, o.allowTarget);
        if (!/^[0-9]+(\.[0-9]+)?m?$/.test(o.cpu)) throw new UsageError(`--cpu ${o.cpu}: give cores as Kubernetes writes them, e.g. 2 or 1500m`);
        if (!/^[0-9]+(\.[0-9]+)?(Ki|Mi|Gi|Ti|k|M|G|T)?$/.test(o.memory)) throw new UsageError(`--memory ${o.memory}: give a size as Kubernetes writes it, e.g. 2Gi or 512Mi`);
        const files = file ? scenarioFiles(file, [scenario.journey, scenario.data?.csv]) : [];
        if (file && scenario.journey) await journeyShipped(resolve(scenario.journey), files);
        const kind = kindOfRunArgs(o.runArg);
        if (kind !== undefined && !isTargetKind(kind)) throw new UsageError(`--run-arg --target-kind ${kind || 'with no kind after it'}: not a built-in journey; use one of ${TARGET_KINDS.join(', ')}`);
        if (kind !== undefined && scenario.journey) throw new UsageError(`--run-arg --target-kind ${kind} and the scenario's journey (${scenario.journey}) both say how to talk to the target; give one of them`);
        const shards = o.shards ?? (o.costFrom ? await shardsNeeded(io, o.costFrom, scenario, { ...o, kind }) : DEFAULT_SHARDS);
        const jobName = `firstbell-${scenario.name}`.toLowerCase().replace(/[^a-z0-9-]+/g, '-').replace(/-+$/, '').slice(0, 50);
        const e = exportShardJobs({
          name: jobName, scenario: file ? `/scenario/${basename(file)}` : name, shipsFiles: files.length > 0, target: o.target, allowTargets: o.allowTarget,
          scale: o.scale, seed: o.seed, shards, image: o.image, leadSeconds: o.lead, cpu: o.cpu, memory: o.memory, runArgs: o.runArg,
        });
        const dir = writableFolder('--out', o.out ?? join('k8s', jobName), cwd);
        const written = Object.entries({ 'shards.yaml': e.shards, 'merge.yaml': e.merge, 'volume.yaml': e.volume, 'start.sh': e.start }).map(([f, text]) => (writeFileAtomic(join(dir, f), text), join(dir, f)));
        if (files.length) {
          mkdirSync(join(dir, 'scenario'), { recursive: true });
          for (const f of files) copyFileSync(f, join(dir, 'scenario', basename(f)));
          written.push(join(dir, 'scenario') + '/');
        }
        io.stdout.write(written.join('\n') + '\n');
        io.stderr.write(`start it: sh ${join(dir, 'start.sh')}   (kubectl with a cluster whose storage class offers ReadWriteMany volumes; image ${o.image})\n`);
        return EXIT.ok;
      }),
    );
}

/** The built-in journey that --run-arg names for every pod (`--target-kind=http`, or `--target-kind` and `http` as two). */
function kindOfRunArgs(runArgs: readonly string[]): string | undefined {
  for (let i = 0; i < runArgs.length; i++) {
    if (runArgs[i] === '--target-kind') return runArgs[i + 1] ?? '';
    if (runArgs[i]!.startsWith('--target-kind=')) return runArgs[i]!.slice('--target-kind='.length);
  }
  return undefined;
}

/** Shards when neither --shards nor --cost-from says how many. */
const DEFAULT_SHARDS = 4;

/**
 * The shards the scenario's peak second needs at the cost per journey of an earlier run, each pod giving `cpu` cores;
 * its participants under way count where the journey the pods run holds them (the scenario's, else the built-in `kind`
 * their --run-arg names, else the reference platform's).
 */
async function shardsNeeded(io: Io, costFrom: string, scenario: ResolvedScenario, o: { seed: number; cpu: string; target: string; allowTarget: string[]; kind?: string }): Promise<number> {
  const cost = await journeyCost(io, costFrom, false, scenario);
  const cores = o.cpu.endsWith('m') ? Number(o.cpu.slice(0, -1)) / 1000 : Number(o.cpu);
  const platform = await platformOfInput({ journey: scenario.journey ?? o.kind ?? 'reference', target: o.target }, { allowHosts: o.allowTarget });
  const z = sizingOf(buildPlan(scenario, o.seed), cost!, Math.max(1, Math.floor(cores)), platform.holds !== false);
  io.stderr.write(`${sizingLine(z, 0).trim()}\n`);
  return Math.min(1000, z.shards);
}
