// The run's side of the watch: the watch's process started before the clock, told to stop after the last second,
// and what it says of sources that fail handed on.
import { fork, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { adoptChild } from '../lib/children.js';
import { FirstbellError } from '../lib/errors.js';
import { PACKAGE_ROOT } from '../lib/version.js';
import type { WatchSpec } from './sources.js';

export interface WatchInit {
  dir: string;
  /** The wall-clock instant of the run's t = 0, ms since the epoch. */
  t0Epoch: number;
  specs: WatchSpec[];
  allowedHosts: string[];
  /** Where to send the run's own figures every second (Prometheus remote write), and the run's labels there. */
  remoteWrite?: { url: string; run: string; scenario: string };
}

/** What the watch's process says: a source failed or reads again (`name`; the remote write's is `remote-write`). */
export type FromWatch = { type: 'failed'; name: string; message: string } | { type: 'recovered'; name: string };

/** The name the remote write goes by in what the watch's process says. */
export const REMOTE_WRITE = 'remote-write';

/** The watch of one run, in a process of its own. */
export class Watcher {
  private constructor(private readonly child: ChildProcess) {}

  /** Starts reading `init.specs` into the run folder's watch.csv; `onNews` hears of each source that fails or reads again. */
  static start(init: WatchInit, onNews: (m: FromWatch) => void): Watcher {
    const entry = join(PACKAGE_ROOT, 'dist', 'watch', 'watch-process.js');
    if (!existsSync(entry)) throw new FirstbellError(`${entry} is missing; run 'npm run build' (setup.sh does) before using --watch`);
    const child = fork(entry, [JSON.stringify(init)], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'], serialization: 'json' });
    adoptChild('watch', child);
    child.on('message', (m: FromWatch) => onNews(m));
    return new Watcher(child);
  }

  /** Stops the reads, after the remote write's last push of the run's closed files; resolves when watch.csv is closed. */
  async stop(): Promise<void> {
    if (this.child.exitCode !== null || this.child.signalCode !== null) return;
    const exited = new Promise<void>((r) => this.child.once('exit', () => r()));
    if (this.child.connected) this.child.send({ type: 'stop' });
    const kill = setTimeout(() => this.child.kill('SIGKILL'), 8_000);
    await exited;
    clearTimeout(kill);
  }
}
