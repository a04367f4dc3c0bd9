/** `sweep runs list`: the trials in the database, as a table or JSON. */
import { UserError } from '../config/errors.js';
import { listTrials } from '../store/queries.js';
import { DEFAULT_DB, openForReading } from '../store/open.js';
import { parse } from './args.js';
import { leaderboard } from './leaderboard.js';

export function runsCommand(args: string[]): number {
  const [sub, ...rest] = args;
  if (sub !== 'list') throw new UserError(`sweep runs: unknown subcommand '${sub ?? ''}'; expected: sweep runs list`);
  const { values, positionals } = parse(rest, {
    db: { type: 'string', default: DEFAULT_DB },
    sweep: { type: 'string' },
    json: { type: 'boolean', default: false },
  }, 'sweep runs list');
  if (positionals.length) throw new UserError(`sweep runs list: unexpected argument '${positionals[0]}'`);
  const db = openForReading(values.db!);
  try {
    const trials = listTrials(db, { sweep: values.sweep });
    const sweeps = new Set(trials.map((t) => t.sweep));
    process.stdout.write(values.json ? `${JSON.stringify(trials, null, 2)}\n` : `${leaderboard(trials, { showSweep: sweeps.size > 1 })}\n`);
    return 0;
  } finally {
    db.close();
  }
}
