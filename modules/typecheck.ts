// A user's files type-checked against firstbell's own types before anything is sent: TypeScript's checker, the
// user's tsconfig.json where there is one, and only the user's own files reported.
import { existsSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { PACKAGE_ROOT } from '../lib/version.js';
import { ProblemsError, type Problem } from '../scenarios/model.js';
import { shown } from './bundle.js';

/** Diagnostics about what is not installed beside the user's files (a module's or Node's types): the bundle finds those, not the checker. */
const NOT_INSTALLED = new Set([2307, 2580, 2591, 2592, 2593, 7016, 2875]);
/** Most problems reported: the first ones are enough to start fixing. */
const MOST = 20;

/** firstbell's declarations as a user's `import … from 'firstbell'` sees them: the built package's, else the sources'. */
function firstbellTypes(): string {
  const built = join(PACKAGE_ROOT, 'dist', 'index.d.ts');
  return existsSync(built) ? built : join(PACKAGE_ROOT, 'index.ts');
}

/** Which firstbell types a check was made against: their file's size and time. */
export function typesStamp(): string {
  const s = statSync(firstbellTypes());
  return `${s.size.toString(36)}${Math.round(s.mtimeMs).toString(36)}`;
}

/** Type errors in `files` (journeys, scenario files, web clients), each with file:line:column, the first 20. */
export async function typeErrors(files: readonly string[]): Promise<Problem[]> {
  const ts = (await import('typescript')).default;
  const own = files.filter((f) => /\.(c|m)?tsx?$/.test(f));
  if (!own.length) return [];
  const configFile = ts.findConfigFile(dirname(own[0]!), (f) => ts.sys.fileExists(f));
  const fromConfig = configFile ? ts.parseJsonConfigFileContent(ts.readConfigFile(configFile, (f) => ts.sys.readFile(f)).config, ts.sys, dirname(configFile)).options : { strict: true };
  const options: import('typescript').CompilerOptions = {
    ...fromConfig,
    noEmit: true, skipLibCheck: true, allowImportingTsExtensions: true, isolatedModules: false,
    target: ts.ScriptTarget.ES2022, module: ts.ModuleKind.ESNext, moduleResolution: ts.ModuleResolutionKind.Bundler,
    lib: fromConfig.lib ?? ['lib.es2022.d.ts', 'lib.dom.d.ts'],
    paths: { ...fromConfig.paths, firstbell: [firstbellTypes()] },
  };
  const program = ts.createProgram(own, options);
  const problems: Problem[] = [];
  const mine = new Set(own);
  for (const d of ts.getPreEmitDiagnostics(program)) {
    if (!d.file || !mine.has(d.file.fileName) || NOT_INSTALLED.has(d.code) || d.category !== ts.DiagnosticCategory.Error) continue;
    const { line, character } = d.file.getLineAndCharacterOfPosition(d.start ?? 0);
    const lineText = d.file.text.split('\n')[line]?.trim().slice(0, 120) ?? '';
    problems.push({
      where: `${shown(d.file.fileName)}:${line + 1}:${character + 1}`,
      message: `type error: ${ts.flattenDiagnosticMessageText(d.messageText, ' ').slice(0, 400)}`,
      hint: `fix this line (${lineText}), or run with --no-typecheck`,
    });
    if (problems.length >= MOST) break;
  }
  return problems;
}

/**
 * Type-checks a module once per bundle and version of firstbell's types: a bundle that passed is marked beside it, so
 * the same files are not checked again on every run.
 */
export async function checkTypes(file: string, bundled: string): Promise<void> {
  const mark = `${bundled}.typed-${typesStamp()}`;
  if (existsSync(mark)) return;
  const problems = await typeErrors([file]);
  if (problems.length) throw new ProblemsError(problems);
  writeFileSync(mark, '');
}
