// A user's journey handed to k6: bundled with firstbell's k6 runtime (the vu API on k6/http, k6/websockets and
// k6/timers) into one script, with the scenario's arrivals as k6 options; what k6 cannot do is refused at export.
import { readFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import type { BuildFailure, Metafile } from 'esbuild';
import type { JourneyDefinition } from '../api/journey.js';
import { stepDecls, type StepDecl } from '../api/target.js';
import { PACKAGE_ROOT, VERSION } from '../lib/version.js';
import { loadRows } from '../modules/data.js';
import { loadJourney } from '../modules/journey.js';
import { buildSchedule } from '../plan/schedule.js';
import { ProblemsError, type Problem, type ResolvedScenario } from '../scenarios/model.js';
import { arrivalOptions, k6Name, testRunManifest, type K6Export } from './export.js';
import { K6_RUN_TAGS } from './names.js';

/** The name the script's entry has while it is bundled. */
const ENTRY_NAME = 'firstbell-k6-entry.ts';

/** firstbell's k6 runtime: the vu API inside k6, typed against @types/k6. */
export const K6_RUNTIME = join(PACKAGE_ROOT, 'k6', 'runtime');

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
  /** The journey module (defineJourney), absolute. */
  journey: string;
  parallelism: number;
}

export interface JourneyK6Export extends K6Export {
  /** The script's entry before bundling: what `npm test` type-checks against @types/k6, with `firstbell` as the runtime's. */
  entry: string;
  /** Things of the journey or scenario that the script leaves out (browser users, faults), for the user to know. */
  notes: string[];
}

/** The journey's steps as the run-folder records them, in the tag the import reads: name:layer[:goal][:held], separated by "|". */
export function stepsTag(decls: readonly StepDecl[]): string {
  return decls.map((d) => [d.step, d.layer, ...(d.goal ? [d.goal] : []), ...(d.held ? ['held'] : [])].join(':')).join('|');
}

/** The steps tag read back; undefined when it is not one. */
export function stepsOfTag(tag: string): StepDecl[] | undefined {
  const out: StepDecl[] = [];
  for (const part of tag.split('|')) {
    const [step, layer, ...rest] = part.split(':');
    if (!step || !/^(admission|broker|media)$/.test(layer ?? '') || rest.some((x) => !/^(journey|layer|held)$/.test(x))) return undefined;
    const d: StepDecl = { step, layer: layer as StepDecl['layer'] };
    for (const x of rest) {
      if (x === 'held') d.held = true;
      else d.goal = x as 'journey' | 'layer';
    }
    out.push(d);
  }
  return out.length ? out : undefined;
}

/** What a scenario asks of the load that the script cannot carry; each a problem naming the way out. */
function scenarioProblems(s: ResolvedScenario): Problem[] {
  const problems: Problem[] = [];
  const retry = s.client.retry;
  if (retry && retry.kind !== 'none') {
    problems.push({ where: `scenario ${s.name}: client.retry`, message: `k6 runs each participant's journey once; the ${retry.kind} retry policy is not in the script`, hint: "run the scenario with firstbell (firstbell run …), or export it without the retry policy" });
  }
  if (s.phases.some((p) => p.classes?.length || p.leaveAtMs !== undefined)) {
    problems.push({ where: `scenario ${s.name}: phases`, message: "a timetable's classes and lesson ends are not in the script", hint: 'run the timetable with firstbell (firstbell run …)' });
  }
  return problems;
}

/** Where a journey's source uses a global k6 does not have, by the TypeScript parser. */
async function globalsK6Lacks(file: string): Promise<Problem[]> {
  const ts = (await import('typescript')).default;
  const src = ts.createSourceFile(file, readFileSync(file, 'utf8'), ts.ScriptTarget.ES2022, true);
  const problems: Problem[] = [];
  const visit = (n: import('typescript').Node) => {
    if (ts.isIdentifier(n) && Object.hasOwn(NOT_IN_K6, n.text) && usedAsGlobal(ts, n)) {
      const line = src.getLineAndCharacterOfPosition(n.getStart(src)).line + 1;
      problems.push({ where: `${relativeShown(file)}:${line}`, message: `uses ${n.text}, which k6 does not have (k6 runs JavaScript, not Node.js)`, hint: `use ${NOT_IN_K6[n.text]}` });
    }
    ts.forEachChild(n, visit);
  };
  visit(src);
  return problems;
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

function relativeShown(file: string): string {
  const r = relative(process.cwd(), file);
  return r && !r.startsWith('..') ? r : file;
}

/** The entry of the script: the journey, the runtime, the scenario's arrivals and everything a participant needs. */
function entrySource(journey: string, options: object, run: object, steps: readonly StepDecl[]): string {
  const rt = (f: string) => JSON.stringify(join(K6_RUNTIME, f));
  return `// The k6 entry of firstbell's export: the journey ${JSON.stringify(journey)} on firstbell's k6 runtime.
import journeyModule from ${JSON.stringify(journey)};
import { participant, type JourneyRun } from ${rt('participant.ts')};
import { identities } from ${rt('firstbell.ts')};
import type { Options } from 'k6/options';

export const options: Options = ${JSON.stringify(options, null, 2)};

/** ${steps.length} steps: ${steps.map((d) => `${d.step} (${d.layer})`).join(', ')}. */
const RUN: JourneyRun = ${JSON.stringify(run)};
const identify = identities(RUN);

export function journey(): Promise<void> {
  return participant(journeyModule, RUN, identify);
}
`;
}

/** A bundling failure as problems naming the file, the line and what k6 would need instead. */
function bundleProblems(failure: BuildFailure, journey: string): Problem[] {
  return failure.errors.map((m): Problem => {
    const where = m.location ? `${relativeShown(m.location.file.startsWith('/') ? m.location.file : join(dirname(journey), m.location.file))}:${m.location.line}` : relativeShown(journey);
    const node = /Could not resolve "((node:)?[a-z_]+)"/.exec(m.text);
    const missing = /No matching export in ".*firstbell\.ts" for import "([^"]+)"/.exec(m.text);
    if (node) return { where, message: `imports ${node[1]}, which k6 does not have (k6 runs JavaScript, not Node.js)`, hint: 'do it with the vu API (vu.http, vu.ws) or without that module' };
    if (missing) return { where, message: `imports ${missing[1]} from 'firstbell', which a k6 script does not have`, hint: 'a journey exported to k6 may use defineJourney, extract, the errors, identities and the types of the vu API' };
    return { where, message: m.text, hint: m.location?.lineText ? `fix this line: ${m.location.lineText.trim().slice(0, 120)}` : 'fix the module so that it compiles' };
  });
}

