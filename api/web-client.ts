// How a browser user gets into a conference through a platform's own pages.
import type { Page } from 'puppeteer-core';
import type { Identity } from './identity.js';

/** How one web client is driven to a joined conference; the page reports marks through window.firstbell. */
export interface WebClient {
  /** Opens the first page; resolves with its HTTP status. */
  open(page: Page, signal: AbortSignal): Promise<number>;
  /** Logs in as the participant; resolves with the status of the page after login. */
  login(page: Page, who: Identity): Promise<number>;
  /** Clicks into the conference. */
  enter(page: Page): Promise<void>;
}
