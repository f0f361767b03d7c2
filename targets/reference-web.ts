// The reference platform's web client, as a pupil uses it: login form, dashboard, a click on the class.
import type { WebClient } from '../users/browser/canaries.js';

export function referenceWebClient(origin: string): WebClient {
  return {
    async open(page) {
      const res = await page.goto(new URL('/login', origin).href, { waitUntil: 'load' });
      return res?.status() ?? 0;
    },
    async login(page, user) {
      await page.type('input[name=username]', `pupil-${user}`);
      await page.type('input[name=password]', `pw-${user}`);
      const [res] = await Promise.all([page.waitForNavigation({ waitUntil: 'load' }), page.click('button[type=submit]')]);
      return res?.status() ?? 0;
    },
    async enter(page) {
      await Promise.all([page.waitForNavigation({ waitUntil: 'domcontentloaded' }), page.click('a.conference')]);
    },
  };
}
