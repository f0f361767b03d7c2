// A journey handed to k6, a built-in kind's as a user's: bundled with firstbell's k6 runtime (the vu API on k6/http, k6/websockets and
// k6/timers) into one script, with the scenario's arrivals as k6 options and a k6-operator TestRun; what k6 cannot do is refused at export.
import { readFileSync } from 'node:fs';
import { isIP } from 'node:net';
import { dirname, join } from 'node:path';
import type { BuildFailure, Metafile, Plugin } from 'esbuild';
import type { JourneyDefinition } from '../api/journey.js';
import { DEFAULT_MAX_ANSWER_BYTES } from '../api/sample.js';
import { stepDecls } from '../api/vu.js';
import { PACKAGE_ROOT, VERSION } from '../lib/version.js';
import { loadRows } from '../modules/data.js';
import { shown as shownPath } from '../modules/bundle.js';
import { loadJourney } from '../modules/journey.js';
import { builtInJourney, builtInSource, type TargetKind } from '../targets/index.js';
import { optionHow, resolveOptions, shownOptions, shownTarget } from '../targets/platform.js';
import { arrivalsPerSecond, buildSchedule, type Schedule } from '../plan/schedule.js';
import { LAYERS, ProblemsError, type Layer, type Problem, type ResolvedScenario } from '../scenarios/model.js';
import { everyAddressBut } from './addresses.js';
import { K6_RUN_TAGS, K6_STEP_METRIC, K6_TAGS, stepsTag } from './names.js';
import type { JourneyRun } from './runtime/participant.js';
import type { JourneyPeople } from './runtime/people.js';
import { maxOf } from '../lib/numbers.js';

/** firstbell's k6 runtime: the vu API inside k6, typed against @types/k6. */
export const K6_RUNTIME = join(PACKAGE_ROOT, 'k6', 'runtime');

/** The entry of every script: the runtime's, bound to the journey and the run. */
const K6_ENTRY = join(K6_RUNTIME, 'entry.ts');

/** Globals a Node.js journey may use that k6 does not have, and what to use instead. */
const NOT_IN_K6: Record<string, string> = {
  URL: 'vu.target and plain strings (k6 has no URL class)',
  URLSearchParams: 'a query string built by hand, with encodeURIComponent',
  fetch: 'vu.http.request',
  Buffer: 'strings, or ArrayBuffer',
  process: 'values in the scenario or the journey',
  require: 'import',
  setImmediate: 'setTimeout(f, 0)',
  structuredClone: 'JSON.parse(JSON.stringify(x))',
};

export interface JourneyK6Options {
  scenario: ResolvedScenario;
  seed: number;
  target: URL;
  /** The journey: a module (defineJourney), absolute, or a built-in kind. */
  journey: { module: string } | { kind: TargetKind };
  /** False: the journey module is not type-checked against firstbell's types first. */
  typecheck?: boolean;
  /** The journey's options as the user gave them; the rest from the environment and the defaults. */
  options?: Readonly<Record<string, string | number>>;
  parallelism: number;
  /** Hosts beyond loopback and the target that the script's participants may connect to (--allow-target). */
  allowHosts?: readonly string[];
  /** Most bytes of one answer a participant takes (--max-answer); default 8 MB, as in firstbell's own runs. */
  maxAnswerBytes?: number;
}

/** What the script's entry binds: the k6 options and what every participant needs ('firstbell-run'), and the plan's people ('firstbell-people'). */
export interface K6RunConfig {
  options: Record<string, unknown>;
  run: JourneyRun;
  people: JourneyPeople;
}

export interface JourneyK6Export {
  script: string;
  manifest: string;
  /** Name used for the TestRun, ConfigMap and files, e.g. firstbell-monday-0800. */
  name: string;
  /** The journey module bundled, absolute. */
  journey: string;
  /** The run bound into the script. */
  config: K6RunConfig;
  /** Things of the journey or scenario that the script leaves out (browser users, faults), for the user to know. */
  notes: string[];
}

/** What a scenario asks of the load that the script cannot carry; each a problem naming the way out. */
function scenarioProblems(s: ResolvedScenario): Problem[] {
  const problems: Problem[] = [];
  const retry = s.client.retry;
  if (retry && retry.kind !== 'none') {
    problems.push({ where: `scenario ${s.name}: client.retry`, message: `k6 runs each participant's journey once; the ${retry.kind} retry policy is not in the script`, hint: "run the scenario with firstbell (firstbell run …), or export it without the retry policy" });
  }
  return problems;
}

