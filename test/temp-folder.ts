// The test run's temporary files (run folders, bundles, browser profiles, servers' scratch) go into one folder of
// its own, removed when the run ends: TMPDIR is set for the tests and every process they start.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export default function setup(): () => void {
  const dir = mkdtempSync(join(tmpdir(), 'firstbell-tests-'));
  process.env.TMPDIR = dir;
  return () => rmSync(dir, { recursive: true, force: true });
}
