// The command line as a program: every command family registered, and main(argv, io), which returns an exit code.
import { Command, CommanderError } from 'commander';
import { TargetUnreachableError } from '../api/errors.js';
import { FirstbellError } from '../lib/errors.js';
import { VERSION } from '../lib/version.js';
import { ProblemsError } from '../scenarios/model.js';
import { addFixtureCommand } from './fixture.js';
import { addHarCommand, addRecordCommand } from './har.js';
import { addK6Commands } from './k6.js';
import { addNewCommand } from './new.js';
import { addPlanCommands } from './plan.js';
import { addShardCommands } from './shards.js';
import { addReportCommands } from './report.js';
import { addRunCommands } from './run.js';
import { addTimetableCommand } from './timetable.js';
import { EXIT, type Action, type Io, type SetAction } from './shared.js';

export { EXIT } from './shared.js';

export function buildProgram(io: Io, setAction: SetAction): Command {
  const program = new Command('firstbell')
    .description('Replays the Monday 8:00 burst against a school platform and writes a capacity report.')
    .version(VERSION)
    .showSuggestionAfterError(true)
    .exitOverride()
    .configureOutput({ writeOut: (s) => void io.stdout.write(s), writeErr: (s) => void io.stderr.write(s) })
    .addHelpText(
      'after',
      `
Exit codes: 0 objectives met, 1 internal error, 2 usage or config error, 3 target unreachable before start,
99 objectives failed, 130 interrupted.`,
    );
  addRunCommands(program, io, setAction);
  addReportCommands(program, io, setAction);
  addShardCommands(program, addK6Commands(program, io, setAction), io, setAction);
  addPlanCommands(program, io, setAction);
  addTimetableCommand(program, io, setAction);
  addFixtureCommand(program, io, setAction);
  addNewCommand(program, io, setAction);
  addHarCommand(program, io, setAction);
  addRecordCommand(program, io, setAction);
  return program;
}

/** Runs the CLI in-process and returns its exit code; never exits the process. */
export async function main(argv: string[], io: Io): Promise<number> {
  let action: Action | undefined;
  const program = buildProgram(io, (a) => (action = a));
  try {
    await program.parseAsync(argv, { from: 'user' });
    if (!action) return EXIT.ok;
    return await action();
  } catch (err) {
    if (err instanceof CommanderError) {
      if (err.code === 'commander.helpDisplayed' || err.code === 'commander.version' || err.code === 'commander.help') return EXIT.ok;
      if (err.code === 'commander.executeSubCommandAsync') return EXIT.internal;
      return EXIT.usage; // commander has already printed its one-line error
    }
    // Work stopped by a signal (a long report or import) ends as interrupted, whatever it was doing.
    if (io.signal?.aborted) {
      io.stderr.write(`interrupted: ${err instanceof Error ? err.message : String(err)}\n`);
      return EXIT.interrupted;
    }
    if (err instanceof ProblemsError) {
      io.stderr.write(`error: ${err.problems.length} problem(s):\n${err.problems.map((p) => `  ${p.where}: ${p.message}; fix: ${p.hint}`).join('\n')}\n`);
      return err.exitCode;
    }
    if (err instanceof TargetUnreachableError) {
      io.stderr.write(`error: ${err.message}; start the platform or fix --target ('firstbell fixture' starts the reference platform)\n`);
      return err.exitCode;
    }
    // Every error of firstbell's own names what is wrong and the fix, and its exit code.
    if (err instanceof FirstbellError) {
      io.stderr.write(`error: ${err.message}\n`);
      return err.exitCode;
    }
    io.stderr.write(`error: internal error: ${err instanceof Error ? err.message : String(err)}${process.env.FIRSTBELL_DEBUG ? `\n${(err as Error).stack}` : ' (set FIRSTBELL_DEBUG=1 for the stack)'}\n`);
    return EXIT.internal;
  }
}

