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
  /** file:line of the row it came from. */
  where: string;
}

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

type Row = { fields: string[]; line: number; cols: number[] };

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

/** A file's rows, each field with its column (1-based character position), for messages that point at it. */
function readRows(file: string, problems: Problem[]): Row[] {
  let text: string;
  try {
    text = readFileSync(file, 'utf8').replace(/^\uFEFF/, '');
  } catch (e) {
    problems.push({ where: file, message: `cannot be read (${(e as NodeJS.ErrnoException).code ?? String(e)})`, hint: 'give the path of the exported file' });
    return [];
  }
  const delimiter = delimiterOf(text);
  try {
    const records = parse(text, { delimiter, relax_column_count: true, skip_empty_lines: true, info: true, raw: true, relax_quotes: true }) as unknown as { record: string[]; info: { lines: number }; raw: string }[];
    return records.map((r) => ({ fields: r.record.map((f) => f.trim()), line: r.info.lines, cols: columnsOf(r.raw, delimiter) }));
  } catch (e) {
    const err = e as { lines?: number; message: string };
    problems.push({ where: `${file}:${err.lines ?? 1}`, message: `is not a CSV file: ${err.message}`, hint: 'export it as text with ; or , between the fields and " around text' });
    return [];
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

const at = (file: string, r: Row, field: number) => `${file}:${r.line}:${r.cols[field] ?? 1}`;

/** Period times: period → [start, end] minutes, for every day (day 0) or one day. */
function readPeriods(file: string, problems: Problem[]): Map<string, [number, number]> {
  const out = new Map<string, [number, number]>();
  for (const r of readRows(file, problems)) {
    const f = r.fields;
    const withDay = f.length >= 4 && dayOf(f[0]!) !== undefined && minutesOf(f[2]!) !== undefined;
    const [day, period, start, end] = withDay ? [dayOf(f[0]!)!, f[1]!, f[2]!, f[3]!] : [0, f[0]!, f[1] ?? '', f[2] ?? ''];
    const off = withDay ? 1 : 0;
    const s = minutesOf(start);
    const e = minutesOf(end);
    if (s === undefined || e === undefined) {
      // A header line names its columns.
      if (r.line === 1 && !/^\d+$/.test(period)) continue;
      const bad = s === undefined ? 1 : 2;
      problems.push({ where: at(file, r, off + bad), message: `"${f[off + bad] ?? ''}" is not a time of day`, hint: 'give each period as period;start;end, e.g. 1;08:00;08:45' });
      continue;
    }
    if (e <= s) problems.push({ where: at(file, r, off + 2), message: `period ${period} ends (${end}) before it starts (${start})`, hint: 'give the end after the start' });
    out.set(`${day}:${period}`, [s, e]);
  }
  if (out.size === 0 && !problems.length) problems.push({ where: file, message: 'has no periods', hint: 'give one line per period: period;start;end, e.g. 1;08:00;08:45' });
  return out;
}

/** Class sizes: "school/class" or "class" → pupils. */
function readSizes(file: string, problems: Problem[]): Map<string, number> {
  const out = new Map<string, number>();
  for (const r of readRows(file, problems)) {
    const f = r.fields;
    const n = f.length >= 3 ? 2 : 1;
    const pupils = Number(f[n]);
    if (!Number.isInteger(pupils) || pupils < 0) {
      if (r.line === 1) continue; // a header
      problems.push({ where: at(file, r, n), message: `"${f[n] ?? ''}" is not a number of pupils`, hint: 'give each class as class;pupils, e.g. 5a;27' });
      continue;
    }
    out.set(n === 2 ? `${f[0]}/${f[1]}` : f[0]!, pupils);
  }
  return out;
}

const GENERIC_HEADER = ['school', 'class', 'day', 'start', 'end', 'pupils'];

/** Reads a timetable's files into lessons; every problem is named with file:line:column and the fix. */
export function readTimetable(f: TimetableFiles): Lesson[] {
  const problems: Problem[] = [];
  const rows = readRows(f.timetable, problems);
  const head = rows[0]?.fields.map((x) => x.toLowerCase());
  const generic = head !== undefined && GENERIC_HEADER.every((h, i) => head[i] === h);
  const lessons = problems.length ? [] : generic ? genericLessons(f, rows.slice(1), problems) : untisLessons(f, rows, problems);
  if (!problems.length) checkOverlaps(lessons, problems);
  if (problems.length) throw new ProblemsError(problems);
  return lessons;
}

function genericLessons(f: TimetableFiles, rows: Row[], problems: Problem[]): Lesson[] {
  const out: Lesson[] = [];
  for (const r of rows) {
    const [school, className, day, start, end, pupils] = r.fields;
    const bad = (field: number, message: string, hint: string) => problems.push({ where: at(f.timetable, r, field), message, hint });
    if (r.fields.length < 5) {
      bad(0, `has ${r.fields.length} fields, not ${GENERIC_HEADER.length}`, `give ${GENERIC_HEADER.join(';')} on every line, with the header's delimiter`);
      continue;
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
      continue;
    }
    if (d !== undefined && s !== undefined && e !== undefined) out.push({ school: school!, className: className!, day: d, startMin: s, endMin: e, pupils: size, where: `${f.timetable}:${r.line}` });
  }
  return out;
}

/** GPU001 rows; lessons of one class in the same period are one lesson, and consecutive periods of one lesson number one lesson. */
function untisLessons(f: TimetableFiles, rows: Row[], problems: Problem[]): Lesson[] {
  if (f.periods === undefined) {
    problems.push({ where: f.timetable, message: 'is an Untis timetable (GPU001) and needs the period times', hint: 'give --periods periods.csv (period;start;end), or use the generic format with the header school;class;day;start;end;pupils' });
    return [];
  }
  const periods = readPeriods(f.periods, problems);
  const sizes = f.classSizes !== undefined ? readSizes(f.classSizes, problems) : new Map<string, number>();
  const school = f.school ?? basename(f.timetable).replace(/\.[^.]*$/, '');
  const byKey = new Map<string, Lesson & { lesson: string; period: number }>();
  for (const r of rows) {
    const [lesson, className, , , , day, period, length] = r.fields;
    const bad = (field: number, message: string, hint: string) => problems.push({ where: at(f.timetable, r, field), message, hint });
    if (r.fields.length < 7) {
      bad(0, `has ${r.fields.length} fields, not the 7 or more of a GPU001 line`, 'export the timetable (Stundenplan) as GPU001 with , or ; between the fields');
      continue;
    }
    if (!className) continue; // a lesson without a class has no pupils
    const d = dayOf(day!);
    if (d === undefined) {
      bad(5, `"${day}" is not a day of the week`, 'GPU001 gives days as 1 (Monday) to 7 (Sunday)');
      continue;
    }
    const times = periods.get(`${d}:${period}`) ?? periods.get(`0:${period}`);
    if (!times) {
      bad(6, `period "${period}" is not in ${f.periods}`, `add period ${period} to ${f.periods} (period;start;end)`);
      continue;
    }
    const size = sizes.get(`${school}/${className}`) ?? sizes.get(className) ?? f.defaultClassSize;
    if (size === undefined) {
      bad(1, `class ${className} has no number of pupils and there is no default`, `add ${className};<pupils> to the class sizes, or give --class-size`);
      continue;
    }
    const mins = length ? minutesOf(length) : undefined;
    const end = mins !== undefined ? times[0] + mins : times[1];
    const key = `${className}|${d}|${period}`;
    if (!byKey.has(key)) byKey.set(key, { school, className, day: d, startMin: times[0], endMin: end, pupils: size, where: `${f.timetable}:${r.line}`, lesson: lesson!, period: Number(period) });
  }
  // A double period of one lesson is one lesson: its pupils stay in their conference across the bell.
  const sorted = [...byKey.values()].sort((a, b) => a.className.localeCompare(b.className) || a.day - b.day || a.startMin - b.startMin);
  const out: (Lesson & { lesson: string; period: number })[] = [];
  for (const l of sorted) {
    const prev = out.at(-1) as (Lesson & { lesson: string; period: number }) | undefined;
    // Consecutive periods (across a break too) of one lesson number: the pupils stay in their conference.
    if (prev && prev.className === l.className && prev.day === l.day && prev.lesson === l.lesson && prev.period + 1 === l.period) {
      prev.endMin = l.endMin;
      prev.period = l.period;
    } else out.push({ ...l });
  }
  return out.map(({ school: s, className: c, day, startMin, endMin, pupils, where }) => ({ school: s, className: c, day, startMin, endMin, pupils, where }));
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
          where: `${b.where}:1`,
          message: `class ${b.className} has a lesson from ${clockOfMinutes(b.startMin)} while its lesson from ${clockOfMinutes(a.startMin)} (${a.where}) lasts to ${clockOfMinutes(a.endMin)}`,
          hint: 'a class is in one lesson at a time: fix the times, or give the groups of a split class as classes of their own',
        });
      }
    }
  }
}
