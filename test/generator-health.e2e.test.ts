import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { buildReport } from '../reports/build-report.js';
import { runScenario } from '../users/run.js';
import { referenceTarget } from '../targets/reference.js';
import { rampScenario, tempDir, useReferencePlatform } from './helpers.js';

const platform = useReferencePlatform();

describe('generator health', () => {
  it('flags a run whose generator is starved as generator-bound, not as a target failure', async () => {
    // Starve the generator: its event loop is blocked 250 ms out of every 300 ms.
    const hog = setInterval(() => {
      const until = Date.now() + 250;
      while (Date.now() < until);
    }, 300);
    let dir: string;
    try {
      const r = await runScenario({ scenario: rampScenario(60, 8_000, 2_000), seed: 2, target: referenceTarget(new URL(platform().url)), outDir: tempDir() });
      dir = r.dir;
    } finally {
      clearInterval(hog);
    }
    const { analysis: a, reportPath } = await buildReport(dir);
    expect(a.verdict).toBe('generator-bound');
    expect(a.passed).toBe(false);
    expect(a.headline).toMatch(/^The generator was the bottleneck in \d+ s \([\d:–, ]+(and \d+ more)?\); there only what the target answered counts, not its timeouts or latency\./);
    expect(a.generator.suspectSeconds.length).toBeGreaterThanOrEqual(5);
    expect(a.generator.worstLoopLagMs).toBeGreaterThan(150);
    // The target was never overloaded: no layer is reported broken.
    expect(a.layers.filter((l) => l.breakPoint)).toEqual([]);
    const html = readFileSync(reportPath, 'utf8');
    expect(html.indexOf('id="generator-warning"')).toBeGreaterThan(0);
    expect(html.indexOf('id="generator-warning"')).toBeLessThan(html.indexOf('id="verdict"'));
  });
});