/**
 * Where the code a k6 script runs uses a global k6 does not have, by the TypeScript parser: of the journey's own file,
 * its `journey` and what that uses of the file (its faults and preflight run in firstbell, not in k6); of every other
 * file of the bundle, all of it.
 */
async function globalsK6Lacks(file: string, journeyFile: string): Promise<Problem[]> {
  const ts = (await import('typescript')).default;
  const src = ts.createSourceFile(file, readFileSync(file, 'utf8'), ts.ScriptTarget.ES2022, true);
  const problems: Problem[] = [];
  // The file's top-level functions and constants by name, each visited once, when something that runs uses it.
  const top = new Map<string, import('typescript').Node>();
  for (const st of src.statements) {
    if (ts.isFunctionDeclaration(st) && st.name) top.set(st.name.text, st);
    if (ts.isVariableStatement(st)) for (const d of st.declarationList.declarations) if (ts.isIdentifier(d.name)) top.set(d.name.text, d);
  }
  const seen = new Set<import('typescript').Node>();
  const visit = (n: import('typescript').Node) => {
    if (ts.isIdentifier(n) && Object.hasOwn(NOT_IN_K6, n.text) && usedAsGlobal(ts, n)) {
      const line = src.getLineAndCharacterOfPosition(n.getStart(src)).line + 1;
      problems.push({ where: `${shownPath(file)}:${line}`, message: `uses ${n.text}, which k6 does not have (k6 runs JavaScript, not Node.js)`, hint: `use ${NOT_IN_K6[n.text]}` });
    }
    const used = ts.isIdentifier(n) ? top.get(n.text) : undefined;
    if (used && !seen.has(used)) {
      seen.add(used);
      visit(used);
    }
    ts.forEachChild(n, visit);
  };
  const runs = file === journeyFile ? journeyPart(ts, src) : undefined;
  visit(runs ?? src);
  return problems;
}

/** The `journey` of a file's defineJourney: what a k6 script runs of it; undefined when there is none to be found. */
function journeyPart(ts: typeof import('typescript'), src: import('typescript').SourceFile): import('typescript').Node | undefined {
  let found: import('typescript').Node | undefined;
  const find = (n: import('typescript').Node) => {
    if (!found && (ts.isPropertyAssignment(n) || ts.isMethodDeclaration(n) || ts.isShorthandPropertyAssignment(n)) && n.name.getText(src) === 'journey') found = n;
    if (!found) ts.forEachChild(n, find);
  };
  find(src);
  return found;
}

/** An identifier that names a global value: not a property, a declaration, an import or a type. */
function usedAsGlobal(ts: typeof import('typescript'), n: import('typescript').Identifier): boolean {
  const p = n.parent;
  if ((ts.isPropertyAccessExpression(p) && p.name === n) || (ts.isPropertyAssignment(p) && p.name === n) || (ts.isMethodDeclaration(p) && p.name === n)) return false;
  if ((ts.isVariableDeclaration(p) || ts.isParameter(p) || ts.isFunctionDeclaration(p) || ts.isClassDeclaration(p) || ts.isPropertyDeclaration(p)) && p.name === n) return false;
  if (ts.isImportSpecifier(p) || ts.isImportClause(p) || ts.isNamespaceImport(p) || ts.isTypeReferenceNode(p) || ts.isQualifiedName(p) || ts.isTypeQueryNode(p)) return false;
  if (ts.isPropertySignature(p) || ts.isMethodSignature(p) || ts.isBindingElement(p)) return false;
  return true;
}

