/** `sweep runs compare`: trials side by side, the config paths where they differ and their results. */
import { UserError } from '../config/errors.js';
import { epochsOf, findTrial } from '../store/queries.js';
import { withReadOnly } from '../store/open.js';
import { parse } from './args.js';
import { RUNS_COMPARE } from './commands.js';
import { compareTrials } from '../view/compare.js';
import { formatOf, print, render, type Grid } from './output.js';
import { checkPlot, idsOf, plotTrials } from './runs-trial-args.js';

export async function runsCompare(args: string[]): Promise<number> {
  const { values, positionals } = parse(args, RUNS_COMPARE);
  const ids = idsOf(positionals, 'sweep runs compare', 2);
  const format = formatOf(values);
  checkPlot(values);
  const plot = await withReadOnly(values.db!, async (db) => {
    const trials = ids.map((id) => findTrial(db, id));
    const empty = trials.find((t) => t.epochs === 0);
    if (values.plot !== undefined && empty) throw new UserError(`--plot: trial ${empty.id} has no finished epoch to plot (${empty.status})`);
    const { rows, identical } = compareTrials(trials);
    const grid: Grid = {
      headers: ['field', ...trials.map((t) => t.id)],
      rows: rows.map((r) => [r.field, ...r.values]),
      text: rows.map((r) => [r.field, ...r.text]),
    };
    const note = identical ? '\n(the configs are identical)' : '';
    print((await render(grid, format)) + (format === 'table' ? note : ''));
    return trials.map((t) => ({ id: t.id, history: epochsOf(db, t.id) }));
  });
  if (values.plot !== undefined) await plotTrials(values.plot, plot);
  return 0;
}
