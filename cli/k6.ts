// export k6 and import k6: the same scenario handed to k6, and its results read back into a run folder.
import { mkdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { Command, Option } from 'commander';
import { exportJourneyK6 } from '../k6/export.js';
import { isScenarioFile, loadScenarioFile } from '../modules/scenario.js';
import { importK6 } from '../k6/import.js';
import { writeReport } from '../reports/build-report.js';
import { writeFileAtomic } from '../run-folder/writer.js';
import { builtInJourney } from '../targets/index.js';
import { targetUrl } from '../targets/platform.js';
import type { Scenario } from '../scenarios/model.js';
import { scenarioOfTimetable, timetableFlags, type TimetableFlags } from './timetable.js';
import { allowTargetOption, EXIT, maxAnswerOption, fmt, journeyFlags, journeyOfFlags, requireTarget, writableFolder, parseNumber, scaleOption, scenarioByName, seedOption, printVerdict, shownPath, type Io, type SetAction, type TargetKindFlags } from './shared.js';

/** export k6 and import k6. */
export function addK6Commands(program: Command, io: Io, setAction: SetAction): Command {
  const exporter = program.command('export').description('hand a scenario to another engine (k6) or to Kubernetes (firstbell shards as an Indexed Job)');
  const k6 = exporter
    .command('k6')
    .description("write a k6 script (the journey, a built-in kind's or your own, bundled with firstbell's k6 runtime into one script.js) and a k6-operator TestRun manifest for a scenario")
    .argument('<scenario>', "built-in scenario name, a scenario file (its journey is bundled into the script), or a timetable (.csv, .txt; see 'firstbell timetable')")
    .option('--target <url>', 'base URL of the platform the k6 runners will load (required)')
    .addOption(allowTargetOption())
    .addOption(maxAnswerOption())
    .addOption(scaleOption())
    .addOption(seedOption())
    .addOption(new Option('--parallelism <n>', 'k6 runner pods in the TestRun').argParser(parseNumber('--parallelism', 1, 1000, true)).default(4))
    .option('--out <dir>', 'folder to write the script and testrun.yaml into (default: k6/<name>)');
  timetableFlags(journeyFlags(k6)).action((name: string, o: TargetKindFlags & TimetableFlags & { target: string; scale: number; parallelism: number; maxAnswer: number; out?: string }, cmd: Command) =>
    setAction(async () => {
      requireTarget(o.target);
      const cwd = io.cwd ?? process.cwd();
      // A timetable's scenario is written beside the script: the import reads the plan back from it.
      let timetable: Scenario | undefined;
      const scenario = await scenarioByName(name, o.scale, [], undefined, (f) => (timetable = scenarioOfTimetable(f, o, io.cwd)), o);
      const { journey, given } = journeyOfFlags(o, scenario, cmd, cwd);
      const schemes = 'kind' in journey ? builtInJourney(journey.kind).schemes : undefined;
      const target = targetUrl(o.target, o.allowTarget, schemes, 'kind' in journey ? `--target-kind ${journey.kind}` : 'the journey');
      const e = await exportJourneyK6({ scenario, seed: o.seed, target, journey, options: given, typecheck: o.typecheck !== false, parallelism: o.parallelism, allowHosts: o.allowTarget, maxAnswerBytes: o.maxAnswer });
      const dir = writableFolder('--out', o.out ?? join('k6', e.name), io.cwd);
      mkdirSync(dir, { recursive: true });
      writeFileAtomic(join(dir, 'script.js'), e.script);
      writeFileAtomic(join(dir, 'testrun.yaml'), e.manifest);
      if (timetable) writeFileAtomic(join(dir, 'scenario.json'), JSON.stringify(timetable, null, 2) + '\n');
      io.stdout.write(`${join(dir, 'script.js')}\n${join(dir, 'testrun.yaml')}\n${timetable ? `${join(dir, 'scenario.json')}\n` : ''}`);
      // A scenario that is not built in is read back from its file.
      const scenarioFlag = timetable ? ` --scenario ${join(dir, 'scenario.json')}` : isScenarioFile(name) ? ` --scenario ${resolve(cwd, name)}` : '';
      io.stderr.write(`run it: k6 run --out csv=results.csv ${join(dir, 'script.js')}   then: firstbell import k6 results.csv${scenarioFlag}\n${e.notes.map((n) => `note: ${n}\n`).join('')}`);
      return EXIT.ok;
    }),
  );

  const importer = program.command('import').description('read results of another engine (k6) into a run folder and report');
  importer
    .command('k6')
    .description('merge k6 results (--out csv or --out json, one file per runner) into a run folder and build its report')
    .argument('<results...>', 'k6 result files (CSV or JSON lines)')
    .option('--out <dir>', 'folder that receives the run folder', 'runs')
    .option('--scenario <file>', 'the scenario file the script was exported from (needed for a scenario that is not built in)')
    .option('--json', 'print only summary.json on stdout')
    .action((files: string[], o: { out: string; scenario?: string; json?: boolean }) =>
      setAction(async () => {
        const cwd = io.cwd ?? process.cwd();
        const given = o.scenario !== undefined ? await loadScenarioFile(resolve(cwd, o.scenario)) : undefined;
        const r = await importK6(files.map((f) => resolve(cwd, f)), writableFolder('--out', o.out, cwd), undefined, io.signal, given);
        const { analysis, reportPath } = await writeReport(r.dir);
        return printVerdict(io, analysis, shownPath(io, reportPath), o.json, [
          `imported ${fmt(r.samples)} samples from ${r.runners} runner${r.runners === 1 ? '' : 's'} (${fmt(r.dropped)} iterations dropped by k6)`,
          ...r.torn.map((t) => `  note      ${t}`),
        ]);
      }),
    );
  return exporter;
}
