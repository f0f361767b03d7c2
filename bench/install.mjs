#!/usr/bin/env node
// Installs the peer tools the benchmark runs beside firstbell (autocannon, artillery) into bench/node_modules, once
// per change of bench/package-lock.json. No browser is downloaded: artillery brings Playwright, whose install step
// would fetch one; the benchmark never drives a browser through it.
//
//   node bench/install.mjs            install when needed, saying how long it takes
//   node bench/install.mjs --dry-run  say what would run, run nothing
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const lock = readFileSync(join(here, 'package-lock.json'));
const stamp = join(here, 'node_modules', '.firstbell-installed');
const want = createHash('sha256').update(lock).digest('hex');
const env = { ...process.env, PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD: '1', PUPPETEER_SKIP_DOWNLOAD: '1', npm_config_audit: 'false', npm_config_fund: 'false' };
const cmd = ['ci', '--prefix', here, '--no-audit', '--no-fund'];

if (process.argv.includes('--dry-run')) {
  process.stdout.write(`npm ${cmd.join(' ')}\nwith PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 PUPPETEER_SKIP_DOWNLOAD=1\n`);
  process.exit(0);
}
if (existsSync(stamp) && readFileSync(stamp, 'utf8') === want) {
  process.stderr.write('bench: peer tools already installed (bench/node_modules)\n');
  process.exit(0);
}
process.stderr.write('bench: installing the peer tools (autocannon, artillery) into bench/node_modules from the npm registry: about 1 to 3 minutes and 600 MB the first time; no browser is downloaded\n');
const started = Date.now();
const r = spawnSync('npm', cmd, { stdio: 'inherit', env });
if (r.status !== 0) {
  process.stderr.write(`bench: installing the peer tools failed (npm exited ${r.status ?? r.signal}); the benchmark needs them\n`);
  process.exit(r.status ?? 1);
}
writeFileSync(stamp, want);
process.stderr.write(`bench: peer tools installed in ${Math.round((Date.now() - started) / 1000)} s\n`);