/** A bundling failure as problems naming the file, the line and what k6 would need instead. */
function bundleProblems(failure: BuildFailure, journey: string): Problem[] {
  return failure.errors.map((m): Problem => {
    const where = m.location ? `${shownPath(m.location.file.startsWith('/') ? m.location.file : join(dirname(journey), m.location.file))}:${m.location.line}` : shownPath(journey);
    const node = /Could not resolve "((node:)?[a-z_]+)"/.exec(m.text);
    const missing = /No matching export in ".*firstbell\.ts" for import "([^"]+)"/.exec(m.text);
    const crypto = /No matching export in ".*crypto\.ts" for import "([^"]+)"/.exec(m.text);
    if (node) return { where, message: `imports ${node[1]}, which k6 does not have (k6 runs JavaScript, not Node.js)`, hint: 'do it with the vu API (vu.http, vu.ws) or without that module' };
    if (crypto) return { where, message: `imports ${crypto[1]} from node:crypto, which a k6 script does not have`, hint: 'in k6, node:crypto has createHash and createHmac (on k6/crypto)' };
    if (missing) return { where, message: `imports ${missing[1]} from 'firstbell', which a k6 script does not have`, hint: 'a journey exported to k6 may use defineJourney, extract, the errors, identities and the types of the vu API' };
    return { where, message: m.text, hint: m.location?.lineText ? `fix this line: ${m.location.lineText.trim().slice(0, 120)}` : 'fix the module so that it compiles' };
  });
}

/** The journey's own files among a bundle's inputs: neither its npm packages nor firstbell's. */
function ownFiles(meta: Metafile, cwd: string): string[] {
  return Object.keys(meta.inputs)
    .filter((f) => !f.startsWith('firstbell-run:'))
    .map((f) => (f.startsWith('/') ? f : join(cwd, f)))
    .filter((f) => !f.includes('/node_modules/') && !f.startsWith(K6_RUNTIME) && !f.startsWith(join(PACKAGE_ROOT, 'api')) && !f.startsWith(join(PACKAGE_ROOT, 'k6')));
}

/** The journey's definition and its source file: a built-in kind's from the registry, a module's loaded and checked. */
async function journeyOf(j: JourneyK6Options['journey'], typecheck = true): Promise<{ def: JourneyDefinition; file: string; shown: string }> {
  if ('kind' in j) {
    return { def: builtInJourney(j.kind), file: builtInSource(j.kind), shown: `the built-in ${j.kind} journey` };
  }
  return { def: (await loadJourney(j.module, typecheck)).def, file: j.module, shown: `the journey ${shownPath(j.module)}` };
}

