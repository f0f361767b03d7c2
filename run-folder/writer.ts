// The one writer of a run folder, for a run, a k6 import and a merge alike: a fresh folder, its line files as
// they are written, run.json and series.json, and files written whole or not at all.
import { closeSync, existsSync, mkdirSync, openSync, statSync, writeSync } from 'node:fs';
import { cpus, hostname } from 'node:os';
import { join } from 'node:path';
import type { ResolvedScenario } from '../scenarios/model.js';
import type { StepDecl } from '../api/vu.js';
import { WriteError, writeFileAtomic } from '../lib/files.js';
import { VERSION } from '../lib/version.js';
import { BROWSER_HEALTH_HEADER, MEDIA_HEADER } from './records.js';
import { FILES, HEALTH_HEADER, SAMPLE_HEADER, SERIES_SECONDS_OPEN, type RunInfo, type RunStatus } from './run-folder.js';
import { CsvBytes } from './csv-bytes.js';

export { fsErrorText, WriteError, writeFileAtomic } from '../lib/files.js';
import type { Sample } from '../api/sample.js';
import type { Series } from './series.js';

/** Bytes gathered past which a file is written at once, before its timer. */
const FLUSH_BYTES = 256 * 1024;

/** Characters of series.json gathered before they are written. */
const SERIES_CHUNK = 1 << 20;

/**
 * series.json, whole or not at all, in pieces: JSON as a whole, laid out as lines that a reader can parse one by one
 * (see `readSeriesJson`). Its first line holds everything but the seconds and ends where they begin, each second is
 * a line of its own, and `}}` ends it. No part of it is ever one string, however long the run.
 */
export function writeSeriesFile(path: string, series: Series): void {
  writeFileAtomic(path, (fd) => {
    const head = JSON.stringify(series.jsonHead());
    let out = (head === '{}' ? '{' : head.slice(0, -1) + ',') + SERIES_SECONDS_OPEN;
    let first = true;
    for (const [sec, buckets] of series.jsonSeconds()) {
      out += (first ? '\n"' : ',\n"') + sec + '":' + JSON.stringify(buckets);
      first = false;
      if (out.length >= SERIES_CHUNK) {
        writeAll(fd, out);
        out = '';
      }
    }
    writeAll(fd, out + '\n}}\n');
  });
}

function writeAll(fd: number, text: string): void {
  const b = Buffer.from(text, 'utf8');
  for (let at = 0; at < b.length; ) at += writeSync(fd, b, at);
}

/**
 * Writes a small record that is rewritten during a run (run.json) with room to spare: padded with spaces (which JSON
 * allows) to twice its size, at least 16 KB. When the disk fills up, the last rewrite goes into that room in place,
 * so the record can still say why the run stopped.
 */
export function writeFileReserved(path: string, data: string): void {
  const len = Buffer.byteLength(data);
  const have = existsSync(path) ? statSync(path).size : 0;
  const pad = (size: number) => data + ' '.repeat(Math.max(0, size - len));
  try {
    writeFileAtomic(path, pad(Math.max(have, 16 * 1024, 2 * len)));
  } catch (e) {
    if (have < len) throw e;
    let fd: number | undefined;
    try {
      fd = openSync(path, 'r+');
      writeSync(fd, pad(have), 0);
    } catch {
      throw e;
    } finally {
      if (fd !== undefined) closeSync(fd);
    }
  }
}

/**
 * Appends lines to a file in batches with synchronous writes, so a crash loses at most one batch interval.
 * A failed write (disk full, file gone) is kept in `error` for the run to act on, never thrown from a timer.
 * Lines are gathered as bytes (see CsvBytes): a sample written here leaves no string behind.
 */
export class LineSink {
  private fd: number;
  private out = new CsvBytes();
  private timer: NodeJS.Timeout;
  error?: Error;

  constructor(readonly path: string, header: string, flushMs = 200) {
    try {
      this.fd = openSync(path, 'w');
    } catch (e) {
      throw new WriteError(path, e);
    }
    if (header) this.out.line(header);
    this.flush();
    this.timer = setInterval(() => this.flush(), flushMs);
    this.timer.unref();
  }

  /** A line (or several, joined by newlines), without its last newline. */
  write(line: string): void {
    if (this.error) return;
    this.out.line(line);
    if (this.out.length > FLUSH_BYTES) this.flush();
  }

  /** A sample's samples.csv line. */
  sample(s: Sample): void {
    if (this.error) return;
    this.out.sample(s);
    if (this.out.length > FLUSH_BYTES) this.flush();
  }

