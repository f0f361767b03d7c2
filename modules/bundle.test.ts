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
});
