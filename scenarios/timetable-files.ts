// Timetables as schools export them: Untis GPU001 with its period times and class sizes, or a generic CSV.
// Only schools, classes, days, times and counts are kept; teachers, subjects and rooms are never read into a lesson.
import { readFileSync } from 'node:fs';
import { basename } from 'node:path';
import { parse } from 'csv-parse/sync';
import { ProblemsError, type Problem } from './model.js';

/** One lesson of one class: when its pupils join, and when they leave. */
export interface Lesson {
  school: string;
  className: string;
  /** 1 = Monday … 7 = Sunday. */
  day: number;
  /** Minutes after midnight. */
  startMin: number;
  endMin: number;
  pupils: number;
  /** The file and line of the row it came from. */
  file: string;
  line: number;
}

/** file:line of a lesson's row. */
export const whereOf = (l: Lesson) => `${l.file}:${l.line}`;

/** The files of a timetable. */
export interface TimetableFiles {
  /** Untis GPU001 (lesson, class, teacher, subject, room, day, period, length; no header), or a generic CSV with the header school;class;day;start;end;pupils. */
  timetable: string;
  /** GPU001: the period times, `period;start;end` (a header line is allowed), or `day;period;start;end`. */
  periods?: string;
  /** GPU001: class sizes, `class;pupils` or `school;class;pupils`. */
  classSizes?: string;
  /** Pupils of a class that the sizes do not list. */
  defaultClassSize?: number;
  /** GPU001: the school's name; default the file's name. */
  school?: string;
}

/** A row of a file as it is read: its fields, its line, and its raw text and delimiter for pointing at a field. */
type Row = { fields: string[]; line: number; raw: string; delimiter: string };

const DAYS: Record<string, number> = {
  mo: 1, mon: 1, monday: 1, montag: 1, tu: 2, tue: 2, tuesday: 2, di: 2, dienstag: 2, we: 3, wed: 3, wednesday: 3, mi: 3, mittwoch: 3,
  th: 4, thu: 4, thursday: 4, do: 4, donnerstag: 4, fr: 5, fri: 5, friday: 5, freitag: 5, sa: 6, sat: 6, saturday: 6, samstag: 6, su: 7, sun: 7, sunday: 7, so: 7, sonntag: 7,
};

/** A weekday as 1..7 from a number or a name (English or German, short or long); undefined when it is none. */
export function dayOf(v: string): number | undefined {
  const t = v.trim().toLowerCase();
  if (/^[1-7]$/.test(t)) return Number(t);
  return DAYS[t];
}

/** "08:00", "8:00" or "0800" as minutes after midnight; undefined when it is not a time of day. */
export function minutesOf(v: string): number | undefined {
  const m = /^(\d{1,2}):?(\d{2})(?::\d{2})?$/.exec(v.trim());
  if (!m) return undefined;
  const h = Number(m[1]);
  const min = Number(m[2]);
  return h < 24 && min < 60 ? h * 60 + min : undefined;
}

export const clockOfMinutes = (min: number) => `${String(Math.floor(min / 60) % 24).padStart(2, '0')}:${String(min % 60).padStart(2, '0')}`;

/** The delimiter of a CSV: whichever of ; , tab is most common in its first line outside quotes. */
function delimiterOf(text: string): string {
  const first = text.split(/\r?\n/).find((l) => l.trim() !== '') ?? '';
  const unquoted = first.replace(/"[^"]*"/g, '');
  const counts = [';', ',', '\t'].map((d) => [d, unquoted.split(d).length - 1] as const).sort((a, b) => b[1] - a[1]);
  return counts[0]![1] > 0 ? counts[0]![0] : ';';
}

/**
 * Hands each row of a file to `each` as it is parsed, each field trimmed: a district's timetable of hundreds of
 * thousands of lines is never held as rows, only as what `each` keeps of them.
 */
function readRows(file: string, problems: Problem[], each: (r: Row) => void): void {
  let text: string;
  try {
    text = readFileSync(file, 'utf8').replace(/^\uFEFF/, '');
  } catch (e) {
    problems.push({ where: file, message: `cannot be read (${(e as NodeJS.ErrnoException).code ?? String(e)})`, hint: 'give the path of the exported file' });
    return;
  }
  const delimiter = delimiterOf(text);
  try {
    parse(text, {
      delimiter, relax_column_count: true, skip_empty_lines: true, raw: true, relax_quotes: true,
      on_record: (r: unknown, context: { lines: number }) => {
        const { record, raw } = r as { record: string[]; raw: string };
        each({ fields: record.map((f) => f.trim()), line: context.lines, raw, delimiter });
        return null;
      },
    });
  } catch (e) {
    const err = e as { lines?: number; message: string };
    problems.push({ where: `${file}:${err.lines ?? 1}`, message: `is not a CSV file: ${err.message}`, hint: 'export it as text with ; or , between the fields and " around text' });
  }
}

