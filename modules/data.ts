// The participants' rows of data: a CSV file whose first line names the columns; participant n gets row n.
import { closeSync, createReadStream, openSync, readSync } from 'node:fs';
import { parse } from 'csv-parse';
import { ProblemsError, type DataSource } from '../scenarios/model.js';
import { shown } from './bundle.js';

export type Row = Readonly<Record<string, string>>;

/** The delimiter of a header line: the first of `,` `;` tab that it has. */
function delimiterOf(header: string): string {
  return [',', ';', '\t'].find((d) => header.includes(d)) ?? ',';
}

/** The first line of a file (up to 64 kB of it), for its delimiter. */
function firstLine(path: string): string {
  const fd = openSync(path, 'r');
  try {
    const buf = Buffer.alloc(64 * 1024);
    const n = readSync(fd, buf, 0, buf.length, 0);
    return buf.subarray(0, n).toString('utf8').split('\n', 1)[0] ?? '';
  } finally {
    closeSync(fd);
  }
}

/**
 * Reads the rows as a stream, keeping row n only where `keep(n)` says (a worker keeps its own participants'; the run's
 * process, checking the file for workers, none): the file is never held whole. The array has every row's place
 * (its length is the number of rows). Fewer rows than `participants` is a problem unless the source says to reuse them.
 */
export async function loadRows(source: DataSource, participants: number, keep: (n: number) => boolean = () => true): Promise<Row[]> {
  const where = shown(source.csv);
  let header: string;
  try {
    header = firstLine(source.csv);
  } catch (e) {
    throw new ProblemsError([{ where, message: `cannot be read (${(e as NodeJS.ErrnoException).code ?? String(e)})`, hint: 'give the path of a CSV file, relative to the scenario file' }]);
  }
  const rows: Row[] = [];
  let n = 0;
  try {
    const parser = createReadStream(source.csv).pipe(parse({ columns: true, delimiter: source.delimiter ?? delimiterOf(header), skip_empty_lines: true, trim: true, bom: true }));
    for await (const row of parser as AsyncIterable<Record<string, string>>) {
      if (keep(n)) rows[n] = row;
      n++;
    }
  } catch (e) {
    const err = e as { lines?: number; message?: string; code?: string };
    if (err.lines === undefined && err.code && !err.code.startsWith('CSV_')) throw new ProblemsError([{ where, message: `cannot be read (${err.code})`, hint: 'give the path of a CSV file, relative to the scenario file' }]);
    throw new ProblemsError([{ where: err.lines ? `${where}:${err.lines}` : where, message: String(err.message ?? e), hint: 'make every line have as many fields as the header, separated by one delimiter' }]);
  }
  rows.length = n;
  if (n === 0) throw new ProblemsError([{ where, message: 'has no rows under its header', hint: 'add one row per participant' }]);
  if (n < participants && !source.reuse) {
    throw new ProblemsError([{ where, message: `has ${n} rows for ${participants} participants`, hint: 'add rows, lower --scale, or set data: csv(…, { reuse: true }) to give participant n row n mod the rows' }]);
  }
  return rows;
}

/** Participant n's row: row n, or with reuse row n mod the rows; participants beyond the rows (browser users) have none. */
export function rowOf(rows: readonly Row[] | undefined, participant: number, reuse = false): Row | undefined {
  if (!rows || rows.length === 0) return undefined;
  return rows[participant] ?? (reuse ? rows[participant % rows.length] : undefined);
}
