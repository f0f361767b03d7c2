import { describe, expect, it } from 'vitest';
import { BrowserSetupError, connectChromium } from './chromium.js';

describe('attaching to a browser started elsewhere', () => {
  it('names why it could not, for a ws:// and an http:// address alike (probe 12)', async () => {
    for (const endpoint of ['ws://127.0.0.1:1/devtools/browser/x', 'http://127.0.0.1:1']) {
      const err = await connectChromium(endpoint).then(() => undefined, (e: unknown) => e);
      expect(err).toBeInstanceOf(BrowserSetupError);
      expect((err as Error).message).toContain(`cannot attach to the browser at ${endpoint}: `);
      expect((err as Error).message).toMatch(/ECONNREFUSED|fetch failed/);
      expect((err as Error).message).not.toContain('[object Object]');
    }
  });
});
