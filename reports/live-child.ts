// The run's side of the live page: its process started before the run, told the run folder once there is one, and
// the report once it is written.
import { fork, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { setPriority } from 'node:os';
import { join } from 'node:path';
import { adoptChild } from '../lib/children.js';
import { FirstbellError } from '../lib/errors.js';
import { PACKAGE_ROOT } from '../lib/version.js';
import { LiveListenError } from './live.js';

/** The live page's process's nice value: below the processes that send the load. */
const LIVE_NICE = 10;

export type ToLive = { type: 'follow'; dir: string } | { type: 'final'; reportPath: string } | { type: 'cost' };
export type FromLive = { type: 'listening'; url: string } | { type: 'error'; message: string } | { type: 'cost'; updates: number; ms: number; pages: number; cpuMs: number };

/** The live page's process, listening. */
export class LivePage {
  private constructor(private readonly child: ChildProcess, readonly url: string) {}

  /** Starts the page's process and waits until it listens on `host`:`port`; a port it cannot have is a LiveListenError. */
  static async start(host: string, port: number): Promise<LivePage> {
    const entry = join(PACKAGE_ROOT, 'dist', 'reports', 'live-process.js');
    if (!existsSync(entry)) throw new FirstbellError(`${entry} is missing; run 'npm run build' (setup.sh does) before using --live`);
    const child = fork(entry, [host, String(port)], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'], serialization: 'json' });
    adoptChild('live page', child);
    // Below the load's processes: on a busy machine the page waits, the generator does not.
    try {
      if (child.pid !== undefined) setPriority(child.pid, LIVE_NICE);
    } catch {
      // Not permitted here: the page runs at the run's own priority.
    }
    const url = await new Promise<string>((resolve, reject) => {
      const timer = setTimeout(() => reject(new FirstbellError('the live page did not start within 10 s')), 10_000);
      child.once('message', (m: FromLive) => {
        clearTimeout(timer);
        if (m.type === 'listening') resolve(m.url);
        else reject(new LiveListenError(m.type === 'error' ? m.message : 'the live page did not start'));
      });
      child.once('exit', (code) => {
        clearTimeout(timer);
        reject(new FirstbellError(`the live page's process ended at its start (exit ${code})`));
      });
    }).catch((e: unknown) => {
      child.kill();
      throw e;
    });
    child.unref();
    return new LivePage(child, url);
  }

  /** Follow this run folder from now on. */
  follow(dir: string): void {
    this.send({ type: 'follow', dir });
  }

  /** The run's report is written: the pages go to it. */
  final(reportPath: string): void {
    this.send({ type: 'final', reportPath });
  }

  /** What the page's process has cost so far: its updates and the ms they took, its whole CPU time, and the pages open. */
  async cost(): Promise<{ updates: number; ms: number; pages: number; cpuMs: number }> {
    return new Promise((resolve) => {
      const on = (m: FromLive) => {
        if (m.type !== 'cost') return;
        this.child.off('message', on);
        resolve(m);
      };
      this.child.on('message', on);
      this.send({ type: 'cost' });
    });
  }

  /** Ends the page's process: its URL stops answering. */
  async stop(): Promise<void> {
    if (this.child.exitCode !== null || this.child.signalCode !== null) return;
    const exited = new Promise<void>((r) => this.child.once('exit', () => r()));
    if (this.child.connected) this.child.disconnect();
    const kill = setTimeout(() => this.child.kill('SIGKILL'), 3_000);
    await exited;
    clearTimeout(kill);
  }

  private send(m: ToLive): void {
    if (this.child.connected) this.child.send(m);
  }
}
