import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { describe, expect, it } from 'vitest';
import { adoptClockAnchor, clockAnchor, epochNow } from './clock.js';
import { PACKAGE_ROOT } from './version.js';

/** A process of its own that takes the anchor it is sent and answers with its clock's reading. */
function child(): { ask: (anchor?: number) => Promise<number>; close: () => void } {
  const clock = pathToFileURL(join(PACKAGE_ROOT, 'dist/lib/clock.js')).href;
  const code = `import { adoptClockAnchor, epochNow } from '${clock}';
    process.on('message', (m) => { if (m.anchor !== undefined) adoptClockAnchor(m.anchor); process.send(epochNow()); });`;
  const p = spawn(process.execPath, ['--input-type=module', '-e', code], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  return {
    ask: (anchor) => new Promise((resolve) => {
      p.once('message', (m) => resolve(m as number));
      p.send(anchor === undefined ? {} : { anchor });
    }),
    close: () => p.kill(),
  };
}

describe("the run's clock", () => {
  it('reads the wall clock, to within a millisecond', () => {
    // Date.now() counts whole milliseconds; the anchor is read at one of its ticks, a loop's turn (a microsecond or so
    // on a busy machine) after it at most, so the clock may read that much past the next tick.
    const turn = 0.1;
    for (let i = 0; i < 5; i++) {
      const before = Date.now();
      const now = epochNow();
      const after = Date.now();
      expect(now).toBeGreaterThanOrEqual(before - 1);
      expect(now).toBeLessThan(after + 1 + turn);
    }
  });

  it("reads the same instant in a process that took its parent's anchor", async () => {
    const c = child();
    try {
      // Whatever the other process's own anchor, with this one's it reads between this one's readings around the ask.
      await c.ask(clockAnchor() + 5_000);
      for (let i = 0; i < 5; i++) {
        const before = epochNow();
        const there = await c.ask(clockAnchor());
        const after = epochNow();
        expect(there).toBeGreaterThan(before);
        expect(there).toBeLessThan(after);
      }
    } finally {
      c.close();
    }
  }, 20_000);

  it('moves by the difference of the anchors when it takes another one', () => {
    const own = clockAnchor();
    try {
      const before = epochNow();
      adoptClockAnchor(own + 2_000);
      const after = epochNow();
      expect(after - before).toBeGreaterThanOrEqual(2_000);
      expect(after - before).toBeLessThan(2_050);
      adoptClockAnchor(Number.NaN);
      expect(clockAnchor()).toBe(own + 2_000);
    } finally {
      adoptClockAnchor(own);
    }
  });
});