/** Where each field of a raw line starts, 1-based. */
function columnsOf(raw: string, delimiter: string): number[] {
  const cols = [1];
  let quoted = false;
  for (let i = 0; i < raw.length; i++) {
    if (raw[i] === '"') quoted = !quoted;
    else if (!quoted && raw[i] === delimiter) cols.push(i + 2);
  }
  return cols;
}

const at = (file: string, r: Row, field: number) => `${file}:${r.line}:${columnsOf(r.raw.replace(/^[\r\n]+/, ''), r.delimiter)[field] ?? 1}`;

/** Period times: period → [start, end] minutes, for every day (day 0) or one day. */
function readPeriods(file: string, problems: Problem[]): Map<string, [number, number]> {
  const out = new Map<string, [number, number]>();
  readRows(file, problems, (r) => {
    const f = r.fields;
    const withDay = f.length >= 4 && dayOf(f[0]!) !== undefined && minutesOf(f[2]!) !== undefined;
    const [day, period, start, end] = withDay ? [dayOf(f[0]!)!, f[1]!, f[2]!, f[3]!] : [0, f[0]!, f[1] ?? '', f[2] ?? ''];
    const off = withDay ? 1 : 0;
    const s = minutesOf(start);
    const e = minutesOf(end);
    if (s === undefined || e === undefined) {
      // A header line names its columns.
      if (r.line === 1 && !/^\d+$/.test(period)) return;
      const bad = s === undefined ? 1 : 2;
      problems.push({ where: at(file, r, off + bad), message: `"${f[off + bad] ?? ''}" is not a time of day`, hint: 'give each period as period;start;end, e.g. 1;08:00;08:45' });
      return;
    }
    if (e <= s) problems.push({ where: at(file, r, off + 2), message: `period ${period} ends (${end}) before it starts (${start})`, hint: 'give the end after the start' });
    out.set(`${day}:${period}`, [s, e]);
  });
  if (out.size === 0 && !problems.length) problems.push({ where: file, message: 'has no periods', hint: 'give one line per period: period;start;end, e.g. 1;08:00;08:45' });
  return out;
}

/** Class sizes: "school/class" or "class" → pupils. */
function readSizes(file: string, problems: Problem[]): Map<string, number> {
  const out = new Map<string, number>();
  readRows(file, problems, (r) => {
    const f = r.fields;
    const n = f.length >= 3 ? 2 : 1;
    const pupils = Number(f[n]);
    if (!Number.isInteger(pupils) || pupils < 0) {
      if (r.line === 1) return; // a header
      problems.push({ where: at(file, r, n), message: `"${f[n] ?? ''}" is not a number of pupils`, hint: 'give each class as class;pupils, e.g. 5a;27' });
      return;
    }
    out.set(n === 2 ? `${f[0]}/${f[1]}` : f[0]!, pupils);
  });
  return out;
}

const GENERIC_HEADER = ['school', 'class', 'day', 'start', 'end', 'pupils'];

/** Reads a timetable's files into lessons; every problem is named with file:line:column and the fix. */
export function readTimetable(f: TimetableFiles): Lesson[] {
  const problems: Problem[] = [];
  let reader: ((r: Row) => void) | undefined;
  let lessons: () => Lesson[] = () => [];
  readRows(f.timetable, problems, (r) => {
    if (reader) return reader(r);
    const head = r.fields.map((x) => x.toLowerCase());
    if (GENERIC_HEADER.every((h, i) => head[i] === h)) {
      const out: Lesson[] = [];
      reader = (row) => genericLesson(f, row, problems, out);
      lessons = () => out;
      return;
    }
    const untis = untisReader(f, problems);
    reader = untis.row;
    lessons = untis.lessons;
    reader(r);
  });
  const out = problems.length ? [] : lessons();
  if (!problems.length) checkOverlaps(out, problems);
  if (problems.length) throw new ProblemsError(problems);
  return out;
}

/** A generic CSV's row as a lesson, added to `out`; what is wrong with it added to `problems`. */
function genericLesson(f: TimetableFiles, r: Row, problems: Problem[], out: Lesson[]): void {
  const [school, className, day, start, end, pupils] = r.fields;
  const bad = (field: number, message: string, hint: string) => problems.push({ where: at(f.timetable, r, field), message, hint });
  if (r.fields.length < 5) {
    bad(0, `has ${r.fields.length} fields, not ${GENERIC_HEADER.length}`, `give ${GENERIC_HEADER.join(';')} on every line, with the header's delimiter`);
    return;
  }
  const d = dayOf(day!);
  const s = minutesOf(start!);
  const e = minutesOf(end!);
  const size = pupils === undefined || pupils === '' ? f.defaultClassSize : Number(pupils);
  if (d === undefined) bad(2, `"${day}" is not a day of the week`, 'give 1 (Monday) to 7 (Sunday), or a name such as Mon');
  if (s === undefined) bad(3, `"${start}" is not a time of day`, 'give a time such as 08:00');
  if (e === undefined) bad(4, `"${end}" is not a time of day`, 'give a time such as 08:45');
  if (s !== undefined && e !== undefined && e <= s) bad(4, `the lesson ends (${end}) before it starts (${start})`, 'give the end after the start');
  if (size === undefined || !Number.isInteger(size) || size < 0) {
    bad(5, pupils ? `"${pupils}" is not a number of pupils` : `class ${className} has no number of pupils and there is no default`, 'give the pupils on the line, or a default with --class-size');
    return;
  }
  if (d !== undefined && s !== undefined && e !== undefined) out.push({ school: school!, className: className!, day: d, startMin: s, endMin: e, pupils: size, file: f.timetable, line: r.line });
}

