// A user's journey module: loaded, its default export checked, and every step name it uses checked against its steps.
import { readFileSync } from 'node:fs';
import type { JourneyDefinition } from '../api/journey.js';
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
 * load is sent: a type error against firstbell's types (unless `typecheck` is false), a step used but not declared,
 * and a step held on (`vu.hold`) that is not declared `held: true`.
 */
export async function loadJourney(file: string, typecheck = true): Promise<LoadedJourney> {
  const { value: def, bundle } = await importDefault(file, 'a journey', JOURNEY_HINT);
  const problems = checkDefinition(file, def);
  if (problems.length) throw new ProblemsError(problems);
  const steps = (def as JourneyDefinition).steps;
  const declared = Object.keys(steps);
  for (const u of await stepUses(file, readFileSync(file, 'utf8'))) {
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

/** A journey module checked before, loaded again from its bundle (in a worker process). */
export async function reloadJourney(file: string, bundle: string): Promise<JourneyDefinition> {
  return (await importDefault(file, 'a journey', JOURNEY_HINT, bundle)).value as JourneyDefinition;
}

const JOURNEY_HINT = "end it with: export default defineJourney({ steps: { … }, journey: async (vu) => … }) (import { defineJourney } from 'firstbell')";
