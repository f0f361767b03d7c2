import { existsSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { EXIT, main } from '../cli.js';
import { captureIo, tempDir } from './helpers.js';

describe('what-if and compare on the reference platform', () => {
  it('shows monday-0800-staggered meeting the objectives that monday-0800 breaks, and gates a regression', { timeout: 400_000 }, async () => {
    const out = tempDir();
    const c = captureIo();
    const rc = await main(['whatif', 'monday-0800', 'monday-0800-staggered', '--scale', '0.015', '--out', out, '--no-progress'], c.io);
    expect(rc, c.err()).toBe(EXIT.ok);
    const text = c.out();
    expect(text).toMatch(/^FAILED: (The generator was the bottleneck in \d+ s; those seconds are left out of the verdict\. )?The broker layer broke at 08:00:0\d at \d+ joins\/s offered/m);
    expect(text).toMatch(/^PASSED: Every layer met its objective/m);
    expect(text).toMatch(/^NO REGRESSION: monday-0800-staggered \(passed\) against monday-0800 \(failed\): .*broker held in this run, broke in the base at \d+ joins\/s/m);
    const [plain, staggered] = readdirSync(out).sort((a, b) => (a.includes('staggered') ? 1 : 0) - (b.includes('staggered') ? 1 : 0));
    expect(existsSync(join(out, staggered!, 'compare.html'))).toBe(true);

    // Two different scenarios are not a regression test: compare says so unless told --force, and writes nothing into either run.
    const before = statSync(join(out, plain!, 'report.html')).mtimeMs;
    const r = captureIo();
    expect(await main(['compare', join(out, plain!), join(out, staggered!)], r.io)).toBe(EXIT.usage);
    expect(r.err()).toContain('are not the same test (scenario monday-0800 against monday-0800-staggered)');
    // Without --max-regression compare only reports; the staggered run never offered the load the plain one broke at.
    const g = captureIo();
    expect(await main(['compare', join(out, plain!), join(out, staggered!), '--force', '--out', join(out, 'again.html')], g.io)).toBe(EXIT.ok);
    expect(existsSync(join(out, 'again.html'))).toBe(true);
    expect(statSync(join(out, plain!, 'report.html')).mtimeMs).toBe(before);
  });
});
