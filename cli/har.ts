// record and import har: a browser's recording of the platform (HAR), made by Chromium or brought by the user, into a
// typed journey module, correlated offline.
import { existsSync, mkdirSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import type { Command } from 'commander';
import { correlate } from '../har/correlate.js';
import { readHar, recordingOf } from '../har/har.js';
import { journeySource } from '../har/journey-source.js';
import { record } from '../har/record.js';
import type { RecordScript } from '../har/script.js';
import { isLoopback } from '../lib/ports.js';
import { importDefault } from '../modules/bundle.js';
import { writeFileAtomic } from '../run-folder/writer.js';
import { allowTargetOption, EXIT, UsageError, type Io, type SetAction } from './shared.js';

export interface HarImport {
  journey: string;
  csv?: string;
  steps: { name: string; layer: string }[];
  variables: string[];
  left: string[];
  origin: string;
}

/**
 * Imports `file` into the journey module `out` and its data file (`csv`, else <name>.users.csv beside it); refuses
 * to overwrite without `force`.
 */
export function importHar(file: string, out: string, opts: { origin?: string; force?: boolean; csv?: string } = {}): HarImport {
  if (!/\.(ts|mts)$/.test(out)) throw new UsageError(`--out ${out}: give a TypeScript file for the journey, e.g. --out journey.ts`);
  const csvPath = opts.csv ?? join(dirname(out), `${basename(out).replace(/\.m?ts$/, '')}.users.csv`);
  for (const f of [out, csvPath]) if (existsSync(f) && !opts.force) throw new UsageError(`${f} exists; give another --out, or --force to overwrite it`);
  if (opts.origin !== undefined && !/^(https?|wss?):\/\/[^/]+/i.test(opts.origin)) throw new UsageError(`--origin ${opts.origin}: give the platform's origin, e.g. http://127.0.0.1:8080`);
  const recording = recordingOf(readHar(file), { origin: opts.origin });
  const c = correlate(recording);
  const j = journeySource(c, basename(file), basename(csvPath));
  mkdirSync(dirname(out), { recursive: true });
  writeFileAtomic(out, j.source);
  if (j.csv) writeFileAtomic(csvPath, j.csv);
  return { journey: out, ...(j.csv ? { csv: csvPath } : {}), steps: j.steps, variables: c.variables.map((v) => v.name), left: recording.left, origin: recording.origin };
}

export function addHarCommand(program: Command, io: Io, setAction: SetAction): void {
  const importer = program.commands.find((c) => c.name() === 'import');
  if (!importer) throw new Error('the import command is missing');
  importer
    .command('har')
    .description("turn a browser's recording of your platform (HAR from the developer tools' Network panel) into a typed journey module, with the values it hands out taken from its answers")
    .argument('<file>', 'the HAR file')
    .requiredOption('--out <file>', 'the journey module to write (its typed credentials go to <name>.users.csv beside it)')
    .option('--origin <url>', "the platform's origin, when the recording's first page is not on it")
    .option('--force', 'overwrite the journey and its data file')
    .action((file: string, o: { out: string; origin?: string; force?: boolean }) =>
      setAction(async () => {
        const cwd = io.cwd ?? process.cwd();
        const r = importHar(resolve(cwd, file), resolve(cwd, o.out), o);
        const lines = [
          `journey: ${o.out} (${r.steps.length} steps: ${r.steps.map((s) => `${s.name} ${s.layer}`).join(', ')})`,
          `taken from the answers: ${r.variables.length ? r.variables.join(', ') : 'nothing (the cookies go back by themselves)'}`,
          ...(r.csv ? [`data: ${r.csv}: one row per test account (the recording's is the first); give it as the scenario's "data": { "csv": … }`] : []),
          ...(r.left.length ? [`left out: ${r.left.join('; ')}`] : []),
          `run it: npx firstbell run monday-0800 --journey ${o.out} --target ${r.origin} --scale 0.001`,
          `or make a project of it with a ramp${r.csv ? ' and its data' : ''}: npx firstbell new <dir> --from-har ${file}`,
        ];
        io.stdout.write(lines.join('\n') + '\n');
        return EXIT.ok;
      }),
    );
}

/** The URL to record, on loopback or an allowed host; a bad one is a usage error naming the fix. */
function recordUrl(url: string, allowHosts: string[]): string {
  if (!URL.canParse(url) || !/^https?:$/.test(new URL(url).protocol)) throw new UsageError(`${url} is not an http:// or https:// URL; give the platform's first page, e.g. http://127.0.0.1:8080/login`);
  const host = new URL(url).hostname.replace(/^\[|\]$/g, '');
  if (!isLoopback(host) && !allowHosts.includes(host)) throw new UsageError(`${host} is not on loopback; firstbell loads only hosts it is allowed to: add --allow-target ${host}`);
  return url;
}

export function addRecordCommand(program: Command, io: Io, setAction: SetAction): void {
  program
    .command('record')
    .description("open your platform in Chromium and record what the browser sends and receives as a HAR (for import har): in a window, or headless with --script")
    .argument('<url>', "the platform's first page, e.g. http://127.0.0.1:8080/login")
    .requiredOption('--out <file>', 'the HAR file to write')
    .option('--script <file>', "a module whose default export is async (page, { url }) => { … }: the steps to record, with puppeteer-core's Page, in a headless Chromium")
    .option('--chromium <path>', 'Chromium to use (default: FIRSTBELL_CHROMIUM or /usr/bin/chromium)')
    .addOption(allowTargetOption())
    .action((url: string, o: { out: string; script?: string; chromium?: string; allowTarget: string[] }) =>
      setAction(async () => {
        const cwd = io.cwd ?? process.cwd();
        recordUrl(url, o.allowTarget);
        if (!o.script && !process.env.DISPLAY) throw new UsageError('there is no display here to open a window on: give --script with the steps to record in a headless Chromium');
        const script = o.script ? ((await importDefault(resolve(cwd, o.script), 'the steps to record: async (page, { url }) => { … }', 'export default async (page, { url }) => { await page.type(…); await page.click(…); }')).value as RecordScript) : undefined;
        if (script !== undefined && typeof script !== 'function') throw new UsageError(`${o.script}: its default export is not a function; export async (page, { url }) => { … }`);
        if (!script) io.stderr.write(`recording ${url}: do what a pupil does in the window, then close it (or press Ctrl-C)\n`);
        const har = await record({ url, script, executablePath: o.chromium, allowHosts: o.allowTarget, signal: io.signal });
        const out = resolve(cwd, o.out);
        mkdirSync(dirname(out), { recursive: true });
        writeFileAtomic(out, JSON.stringify(har, null, 1) + '\n');
        io.stdout.write(`${o.out}: ${har.log.entries.length} requests recorded\nimport it: npx firstbell import har ${o.out} --out journey.ts\n`);
        return EXIT.ok;
      }),
    );
}
