#!/usr/bin/env node
/**
 * The `sweep` command. User mistakes (bad files, bad options) print one line per problem and
 * exit with 2; runtime failures print one line and exit with 1. No stack traces unless
 * LENET_SWEEP_DEBUG is set.
 */
import { formatProblem, UserError } from '../config/errors.js';
import { endOnStopSignals, READER_GONE, windDown } from './stop-signals.js';
import { USAGE } from './usage.js';
import { packageVersion } from './version.js';

const COMMANDS = ['agent', 'runs', 'sweeps', 'upgrade', 'dashboard', 'validate', 'plan', 'schema', 'augment-preview', 'backends', 'report'];

/** Whether the arguments run a sweep (`sweep FILE`, `sweep run FILE`) rather than another command. */
const isSweep = (first: string) => !COMMANDS.includes(first);

async function main(argv: string[]): Promise<number> {
  // React (under the Ink dashboard) checks this when it loads: its development build is several
  // times slower per frame, which the training running next to it would pay for.
  process.env.NODE_ENV ??= 'production';
  const [first, ...rest] = argv;
  if (first === undefined || first === '-h' || first === '--help' || first === 'help') {
    (first === undefined ? console.error : console.log)(USAGE);
    return first === undefined ? 2 : 0;
  }
  if (first === '-v' || first === '--version') {
    console.log(packageVersion());
    return 0;
  }
  // A sweep and an agent handle stop signals themselves; every other command ends at once.
  if (!isSweep(first) && first !== 'agent') endOnStopSignals();
  // Commands load on demand: `sweep runs …` should not pay for loading TensorFlow.js.
  if (first === 'agent') return (await import('./agent-command.js')).agentCommand(rest);
  if (first === 'runs') return (await import('./runs-command.js')).runsCommand(rest);
  if (first === 'sweeps') return (await import('./sweeps-command.js')).sweepsCommand(rest);
  if (first === 'upgrade') return (await import('./upgrade-command.js')).upgradeCommand(rest);
  if (first === 'dashboard') return (await import('./dashboard-command.js')).dashboardCommand(rest);
  if (first === 'validate') return (await import('./validate-command.js')).validateCommand(rest);
  if (first === 'plan') return (await import('./plan-command.js')).planCommand(rest);
  if (first === 'schema') return (await import('./schema-command.js')).schemaCommand();
  if (first === 'backends') return (await import('./backends-command.js')).backendsCommand(rest);
  if (first === 'export') return (await import('./export-command.js')).exportCommand(rest);
  if (first === 'predict') return (await import('./predict-command.js')).predictCommand(rest);
  if (first === 'report') return (await import('./report-command.js')).reportCommand(rest);
  if (first === 'evaluate') return (await import('./evaluate-command.js')).evaluateCommand(rest);
  if (first === 'augment-preview') return (await import('./augment-preview-command.js')).augmentPreviewCommand(rest);
  const { sweepCommand } = await import('./sweep-command.js');
  return sweepCommand(first === 'run' ? rest : argv);
}

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

main(process.argv.slice(2)).then(
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
