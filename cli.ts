#!/usr/bin/env node
// The firstbell command line's entry point: the only place that exits the process.
import { realpathSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { EXIT, main } from './cli/program.js';

export { EXIT, main } from './cli/program.js';
export type { Io } from './cli/shared.js';

const invokedDirectly = process.argv[1] !== undefined && realpathSync(process.argv[1]) === fileURLToPath(import.meta.url);
if (invokedDirectly) {
  const stop = new AbortController();
  let interrupts = 0;
  process.on('SIGINT', () => {
    if (++interrupts > 1) process.exit(EXIT.interrupted);
    process.stderr.write('\ninterrupted: stopping the run and writing the report (Ctrl-C again to quit at once)\n');
    stop.abort();
  });
  main(process.argv.slice(2), { stdout: process.stdout, stderr: process.stderr, signal: stop.signal }).then(
    // Exit once stdout has drained, so a piped --json result is never cut short.
    (code) => process.stdout.write('', () => process.exit(code)),
    (err) => {
      process.stderr.write(`error: internal error: ${String(err)}\n`);
      process.exit(EXIT.internal);
    },
  );
}
