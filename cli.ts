#!/usr/bin/env node
// The firstbell command line's entry point: the only place that exits the process.
import { realpathSync } from 'node:fs';
import { constants as osConstants } from 'node:os';
import { fileURLToPath } from 'node:url';
import { EXIT, main } from './cli/program.js';
import { endChildrenNow } from './lib/children.js';

export { EXIT, main } from './cli/program.js';
export type { Io } from './cli/shared.js';

const invokedDirectly = process.argv[1] !== undefined && realpathSync(process.argv[1]) === fileURLToPath(import.meta.url);
if (invokedDirectly) {
  const stop = new AbortController();
  let signalled: NodeJS.Signals | undefined;
  // One shutdown path for every signal that asks firstbell to stop: the load stops, the processes it started end,
  // the run folder is closed as interrupted and the report written. A second signal quits at once.
  const onSignal = (signal: NodeJS.Signals) => {
    if (signalled) {
      endChildrenNow();
      process.exit(128 + osConstants.signals[signal]);
    }
    signalled = signal;
    // The reference platform started on its own (firstbell fixture) has no run to report on.
    const fixture = process.argv[2] === 'fixture';
    const what = fixture ? 'stopping the reference platform' : 'stopping the run and writing the report';
    // A reference platform that firstbell started itself (--quiet) is stopped by it, which is no news to the user.
    if (!(fixture && process.argv.includes('--quiet'))) process.stderr.write(`\ninterrupted (${signal}): ${what} (Ctrl-C again to quit at once)\n`);
    stop.abort(new Error(`interrupted by ${signal}`));
  };
  for (const s of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) process.on(s, onSignal);
  main(process.argv.slice(2), { stdout: process.stdout, stderr: process.stderr, signal: stop.signal }).then(
    // Exit once stdout has drained, so a piped --json result is never cut short. Stopped by a signal: 128 + its number.
    (code) => process.stdout.write('', () => process.exit(signalled && code === EXIT.interrupted ? 128 + osConstants.signals[signalled] : code)),
    (err) => {
      endChildrenNow();
      process.stderr.write(`error: internal error: ${String(err)}\n`);
      process.exit(EXIT.internal);
    },
  );
}
