// The reference platform's web client, as a pupil uses it: login form, dashboard, a click on the class.
import type { WebClient } from '../api/web-client.js';

export function referenceWebClient(origin: string): WebClient {
  return {
    async open(page) {
      const res = await page.goto(new URL('/login', origin).href, { waitUntil: 'load' });
      return res?.status() ?? 0;
    },
    async login(page, who) {
      await page.type('input[name=username]', who.user);
      await page.type('input[name=password]', who.password);
      const [res] = await Promise.all([page.waitForNavigation({ waitUntil: 'load' }), page.click('button[type=submit]')]);
      return res?.status() ?? 0;
    },
    async enter(page) {
      await Promise.all([page.waitForNavigation({ waitUntil: 'domcontentloaded' }), page.click('a.conference')]);
    },
  };
}
