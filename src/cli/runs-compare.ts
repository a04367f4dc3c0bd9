/** `sweep runs compare`: trials side by side, the config paths where they differ and their results. */
import { UserError } from '../config/errors.js';
import { differingPaths } from '../config/load.js';
import { epochsOf, findTrial, type TrialRecord } from '../store/queries.js';
import { withReadOnly } from '../store/open.js';
import { valueAt } from '../util/mapping.js';
import { parse } from './args.js';
import { RUNS_COMPARE } from './commands.js';
import { metricValue, num, pct, rate } from '../view/format.js';
import { cellText, formatOf, print, render, type Grid } from './output.js';
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
    const paths = differingPaths(trials.map((t) => t.config));
    const rows: [string, unknown[], ((v: unknown, t: TrialRecord) => string)?][] = [
      ['sweep', trials.map((t) => t.sweep)],
      ['status', trials.map((t) => t.status)],
      ...paths.map((p): [string, unknown[]] => [p, trials.map((t) => valueAt(t.config, p.split('.')) ?? null)]),
      ...(new Set(trials.map((t) => t.metric)).size > 1 ? [['metric', trials.map((t) => t.metric)] as [string, unknown[]]] : []),
      ...(['best_value', 'best_epoch', 'val_acc', 'val_loss', 'test_acc', 'test_loss', 'epochs', 'images_per_s', 'seconds', 'param_count'] as const).map(
        (f): [string, unknown[], ((v: unknown, t: TrialRecord) => string)?] => [
          f === 'best_value' ? (new Set(trials.map((t) => t.metric)).size > 1 ? 'best value' : `best ${trials[0].metric}`) : f,
          trials.map((t) => t[f]),
          (v, t) => {
            const x = v as number;
            if (v === null) return '—';
            if (f === 'best_value') return metricValue(t.metric, x);
            return f.endsWith('_acc') ? pct(x) : f.endsWith('_loss') ? num(x) : f === 'images_per_s' ? rate(x) : f === 'seconds' ? x.toFixed(1) : String(v);
          },
        ],
      ),
    ];
    const grid: Grid = {
      headers: ['field', ...trials.map((t) => t.id)],
      rows: rows.map(([name, vals]) => [name, ...vals]),
      text: rows.map(([name, vals, fmt]) => [name, ...vals.map((v, i) => (fmt ? fmt(v, trials[i]) : cellText(v)))]),
    };
    const note = paths.length ? '' : '\n(the configs are identical)';
    print((await render(grid, format)) + (format === 'table' ? note : ''));
    return trials.map((t) => ({ id: t.id, history: epochsOf(db, t.id) }));
  });
  if (values.plot !== undefined) await plotTrials(values.plot, plot);
  return 0;
}
