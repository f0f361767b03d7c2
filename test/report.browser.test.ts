import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawnReferencePlatform, type SpawnedPlatform } from '../fixtures/spawn.js';
import { writeReport } from '../reports/build-report.js';
import { openReport } from '../reports/screenshot.js';
import { rampScenario, runScenario, tempDir } from './helpers.js';

let platform: SpawnedPlatform;
let reportPath: string;
beforeAll(async () => {
  platform = await spawnReferencePlatform(['--join-capacity', '40']);
  const r = await runScenario({ scenario: rampScenario(120, 8_000, 2_000), seed: 5, platform: { journey: 'reference', target: platform.url }, outDir: tempDir() });
  reportPath = (await writeReport(r.dir)).reportPath;
});
afterAll(async () => {
  await platform?.stop();
});

describe('the HTML report', () => {
  it('is one file that needs nothing from the network', () => {
    const html = readFileSync(reportPath, 'utf8');
    expect(html).not.toMatch(/<script[^>]+src=/);
    expect(html).not.toMatch(/<link[^>]+href=/);
    expect(html).not.toMatch(/(cdn\.|unpkg\.com|jsdelivr|googleapis)/);
  });

  it('opens in headless Chromium offline without console errors, verdict first and break points marked', async () => {
    const check = await openReport(reportPath, {
      inspect: (page) =>
        page.evaluate(() => {
          const g = globalThis as unknown as { Chart: { getChart(c: Element): { options: { plugins: { markers?: { label: string }[] } } } | undefined } };
          const labels = (id: string) => (g.Chart.getChart(document.getElementById(id)!)?.options.plugins.markers ?? []).map((m) => m.label);
          const blocks = [...document.querySelectorAll('#generator-warning, #verdict, .cards')].map((d) => d.id || d.className);
          return {
            blocks,
            verdict: document.getElementById('verdict')?.textContent,
            brokerMarkers: labels('chart-broker-load'),
            admissionMarkers: labels('chart-admission-load'),
            canvases: document.querySelectorAll('canvas').length,
          };
        }),
    });
    expect(check.consoleErrors).toEqual([]);
    expect(check.blockedRequests).toEqual([]);
    expect(check.rendered).toBe(true);
    const v = check.inspected as { blocks: string[]; verdict: string; brokerMarkers: string[]; admissionMarkers: string[]; canvases: number };
    // The verdict comes first, after a generator warning when there is one, before the layer cards.
    expect(v.blocks.slice(0, v.blocks.indexOf('verdict') + 1)).toEqual(v.blocks[0] === 'generator-warning' ? ['generator-warning', 'verdict'] : ['verdict']);
    expect(v.blocks.indexOf('verdict')).toBeLessThan(v.blocks.indexOf('cards'));
    expect(v.verdict).toMatch(/^FAILED — (The generator was the bottleneck in \d+ s \([^)]*\); there only what the target answered counts, not its timeouts or latency\. )?The broker layer broke at 08:00:\d\d at \d+ joins\/s offered/);
    expect(v.brokerMarkers).toEqual(['first bell 08:00:00', expect.stringMatching(/^break: \d+ joins\/s$/)]);
    expect(v.admissionMarkers).toEqual(['first bell 08:00:00']);
    // Three layers with a load and a latency chart each, the media layer's held connections apart, and the generator.
    expect(v.canvases).toBe(8);
  });
});
