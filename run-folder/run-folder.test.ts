import { existsSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { LineSink } from './run-folder.js';

describe('the line sink of a run folder', () => {
  it.runIf(existsSync('/dev/full'))('keeps a failed write (disk full) as its error instead of throwing from a timer', () => {
    const sink = new LineSink('/dev/full', 'header');
    expect((sink.error as NodeJS.ErrnoException | undefined)?.code).toBe('ENOSPC');
    sink.write('a line');
    sink.flush();
    sink.close();
    expect((sink.error as NodeJS.ErrnoException).code).toBe('ENOSPC');
  });
});
