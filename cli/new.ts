// new: a folder to start from, as `k6 new` gives one: a journey, a load shape and what they need to type-check and
// run, copied from one of the examples that `npm test` runs against a real server.
import { copyFileSync, existsSync, mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { basename, join, relative, resolve } from 'node:path';
import { Option, type Command } from 'commander';
import { PACKAGE_ROOT, VERSION } from '../lib/version.js';
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

/** Writes a new project folder from a template; returns the files written and its run command. Refuses a folder that has files in it. */
export function newProject(dir: string, template: TemplateName, target?: string): { files: string[]; run: string } {
  const t = TEMPLATES[template];
  if (existsSync(dir) && readdirSync(dir).length > 0) throw new UsageError(`${dir} is not empty; give a new folder (firstbell new <dir>), so that nothing of yours is overwritten`);
  mkdirSync(dir, { recursive: true });
  const from = join(PACKAGE_ROOT, 'examples', t.example);
  for (const f of t.files) copyFileSync(join(from, f), join(dir, f));
  const url = target ?? t.target;
  // firstbell from where this one is: a clone, or the package a project installed.
  const self = relative(resolve(dir), PACKAGE_ROOT) || '.';
  const pkg = {
    name: basename(resolve(dir)).toLowerCase().replace(/[^a-z0-9-]+/g, '-') || 'firstbell-project',
    private: true,
    type: 'module',
    description: `firstbell ${template} template: ${t.what}`,
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
  return { files: [...t.files, 'package.json', 'tsconfig.json'], run: pkg.scripts.run };
}

export function addNewCommand(program: Command, io: Io, setAction: SetAction): void {
  program
    .command('new')
    .description('write a folder to start from: a journey and a load shape copied from an example, with package.json and tsconfig.json (templates: http, janus, browser)')
    .argument('<dir>', 'the new folder (it must not exist, or be empty)')
    .addOption(new Option('--template <name>', 'http: JSON login, API call, held WebSocket; janus: Janus over its HTTP API; browser: a web client for browser users').choices(Object.keys(TEMPLATES)).default('http'))
    .option('--target <url>', "the platform's URL, written into the package's run script (default: the template's example address)")
    .action((dir: string, o: { template: TemplateName; target?: string }) =>
      setAction(async () => {
        const at = resolve(io.cwd ?? process.cwd(), dir);
        const { files, run } = newProject(at, o.template, o.target);
        const t = TEMPLATES[o.template];
        const shown = relative(io.cwd ?? process.cwd(), at) || '.';
        io.stderr.write(
          `firstbell ${VERSION}: ${o.template} template in ${shown}: ${t.what}\n  ${files.join(', ')}\n` +
            `next: cd ${shown} && npm install      (firstbell from ${PACKAGE_ROOT})\n` +
            `      npx firstbell plan ${t.scenario}                      what it sends, without sending\n` +
            `      npx ${run}\n`,
        );
        return EXIT.ok;
      }),
    );
}
