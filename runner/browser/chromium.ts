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

export async function launchChromium(opts: { executablePath?: string; args?: string[] } = {}): Promise<Browser> {
  return puppeteer.launch({
    executablePath: chromiumPath(opts.executablePath),
    headless: true,
    args: [...CHROMIUM_ARGS, ...(opts.args ?? [])],
  });
}
