// Lines of a run folder's file gathered as bytes as they come, samples.csv's written field by field.
//
// A run writes a line for every attempt, tens of thousands a second, and keeps each until the next write to disk
// (or to the run's process). Kept as strings, every line is an object that the young generation's collections copy
// and then promote until it is written: more of the collector's time than anything else an attempt leaves behind.
// Written as bytes into one buffer, an attempt leaves nothing behind to be collected.
import type { Sample } from '../api/sample.js';

const COMMA = 44;
const NEWLINE = 10;
const MINUS = 45;
const DOT = 46;
const ZERO = 48;

export class CsvBytes {
  private buf: Buffer;
  /** Bytes gathered. */
  length = 0;
  /** Names (layers, steps, outcomes) as UTF-8, each encoded once. */
  private names = new Map<string, Buffer>();

  constructor(initialBytes = 64 * 1024) {
    this.buf = Buffer.allocUnsafe(initialBytes);
  }

  /** A line as it is given, and its newline. */
  line(text: string): void {
    this.room(text.length * 3 + 1);
    this.length += this.buf.write(text, this.length, 'utf8');
    this.buf[this.length++] = NEWLINE;
  }

  /** A sample's samples.csv line (as sampleLine writes it), and its newline. */
  sample(s: Sample): void {
    this.room(128);
    this.ms1(s.intendedMs);
    this.buf[this.length++] = COMMA;
    this.ms1(s.startMs);
    this.buf[this.length++] = COMMA;
    this.ms1(s.endMs);
    this.buf[this.length++] = COMMA;
    this.number(s.user);
    this.buf[this.length++] = COMMA;
    this.name(s.layer);
    this.buf[this.length++] = COMMA;
    this.name(s.step);
    this.buf[this.length++] = COMMA;
    this.name(s.outcome);
    this.buf[this.length++] = COMMA;
    this.number(s.status);
    this.buf[this.length++] = COMMA;
    this.number(s.entry ?? 0);
    this.buf[this.length++] = NEWLINE;
  }

  /** The bytes gathered (a view, valid until the next write). */
  bytes(): Buffer {
    return this.buf.subarray(0, this.length);
  }

  /** The lines gathered as text, without the last newline; and a fresh start. */
  takeText(): string {
    const text = this.buf.toString('utf8', 0, Math.max(0, this.length - 1));
    this.length = 0;
    return text;
  }

  clear(): void {
    this.length = 0;
  }

  /** Makes room for `n` more bytes: a sample's fields are written after room for them was made (64 bytes past a name or a number written as text). */
  private room(n: number): void {
    if (this.length + n <= this.buf.length) return;
    const grown = Buffer.allocUnsafe(Math.max(this.buf.length * 2, this.length + n));
    this.buf.copy(grown, 0, 0, this.length);
    this.buf = grown;
  }

  private name(text: string): void {
    let b = this.names.get(text);
    if (!b) this.names.set(text, (b = Buffer.from(text, 'utf8')));
    this.room(b.length + 64);
    b.copy(this.buf, this.length);
    this.length += b.length;
  }

  private ascii(text: string): void {
    this.room(text.length + 64);
    this.length += this.buf.write(text, this.length, 'latin1');
  }

  /** A number as String(n) writes it; integers from 0 to 2^53 digit by digit. */
  private number(n: number): void {
    if (Number.isInteger(n) && n >= 0 && n <= Number.MAX_SAFE_INTEGER) this.digits(n);
    else this.ascii(String(n));
  }

  /** Milliseconds to a tenth, as String(Math.round(x * 10) / 10) writes them. */
  private ms1(x: number): void {
    const tenths = Math.round(x * 10);
    const a = tenths < 0 ? -tenths : tenths;
    if (!(a <= Number.MAX_SAFE_INTEGER)) return this.ascii(String(tenths / 10));
    if (tenths < 0) this.buf[this.length++] = MINUS;
    const whole = Math.floor(a / 10);
    this.digits(whole);
    const tenth = a - whole * 10;
    if (tenth !== 0) {
      this.buf[this.length++] = DOT;
      this.buf[this.length++] = ZERO + tenth;
    }
  }

  /** A whole number from 0 to 2^53 (room for it made by the caller). */
  private digits(n: number): void {
    let count = 1;
    for (let x = n; x >= 10; x = Math.floor(x / 10)) count++;
    let at = this.length + count;
    this.length = at;
    do {
      const q = Math.floor(n / 10);
      this.buf[--at] = ZERO + (n - q * 10);
      n = q;
    } while (n > 0);
  }
}
