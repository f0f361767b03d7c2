import { execFileSync, spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import ts from 'typescript';
import { describe, expect, it } from 'vitest';

const root = new URL('..', import.meta.url).pathname;
/** The folders of the flow, upstream first; the rules of what each may import are in .dependency-cruiser.cjs. */
const PRODUCT = ['cli.ts', 'index.ts', 'cli', 'lib', 'scenarios', 'api', 'run-folder', 'plan', 'protocol', 'faults', 'targets', 'modules', 'watch', 'users', 'run', 'k6', 'kubernetes', 'analysis', 'reports', 'fixtures', 'har'];
const MAX_FUNCTION_LINES = 80;
/** Marks a parser state machine, the one kind of function allowed to be longer; it goes on the line before it. */
const STATE_MACHINE = 'parser state machine';

function productFiles(): string[] {
  const listed = execFileSync('git', ['ls-files', '--cached', '--others', '--exclude-standard', '--', ...PRODUCT], { cwd: root, encoding: 'utf8' });
  return listed.split('\n').filter((f) => f.endsWith('.ts') && !f.endsWith('.test.ts') && !f.endsWith('.d.ts'));
}

/** Functions longer than the limit in one source file: name, first line and length. */
function longFunctions(file: string, text: string): string[] {
  const src = ts.createSourceFile(file, text, ts.ScriptTarget.ES2022, true);
  const found: string[] = [];
  const visit = (n: ts.Node) => {
    if (ts.isFunctionLike(n) && 'body' in n && n.body) {
      const from = src.getLineAndCharacterOfPosition(n.getStart(src)).line;
      const lines = src.getLineAndCharacterOfPosition(n.end).line - from + 1;
      const before = text.split('\n')[from - 1] ?? '';
      const name = n.name?.getText(src) ?? (ts.isVariableDeclaration(n.parent) ? n.parent.name.getText(src) : '(anonymous)');
      if (lines > MAX_FUNCTION_LINES && !before.includes(STATE_MACHINE)) found.push(`${file}:${from + 1} ${name} has ${lines} lines`);
    }
    ts.forEachChild(n, visit);
  };
  visit(src);
  return found;
}

describe('the house', () => {
  it('installs the benchmark\'s peer tools without downloading a browser (npm run bench on a fresh clone)', () => {
    const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { scripts: Record<string, string> };
    expect(pkg.scripts.bench).toBe('node bench/install.mjs && node bench/run.mjs');
    const dry = spawnSync(process.execPath, [join(root, 'bench', 'install.mjs'), '--dry-run'], { encoding: 'utf8' });
    expect(dry.status).toBe(0);
    expect(dry.stdout).toContain('npm ci --prefix');
    expect(dry.stdout).toContain('PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1');
  });

  it('has the benchmark import from the build only modules the sources have, so that a fresh build runs it', () => {
    const missing: string[] = [];
    for (const f of ['firstbell-load.mjs', 'run.mjs']) {
      for (const m of readFileSync(join(root, 'bench', f), 'utf8').matchAll(/from '\.\.\/dist\/([^']+)\.js'/g)) {
        if (!existsSync(join(root, `${m[1]}.ts`))) missing.push(`bench/${f}: dist/${m[1]}.js`);
      }
    }
    expect(missing).toEqual([]);
  });

  it('ships every source file that a shipped source file imports (export k6 bundles them from the installed package)', () => {
    const pack = spawnSync('npm', ['pack', '--dry-run', '--json', '--ignore-scripts'], { cwd: root, encoding: 'utf8' });
    const shipped = new Set((JSON.parse(pack.stdout) as { files: { path: string }[] }[])[0]!.files.map((f) => f.path));
    const missing: string[] = [];
    for (const f of [...shipped].filter((p) => p.endsWith('.ts') && !p.endsWith('.test.ts') && !p.startsWith('dist/'))) {
      for (const m of readFileSync(join(root, f), 'utf8').matchAll(/from '(\.\.?\/[^']+)\.js'/g)) {
        const to = join(f, '..', m[1]!);
        if (!shipped.has(`${to}.ts`) && !shipped.has(`${to}.d.ts`)) missing.push(`${f} imports ${to}`);
      }
    }
    expect(missing).toEqual([]);
  });

  it('has no import circle in product code, and no folder imports from a folder downstream of it', () => {
    const r = spawnSync(process.execPath, [`${root}node_modules/dependency-cruiser/bin/dependency-cruise.mjs`, '--config', '.dependency-cruiser.cjs', '--output-type', 'err', ...PRODUCT], { cwd: root, encoding: 'utf8' });
    expect(r.status, r.stdout + r.stderr).toBe(0);
    expect(r.stdout).toMatch(/no dependency violations found \(\d+ modules/);
  });

  it('finds a circle and an upward import when there is one', () => {
    // A small tree of its own with both faults, checked by the same rules.
    const dir = mkdtempSync(join(tmpdir(), 'firstbell-house-'));
    const write = (path: string, text: string) => {
      mkdirSync(join(dir, path, '..'), { recursive: true });
      writeFileSync(join(dir, path), text);
    };
    copyFileSync(`${root}.dependency-cruiser.cjs`, join(dir, '.dependency-cruiser.cjs'));
    write('tsconfig.json', JSON.stringify({ compilerOptions: { module: 'NodeNext', moduleResolution: 'NodeNext' } }));
    write('lib/a.ts', "import { b } from './b.js';\nexport const a = () => b;\n");
    write('lib/b.ts', "import { a } from './a.js';\nexport const b = () => a;\n");
    write('users/run.ts', 'export const run = 1;\n');
    write('analysis/analysis.ts', "import { run } from '../users/run.js';\nexport const x = run;\n");
    try {
      const r = spawnSync(process.execPath, [`${root}node_modules/dependency-cruiser/bin/dependency-cruise.mjs`, '--config', '.dependency-cruiser.cjs', '--output-type', 'err', 'lib', 'users', 'analysis'], { cwd: dir, encoding: 'utf8' });
      expect(r.status).not.toBe(0);
      expect(r.stdout).toContain('error no-circular: lib/a.ts');
      expect(r.stdout).toContain('error analysis-imports-only-upstream: analysis/analysis.ts → users/run.ts');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it(`has no product function longer than ${MAX_FUNCTION_LINES} lines, except a parser state machine marked as one`, () => {
    const long = productFiles().flatMap((f) => longFunctions(f, readFileSync(`${root}${f}`, 'utf8')));
    expect(long).toEqual([]);
  });

  it('spreads no list into Math.max or Math.min: a soak\'s per-second series is longer than a call takes arguments (maxOf, minOf)', () => {
    const spread = productFiles().filter((f) => /Math\.(max|min)\([^)]*\.\.\./.test(readFileSync(`${root}${f}`, 'utf8')));
    expect(spread).toEqual([]);
  });

  it('has one platform contract: every built-in kind a defineJourney module in the registry, no target contract beside it', async () => {
    const beside = productFiles().filter((f) => /\b(defineTarget|TargetSpec|BuiltInSpec|targetFromSpec|heldSteps)\b/.test(readFileSync(`${root}${f}`, 'utf8')));
    expect(beside).toEqual([]);
    const { BUILT_IN_JOURNEYS } = await import('../targets/index.js');
    for (const [kind, journey] of Object.entries(BUILT_IN_JOURNEYS)) {
      expect(readFileSync(`${root}targets/${kind}.ts`, 'utf8'), kind).toMatch(/^export default defineJourney\(\{$/m);
      expect(((await import(/* @vite-ignore */ `${root}targets/${kind}.ts`)) as { default: unknown }).default, kind).toBe(journey);
    }
  });

  it('has no program text in strings under k6/: every script is the runtime\'s entry bundled with the journey', () => {
    const programs: string[] = [];
    for (const f of productFiles().filter((x) => x.startsWith('k6/'))) {
      const src = ts.createSourceFile(f, readFileSync(`${root}${f}`, 'utf8'), ts.ScriptTarget.ES2022, true);
      const visit = (n: ts.Node) => {
        if ((ts.isStringLiteral(n) || ts.isNoSubstitutionTemplateLiteral(n) || ts.isTemplateExpression(n)) && /^\s*(import|export)\s|\bfunction\s+\w+\s*\(|=>\s*\{/m.test(n.getText(src))) {
          programs.push(`${f}:${src.getLineAndCharacterOfPosition(n.getStart(src)).line + 1}`);
        }
        ts.forEachChild(n, visit);
      };
      visit(src);
    }
    expect(programs).toEqual([]);
  });

  it('counts a long function as one', () => {
    const body = Array.from({ length: MAX_FUNCTION_LINES }, (_, i) => `  const x${i} = ${i};`).join('\n');
    expect(longFunctions('long.ts', `export function long(): void {\n${body}\n}\n`)).toEqual([`long.ts:1 long has ${MAX_FUNCTION_LINES + 2} lines`]);
  });

  it('publishes a narrow API: at most 70 names, at most 1,000 lines of declarations reachable from the entry, no class of the engine or the run folder, no types from devDependencies', () => {
    const entry = `${root}dist/index.d.ts`;
    const program = ts.createProgram([entry], { module: ts.ModuleKind.NodeNext, moduleResolution: ts.ModuleResolutionKind.NodeNext, noEmit: true, types: [] });
    const own = program.getSourceFiles().filter((f) => f.fileName.startsWith(`${root}dist/`));
    const lines = own.reduce((n, f) => n + f.text.split('\n').length, 0);
    const checker = program.getTypeChecker();
    const names = checker.getExportsOfModule(checker.getSymbolAtLocation(program.getSourceFile(entry)!)!).map((x) => x.name);
    expect(names.length, names.join(', ')).toBeLessThanOrEqual(70);
    expect(lines, own.map((f) => f.fileName.slice(root.length)).join(', ')).toBeLessThanOrEqual(1_000);
    const classes = own.filter((f) => /^dist\/(users|run-folder)\//.test(f.fileName.slice(root.length)) && /\bclass\b/.test(f.text)).map((f) => f.fileName);
    expect(classes).toEqual([]);
    const dev = Object.keys((JSON.parse(readFileSync(`${root}package.json`, 'utf8')) as { devDependencies: Record<string, string> }).devDependencies);
    const imports = (f: ts.SourceFile, d: string) => [`from '${d}'`, `from "${d}"`, `import("${d}")`].some((x) => f.text.includes(x));
    const fromDev = own.filter((f) => dev.some((d) => imports(f, d.replace(/^@types\//, ''))) || /\b(Buffer|NodeJS)\b/.test(f.text)).map((f) => f.fileName);
    expect(fromDev).toEqual([]);
  });

  it('publishes typed entry points: a user file and the README\'s examples compile against the built package, and an undeclared step does not', () => {
    const readme = readFileSync(`${root}README.md`, 'utf8');
    const examples = [...readme.matchAll(/```ts\n([\s\S]*?)```/g)].map((m) => m[1]!);
    expect(examples.length, 'the README has TypeScript examples').toBeGreaterThanOrEqual(3);
    examples.forEach((code, i) => writeFileSync(`${root}test/types/readme-${i + 1}.ts`, `// Written by test/house.test.ts from README.md.\n${code}`));
    const r = spawnSync(process.execPath, [`${root}node_modules/typescript/bin/tsc`, '-p', 'test/types/tsconfig.json'], { cwd: root, encoding: 'utf8' });
    expect(r.status, r.stdout + r.stderr).toBe(0);
    const pkg = JSON.parse(readFileSync(`${root}package.json`, 'utf8')) as { exports: Record<string, { types?: string }> };
    expect(pkg.exports['.']?.types).toBe('./dist/index.d.ts');
  });
});
