import { execFile } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { bundle, BUNDLE_KEPT_MS } from './bundle.js';

describe('bundles of user modules', () => {
  it('are removed once unused for longer than a run lasts, as another is written; newer ones stay', async () => {
    const src = mkdtempSync(join(tmpdir(), 'firstbell-bundle-'));
    try {
      const dir = join(tmpdir(), 'firstbell-modules');
      mkdirSync(dir, { recursive: true });
      const stale = join(dir, 'stale0000000000.mjs');
      const recent = join(dir, 'recent000000000.mjs');
      for (const f of [stale, recent]) writeFileSync(f, 'export {};\n');
      const ago = (ms: number) => new Date(Date.now() - ms);
      utimesSync(stale, ago(BUNDLE_KEPT_MS + 3_600_000), ago(BUNDLE_KEPT_MS + 3_600_000));
      utimesSync(recent, ago(BUNDLE_KEPT_MS - 3_600_000), ago(BUNDLE_KEPT_MS - 3_600_000));
      writeFileSync(join(src, 'm.ts'), 'export const n: number = 1;\n');
      const made = await bundle(join(src, 'm.ts'));
      expect(existsSync(made)).toBe(true);
      expect(existsSync(stale)).toBe(false);
      expect(existsSync(recent)).toBe(true);
      rmSync(recent);
    } finally {
      rmSync(src, { recursive: true, force: true });
    }
  });

  it('are whole when several processes bundle and load the same modules at the same moment', async () => {
    // Shards started together on one machine bundle the same journey at once, each writing the same bundle's path.
    const src = mkdtempSync(join(tmpdir(), 'firstbell-bundle-'));
    try {
      const files = Array.from({ length: 12 }, (_, i) => {
        const f = join(src, `m${i}.ts`);
        writeFileSync(f, `export default { n: ${i}, text: '${'x'.repeat(300_000)}' };\n`);
        return f;
      });
      const built = new URL('../dist/modules/bundle.js', import.meta.url).href;
      const script = `import { importDefault } from ${JSON.stringify(built)};
        for (const f of JSON.parse(process.argv[1])) {
          const { value } = await importDefault(f, 'a module', 'export one');
          if (value.text.length !== 300000) throw new Error(f + ': loaded ' + value.text.length + ' characters');
        }`;
      const loads = Array.from({ length: 4 }, () => new Promise<string>((resolve) => {
        execFile(process.execPath, ['--input-type=module', '-e', script, JSON.stringify(files)], { timeout: 60_000 }, (e, _out, err) => resolve(e ? `${e.message} ${err}` : 'ok'));
      }));
      expect(await Promise.all(loads)).toEqual(['ok', 'ok', 'ok', 'ok']);
    } finally {
      rmSync(src, { recursive: true, force: true });
    }
  });
});
