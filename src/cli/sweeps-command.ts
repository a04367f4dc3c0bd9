/** `sweep sweeps list`: every sweep in the database with its progress and leader. */
import { UserError } from '../config/errors.js';
import { listSweeps } from '../store/queries.js';
import { withReadOnly } from '../store/open.js';
import { parse } from './args.js';
import { SWEEPS_LIST } from './commands.js';
import { metricValue, sweepStatusText } from '../view/format.js';
import { jsonText } from './json-text.js';
import { formatOf, print, render } from './output.js';

export async function sweepsCommand(args: string[]): Promise<number> {
  const [sub, ...rest] = args;
  if (sub !== 'list') throw new UserError(`sweep sweeps: ${sub === undefined ? 'no subcommand given' : `unknown subcommand '${sub}'`}; expected: sweep sweeps list`);
  const { values, positionals } = parse(rest, SWEEPS_LIST);
  if (positionals.length) throw new UserError(`sweep sweeps list: unexpected argument '${positionals[0]}'`);
  const format = formatOf(values);
  return withReadOnly(values.db!, async (db) => {
    const sweeps = listSweeps(db);
    if (format === 'json') {
      print(jsonText(sweeps));
      return 0;
    }
    const headers = ['sweep', 'status', 'completed', 'pruned', 'trials', 'metric', 'best', 'best trial', 'updated', 'file'];
    const rows = sweeps.map((s) => [s.name, s.status, s.counts.completed ?? 0, s.counts.pruned ?? 0, s.trials, s.metric, s.best_value, s.best_trial, s.updated_at, s.file]);
    const text = sweeps.map((s) => [
      s.name, sweepStatusText(s.status, s.process_gone), String(s.counts.completed ?? 0), String(s.counts.pruned ?? 0), String(s.trials), s.metric, metricValue(s.metric, s.best_value),
      s.best_trial ?? '—', s.updated_at.replace('T', ' ').slice(0, 19), s.file,
    ]);
    print(await render({ headers, rows, text, numeric: new Set([2, 3, 4, 6]) }, format, 'no sweeps yet'));
    return 0;
  });
}
