import { existsSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { LineSink } from './writer.js';

describe('the line sink of a run folder', () => {
  it.runIf(existsSync('/dev/full'))('keeps a failed write (disk full) as its error instead of throwing from a timer', () => {
    const sink = new LineSink('/dev/full', 'header');
    const code = () => ((sink.error?.cause as NodeJS.ErrnoException | undefined)?.code);
    expect(code()).toBe('ENOSPC');
    expect(sink.error?.message).toBe('cannot write /dev/full: no space left on device (ENOSPC)');
    sink.write('a line');
    sink.flush();
    sink.close();
    expect(code()).toBe('ENOSPC');
  });
});
