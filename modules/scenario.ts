// A user's scenario file: TypeScript or JavaScript (default export `defineScenario({...})`) or JSON, checked before anything is sent.
import { existsSync, readFileSync } from 'node:fs';
import { dirname, isAbsolute, resolve } from 'node:path';
import { parse as parseJsonc, printParseErrorCode, type ParseError } from 'jsonc-parser';
import { checkScenarioInput, scenarioFromInput, type ScenarioInput } from '../scenarios/input.js';
import { ProblemsError, validateScenario, type Problem, type Scenario } from '../scenarios/model.js';
import { importDefault, shown } from './bundle.js';
import { checkTypes } from './typecheck.js';

const MODULE = /\.(ts|mts|cts|js|mjs|cjs)$/;

/** True when a scenario argument names a file rather than a built-in scenario. */
export function isScenarioFile(arg: string): boolean {
  return MODULE.test(arg) || arg.endsWith('.json') || arg.includes('/');
}

/** line:column of a character offset. */
function lineColumn(text: string, offset: number): string {
  const before = text.slice(0, offset).split('\n');
  return `${before.length}:${before[before.length - 1]!.length + 1}`;
}

/** What a JSON parse error code means, in words. */
const JSON_ERRORS: Record<string, string> = {
  ValueExpected: 'a value is expected here', PropertyNameExpected: 'a property name in double quotes is expected here (a trailing comma?)',
  CommaExpected: 'a comma is expected here', ColonExpected: 'a colon is expected here', InvalidSymbol: 'this is not JSON (strings and names need double quotes)',
  EndOfFileExpected: 'the file should end here', InvalidCommentToken: 'JSON has no comments', CloseBraceExpected: 'a closing } is expected here',
  CloseBracketExpected: 'a closing ] is expected here', UnexpectedEndOfString: 'a string is not closed', UnexpectedEndOfComment: 'JSON has no comments',
};

function readJson(file: string): unknown {
  const text = readFileSync(file, 'utf8');
  const errors: ParseError[] = [];
  const value: unknown = parseJsonc(text, errors, { disallowComments: true, allowTrailingComma: false, allowEmptyContent: false });
  if (errors.length === 0) return value;
  // The first problem is where to look; the ones after it mostly follow from it.
  const e = errors[0]!;
  const code = printParseErrorCode(e.error);
  throw new ProblemsError([{ where: `${shown(file)}:${lineColumn(text, e.offset)}`, message: `is not JSON: ${JSON_ERRORS[code] ?? code}`, hint: 'fix the JSON (double quotes around names and strings, no trailing commas, no comments)' }]);
}

/** Loads a scenario file; paths in it (journey, data) become absolute, relative to the file. Every problem is named. */
export async function loadScenarioFile(file: string, typecheck = true): Promise<Scenario> {
  const abs = resolve(file);
  if (!existsSync(abs)) throw new ProblemsError([{ where: file, message: 'no such file', hint: "give the path of a scenario file (.ts, .js or .json), or a built-in scenario's name (see 'firstbell list')" }]);
  const loaded = abs.endsWith('.json')
    ? { value: readJson(abs), bundle: undefined }
    : await importDefault(abs, 'a scenario', "end it with: export default defineScenario({ name, phases, … }) (import { defineScenario } from 'firstbell')");
  const input = loaded.value;
  const at = (p: Problem): Problem => ({ ...p, where: `${shown(abs)}: ${p.where}` });
  const shape = checkScenarioInput(input);
  if (shape.length) throw new ProblemsError(shape.map(at));
  const s = scenarioFromInput(input as ScenarioInput);
  const near = (p: string) => (isAbsolute(p) ? p : resolve(dirname(abs), p));
  if (s.journey !== undefined) s.journey = near(s.journey);
  if (s.data) s.data = { ...s.data, csv: near(s.data.csv) };
  const problems = validateScenario(s).map(at);
  if (s.journey !== undefined && !existsSync(s.journey)) problems.push(at({ where: 'journey', message: `${shown(s.journey)} does not exist`, hint: 'give the journey module relative to the scenario file' }));
  if (problems.length) throw new ProblemsError(problems);
  // Its values are judged first, by their paths; then its types.
  if (typecheck && loaded.bundle) await checkTypes(abs, loaded.bundle);
  return s;
}
