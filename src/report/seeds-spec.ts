/** The report's chart of repeats over seeds: each configuration's seeds as points, their mean with its confidence interval. */
import type { ReportSweep } from './data.js';
import { base, metricFormat, type Spec } from './spec-base.js';

/** Each configuration's seeds as points, their mean with its 95% confidence interval. */
export function groupsSpec(sweep: ReportSweep): Spec | null {
  if (!sweep.groups) return null;
  const label = (g: NonNullable<ReportSweep['groups']>[number]) => Object.entries(g.params).map(([k, v]) => `${k.split('.').at(-1)}=${v}`).join(' ') || 'all';
  const byId = new Map(sweep.trials.map((t) => [t.id, t]));
  const seeds = sweep.groups.flatMap((g) => g.trials.flatMap((id) => {
    const t = byId.get(id);
    return t && t.status === 'completed' && t.best_value !== null && Number.isFinite(t.best_value) ? [{ config: label(g), value: t.best_value, trial: id }] : [];
  }));
  const means = sweep.groups.filter((g) => g.mean !== null && Number.isFinite(g.mean)).map((g) => ({ config: label(g), mean: g.mean, lo: g.ci?.[0] ?? g.mean, hi: g.ci?.[1] ?? g.mean, verdict: g.verdict, n: g.n }));
  if (means.length === 0) return null;
  const y = { field: 'config', type: 'nominal', title: null, sort: means.map((m) => m.config), axis: { labelLimit: 220 } };
  const format = metricFormat(sweep.metric);
  return {
    ...base(`${sweep.metric} over seeds`, 'points: seeds; bar: 95% confidence interval of the mean (Student t)'),
    width: 300,
    height: { step: 28 },
    layer: [
      { data: { values: seeds }, mark: { type: 'point', color: '#888', opacity: 0.7 }, encoding: { y, x: { field: 'value', type: 'quantitative', title: sweep.metric, scale: { zero: false }, axis: { format } }, tooltip: [{ field: 'trial' }, { field: 'value', format }] } },
      { data: { values: means }, mark: { type: 'rule', strokeWidth: 2, color: '#4c78a8' }, encoding: { y, x: { field: 'lo', type: 'quantitative' }, x2: { field: 'hi' } } },
      { data: { values: means }, mark: { type: 'tick', thickness: 3, color: 'black' }, encoding: { y, x: { field: 'mean', type: 'quantitative' }, tooltip: [{ field: 'config' }, { field: 'mean', format }, { field: 'lo', title: 'CI low', format }, { field: 'hi', title: 'CI high', format }, { field: 'n' }, { field: 'verdict' }] } },
    ],
  };
}
