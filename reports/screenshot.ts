// A PNG of a report as a person sees it, taken offline in headless Chromium.
import { pathToFileURL } from 'node:url';
import type { Page } from 'puppeteer-core';
import { launchChromium } from '../lib/chromium.js';

/** Console errors and blocked requests seen while the page loaded; empty for a healthy report. */
export interface PageCheck {
  consoleErrors: string[];
  blockedRequests: string[];
  rendered: boolean;
  /** What `inspect` returned, when given. */
  inspected?: unknown;
}

/** Opens the report with every request but file: and data: refused, waits for the charts, optionally saves a PNG. */
export async function openReport(htmlPath: string, opts: { screenshot?: string; widthPx?: number; chromium?: string; inspect?: (page: Page) => Promise<unknown> } = {}): Promise<PageCheck> {
  const browser = await launchChromium({ executablePath: opts.chromium });
  const check: PageCheck = { consoleErrors: [], blockedRequests: [], rendered: false };
  try {
    const page = await browser.newPage();
    await page.setViewport({ width: opts.widthPx ?? 1240, height: 900, deviceScaleFactor: 1 });
    await page.setRequestInterception(true);
    page.on('request', (req) => {
      const u = req.url();
      if (u.startsWith('file:') || u.startsWith('data:') || u.startsWith('blob:')) void req.continue();
      else {
        check.blockedRequests.push(u);
        void req.abort('blockedbyclient');
      }
    });
    page.on('console', (m) => m.type() === 'error' && check.consoleErrors.push(m.text()));
    page.on('pageerror', (e) => check.consoleErrors.push(e instanceof Error ? e.message : String(e)));
    await page.goto(pathToFileURL(htmlPath).href, { waitUntil: 'load' });
    check.rendered = (await page.waitForSelector('body[data-rendered="true"]', { timeout: 15_000 }).catch(() => null)) !== null;
    if (opts.inspect) check.inspected = await opts.inspect(page);
    if (opts.screenshot) await page.screenshot({ path: opts.screenshot as `${string}.png`, fullPage: true });
  } finally {
    await browser.close();
  }
  return check;
}
