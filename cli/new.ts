// new: a folder to start from, as `k6 new` gives one: a journey, a load shape and what they need to type-check and
// run, copied from one of the examples that `npm test` runs against a real server.
import { copyFileSync, existsSync, mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { basename, join, relative, resolve } from 'node:path';
import { Option, type Command } from 'commander';
import { PACKAGE_ROOT, VERSION } from '../lib/version.js';
import { importHar, type HarImport } from './har.js';
import { EXIT, UsageError, type Io, type SetAction } from './shared.js';

/** What each template is: the example it is copied from, its files, the scenario to run, and the run's flags beyond --target. */
const TEMPLATES = {
  http: {
    what: 'a JSON login that sets a cookie, an API call and a classroom WebSocket held with heartbeats, arriving on a ramp',
    example: 'json-login', files: ['journey.ts', 'ramp.ts', 'steady.json', 'pupils.csv'], scenario: 'ramp.ts', flags: '', target: 'http://127.0.0.1:8080',
  },
  janus: {
    what: "Janus alone over its HTTP API: each pupil joins their class's VideoRoom and keeps the session alive",
    example: 'janus-rest', files: ['journey.ts', 'classes.ts'], scenario: 'classes.ts', flags: '', target: 'http://127.0.0.1:8088/janus',
  },
  browser: {
    what: 'browser users in your classroom page (open it, press Join, wait until it says joined) beside pupils held on the Janus behind it',
    example: 'janus-classroom', files: ['web-client.ts', 'steady.ts'], scenario: 'steady.ts', flags: ' --target-kind janus --web-client web-client.ts --browsers 2', target: 'ws://127.0.0.1:8080/janus',
  },
} as const;

export type TemplateName = keyof typeof TEMPLATES;

/** The load shape of a project made from a recording: its journey arriving ever faster, each with a row of the data. */
function recordedRamp(har: string, withData: boolean): string {
  return `// The journey recorded in ${har}, arriving ever faster: where a layer stops keeping up is its knee.
import { defineScenario, load${withData ? ', csv' : ''} } from 'firstbell';

export default defineScenario({
  name: 'recorded-ramp',
  description: 'The recorded journey, 0 to 10 arrivals a second over 20 s.',
  journey: './journey.ts',
${withData ? "  // A row per participant: the recording's is the first; add one per test account (or csv(…, { reuse: true })).\n  data: csv('./pupils.csv'),\n" : ''}  phases: load.ramp({ fromPerSec: 0, toPerSec: 10, overMs: 20_000 }),
  client: { thinkTimeMs: 100, stepTimeoutMs: 5_000 },
  observeMs: 3_000,
});
`;
}

/** The journey of a recording and its load shape, in `dir` (journey.ts, ramp.ts, pupils.csv where the user typed values). */
function fromHar(dir: string, har: string): { files: string[]; imported: HarImport } {
  const imported = importHar(har, join(dir, 'journey.ts'), { csv: join(dir, 'pupils.csv') });
  const files = ['journey.ts', 'ramp.ts', ...(imported.csv ? ['pupils.csv'] : [])];
  writeFileSync(join(dir, 'ramp.ts'), recordedRamp(basename(har), imported.csv !== undefined));
  return { files, imported };
}

/**
 * Writes a new project folder from a template, or from a recording (`har`: a HAR file to import as its journey);
 * returns the files written and its run command. Refuses a folder that has files in it.
 */
export function newProject(dir: string, template: TemplateName, target?: string, har?: string): { files: string[]; run: string; imported?: HarImport } {
  const t = har ? { ...TEMPLATES.http, what: `the journey recorded in ${basename(har)}, arriving on a ramp`, scenario: 'ramp.ts' } : TEMPLATES[template];
  if (existsSync(dir) && readdirSync(dir).length > 0) throw new UsageError(`${dir} is not empty; give a new folder (firstbell new <dir>), so that nothing of yours is overwritten`);
  mkdirSync(dir, { recursive: true });
  let files: string[] = [...t.files];
  let imported: HarImport | undefined;
  if (har) ({ files, imported } = fromHar(dir, har));
  else for (const f of t.files) copyFileSync(join(PACKAGE_ROOT, 'examples', t.example, f), join(dir, f));
  const url = target ?? imported?.origin ?? t.target;
  // firstbell from where this one is: a clone, or the package a project installed.
  const self = relative(resolve(dir), PACKAGE_ROOT) || '.';
  const pkg = {
    name: basename(resolve(dir)).toLowerCase().replace(/[^a-z0-9-]+/g, '-') || 'firstbell-project',
    private: true,
    type: 'module',
    description: har ? `firstbell project: ${t.what}` : `firstbell ${template} template: ${t.what}`,
    scripts: {
      plan: `firstbell plan ${t.scenario}`,
      run: `firstbell run ${t.scenario} --target ${url}${t.flags}`,
      typecheck: 'tsc --noEmit',
    },
    dependencies: { firstbell: `file:${self}` },
    devDependencies: { typescript: '^5.0.0' },
  };
  const tsconfig = {
    compilerOptions: { target: 'ES2022', module: 'NodeNext', moduleResolution: 'NodeNext', strict: true, noEmit: true, skipLibCheck: true, types: [] },
    include: ['*.ts'],
  };
  writeFileSync(join(dir, 'package.json'), JSON.stringify(pkg, null, 2) + '\n');
  writeFileSync(join(dir, 'tsconfig.json'), JSON.stringify(tsconfig, null, 2) + '\n');
  return { files: [...files, 'package.json', 'tsconfig.json'], run: pkg.scripts.run, ...(imported ? { imported } : {}) };
}

export function addNewCommand(program: Command, io: Io, setAction: SetAction): void {
  program
    .command('new')
    .description('write a folder to start from: a journey and a load shape copied from an example, with package.json and tsconfig.json (templates: http, janus, browser)')
    .argument('<dir>', 'the new folder (it must not exist, or be empty)')
    .addOption(new Option('--template <name>', 'http: JSON login, API call, held WebSocket; janus: Janus over its HTTP API; browser: a web client for browser users').choices(Object.keys(TEMPLATES)).default('http'))
    .option('--target <url>', "the platform's URL, written into the package's run script (default: the template's example address, or the recording's origin)")
    .option('--from-har <file>', 'the journey from a browser recording of your platform (as import har makes it), with a ramp and its data')
    .action((dir: string, o: { template: TemplateName; target?: string; fromHar?: string }) =>
      setAction(async () => {
        const cwd = io.cwd ?? process.cwd();
        const at = resolve(cwd, dir);
        const { files, run, imported } = newProject(at, o.template, o.target, o.fromHar === undefined ? undefined : resolve(cwd, o.fromHar));
        const shown = relative(cwd, at) || '.';
        const what = imported ? `from ${o.fromHar}: ${imported.steps.length} steps (${imported.steps.map((s) => `${s.name} ${s.layer}`).join(', ')})` : `${o.template} template in ${shown}: ${TEMPLATES[o.template].what}`;
        io.stderr.write(
          `firstbell ${VERSION}: ${what}\n  ${files.join(', ')}\n` +
            (imported?.csv ? `  ${shown}/pupils.csv holds the recording's row only: add one per test account before the run\n` : '') +
            `next: cd ${shown} && npm install      (firstbell from ${PACKAGE_ROOT})\n` +
            `      npx firstbell plan ${imported ? 'ramp.ts' : TEMPLATES[o.template].scenario}                      what it sends, without sending\n` +
            `      npx ${run}\n`,
        );
        return EXIT.ok;
      }),
    );
}