/** Bundles a journey into one k6 script, with the scenario's arrivals; problems are refused before anything is written. */
export async function exportJourneyK6(o: JourneyK6Options): Promise<JourneyK6Export> {
  const s = o.scenario;
  const { def, file, shown } = await journeyOf(o.journey, o.typecheck);
  const { values, problems } = resolveOptions(def, o.options ?? {}, process.env, shown);
  problems.push(...scenarioProblems(s));
  if (problems.length) throw new ProblemsError(problems);
  const decls = stepDecls(def.steps, values);
  const schedule = buildSchedule(s, o.seed);
  const kind = 'kind' in o.journey ? o.journey.kind : 'journey';
  const { options, vus, peak } = arrivalOptions(s, o.seed, o.target, kind, schedule, { [K6_RUN_TAGS.steps]: stepsTag(decls) });
  const rows = s.data ? await loadRows(s.data, schedule.offsetsMs.length) : undefined;
  const secret = Object.entries(def.options ?? {}).filter(([, x]) => x.secret);
  const secretEnv = Object.fromEntries(secret.map(([name, x]) => [name, x.env ?? `FIRSTBELL_${name.toUpperCase()}`]));
  const allowedHosts = [o.target.hostname, ...(o.allowHosts ?? [])].map((h) => h.replace(/^\[|\]$/g, '').toLowerCase());
  const blacklistIPs = everyAddressBut(allowedHosts);
  const names = allowedHosts.filter((h) => h !== 'localhost' && !isIP(h));
  const run: JourneyRun = {
    population: { schools: s.population.schools, participantsPerConference: s.population.participantsPerConference },
    client: s.client, target: o.target.href, endMs: schedule.endMs, options: shownOptions(def, values), allowedHosts, maxAnswerBytes: o.maxAnswerBytes ?? DEFAULT_MAX_ANSWER_BYTES,
    ...(secret.length ? { secretEnv } : {}), ...(rows ? { reuseRows: s.data?.reuse ?? false } : {}),
  };
  const people: JourneyPeople = {
    population: s.population, phases: s.phases.map((p) => ({ participants: p.participants, ...(p.classes ? { classes: p.classes } : {}), ...(p.leaveAtMs !== undefined ? { leaveAtMs: p.leaveAtMs } : {}) })),
    firstBellAtMs: schedule.firstBellAtMs, order: orderOf(schedule.phaseOf), ...(rows ? { rows } : {}),
  };
  const config: K6RunConfig = { options: { ...options, ...(blacklistIPs ? { blacklistIPs } : {}) }, run, people };
  const cwd = dirname(file);
  const { code, meta } = await bundle(config, cwd, file);
  const lacks = (await Promise.all(ownFiles(meta, cwd).map((f) => globalsK6Lacks(f, file)))).flat();
  if (lacks.length) throw new ProblemsError(lacks);
  const notes = [
    ...(def.webClient ? ['the journey\'s web client is not in the script: k6 sends protocol users only (browser users run with firstbell --browsers)'] : []),
    ...(s.faults?.length ? ["the scenario's faults are not in the script: k6 sends the load only"] : []),
    ...secret.map(([name, x]) => `the option '${name}' (${optionHow(name, x)}) is secret and not in the script: give it to k6 as -e ${secretEnv[name]}=…`),
    ...(blacklistIPs ? [] : [`${names.join(', ')} ${names.length === 1 ? 'is a name' : 'are names'}: k6 keeps to the allow-list by the script's own checks of every URL (k6's blacklistIPs needs addresses; give --target and --allow-target as addresses for k6 to refuse every other address itself)`]),
  ];
  // The TestRun's, ConfigMap's and files' name.
  const name = `firstbell-${s.name}`.toLowerCase().replace(/[^a-z0-9-]+/g, '-').slice(0, 50);
  const header = `// k6 script exported by firstbell ${VERSION}: scenario ${s.name} at scale ${s.scale}, seed ${o.seed}, ${shown} against ${o.target.href}.
// ${schedule.offsetsMs.length} participants, peak ${peak} arrivals/s; ${vus} VUs allocated before the start. The journey is bundled with
// firstbell's k6 runtime (the vu API on k6/http, k6/websockets and k6/timers). Run: k6 run --out csv=results.csv script.js
// (k6 >= 1.2: older k6 hands a journey's catch the wrong value, and failed steps lose their kind); read back: firstbell import k6 results.csv${kind === 'journey' ? ' --scenario <the scenario file>' : ''}
`;
  const script = header + code;
  if (script.length > CONFIGMAP_BYTES) notes.push(`the script is ${(script.length / 1024 / 1024).toFixed(1)} MB, more than a ConfigMap holds (1 MiB): give it to the TestRun from a volume (spec.script.volumeClaim) instead`);
  return { script, manifest: testRunManifest(name, o.parallelism, 'script.js'), name, journey: file, config, notes };
}

/** The runtime's entry bound to the journey and the run: the two modules it imports by name. */
function binding(config: K6RunConfig, journey: string): Plugin {
  return {
    name: 'firstbell-k6-binding',
    setup(b) {
      b.onResolve({ filter: /^firstbell-journey$/ }, () => ({ path: journey }));
      b.onResolve({ filter: /^firstbell-(run|people)$/ }, (a) => ({ path: a.path, namespace: 'firstbell-run' }));
      // node:crypto's hashes are k6/crypto's in a script.
      b.onResolve({ filter: /^(node:)?crypto$/ }, () => ({ path: join(K6_RUNTIME, 'crypto.ts') }));
      // As data, laid out for a person reading the script: its options first. The people as one JSON text: each
      // VU holds the same string, which the SharedArray parses once per k6 instance.
      b.onLoad({ filter: /^firstbell-run$/, namespace: 'firstbell-run' }, () => ({ contents: `export default ${JSON.stringify({ options: config.options, run: config.run }, null, 2)};`, loader: 'js' }));
      b.onLoad({ filter: /^firstbell-people$/, namespace: 'firstbell-run' }, () => ({ contents: `export default ${JSON.stringify(JSON.stringify(config.people))};`, loader: 'js' }));
    },
  };
}

