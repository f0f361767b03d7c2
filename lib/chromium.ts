// Launching Debian's Chromium through puppeteer-core, closed to every host but loopback.
import { existsSync } from 'node:fs';
import { adoptPid, releaseChild } from './children.js';
import { processTree } from './process-tree.js';
import { setPriority } from 'node:os';
import type { Browser } from 'puppeteer-core';
import { FirstbellError } from './errors.js';

/** puppeteer-core is loaded when a browser is first needed: most runs start none, and it costs a second of CPU to load. */
const puppeteer = async () => (await import('puppeteer-core')).default;

/** Chromium cannot be found, started or reached: a setup problem the message says how to fix (exit code 2). */
export class BrowserSetupError extends FirstbellError {}

/** Chromium to use: --chromium flag, then FIRSTBELL_CHROMIUM, then Debian's /usr/bin/chromium. */
export function chromiumPath(explicit?: string): string {
  const path = explicit ?? process.env.FIRSTBELL_CHROMIUM ?? '/usr/bin/chromium';
  if (!existsSync(path)) {
    throw new BrowserSetupError(`no Chromium at ${path}; install Debian's chromium (setup.sh does) or set FIRSTBELL_CHROMIUM to its path`);
  }
  return path;
}

/** Flags that keep Chromium quiet and off the network: no background services, no name look-ups beyond loopback. */
export const CHROMIUM_ARGS = [
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--disable-default-apps',
  '--disable-extensions',
  resolverRules(),
];

/** For browser users: fake camera and microphone granted without asking, and no throttling of pages nobody looks at. */
export const MEDIA_ARGS = [
  '--use-fake-ui-for-media-stream',
  '--use-fake-device-for-media-stream',
  '--autoplay-policy=no-user-gesture-required',
  '--disable-background-timer-throttling',
  '--disable-renderer-backgrounding',
  '--disable-backgrounding-occluded-windows',
];

/** Attaches to a browser started elsewhere (e.g. chromium --remote-debugging-port=9222), by its ws:// or http:// address. */
export async function connectChromium(endpoint: string): Promise<Browser> {
  try {
    return /^https?:/.test(endpoint) ? await (await puppeteer()).connect({ browserURL: endpoint }) : await (await puppeteer()).connect({ browserWSEndpoint: endpoint });
  } catch (e) {
    // A WebSocket that fails to open rejects with its error event, not an Error: its message is the reason.
    const why = (e as { message?: unknown } | undefined)?.message;
    throw new BrowserSetupError(`cannot attach to the browser at ${endpoint}: ${typeof why === 'string' ? why : String(e)}; start it with --remote-debugging-port and pass its ws:// address (from /json/version) or http://host:port`);
  }
}

/** Name look-ups Chromium may make: loopback's and the allowed hosts'; every other name is not found. */
export function resolverRules(allowHosts: readonly string[] = []): string {
  return `--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1, EXCLUDE localhost${allowHosts.map((h) => `, EXCLUDE ${h}`).join('')}`;
}

export async function launchChromium(opts: { executablePath?: string; args?: string[]; allowHosts?: string[]; headed?: boolean } = {}): Promise<Browser> {
  const executablePath = chromiumPath(opts.executablePath);
  try {
    // firstbell has one shutdown path for signals; the browser library's own handlers would exit the process
    // before the report is written.
    const browser = await (await puppeteer()).launch({ executablePath, headless: !opts.headed, defaultViewport: opts.headed ? null : undefined, args: [...CHROMIUM_ARGS.filter((a) => !a.startsWith('--host-resolver-rules')), resolverRules(opts.allowHosts), ...(opts.args ?? [])], handleSIGINT: false, handleSIGTERM: false, handleSIGHUP: false });
    const pid = browser.process()?.pid;
    adoptPid('chromium', pid);
    browser.once('disconnected', () => releaseChild(pid));
    return browser;
  } catch (e) {
    throw new BrowserSetupError(`Chromium at ${executablePath} did not start: ${e instanceof Error ? e.message.split('\n')[0] : String(e)}`);
  }
}

/**
 * Lowers the priority of a Chromium started here and of every process it has started (its zygote
 * forks the renderers later, which inherit it): on a machine shared with the protocol generator, the
 * browser users are witnesses and must not take the CPU the schedule needs.
 */
export function deprioritise(rootPid: number | undefined, nice = 10): void {
  if (rootPid === undefined) return;
  for (const { pid } of processTree(rootPid)) {
    try {
      setPriority(pid, nice);
    } catch {
      // Gone, or not ours to change: the run goes on at normal priority.
    }
  }
}