  flush(): void {
    if (this.out.length === 0 || this.fd < 0 || this.error) return;
    try {
      const bytes = this.out.bytes();
      for (let at = 0; at < bytes.length; ) {
        const n = writeSync(this.fd, bytes, at, bytes.length - at);
        if (n <= 0) throw new Error('the file took no bytes');
        at += n;
      }
    } catch (e) {
      this.error = new WriteError(this.path, e);
    }
    this.out.clear();
  }

  close(): void {
    clearInterval(this.timer);
    this.flush();
    if (this.fd >= 0) closeSync(this.fd);
    this.fd = -1;
  }
}

/** A new run folder `id` under `outDir` (id-2, id-3, … when that one is taken), made; its path and name. */
export function freshRunDir(outDir: string, id: string): { dir: string; id: string } {
  let candidate = id;
  for (let k = 2; existsSync(join(outDir, candidate)); k++) candidate = `${id}-${k}`;
  const dir = join(outDir, candidate);
  mkdirSync(dir, { recursive: true });
  return { dir, id: candidate };
}

/** What a plan says of its run, as run.json keeps it. */
export interface PlannedRun {
  scenario: ResolvedScenario;
  seed: number;
  schedule: { firstBellAtMs: number; endMs: number };
  summary: RunInfo['plan'];
}

/** run.json's start, the same for a run, an import and a merge: the tool, the plan, the platform and its steps; the rest is each one's own. */
export function runInfoOf(id: string, plan: PlannedRun, o: { target: RunInfo['target']; steps: StepDecl[]; status: RunStatus; startedAt?: string; host?: RunInfo['host'] }): RunInfo {
  return {
    tool: { name: 'firstbell', version: VERSION, node: process.version },
    id,
    status: o.status,
    startedAt: o.startedAt ?? new Date().toISOString(),
    host: o.host ?? { hostname: hostname(), cpus: cpus().length, platform: `${process.platform}-${process.arch}` },
    scenario: plan.scenario,
    seed: plan.seed,
    target: o.target,
    firstBellAtMs: plan.schedule.firstBellAtMs,
    plannedEndMs: plan.schedule.endMs,
    steps: o.steps,
    plan: plan.summary,
  };
}

/**
 * A new run folder and its files: samples and health always, the browser users' media and journeys and the
 * browser's processes when asked. The first file that cannot be written is kept in `failure`, never thrown from a
 * close, so that run.json can still say why.
 */
export class RunFolderWriter {
  readonly dir: string;
  readonly id: string;
  readonly samples: LineSink;
  readonly health: LineSink;
  readonly media?: LineSink;
  readonly journeys?: LineSink;
  readonly browserHealth?: LineSink;
  failure?: WriteError;

  constructor(outDir: string, id: string, files: { browsers?: boolean; browserHealth?: boolean } = {}) {
    ({ dir: this.dir, id: this.id } = freshRunDir(outDir, id));
    this.samples = new LineSink(join(this.dir, FILES.samples), SAMPLE_HEADER);
    this.health = new LineSink(join(this.dir, FILES.health), HEALTH_HEADER);
    if (files.browsers) {
      this.media = new LineSink(join(this.dir, FILES.media), MEDIA_HEADER);
      this.journeys = new LineSink(join(this.dir, FILES.browsers), '');
    }
    if (files.browserHealth) this.browserHealth = new LineSink(join(this.dir, FILES.browserHealth), BROWSER_HEALTH_HEADER);
  }

  /** run.json, with room to spare for its last rewrite on a full disk. */
  info(info: RunInfo): void {
    writeFileReserved(join(this.dir, FILES.run), JSON.stringify(info, null, 2));
  }

  /** series.json, whole or not at all. */
  series(series: Series): void {
    writeSeriesFile(join(this.dir, FILES.series), series);
  }

  /** The first line file of the run's own (samples, health) that could not be written. */
  get sinkError(): Error | undefined {
    return this.samples.error ?? this.health.error;
  }

  /** Does a write, keeping its failure in `failure` instead of throwing it. */
  keep(write: () => void): void {
    try {
      write();
    } catch (e) {
      this.failure ??= e instanceof WriteError ? e : new WriteError(this.dir, e);
    }
  }

  /** Closes every line file. */
  close(): void {
    for (const sink of [this.samples, this.health, this.media, this.journeys, this.browserHealth]) {
      if (sink) this.keep(() => sink.close());
    }
    this.failure ??= this.sinkError as WriteError | undefined;
  }
}
