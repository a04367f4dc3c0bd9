/**
 * What every process of the command line does around its command: the exit code it returns or
 * a stop signal set, user mistakes as one line each with exit code 2, runtime failures as one
 * line with exit code 1 (the stack only with LENET_SWEEP_DEBUG), and a reader or terminal that
 * went away taken as the stop it means.
 */
import { formatProblem, UserError } from '../config/errors.js';
import { READER_GONE, windDown } from './stop-signals.js';

export function runCommandLine(command: () => Promise<number>): void {
  // A reader that goes away (`sweep … | head`) closes our stdout, and a closed terminal (SIGHUP)
  // fails our writes with EIO: neither is an error to report with a stack trace. A running sweep
  // stops as with Ctrl-C (its trials end cleanly, none left marked running); any other command has
  // nothing left to say and ends.
  let readerGone = false;
  process.stdout.on('error', (err: NodeJS.ErrnoException) => {
    if (readerGone) return;
    if (err.code !== 'EPIPE' && err.code !== 'EIO') throw err;
    readerGone = true;
    if (process.listenerCount(READER_GONE) > 0) return (process as NodeJS.EventEmitter).emit(READER_GONE, err.code === 'EIO' ? 'SIGHUP' : 'SIGINT');
    // A terminal that is gone: as its SIGHUP (which may come after the failed write).
    if (err.code === 'EIO') return process.emit('SIGHUP', 'SIGHUP');
    // Nothing left to say: the command closes its database as it unwinds, and ends with 0.
    windDown(0);
  });

  // A command that throws before its first await fails as one that rejects.
  Promise.resolve().then(command).then(
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
