// Loading a user's TypeScript or JavaScript module: bundled by esbuild with its npm imports, `firstbell` bound to this package.
import { createHash } from 'node:crypto';
import { mkdirSync, readdirSync, statSync, unlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, relative, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { BuildFailure, Plugin } from 'esbuild';
import { PACKAGE_ROOT } from '../lib/version.js';
import { writeFileAtomic } from '../lib/files.js';
import { ProblemsError, type Problem } from '../scenarios/model.js';

/** `import … from 'firstbell'` in a user's module is this package's own API, whatever is installed beside the module. */
const SELF: Plugin = {
  name: 'firstbell',
  setup(b) {
    b.onResolve({ filter: /^firstbell$/ }, () => ({ path: pathToFileURL(join(PACKAGE_ROOT, 'dist', 'index.js')).href, external: true }));
  },
};

/** A path as a person reads it: relative to the working folder when inside it. */
export function shown(file: string): string {
  const r = relative(process.cwd(), file);
  return r && !r.startsWith('..') ? r : file;
}

/**
 * Bundles `file` into one ES module (its npm imports included, Node's own left out) in this machine's temporary
 * folder and returns its path; syntax and import errors are problems with file:line:column.
 */
export async function bundle(file: string): Promise<string> {
  const { code } = await bundled(file);
  const dir = join(tmpdir(), 'firstbell-modules');
  mkdirSync(dir, { recursive: true });
  const path = join(dir, `${createHash('sha256').update(file).update(code).digest('hex').slice(0, 16)}.mjs`);
  // Written whole and renamed onto its path: another process bundling the same module at the same moment (shards
  // started together on one machine) rewrites the same path, and an import never meets a file half written.
  writeFileAtomic(path, code);
  removeStaleBundles(dir);
  return path;
}

/**
 * How long a bundle stays after it was last written: longer than a run lasts (7 days at most), whose processes load
 * theirs as they start. Each module edited makes a bundle of its own; older ones go as a new one is written.
 */
export const BUNDLE_KEPT_MS = 8 * 24 * 3_600_000;

function removeStaleBundles(dir: string): void {
  const now = Date.now();
  for (const name of readdirSync(dir)) {
    // A temporary file left by a process that stopped while writing it goes as a bundle does.
    if (!name.endsWith('.mjs') && !name.endsWith('.tmp')) continue;
    try {
      if (now - statSync(join(dir, name)).mtimeMs > BUNDLE_KEPT_MS) unlinkSync(join(dir, name));
    } catch {
      // Removed by another process at the same time, or not ours to remove: left as it is.
    }
  }
}

/** The files `file` is made of as it is bundled: itself and what it imports, npm packages' files among them (absolute paths). */
export async function moduleFiles(file: string): Promise<string[]> {
  return (await bundled(file)).inputs;
}

async function bundled(file: string): Promise<{ code: string; inputs: string[] }> {
  // Loaded only to bundle: processes that send load carry nothing of it.
  const { build } = await import('esbuild');
  try {
    const out = await build({
      entryPoints: [file], bundle: true, platform: 'node', format: 'esm', target: 'node20', write: false, sourcemap: 'inline', metafile: true,
      // Stack traces name the user's own files where they are, not beside the bundle.
      sourceRoot: `${pathToFileURL(dirname(file)).href}/`,
      logLevel: 'silent', plugins: [SELF], absWorkingDir: dirname(file),
      // Bundled CommonJS packages may call require() for Node's own modules.
      banner: { js: "import { createRequire as __firstbellRequire } from 'node:module'; const require = __firstbellRequire(import.meta.url);" },
    });
    return { code: out.outputFiles[0]!.text, inputs: Object.keys(out.metafile.inputs).filter((f) => !f.includes(':')).map((f) => resolve(dirname(file), f)) };
  } catch (e) {
    const failure = e as BuildFailure;
    if (!Array.isArray(failure.errors)) throw e;
    throw new ProblemsError(failure.errors.map((m): Problem => ({
      where: m.location ? `${shown(m.location.file ? join(dirname(file), m.location.file) : file)}:${m.location.line}:${m.location.column + 1}` : shown(file),
      message: m.text,
      hint: m.location?.lineText ? `fix this line: ${m.location.lineText.trim().slice(0, 120)}` : 'fix the module so that it compiles',
    })));
  }
}

/** Where in `file` an error thrown while loading it came from, from its stack (source-mapped): file:line, or the file. */
function placeOf(err: unknown, file: string): string {
  const stack = err instanceof Error ? err.stack ?? '' : '';
  const base = file.split('/').pop()!;
  for (const line of stack.split('\n')) {
    const m = /\(?((?:file:\/\/)?[^\s()]+):(\d+):(\d+)\)?$/.exec(line.trim());
    if (m && (m[1]!.endsWith(file) || m[1]!.endsWith(`/${base}`))) return `${shown(file)}:${m[2]}`;
  }
  return shown(file);
}

/**
 * Imports a user's module and returns its default export and the bundle it came from; a throw while loading, or no
 * default export, is a problem. With `bundled`, that bundle is imported as it is (a worker process loading it again).
 */
export async function importDefault(file: string, what: string, hint: string, bundled?: string): Promise<{ value: unknown; bundle: string }> {
  bundled ??= await bundle(file);
  // Stack traces point into the user's own file, not the bundle.
  process.setSourceMapsEnabled(true);
  let mod: { default?: unknown };
  try {
    mod = (await import(pathToFileURL(bundled).href)) as { default?: unknown };
  } catch (e) {
    throw new ProblemsError([{ where: placeOf(e, file), message: `threw while loading: ${e instanceof Error ? `${e.name}: ${e.message}` : String(e)}`, hint: 'fix the code that runs when the module loads' }]);
  }
  if (mod.default === undefined) throw new ProblemsError([{ where: shown(file), message: `has no default export; it must export ${what}`, hint }]);
  return { value: mod.default, bundle: bundled };
}
