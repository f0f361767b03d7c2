import { spawn, type ChildProcess } from 'node:child_process';
import { copyFileSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { PROCESS_COLUMNS, sourceOf } from './sources.js';

describe('a process watched by its name', () => {
  it('longer than the 15 characters the kernel keeps: only the processes of that name, not those alike in their first 15', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'firstbell-watch-'));
    const children: ChildProcess[] = [];
    try {
      // Three sleepers: two of one long name, one of another that begins with the same 15 characters.
      for (const name of ['firstbell-sleeper-one', 'firstbell-sleeper-two']) copyFileSync('/bin/sleep', join(dir, name));
      for (const name of ['firstbell-sleeper-one', 'firstbell-sleeper-one', 'firstbell-sleeper-two']) children.push(spawn(join(dir, name), ['30'], { stdio: 'ignore' }));
      const threads = PROCESS_COLUMNS.indexOf('threads');
      await new Promise((r) => setTimeout(r, 200));
      const one = await sourceOf({ kind: 'process', process: 'firstbell-sleeper-one', name: 'p', given: 'process:firstbell-sleeper-one' }).read();
      const two = await sourceOf({ kind: 'process', process: 'firstbell-sleeper-two', name: 'p', given: 'process:firstbell-sleeper-two' }).read();
      // A sleeper has one thread: the threads of the processes found count them.
      expect(one[threads]).toBe(2);
      expect(two[threads]).toBe(1);
    } finally {
      for (const c of children) c.kill('SIGKILL');
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
