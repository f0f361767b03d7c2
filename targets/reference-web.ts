// The reference platform's web client, as a pupil uses it: login form, dashboard, a click on the class.
import { HttpStatusError } from '../api/errors.js';
import { defineWebClient, type WebClient } from '../api/web-client.js';

/** What the reference conference page keeps on window.firstbell: its marks, its state and why it failed. */
interface ConferencePage {
  state: string;
  marks: Record<string, number>;
  error: { stage: string; message: string } | null;
}

/** Waits until the conference page has the mark, or fails with what the page says (an HTTP status when it names one). */
async function pageMark(page: import('puppeteer-core').Page, mark: string, signal: AbortSignal): Promise<void> {
  const handle = await page.waitForFunction(
    (name: string) => {
      const fb = (globalThis as { firstbell?: ConferencePage }).firstbell;
      if (!fb) return false;
      if (fb.error) return { error: fb.error.message };
      return fb.marks[name] !== undefined ? { ok: true } : false;
    },
    { signal, timeout: 0, polling: 50 },
    mark,
  );
  const r = (await handle.jsonValue()) as { ok?: true; error?: string };
  if (r.error) {
    const status = Number(/answered (\d{3})/.exec(r.error)?.[1] ?? 0);
    if (status) throw new HttpStatusError(status, `the conference page: ${r.error}`);
    throw new Error(r.error);
  }
}

export const referenceWebClient: WebClient = defineWebClient({
  url: '/login',
  steps: {
    login: {
      layer: 'admission',
      async run(page, who) {
        await page.type('input[name=username]', who.user);
        await page.type('input[name=password]', who.password);
        const [res] = await Promise.all([page.waitForNavigation({ waitUntil: 'load' }), page.click('button[type=submit]')]);
        return res?.status() ?? 0;
      },
    },
    // The click on the class: the page asks the broker for a seat; the step ends with its answer.
    assign: {
      layer: 'broker',
      async run(page, _who, signal) {
        await Promise.all([page.waitForNavigation({ waitUntil: 'domcontentloaded' }), page.click('a.conference')]);
        await pageMark(page, 'assigned', signal);
      },
    },
  },
  joined: (page, signal) => pageMark(page, 'joined', signal),
  dropped: (page) => page.evaluate(() => (globalThis as { firstbell?: ConferencePage }).firstbell?.state === 'dropped'),
});
