// A user's journey module: loaded, its default export checked, and every step name it uses checked against its steps;
// and platforms built from plain data, whichever journey they run (a built-in kind, or a user's module loaded again).
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import type { JourneyDefinition, PlatformInput } from '../api/journey.js';
import { builtInJourney, isTargetKind } from '../targets/index.js';
import { platformOf, platformWithOptions, type Platform, type PlatformSpec } from '../targets/platform.js';
import { LAYERS, ProblemsError, type Problem } from '../scenarios/model.js';
import { importDefault, shown } from './bundle.js';
import { checkTypes } from './typecheck.js';

/** A step name as the module spells it, with where. */
interface StepUse {
  name: string;
  line: number;
  held: boolean;
}

/** The step names the source passes to `….step('name', …)` and `….hold(conn, 'name', …)` as literals. */
export async function stepUses(file: string, source: string): Promise<StepUse[]> {
  // The TypeScript parser is loaded only to check a journey: processes that send load carry nothing of it.
  const ts = (await import('typescript')).default;
  const src = ts.createSourceFile(file, source, ts.ScriptTarget.ES2022, true);
  const uses: StepUse[] = [];
  const visit = (n: TsNode) => {
    if (ts.isCallExpression(n) && ts.isPropertyAccessExpression(n.expression)) {
      const method = n.expression.name.text;
      const arg = method === 'step' ? n.arguments[0] : method === 'hold' ? n.arguments[1] : undefined;
      if (arg && ts.isStringLiteralLike(arg)) uses.push({ name: arg.text, line: src.getLineAndCharacterOfPosition(arg.getStart(src)).line + 1, held: method === 'hold' });
    }
    ts.forEachChild(n, visit);
  };
  visit(src);
  return uses;
}

type TsNode = import('typescript').Node;

function checkDefinition(file: string, def: unknown): Problem[] {
  const where = shown(file);
  const d = def as Partial<JourneyDefinition>;
  const problems: Problem[] = [];
  if (typeof d !== 'object' || d === null) return [{ where, message: 'its default export is not a journey', hint: 'export default defineJourney({ steps: { … }, journey: async (vu) => … })' }];
  if (typeof d.journey !== 'function') problems.push({ where, message: 'the journey has no journey function', hint: 'add journey: async (vu) => { … } to defineJourney({ … })' });
  const steps = d.steps;
  if (typeof steps !== 'object' || steps === null || Object.keys(steps).length === 0) {
    problems.push({ where, message: 'the journey declares no steps', hint: "declare them, e.g. steps: { login: 'admission', join: 'broker', connect: 'media' }" });
    return problems;
  }
  for (const [name, spec] of Object.entries(steps)) {
    const layer = typeof spec === 'string' ? spec : (spec as { layer?: unknown } | undefined)?.layer;
    if (!(LAYERS as readonly unknown[]).includes(layer)) problems.push({ where: `${where}: steps.${name}`, message: `${JSON.stringify(layer)} is not a layer`, hint: `use one of ${LAYERS.join(', ')}` });
  }
  return problems;
}

/** A journey module loaded and checked. */
export interface LoadedJourney {
  def: JourneyDefinition;
  file: string;
  /** The bundled module, for worker processes to import as it is. */
  bundle: string;
}

/** A step's spec as declared, if it is. */
const specOf = (steps: JourneyDefinition['steps'], name: string) => (Object.hasOwn(steps, name) ? steps[name] : undefined);

/**
 * Loads a journey module (default export `defineJourney({...})`); every problem, each with file:line, before any
 * load is sent: a step used but not declared, a step held on (`vu.hold`) that is not declared `held: true`, and a type
 * error against firstbell's types; with `typecheck` false, none of these (a mistake shows as a script error in the run).
 */
export async function loadJourney(file: string, typecheck = true): Promise<LoadedJourney> {
  const { value: def, bundle } = await importDefault(file, 'a journey', JOURNEY_HINT);
  const problems = checkDefinition(file, def);
  if (problems.length) throw new ProblemsError(problems);
  const steps = (def as JourneyDefinition).steps;
  const declared = Object.keys(steps);
  // Without the type check, nothing loads TypeScript: files checked before (a shard's pods) start at once.
  for (const u of typecheck ? await stepUses(file, readFileSync(file, 'utf8')) : []) {
    const spec = specOf(steps, u.name);
    if (spec === undefined) {
      problems.push({ where: `${shown(file)}:${u.line}`, message: `step '${u.name}' is not declared`, hint: `declare it in steps (e.g. ${u.name}: 'admission') or use a declared one: ${declared.join(', ')}` });
    } else if (u.held && (typeof spec === 'string' || spec.held !== true)) {
      const layer = typeof spec === 'string' ? spec : spec.layer;
      problems.push({ where: `${shown(file)}:${u.line}`, message: `step '${u.name}' is held on (vu.hold) but not declared as held`, hint: `declare it ${u.name}: { layer: '${layer}', held: true }, so that it is shown apart and never counted as the journey's goal` });
    }
  }
  if (problems.length) throw new ProblemsError(problems);
  if (typecheck) await checkTypes(file, bundle);
  return { def: def as JourneyDefinition, file, bundle };
}

const JOURNEY_HINT = "end it with: export default defineJourney({ steps: { … }, journey: async (vu) => … }) (import { defineJourney } from 'firstbell')";

/** Builds the platform a spec describes (checked where the run started: here it is only loaded again). */
export async function buildPlatform(spec: PlatformSpec): Promise<Platform> {
  const url = new URL(spec.url);
  const src = spec.source;
  if ('builtIn' in src) {
    if (!isTargetKind(src.builtIn)) throw new Error(`no built-in journey '${src.builtIn}'`);
    return platformOf(builtInJourney(src.builtIn), url, spec.options, src.builtIn, src);
  }
  // A module checked where the run started is loaded again from its bundle.
  const def = (await importDefault(src.module, 'a journey', JOURNEY_HINT, src.bundle)).value as JourneyDefinition;
  return platformOf(def, url, spec.options, 'journey', src);
}

/**
 * Builds the platform of a PlatformInput, its target checked against the hosts allowed beside loopback. A definition
 * handed over in memory runs in one process; a module's path or a built-in kind can be built again in worker processes.
 */
export async function platformOfInput(p: PlatformInput, o: { allowHosts?: readonly string[]; typecheck?: boolean } = {}): Promise<Platform> {
  const target = String(p.target);
  const allowed = o.allowHosts ?? [];
  if (typeof p.journey !== 'string') return platformWithOptions(p.journey, target, allowed, p.options ?? {}, 'journey', undefined, 'the journey');
  if (isTargetKind(p.journey)) return platformWithOptions(builtInJourney(p.journey), target, allowed, p.options ?? {}, p.journey, { builtIn: p.journey }, `--target-kind ${p.journey}`);
  const j = await loadJourney(resolve(p.journey), o.typecheck);
  return platformWithOptions(j.def, target, allowed, p.options ?? {}, 'journey', { module: j.file, bundle: j.bundle }, `the journey ${p.journey}`);
}
