/**
 * `sweep FILE`: the options read into a sweep session (sweep/session.ts), which checks the
 * experiment, claims the database and runs what still has to run; shown here as it goes: the live
 * dashboard on a terminal, else one line per epoch (sweep-output.ts) and the leaderboard at the end.
 * Stop signals and the dashboard are the command's: the session is told to stop.
 */
import { UserError } from '../config/errors.js';
import type { LiveDashboard } from '../dashboard/live.js';
import { GaveUp } from '../store/patience.js';
import { backendOption, countOption, fuseOption, keepOption } from '../sweep/options.js';
import { startSweep } from '../sweep/session.js';
import type { SweepOptions, SweepSession } from '../sweep/session-types.js';
import { STOP_SIGNALS, type StopSignal } from '../util/signals.js';
import { parse, positiveInt } from './args.js';
import { RUN } from './commands.js';
import { leaderboard } from './leaderboard.js';
import { liveTerminal } from './live-terminal.js';
import { StopSignals } from './stop-signals.js';
import { endNotes, leaderboardTitle, stoppingAtOnceText, stoppingText, sweepPrinter } from './sweep-output.js';

export async function sweepCommand(args: string[]): Promise<number> {
  // From the start: a signal while the file is checked or the data prepared ends the process at
  // once (nothing is written yet); once the database is opened, it stops the run cleanly.
  const stops = new StopSignals();
  try {
    return await sweep(args, stops);
  } catch (err) {
    // Stopped while another program held the database: stopped as asked, with what is missing said.
    if (!(err instanceof GaveUp)) throw err;
    console.log(`note: ${err.message}`);
    return stops.exitCode ?? STOP_SIGNALS.SIGINT;
  } finally {
    stops.dispose();
  }
}

async function sweep(args: string[], stops: StopSignals): Promise<number> {
  const { values, positionals } = parse(args, RUN);
  if (positionals.length !== 1) throw new UserError(positionals.length ? `sweep: expected one experiment file, found ${positionals.length}` : 'sweep: no experiment file given; see sweep --help');
  // In the order they have always been checked in (the session checks them again, and the rest).
  const options: SweepOptions = {
    workers: positiveInt(values.workers, 'workers'),
    fuse: fuseOption(values.fuse),
    keep: keepOption(values.keep!),
    retries: countOption(values.retries!, 'retries'),
    backend: backendOption(values.backend),
    queue: values.queue,
    gpus: values.gpus,
    db: values.db,
    rerun: values.rerun,
    set: values.set,
    grid: values.grid,
    yes: values.yes,
    skipBad: values['skip-bad'],
    // A stop request while the database is claimed: no wait for another program's lock, no training.
    signal: stops.requested,
  };
  // The dashboard needs a terminal to draw on; otherwise (pipes, logs, CI) one line per event.
  const tui = liveTerminal() && !values['no-tui'];
  const print = sweepPrinter({ trials: !tui });
  const session = await startSweep(positionals[0], options, (event) => {
    // From here on something is written that must be closed properly: a stop goes to the session.
    if (event.type === 'opening') stops.defer();
    else print(event);
  });
  const { plan } = session;
  let dashboard: LiveDashboard | undefined;
  let code = 0;
  try {
    if (plan.runnable) {
      if (tui) {
        const { startDashboard } = await import('../dashboard/live.js');
        // Ctrl-C reaches the dashboard as a key (the terminal is in raw mode): a stop like SIGINT.
        dashboard = startDashboard({ dbPath: plan.db, sweep: plan.sweep, mode: 'run', onStop: () => session.stop(), onInterrupt: () => stops.request('SIGINT') });
      }
      stops.handle(stopping(session, () => dashboard !== undefined));
    }
    const outcome = await session.done;
    if (plan.runnable) code = outcome.stopped ? (stops.exitCode ?? STOP_SIGNALS.SIGINT) : outcome.status === 'failed' ? 1 : 0;
    // The final leaderboard stays on the screen.
    await dashboard?.finish();
    for (const note of endNotes(outcome, plan.metric)) console.log(note);
    if (!dashboard) {
      console.log(leaderboardTitle(plan.metric));
      console.log(await leaderboard(outcome.ranked()));
    }
  } catch (err) {
    await dashboard?.finish();
    throw err;
  }
  return code;
}

/**
 * The first stop request lets the running trials end after their batch; the second (or one after
 * the run began stopping of itself) ends them at once. Either way the run settles and the database
 * is closed properly. Said here only where no dashboard shows it.
 */
function stopping(session: SweepSession, dashboardShown: () => boolean) {
  return (first: boolean, signal: StopSignal) => {
    if (first && !session.stopping) {
      if (!dashboardShown()) console.log(stoppingText(signal));
      session.stop();
    } else {
      if (!dashboardShown()) console.log(stoppingAtOnceText(signal));
      void session.abort();
    }
  };
}
