// Every process firstbell starts (the reference platform, Janus, Chromium, worker processes), so that a
// shutdown, however it comes, leaves none of them behind.
import type { ChildProcess } from 'node:child_process';

const alive = new Map<number, { name: string; kill: (signal: NodeJS.Signals) => void }>();

/** Keeps a started process in the registry until it exits. */
export function adoptChild(name: string, child: ChildProcess): void {
  const pid = child.pid;
  if (pid === undefined || child.exitCode !== null) return;
  alive.set(pid, { name, kill: (signal) => void child.kill(signal) });
  child.once('exit', () => alive.delete(pid));
}

/** A process known only by its pid (a browser puppeteer started): kept until `releaseChild`. */
export function adoptPid(name: string, pid: number | undefined): void {
  if (pid === undefined) return;
  alive.set(pid, {
    name,
    kill: (signal) => {
      try {
        process.kill(pid, signal);
      } catch {
        // Already gone.
      }
    },
  });
}

export function releaseChild(pid: number | undefined): void {
  if (pid !== undefined) alive.delete(pid);
}

/**
 * Ends every started process now, for a process about to exit at once (a second Ctrl-C): SIGTERM, so that a
 * reference platform still stops the Janus farms it started, and SIGKILL to a browser, which holds nothing.
 */
export function endChildrenNow(): void {
  for (const [, c] of alive) c.kill(c.name === 'chromium' ? 'SIGKILL' : 'SIGTERM');
  alive.clear();
}
