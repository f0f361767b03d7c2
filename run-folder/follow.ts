// A run folder read while another part (this run's own, or another process) still writes it: each line file from
// where the last read stopped, a line not yet whole left for the next read, and run.json read again as it changes.
import { closeSync, existsSync, openSync, readSync, statSync } from 'node:fs';
import { join } from 'node:path';
import type { Sample } from '../api/sample.js';
import type { BrowserJourney, BrowserSecond, MediaSecond } from './records.js';
import {
  addWatchLine, emptyWatch, FILES, parseBrowserHealthLine, parseHealthLine, parseJourneyLine, parseMediaLine, parseSample, readRunInfo, runSpanMs, type HealthSecond, type RunFolder, type RunInfo, type WatchData,
} from './run-folder.js';
import { Series } from './series.js';

/** Reads the lines added to a file since the last call; the first line (a header) is skipped where the file has one. */
export class LineTail {
  private fd = -1;
  private offset = 0;
  private carry = '';
  /** Lines handed out so far, the header included: the next line's number is `lines + 1`. */
  lines = 0;
  private readonly buf = Buffer.allocUnsafe(1 << 20);

  constructor(readonly path: string, private readonly header: boolean) {}

  /** Hands each whole line added since the last read to `each`, with its line number; `final`: the last line too, whole or not. */
  read(each: (line: string, n: number) => void, final = false): void {
    if (this.fd < 0) {
      if (!existsSync(this.path)) return;
      this.fd = openSync(this.path, 'r');
    }
    for (;;) {
      const got = readSync(this.fd, this.buf, 0, this.buf.length, this.offset);
      if (got === 0) break;
      this.offset += got;
      const text = this.carry + this.buf.toString('utf8', 0, got);
      const end = text.lastIndexOf('\n');
      if (end < 0) {
        this.carry = text;
        continue;
      }
      this.carry = text.slice(end + 1);
      for (const line of text.slice(0, end).split('\n')) this.line(line, each);
    }
    if (final && this.carry) {
      this.line(this.carry, each);
      this.carry = '';
    }
  }

  private line(line: string, each: (line: string, n: number) => void): void {
    this.lines++;
    if ((this.header && this.lines === 1) || line === '') return;
    each(line, this.lines);
  }

  /** Bytes read so far. */
  get bytes(): number {
    return this.offset;
  }

  close(): void {
    if (this.fd >= 0) closeSync(this.fd);
    this.fd = -1;
  }
}

/**
 * A run folder followed while it is written: its series built from the samples as they come, its health, browser
 * journeys and media, and run.json as last written. `poll` reads what was added; `folder` is what an analysis reads.
 */
export class FolderFollower {
  private runInfo?: RunInfo;
  private runMtimeMs = 0;
  private series?: Series;
  private readonly health: HealthSecond[] = [];
  private readonly journeys: BrowserJourney[] = [];
  private readonly media: MediaSecond[] = [];
  private readonly browserHealth: BrowserSecond[] = [];
  private readonly tails: { samples: LineTail; health: LineTail; journeys: LineTail; media: LineTail; browserHealth: LineTail; watch: LineTail };
  private watch?: WatchData;
  /** Lines that were not what their file holds, skipped (the report built at the end names them). */
  damaged = 0;
  /** The first of them, in words. */
  firstDamage?: string;

  /** `onSample` sees each sample as it is read, once. */
  constructor(readonly dir: string, private readonly onSample?: (s: Sample) => void) {
    const tail = (f: string, header: boolean) => new LineTail(join(dir, f), header);
    this.tails = {
      samples: tail(FILES.samples, true), health: tail(FILES.health, true), journeys: tail(FILES.browsers, false), media: tail(FILES.media, true), browserHealth: tail(FILES.browserHealth, true),
      watch: tail(FILES.watch, false),
    };
  }

  /** run.json as last read, once there is one. */
  get run(): RunInfo | undefined {
    return this.runInfo;
  }

  /** The last second the run has closed (its health record written), or -1 before the first. */
  get lastSecond(): number {
    return this.health.length ? this.health[this.health.length - 1]!.t : -1;
  }

  /** Whether the run has closed its folder: run.json no longer says it is running. */
  get closed(): boolean {
    return this.runInfo !== undefined && this.runInfo.status !== 'running';
  }

  /**
   * Reads what was added since the last poll; false while the folder has no run.json yet. `final`: the run has closed
   * its files, so a last line without its newline is read too.
   */
  poll(final = false): boolean {
    if (!this.readRun()) return false;
    const run = this.runInfo!;
    const span = runSpanMs(run);
    this.series ??= new Series(run.steps, run.scenario.joinWithinMs);
    const series = this.series;
    const { samples, health, journeys, media, browserHealth, watch } = this.tails;
    watch.read((line, n) => {
      if (n === 1) this.watch = line.startsWith('second,') ? emptyWatch(line.split(',').slice(1)) : undefined;
      else if (this.watch) this.keep(() => addWatchLine(this.watch!, line, `${watch.path}:${n}`, span));
    }, final);
    const each = this.onSample;
    samples.read((line, n) => this.keep(() => {
      const s = parseSample(line, `${samples.path}:${n}`, span);
      series.add(s);
      each?.(s);
    }), final);
    health.read((line, n) => this.keep(() => {
      const h = parseHealthLine(line, `${health.path}:${n}`, span);
      if (h) this.health.push(h);
    }), final);
    journeys.read((line) => {
      const j = parseJourneyLine(line);
      if (j) this.journeys.push(j);
    }, final);
    media.read((line, n) => this.keep(() => {
      const m = parseMediaLine(line, `${media.path}:${n}`, span);
      if (m) this.media.push(m);
    }), final);
    browserHealth.read((line) => {
      const b = parseBrowserHealthLine(line);
      if (b) this.browserHealth.push(b);
    }, final);
    return true;
  }

  /** The folder as read so far, in the form an analysis takes; undefined before run.json is there. */
  folder(): RunFolder | undefined {
    if (!this.runInfo || !this.series) return undefined;
    return { dir: this.dir, run: this.runInfo, series: this.series, health: this.health, journeys: this.journeys, media: this.media, browserHealth: this.browserHealth, ...(this.watch ? { watch: this.watch } : {}) };
  }

  /** Bytes of samples read so far. */
  get sampleBytes(): number {
    return this.tails.samples.bytes;
  }

  close(): void {
    for (const t of Object.values(this.tails)) t.close();
  }

  /** run.json read again when it changed; a run.json that changes its steps (another run in the same folder) is refused. */
  private readRun(): boolean {
    const path = join(this.dir, FILES.run);
    let mtimeMs: number;
    try {
      mtimeMs = statSync(path).mtimeMs;
    } catch {
      return this.runInfo !== undefined;
    }
    if (this.runInfo && mtimeMs === this.runMtimeMs) return true;
    try {
      const run = readRunInfo(this.dir);
      this.runInfo = run;
      this.runMtimeMs = mtimeMs;
      // Steps seen in the samples but declared only later (the run's end) stay as the series has them.
      for (const d of run.steps) this.series?.declare(d);
    } catch {
      // A run.json caught mid-write reads again on the next poll.
    }
    return this.runInfo !== undefined;
  }

  private keep(fn: () => void): void {
    try {
      fn();
    } catch (e) {
      this.damaged++;
      this.firstDamage ??= e instanceof Error ? e.message : String(e);
    }
  }
}
