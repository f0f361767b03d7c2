// Launching Debian's Chromium through puppeteer-core, closed to every host but loopback.
import { existsSync } from 'node:fs';
import puppeteer, { type Browser } from 'puppeteer-core';

/** Chromium to use: --chromium flag, then FIRSTBELL_CHROMIUM, then Debian's /usr/bin/chromium. */
export function chromiumPath(explicit?: string): string {
  const path = explicit ?? process.env.FIRSTBELL_CHROMIUM ?? '/usr/bin/chromium';
  if (!existsSync(path)) {
    throw new Error(`no Chromium at ${path}; install Debian's chromium (setup.sh does) or set FIRSTBELL_CHROMIUM to its path`);
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
  '--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1, EXCLUDE localhost',
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
    return /^https?:/.test(endpoint) ? await puppeteer.connect({ browserURL: endpoint }) : await puppeteer.connect({ browserWSEndpoint: endpoint });
  } catch (e) {
    throw new Error(`cannot attach to the browser at ${endpoint}: ${e instanceof Error ? e.message : String(e)}; start it with --remote-debugging-port and pass its ws:// address (from /json/version) or http://host:port`);
  }
}

export async function launchChromium(opts: { executablePath?: string; args?: string[] } = {}): Promise<Browser> {
  return puppeteer.launch({
    executablePath: chromiumPath(opts.executablePath),
    headless: true,
    args: [...CHROMIUM_ARGS, ...(opts.args ?? [])],
  });
}
