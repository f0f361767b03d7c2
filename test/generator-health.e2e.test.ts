import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { EXIT, main } from '../cli.js';
import { readHealth } from '../run-folder/run-folder.js';
import { describe, expect, it } from 'vitest';
import { writeReport } from '../reports/build-report.js';
import { captureIo, rampScenario, runScenario, tempDir, useReferencePlatform } from './helpers.js';

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
      const r = await runScenario({ scenario: rampScenario(60, 8_000, 2_000), seed: 2, platform: { journey: 'reference', target: platform().url }, outDir: tempDir() });
      dir = r.dir;
    } finally {
      clearInterval(hog);
    }
    const { analysis: a, reportPath } = await writeReport(dir);
    expect(a.passed).toBe(false);
    expect(a.headline).toMatch(/^The generator was the bottleneck in \d+ s \([\d:–, ]+(and \d+ more)?\); there only what the target answered counts, not its timeouts or latency\./);
    expect(a.generator.suspectSeconds.length).toBeGreaterThanOrEqual(5);
    expect(a.generator.worstLoopLagMs).toBeGreaterThan(150);
    // No timeout of the stalled generator is blamed on the target. The platform shares the cores, and the stalled
    // generator's late sends reach it bunched: where it answers those with 503, the finding says the generator was behind.
    for (const l of a.layers) {
      if (l.state === 'broke') expect(l.breakPoint!.generatorBehind, a.headline).toBe(true);
      else if (l.state === 'missed') expect(l.failedWhileGeneratorBound, a.headline).toBeGreaterThan(0);
      else expect(['met', 'unclear', 'not-judged'], a.headline).toContain(l.state);
    }
    if (a.verdict === 'failed') expect(a.headline).toMatch(/generator was behind/);
    else expect(a.verdict).toBe('generator-bound');
    const html = readFileSync(reportPath, 'utf8');
    expect(html.indexOf('id="generator-warning"')).toBeGreaterThan(0);
    expect(html.indexOf('id="generator-warning"')).toBeLessThan(html.indexOf('id="verdict"'));
  });

  it("measures a worker too busy to report at the CPU the kernel counts for it, never at the run process's own", async () => {
    const server = createServer((_q, r) => r.end('ok'));
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const dir = tempDir();
    writeFileSync(join(dir, 'busy.json'), JSON.stringify({ name: 'busy', journey: new URL('./journeys/busy.ts', import.meta.url).pathname, observeMs: 2_000, phases: [{ name: 'steady', startMs: 0, durationMs: 7_000, participants: 140, curve: { kind: 'uniform' } }] }));
    const out = tempDir();
    try {
      const c = captureIo();
      await main(['run', join(dir, 'busy.json'), '--target', `http://127.0.0.1:${(server.address() as AddressInfo).port}`, '--scale', '1', '--workers', '2', '--out', out, '--no-progress', '--json'], c.io);
      const folder = join(out, readdirSync(out)[0]!);
      const health = await readHealth(folder);
      // Participant 40 arrives at 2 s and holds its worker for 3 s: the worker says nothing then, the kernel counts its CPU.
      const busy = health.filter((h) => h.t >= 2 && h.t <= 4);
      console.info(`measured: CPU of the busiest process in seconds 2–4: ${busy.map((h) => `${h.cpuPct} %`).join(', ')}; all processes: ${busy.map((h) => `${h.cpuTotalPct} %`).join(', ')}`);
      expect(Math.max(...busy.map((h) => h.cpuPct))).toBeGreaterThanOrEqual(80);
      const summary = JSON.parse(c.out()) as { generator: { suspectSeconds: number[] } };
      expect(summary.generator.suspectSeconds).toEqual(expect.arrayContaining([3]));

      // That run tells what a journey of it costs: at least the 3 CPU-s of the busy one over 140 journeys.
      const plan = captureIo();
      expect(await main(['plan', join(dir, 'busy.json'), '--scale', '1', '--cost-from', folder], plan.io), plan.err()).toBe(EXIT.ok);
      const cost = Number(/at ([\d.]+) CPU-ms each \(measured in /.exec(plan.out())?.[1]);
      expect(cost).toBeGreaterThanOrEqual(3_000 / 140);
      expect(plan.out()).toMatch(/sizing: the peak second begins 2\d journeys; .* CPU-s in \d+ s for 140 journeys of journey; [^)]*\) it needs ≈ 1 generator core at 70 % each: this machine's \d+ cores are enough/);
      // Without a run of the user's journey, nothing is sent to find out: the plan says what to give.
      const bare = captureIo();
      expect(await main(['plan', join(dir, 'busy.json'), '--target', 'http://127.0.0.1:9'], bare.io)).toBe(EXIT.ok);
      expect(bare.out()).toContain('sizing: give --cost-from <run folder>');
      // export k8s takes as many shards as the peak second needs at that cost.
      const k8s = captureIo();
      const k8sOut = tempDir();
      const ship = tempDir();
      writeFileSync(join(ship, 'busy.ts'), readFileSync(new URL('./journeys/busy.ts', import.meta.url)));
      writeFileSync(join(ship, 'busy.json'), JSON.stringify({ ...JSON.parse(readFileSync(join(dir, 'busy.json'), 'utf8')), journey: './busy.ts' }));
      expect(await main(['export', 'k8s', join(ship, 'busy.json'), '--target', 'http://127.0.0.1:8080', '--scale', '1', '--cost-from', folder, '--cpu', '1', '--out', k8sOut], k8s.io), k8s.err()).toBe(EXIT.ok);
      const need = Math.ceil((20 * cost) / 1000 / 0.7);
      expect(k8s.err()).toMatch(/run it as \d+ shards? of 1 core /);
      expect(readFileSync(join(k8sOut, 'shards.yaml'), 'utf8')).toMatch(new RegExp(`completions: (${need - 1}|${need}|${need + 1})\n`));
      const none = captureIo();
      expect(await main(['plan', join(dir, 'busy.json'), '--cost-from', dir], none.io)).toBe(EXIT.usage);
      expect(none.err()).toContain(`--cost-from ${dir}: no run.json here`);
    } finally {
      server.close();
    }
  });
});

