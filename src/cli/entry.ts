/**
 * What every process of the command line does around its command: the exit code it returns or
 * a stop signal set, user mistakes as one line each with exit code 2, runtime failures as one
 * line with exit code 1 (the stack only with LENET_SWEEP_DEBUG), and a reader or terminal that
 * went away taken as the stop it means.
 */
import { readlinkSync } from 'node:fs';
import { formatProblem, UserError } from '../config/errors.js';
import { diskFullText, isDiskFull } from '../util/disk-full.js';
import { READER_GONE, windDown } from './stop-signals.js';

/** How long a process whose loop has emptied, its command unfinished, waits before it says so (see below). */
const UNFINISHED_GRACE_MS = 250;

export function runCommandLine(command: () => Promise<number>): void {
  // A reader that goes away (`sweep … | head`) closes our stdout, and a closed terminal (SIGHUP)
  // fails our writes with EIO: neither is an error to report with a stack trace. A running sweep
  // stops as with Ctrl-C (its trials end cleanly, none left marked running); any other command has
  // nothing left to say and ends.
  let readerGone = false;
  process.stdout.on('error', (err: NodeJS.ErrnoException) => {
    if (readerGone) return;
    // Output sent to a file on a full disk (`sweep runs list --csv > runs.csv`): said once, in
    // our words, then it ends as when the reader has gone (a sweep stops as with Ctrl-C), with 1:
    // set first, so that the code a stopped sweep returns does not replace it.
    const full = isDiskFull(err);
    if (full) {
      console.error(`error: ${diskFullText({ path: outputFile() ?? 'the standard output' })}; the output there is cut short; free some space there, or send the output elsewhere`);
      process.exitCode = 1;
    } else if (err.code !== 'EPIPE' && err.code !== 'EIO') throw err;
    readerGone = true;
    if (process.listenerCount(READER_GONE) > 0) return (process as NodeJS.EventEmitter).emit(READER_GONE, err.code === 'EIO' ? 'SIGHUP' : 'SIGINT');
    // A terminal that is gone: as its SIGHUP (which may come after the failed write).
    if (err.code === 'EIO') return process.emit('SIGHUP', 'SIGHUP');
    // Nothing left to say: the command closes its database as it unwinds, and ends with 0 (a
    // reader that has all it wanted) or 1 (output that could not be written).
    windDown(full ? 1 : 0);
  });

  // Node ends a process whose event loop has nothing left to wait for, with exit code 0, even
  // while the command still awaits something: a defect (a promise no one will settle) that would
  // otherwise pass for success with half the output missing. Said, and failed, instead. A
  // command being wound down after a stop signal (stop-signals.windDown, which sets the exit
  // code) may end so: the dashboard leaves its wait for keys unsettled. The verdict waits a
  // moment for what comes after this listener: the other 'beforeExit' listeners (Ink unmounts the
  // dashboard there, which ends `sweep dashboard` when its input is not a terminal, or a terminal
  // that has gone, whose last frame then fails with EIO: its stop, above) and a stop signal on its
  // way. The wait ends when the command does, so that a command ended so exits at once.
  let settled = false;
  let grace: NodeJS.Timeout | undefined;
  process.on('beforeExit', () => {
    if (settled || process.exitCode !== undefined) return;
    if (grace === undefined) {
      grace = setTimeout(() => {}, UNFINISHED_GRACE_MS);
      return;
    }
    settled = true;
    console.error('error: internal error: the command stopped before it finished, with nothing left to wait for; please report it, with the command that was run');
    process.exitCode = 1;
  });
  // A command that throws before its first await fails as one that rejects.
  Promise.resolve().then(command).finally(() => {
    settled = true;
    clearTimeout(grace);
  }).then(
    (code) => {
      // A stop signal has set its own code (stop-signals.ts).
      process.exitCode ??= code;
    },
    (err: unknown) => {
      if (err instanceof UserError) {
        for (const p of err.problems) console.error(formatProblem(p));
        process.exitCode = 2;
        return;
      }
      console.error(`error: ${err instanceof Error ? err.message : String(err)}`);
      if (process.env.LENET_SWEEP_DEBUG && err instanceof Error) console.error(err.stack);
      process.exitCode = 1;
    },
  );
}

/** The file stdout was sent to (Linux names it), or undefined (a pipe, a terminal, another system). */
function outputFile(): string | undefined {
  try {
    const target = readlinkSync('/proc/self/fd/1');
    return target.startsWith('/') ? target.replace(/ \(deleted\)$/, '') : undefined;
  } catch {
    return undefined;
  }
}
