// The participants' rows of data: a CSV file whose first line names the columns; participant n gets row n.
import { readFileSync } from 'node:fs';
import { parse } from 'csv-parse/sync';
import { ProblemsError, type DataSource } from '../scenarios/model.js';
import { shown } from './bundle.js';

export type Row = Readonly<Record<string, string>>;

/** The delimiter of a header line: the first of `,` `;` tab that it has. */
function delimiterOf(header: string): string {
  return [',', ';', '\t'].find((d) => header.includes(d)) ?? ',';
}

/** Reads the rows; fewer rows than `participants` is a problem unless the source says to reuse them. */
export function loadRows(source: DataSource, participants: number): Row[] {
  const where = shown(source.csv);
  let text: string;
  try {
    text = readFileSync(source.csv, 'utf8');
  } catch (e) {
    throw new ProblemsError([{ where, message: `cannot be read (${(e as NodeJS.ErrnoException).code ?? String(e)})`, hint: 'give the path of a CSV file, relative to the scenario file' }]);
  }
  let rows: Record<string, string>[];
  try {
    rows = parse(text, { columns: true, delimiter: source.delimiter ?? delimiterOf(text.split('\n', 1)[0] ?? ''), skip_empty_lines: true, trim: true, bom: true });
  } catch (e) {
    const err = e as { lines?: number; message?: string };
    throw new ProblemsError([{ where: err.lines ? `${where}:${err.lines}` : where, message: String(err.message ?? e), hint: 'make every line have as many fields as the header, separated by one delimiter' }]);
  }
  if (rows.length === 0) throw new ProblemsError([{ where, message: 'has no rows under its header', hint: 'add one row per participant' }]);
  if (rows.length < participants && !source.reuse) {
    throw new ProblemsError([{ where, message: `has ${rows.length} rows for ${participants} participants`, hint: 'add rows, lower --scale, or set data: csv(…, { reuse: true }) to give participant n row n mod the rows' }]);
  }
  return rows;
}

/** Participant n's row: row n, or with reuse row n mod the rows; participants beyond the rows (browser users) have none. */
export function rowOf(rows: readonly Row[] | undefined, participant: number, reuse = false): Row | undefined {
  if (!rows || rows.length === 0) return undefined;
  return rows[participant] ?? (reuse ? rows[participant % rows.length] : undefined);
}