/** GPU001 rows; lessons of one class in the same period are one lesson, and consecutive periods of one lesson number one lesson. */
function untisReader(f: TimetableFiles, problems: Problem[]): { row: (r: Row) => void; lessons: () => Lesson[] } {
  if (f.periods === undefined) {
    problems.push({ where: f.timetable, message: 'is an Untis timetable (GPU001) and needs the period times', hint: 'give --periods periods.csv (period;start;end), or use the generic format with the header school;class;day;start;end;pupils' });
    return { row: () => undefined, lessons: () => [] };
  }
  const periods = readPeriods(f.periods, problems);
  const sizes = f.classSizes !== undefined ? readSizes(f.classSizes, problems) : new Map<string, number>();
  const school = f.school ?? basename(f.timetable).replace(/\.[^.]*$/, '');
  const byKey = new Map<string, Lesson & { lesson: string; period: number }>();
  const row = (r: Row) => {
    const [lesson, className, , , , day, period, length] = r.fields;
    const bad = (field: number, message: string, hint: string) => problems.push({ where: at(f.timetable, r, field), message, hint });
    if (r.fields.length < 7) return bad(0, `has ${r.fields.length} fields, not the 7 or more of a GPU001 line`, 'export the timetable (Stundenplan) as GPU001 with , or ; between the fields');
    if (!className) return; // a lesson without a class has no pupils
    const d = dayOf(day!);
    if (d === undefined) return bad(5, `"${day}" is not a day of the week`, 'GPU001 gives days as 1 (Monday) to 7 (Sunday)');
    const times = periods.get(`${d}:${period}`) ?? periods.get(`0:${period}`);
    if (!times) return bad(6, `period "${period}" is not in ${f.periods}`, `add period ${period} to ${f.periods} (period;start;end)`);
    const size = sizes.get(`${school}/${className}`) ?? sizes.get(className) ?? f.defaultClassSize;
    if (size === undefined) return bad(1, `class ${className} has no number of pupils and there is no default`, `add ${className};<pupils> to the class sizes, or give --class-size`);
    const mins = length ? minutesOf(length) : undefined;
    const end = mins !== undefined ? times[0] + mins : times[1];
    const key = `${className}|${d}|${period}`;
    if (!byKey.has(key)) byKey.set(key, { school, className, day: d, startMin: times[0], endMin: end, pupils: size, file: f.timetable, line: r.line, lesson: lesson!, period: Number(period) });
  };
  return { row, lessons: () => joinPeriods([...byKey.values()]) };
}

/** A double period of one lesson is one lesson: its pupils stay in their conference across the bell. */
function joinPeriods(all: (Lesson & { lesson: string; period: number })[]): Lesson[] {
  const sorted = all.sort((a, b) => a.className.localeCompare(b.className) || a.day - b.day || a.startMin - b.startMin);
  const out: (Lesson & { lesson: string; period: number })[] = [];
  for (const l of sorted) {
    const prev = out.at(-1);
    // Consecutive periods (across a break too) of one lesson number: the pupils stay in their conference.
    if (prev && prev.className === l.className && prev.day === l.day && prev.lesson === l.lesson && prev.period + 1 === l.period) {
      prev.endMin = l.endMin;
      prev.period = l.period;
    } else out.push({ ...l });
  }
  return out.map(({ school: s, className: c, day, startMin, endMin, pupils, file, line }) => ({ school: s, className: c, day, startMin, endMin, pupils, file, line }));
}

/** Two lessons of one class at once cannot both be joined. */
function checkOverlaps(lessons: Lesson[], problems: Problem[]): void {
  const byClass = new Map<string, Lesson[]>();
  for (const l of lessons) {
    const k = `${l.school}|${l.className}|${l.day}`;
    let list = byClass.get(k);
    if (!list) byClass.set(k, (list = []));
    list.push(l);
  }
  for (const list of byClass.values()) {
    list.sort((a, b) => a.startMin - b.startMin);
    for (let i = 1; i < list.length; i++) {
      const a = list[i - 1]!;
      const b = list[i]!;
      if (b.startMin < a.endMin) {
        problems.push({
          where: `${whereOf(b)}:1`,
          message: `class ${b.className} has a lesson from ${clockOfMinutes(b.startMin)} while its lesson from ${clockOfMinutes(a.startMin)} (${whereOf(a)}) lasts to ${clockOfMinutes(a.endMin)}`,
          hint: 'a class is in one lesson at a time: fix the times, or give the groups of a split class as classes of their own',
        });
      }
    }
  }
}