/** The runtime's entry bundled into one ES module for k6: the runtime, the journey and its imports; k6's own modules stay imports. */
async function bundle(config: K6RunConfig, cwd: string, file: string): Promise<{ code: string; meta: Metafile }> {
  const { build } = await import('esbuild');
  try {
    const out = await build({
      entryPoints: [K6_ENTRY],
      bundle: true, format: 'esm', platform: 'neutral', target: 'es2017', write: false, metafile: true, logLevel: 'silent', absWorkingDir: cwd,
      mainFields: ['module', 'main'], external: ['k6', 'k6/*'], alias: { firstbell: join(K6_RUNTIME, 'firstbell.ts') }, plugins: [binding(config, file)],
    });
    return { code: out.outputFiles[0]!.text, meta: out.metafile };
  } catch (e) {
    const failure = e as BuildFailure;
    if (!Array.isArray(failure.errors)) throw e;
    throw new ProblemsError(bundleProblems(failure, file));
  }
}

/** Most bytes of a ConfigMap, which a TestRun takes its script from. */
const CONFIGMAP_BYTES = 1024 * 1024;

/** The phase of each arrival in the schedule's order, as the script's people carry it: little-endian 16-bit numbers in base64. */
function orderOf(phaseOf: Uint16Array): string {
  const b = Buffer.alloc(phaseOf.length * 2);
  phaseOf.forEach((p, i) => b.writeUInt16LE(p, i * 2));
  return b.toString('base64');
}

/** VUs beyond the participants under way at once: k6 needs a little room while one iteration ends and the next starts. */
export const K6_VU_MARGIN = { share: 0.05, plus: 10 };

/** k6 stages for the schedule: a step function, one level per second, each jump a stage of duration 0, equal seconds one stage. */
export function k6Stages(perSecond: number[]): { duration: string; target: number }[] {
  const stages: { duration: string; target: number }[] = [];
  let level = 0;
  for (const n of perSecond) {
    const last = stages[stages.length - 1];
    if (n === level && last && last.duration !== '0s') last.duration = `${parseInt(last.duration, 10) + 1}s`;
    else stages.push(...(n !== level ? [{ duration: '0s', target: n }] : []), { duration: '1s', target: n });
    level = n;
  }
  return stages;
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

/** The most participants that have arrived and not yet left (a timetable's lesson end) at any one time. */
export function peakUnderWay(s: ResolvedScenario, schedule: Schedule): number {
  const leaves = s.phases.flatMap((p) => (p.leaveAtMs !== undefined ? [{ atMs: schedule.firstBellAtMs + p.leaveAtMs, n: p.participants }] : [])).sort((a, b) => a.atMs - b.atMs);
  let here = 0;
  let peak = 0;
  let next = 0;
  for (const at of schedule.offsetsMs) {
    while (next < leaves.length && leaves[next]!.atMs <= at) here -= leaves[next++]!.n;
    peak = Math.max(peak, ++here);
  }
  return peak;
}

/** k6's options for a scenario's arrivals: its stages, a VU for everyone under way at once, its objectives, and tags saying what ran. */
export function arrivalOptions(s: ResolvedScenario, seed: number, target: URL, kind: string, schedule: Schedule, tags: Record<string, string> = {}) {
  const perSecond = arrivalsPerSecond(schedule);
  // Every participant that holds stays until the run's end or its lesson's: all who have come and not left can be
  // under way at once. k6 starts VUs beyond the pre-allocated ones too slowly for a spike, so every one is allocated up front.
  const underWay = peakUnderWay(s, schedule);
  const vus = Math.ceil(underWay * (1 + K6_VU_MARGIN.share)) + K6_VU_MARGIN.plus;
  const options = {
    tags: {
      [K6_RUN_TAGS.scenario]: s.name,
      [K6_RUN_TAGS.scale]: String(s.scale),
      [K6_RUN_TAGS.seed]: String(seed),
      [K6_RUN_TAGS.target]: shownTarget(target),
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
        // k6 cannot cancel a request: one a participant left under way (a Janus long poll a step gave up on) ends
        // within its timeout, the step timeout, and its iteration then, rather than being cut off as interrupted.
        gracefulStop: `${Math.ceil(s.client.stepTimeoutMs / 1000) + 5}s`,
        exec: 'journey',
      },
    },
    thresholds: thresholds(s),
    summaryTrendStats: ['avg', 'p(50)', 'p(95)', 'p(99)', 'max'],
  };
  return { options, vus, peak: maxOf(perSecond, 1) };
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
    # k6 1.2.0 or later: in older k6 a journey's failed steps lose their kind.
    image: grafana/k6:1.2.0
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