/** The journey's own files among a bundle's inputs: neither its npm packages nor firstbell's. */
function ownFiles(meta: Metafile, cwd: string): string[] {
  return Object.keys(meta.inputs)
    .map((f) => (f.startsWith('/') ? f : join(cwd, f)))
    .filter((f) => !f.includes('/node_modules/') && !f.startsWith(K6_RUNTIME) && !f.startsWith(join(PACKAGE_ROOT, 'api')) && !f.startsWith(join(PACKAGE_ROOT, 'k6')) && !f.endsWith(ENTRY_NAME));
}

/** Bundles a user's journey into one k6 script, with the scenario's arrivals; problems are refused before anything is written. */
export async function exportJourneyK6(o: JourneyK6Options): Promise<JourneyK6Export> {
  const s = o.scenario;
  const loaded = await loadJourney(o.journey);
  const def: JourneyDefinition = loaded.def;
  const problems = scenarioProblems(s);
  if (problems.length) throw new ProblemsError(problems);
  const decls = stepDecls(def.steps, new Set(loaded.heldSteps));
  const schedule = buildSchedule(s, o.seed);
  const { options, vus, peak } = arrivalOptions(s, o.seed, o.target, 'journey', schedule, { [K6_RUN_TAGS.steps]: stepsTag(decls) });
  const rows = s.data ? loadRows(s.data, schedule.offsetsMs.length) : undefined;
  const run = { population: s.population, phases: s.phases, client: s.client, target: o.target.href, endMs: schedule.endMs, ...(rows ? { rows, reuseRows: s.data?.reuse ?? false } : {}) };
  const entry = entrySource(o.journey, options, run, decls);
  const { build } = await import('esbuild');
  const cwd = dirname(o.journey);
  let code: string;
  let meta: Metafile;
  try {
    const out = await build({
      stdin: { contents: entry, resolveDir: cwd, sourcefile: ENTRY_NAME, loader: 'ts' },
      bundle: true, format: 'esm', platform: 'neutral', target: 'es2017', write: false, metafile: true, logLevel: 'silent', absWorkingDir: cwd,
      mainFields: ['module', 'main'], external: ['k6', 'k6/*'], alias: { firstbell: join(K6_RUNTIME, 'firstbell.ts') },
    });
    code = out.outputFiles[0]!.text;
    meta = out.metafile;
  } catch (e) {
    const failure = e as BuildFailure;
    if (!Array.isArray(failure.errors)) throw e;
    throw new ProblemsError(bundleProblems(failure, o.journey));
  }
  const lacks = (await Promise.all(ownFiles(meta, cwd).map(globalsK6Lacks))).flat();
  if (lacks.length) throw new ProblemsError(lacks);
  const notes = [
    ...(def.webClient ? ['the journey\'s web client is not in the script: k6 sends protocol users only (browser users run with firstbell --browsers)'] : []),
    ...(s.faults?.length ? ["the scenario's faults are not in the script: k6 sends the load only"] : []),
  ];
  const name = k6Name(s);
  const header = `// k6 script exported by firstbell ${VERSION}: scenario ${s.name} at scale ${s.scale}, seed ${o.seed}, the journey ${relativeShown(o.journey)} against ${o.target.href}.
// ${schedule.offsetsMs.length} participants, peak ${peak} arrivals/s; ${vus} VUs allocated before the start. The journey is bundled with
// firstbell's k6 runtime (the vu API on k6/http, k6/websockets and k6/timers). Run: k6 run --out csv=results.csv script.js
// (k6 >= 1.0); read back: firstbell import k6 results.csv --scenario <the scenario file>
`;
  return { script: header + code, manifest: testRunManifest(name, o.parallelism, 'script.js'), name, entry, notes };
}
