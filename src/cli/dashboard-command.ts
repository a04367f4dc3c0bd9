/**
 * `sweep dashboard [--db PATH] [--sweep NAME]`: the live dashboard attached to a database, for a
 * sweep another process runs or one that has ended. Without a terminal, or in a CI job, it
 * prints the leaderboard once.
 */
import { UserError } from '../config/errors.js';
import { chooseSweep, loadBoard } from '../dashboard/board.js';
import { withReadOnly } from '../store/open.js';
import { parse } from './args.js';
import { DASHBOARD } from './commands.js';
import { goalText, sweepStatusText } from '../view/format.js';
import { leaderboard } from './leaderboard.js';
import { liveTerminal } from './live-terminal.js';
import { print } from './output.js';

export async function dashboardCommand(args: string[]): Promise<number> {
  const { values, positionals } = parse(args, DASHBOARD);
  if (positionals.length) throw new UserError(`sweep dashboard: unexpected argument '${positionals[0]}'; to run an experiment use sweep ${positionals[0]}`);
  const terminal = liveTerminal();
  const sweep = await withReadOnly(values.db!, async (db) => {
    const name = chooseSweep(db, values.sweep);
    // Without a terminal (or in CI, where Ink draws only the last frame): what the dashboard
    // shows (the latest run, ranked among itself), once, under a line naming the sweep.
    if (!terminal) {
      const board = loadBoard(db, name);
      const { metric, goal, status, processGone } = board.sweep;
      print(`lenet-sweep · ${name} · ${metric} (${goalText(goal)}) · ${sweepStatusText(status, processGone)}`);
      print(await leaderboard(board.trials));
    }
    return name;
  });
  if (!terminal) return 0;
  const { startDashboard } = await import('../dashboard/live.js');
  const dashboard = startDashboard({ dbPath: values.db!, sweep, mode: 'attach' });
  await dashboard.closed;
  return 0;
}
