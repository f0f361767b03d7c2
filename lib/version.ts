// The tool's own version and install folder, found from this module's place on disk.
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The folder holding firstbell's package.json, whether running from source or from dist/. */
export const PACKAGE_ROOT: string = (() => {
  for (let dir = dirname(fileURLToPath(import.meta.url)); dir !== dirname(dir); dir = dirname(dir)) {
    const p = join(dir, 'package.json');
    if (existsSync(p) && (JSON.parse(readFileSync(p, 'utf8')) as { name?: string }).name === 'firstbell') return dir;
  }
  throw new Error('firstbell: package.json not found above ' + fileURLToPath(import.meta.url));
})();

export const VERSION: string = (JSON.parse(readFileSync(join(PACKAGE_ROOT, 'package.json'), 'utf8')) as { version: string }).version;
