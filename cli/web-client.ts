// How browser users get in, from the command line: a page and a selector (--page, --joined, --click), or a module (--web-client).
import { resolve } from 'node:path';
import { Option, type Command } from 'commander';
import { defineWebClient, pageUrl, WebClientError, type WebClient } from '../api/web-client.js';
import { identityOf } from '../api/identity.js';
import { importDefault } from '../modules/bundle.js';
import { checkTypes } from '../modules/typecheck.js';
import { ProblemsError } from '../scenarios/model.js';
import { UsageError } from './shared.js';

export interface WebClientFlags {
  page?: string;
  joined?: string;
  click?: string;
  failedSelector?: string;
  webClient?: string;
  /** False: --no-typecheck. */
  typecheck?: boolean;
}

/** The flags that say how browser users get in, for targets without a web client of their own or to replace it. */
export const webClientFlags = (cmd: Command) =>
  cmd
    .option('--page <url>', "browser users' first page, with {user} {conference} {school} {class} … from the participant, e.g. 'http://127.0.0.1:8080/room?class={conference}&name={user}' (needs --joined)")
    .option('--joined <selector>', "what the page shows once a pupil is in, e.g. '#status[data-state=joined]'")
    .option('--click <selector>', 'what a pupil clicks on the page to join, if the page does not join by itself')
    .addOption(new Option('--failed-selector <selector>', 'what the page shows when a pupil could not get in (its text is the reason)'))
    .option('--web-client <file>', 'a module whose default export is defineWebClient({...}): the browser journey in code');

/** A quick check that a selector is one: Chromium would only say so at the first page. */
function checkSelector(flag: string, sel: string): void {
  if (!sel.trim() || /^[\d]/.test(sel.trim()) || (sel.split('[').length !== sel.split(']').length)) {
    throw new UsageError(`${flag} '${sel}' is not a CSS selector; give one like '#status[data-state=joined]' or '.in-class'`);
  }
}

/** The web client the flags describe, or undefined when they describe none. */
export async function webClientOfFlags(o: WebClientFlags, cwd = process.cwd()): Promise<WebClient | undefined> {
  const short = o.page !== undefined || o.joined !== undefined || o.click !== undefined || o.failedSelector !== undefined;
  if (o.webClient !== undefined && short) throw new UsageError('--web-client and --page/--joined/--click both say how browser users get in; give one of them');
  if (o.webClient !== undefined) {
    const file = resolve(cwd, o.webClient);
    const { value, bundle } = await importDefault(file, 'a web client', "end it with: export default defineWebClient({ url, joined, … }) (import { defineWebClient } from 'firstbell')");
    if (!value || (value as WebClient).kind !== 'web-client') {
      throw new ProblemsError([{ where: o.webClient, message: 'its default export is not a web client', hint: "export default defineWebClient({ url, joined, … }) (import { defineWebClient } from 'firstbell')" }]);
    }
    if (o.typecheck !== false) await checkTypes(file, bundle);
    return value as WebClient;
  }
  if (!short) return undefined;
  if (o.page === undefined) throw new UsageError('--joined/--click need --page: the first page browser users open');
  if (o.joined === undefined) throw new UsageError("--page needs --joined: what the page shows once a pupil is in, e.g. '#status[data-state=joined]'");
  checkSelector('--joined', o.joined);
  if (o.click !== undefined) checkSelector('--click', o.click);
  if (o.failedSelector !== undefined) checkSelector('--failed-selector', o.failedSelector);
  const click = o.click;
  try {
    const client = defineWebClient({
      url: o.page,
      joined: o.joined,
      ...(o.failedSelector ? { failed: o.failedSelector } : {}),
      ...(click ? { steps: { click: { layer: 'media' as const, run: async (page, _who, signal) => void (await (await page.waitForSelector(click, { signal, timeout: 0 }))?.click()) } } } : {}),
    });
    // A template with a field the participant has not is found now, not at the first page.
    pageUrl(client, identityOf(0, { schools: 1, participantsPerConference: 1 }), 'http://127.0.0.1/');
    return client;
  } catch (e) {
    if (e instanceof WebClientError) throw new UsageError(`--page: ${e.message.replace(/^web client: url /, '')}`);
    throw new UsageError(`--page '${o.page}' is not a URL: ${e instanceof Error ? e.message : String(e)}`);
  }
}
