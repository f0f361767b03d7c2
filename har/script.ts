// What `firstbell record --script` runs: a user's steps on the page, typed for the package's users.
import type { Page } from 'puppeteer-core';

/** Steps a recording runs in a headless Chromium: what a user would do on the page, with puppeteer-core's Page. */
export type RecordScript = (page: Page, ctx: { url: string }) => Promise<void>;
