// timetable: a district's timetables made into a scenario file; and the timetable flags run and plan take for one given directly.
import { writeFileSync } from 'node:fs';
import { extname, resolve } from 'node:path';
import { InvalidArgumentError, Option, type Command } from 'commander';
import { ProblemsError, validateScenario, type Scenario } from '../scenarios/model.js';
import { dayOf, minutesOf, readTimetable } from '../scenarios/timetable-files.js';
import { timetableScenario, type TimetableOptions } from '../scenarios/timetable.js';
import { EXIT, fmt, parseNumber, seedOption, UsageError, type Io, type SetAction } from './shared.js';

/** The timetable flags as commander hands them over. */
export interface TimetableFlags {
  periods?: string;
  classSizes?: string;
  classSize?: number;
  schoolType?: 'primary' | 'secondary';
  school?: string;
  day?: number;
  from?: number;
  to?: number;
  schools?: number;
  clockSpread: number;
  stagger?: number;
  staggerSlots: number;
  move?: { share: number; minutes: number };
  arriveWithin: number;
  compress?: number;
  seed: number;
}

const time = (flag: string) => (v: string) => {
  const m = minutesOf(v);
  if (m === undefined) throw new InvalidArgumentError(`${flag} must be a time of day such as 07:45.`);
  return m;
};

/** The flags that turn a timetable into a scenario; `timetable`, `run` and `plan` take them. */
export function timetableFlags(cmd: Command): Command {
  return cmd
    .option('--periods <csv>', 'timetable: Untis period times, period;start;end (e.g. 1;08:00;08:45)')
    .option('--class-sizes <csv>', 'timetable: pupils per class, class;pupils (or school;class;pupils)')
    .addOption(new Option('--class-size <n>', 'timetable: pupils of a class the sizes do not list (default: by --school-type)').argParser(parseNumber('--class-size', 0, 1000, true)))
    .addOption(new Option('--school-type <type>', 'timetable: default class size, primary 21 or secondary 24').choices(['primary', 'secondary']))
    .option('--school <name>', "timetable: the Untis file's school (default: the file's name)")
    .addOption(new Option('--day <day>', 'timetable: weekday, Mon…Sun or 1…7 (default: the first with lessons)').argParser((v: string) => {
      const d = dayOf(v);
      if (d === undefined) throw new InvalidArgumentError('--day must be a weekday such as Mon or 1 (Monday) to 7 (Sunday).');
      return d;
    }))
    .addOption(new Option('--from <HH:MM>', 'timetable: lessons that begin from this time (those under way are there already)').argParser(time('--from')))
    .addOption(new Option('--to <HH:MM>', 'timetable: …and before this time').argParser(time('--to')))
    .addOption(new Option('--schools <n>', "timetable: schools in the district, the timetable's schools in turn").argParser(parseNumber('--schools', 1, 10_000, true)))
    .addOption(new Option('--clock-spread <s>', "timetable: schools' clocks differ by up to this many seconds").argParser(parseNumber('--clock-spread', 0, 3600)).default(60))
    .addOption(new Option('--stagger <minutes>', 'timetable: stagger lesson starts by school, in slots this many minutes apart').argParser(parseNumber('--stagger', 1, 120, true)))
    .addOption(new Option('--stagger-slots <n>', 'timetable: slots of --stagger; school k starts in slot k mod n').argParser(parseNumber('--stagger-slots', 2, 12, true)).default(3))
    .addOption(new Option('--move <share:minutes>', 'timetable: move a share of the classes by some minutes, e.g. 0.3:10').argParser((v: string) => {
      const m = /^(0?\.\d+|1(?:\.0+)?|0):(-?\d+)$/.exec(v.trim());
      if (!m) throw new InvalidArgumentError('--move must be share:minutes, e.g. 0.3:10 (30 % of the classes 10 minutes later).');
      return { share: Number(m[1]), minutes: Number(m[2]) };
    }))
    .addOption(new Option('--arrive-within <s>', 'timetable: pupils join within this many seconds of their bell').argParser(parseNumber('--arrive-within', 5, 3600)).default(120))
    .addOption(new Option('--compress <s>', 'timetable: cut the quiet between bells to this many seconds (a morning in minutes)').argParser(parseNumber('--compress', 1, 3600)));
}

/** A timetable file made into a scenario with the flags; its problems are ProblemsErrors (exit 2). */
export function scenarioOfTimetable(file: string, o: TimetableFlags, cwd = process.cwd()): Scenario {
  const lessons = readTimetable({
    timetable: resolve(cwd, file),
    ...(o.periods ? { periods: resolve(cwd, o.periods) } : {}),
    ...(o.classSizes ? { classSizes: resolve(cwd, o.classSizes) } : {}),
    defaultClassSize: o.classSize ?? (o.schoolType === 'primary' ? 21 : o.schoolType === 'secondary' ? 24 : undefined),
    ...(o.school ? { school: o.school } : {}),
  });
  const opts: TimetableOptions = {
    day: o.day, fromMin: o.from, toMin: o.to, schools: o.schools, clockSpreadMs: o.clockSpread * 1000, seed: o.seed,
    ...(o.stagger ? { stagger: { minutes: o.stagger, slots: o.staggerSlots } } : {}),
    ...(o.move ? { move: o.move } : {}),
    arrival: { withinMs: o.arriveWithin * 1000, riseMs: 2_000, halfLifeMs: Math.min(15_000, (o.arriveWithin * 1000) / 4) },
    ...(o.compress ? { compressToMs: o.compress * 1000 } : {}),
  };
  let s: Scenario;
  try {
    s = timetableScenario(lessons, opts);
  } catch (e) {
    throw new UsageError(`${file}: ${(e as Error).message}; choose another --day, --from or --to`);
  }
  const problems = validateScenario(s);
  if (problems.length) throw new ProblemsError(problems.map((p) => ({ ...p, where: `${file} (as a scenario): ${p.where}` })));
  return s;
}

export function addTimetableCommand(program: Command, io: Io, setAction: SetAction): void {
  timetableFlags(
    program
      .command('timetable')
      .description("make a scenario of a district's morning from its timetables (Untis GPU001 with period times and class sizes, or a CSV school;class;day;start;end;pupils): every lesson start a first bell of its classes")
      .argument('<file>', 'the timetable: GPU001.TXT, or a CSV with the header school;class;day;start;end;pupils')
      .option('--out <file>', 'write the scenario here (.json, or .ts for an editable defineScenario file); default: print it as JSON')
      .addOption(seedOption()),
  ).action((file: string, o: TimetableFlags & { out?: string }) =>
    setAction(async () => {
      const s = scenarioOfTimetable(file, o, io.cwd);
      const json = JSON.stringify(s, null, 2);
      if (o.out === undefined) {
        io.stdout.write(json + '\n');
      } else {
        const out = resolve(io.cwd ?? process.cwd(), o.out);
        const ts = extname(out) === '.ts';
        writeFileSync(out, ts ? `// ${s.description}\nimport { defineScenario } from 'firstbell';\n\nexport default defineScenario(${json});\n` : json + '\n');
        const bells = (s.bells ?? []).map((b) => `  ${b.clock}  ${fmt(b.participants).padStart(7)} pupils in ${fmt(b.classes)} classes, from t = ${(b.atMs / 1000).toFixed(0)} s`);
        io.stderr.write(`${s.description}\n${bells.join('\n')}\nwritten: ${o.out} (run it: firstbell run ${o.out} --target <url>)\n`);
      }
      return EXIT.ok;
    }),
  );
}
