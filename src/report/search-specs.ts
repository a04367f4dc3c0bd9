/**
 * The report's charts of how the search went: the best value so far after each trial (by trial
 * and by time, for adaptive searches), and where the rule stopped trials.
 */
import type { ReportSweep } from './data.js';
import { maxOf } from '../util/extremes.js';
import { base, metricFormat, statusColor, type Spec } from './spec-base.js';

/** Best value so far after each trial ended, against trial order or minutes since the run began. */
export function bestSoFarSpec(sweep: ReportSweep, by: 'trial' | 'time'): Spec | null {
  const better = (a: number, b: number) => (sweep.goal === 'maximize' ? a > b : a < b);
  const start = sweep.firstStartedAt ? Date.parse(sweep.firstStartedAt) : NaN;
  const ended = sweep.trials
    .filter((t) => t.best_value !== null && Number.isFinite(t.best_value) && (by === 'trial' || t.finished_at))
    .map((t) => ({ t, x: by === 'trial' ? t.order : (Date.parse(t.finished_at!) - start) / 1000 }))
    .filter((r) => Number.isFinite(r.x))
    .sort((a, b) => a.x - b.x);
  if (ended.length === 0) return null;
  // Seconds for a short search, minutes for a longer one.
  const minutes = by === 'time' && maxOf(ended.map((r) => r.x)) > 180;
  let best: number | null = null;
  const values = ended.map(({ t, x: raw }) => {
    const x = minutes ? raw / 60 : raw;
    if (best === null || better(t.best_value!, best)) best = t.best_value!;
    return { x, value: t.best_value, best, trial: t.id, status: t.status };
  });
  const xTitle = by === 'trial' ? 'trial (in the order they were proposed)' : `${minutes ? 'minutes' : 'seconds'} since the first trial started`;
  const format = metricFormat(sweep.metric);
  const x = { field: 'x', type: 'quantitative', title: xTitle, axis: by === 'trial' ? { tickMinStep: 1, format: 'd' } : { format: '~g', labelOverlap: 'greedy' } };
  return {
    ...base(`Best ${sweep.metric} so far, by ${by === 'trial' ? 'trial' : 'time'}`),
    width: 300,
    height: 180,
    data: { values },
    layer: [
      { mark: { type: 'point', opacity: 0.5, filled: true }, encoding: { x, y: { field: 'value', type: 'quantitative', title: sweep.metric, scale: { zero: false }, axis: { format } }, color: statusColor(sweep), tooltip: [{ field: 'trial' }, { field: 'value', format }, { field: 'status' }] } },
      { mark: { type: 'line', interpolate: 'step-after', color: 'black' }, encoding: { x, y: { field: 'best', type: 'quantitative' } } },
    ],
  };
}

/** Where the rule stopped trials: how many pruned trials ended after each epoch. */
export function stopsSpec(sweep: ReportSweep): Spec | null {
  const pruned = sweep.trials.filter((t) => t.status === 'pruned');
  if (pruned.length === 0) return null;
  const values = pruned.map((t) => ({ trial: t.id, epoch: t.epochs, planned: t.epochs_planned, reason: t.prune_reason ?? '' }));
  return {
    ...base('Where the rule stopped trials', `${pruned.length} pruned by ${sweep.rule ?? 'the rule'}; ${sweep.epochs.saved} epochs saved`),
    width: 300,
    height: 160,
    data: { values },
    mark: { type: 'bar', color: '#f58518' },
    encoding: {
      x: { field: 'epoch', type: 'ordinal', title: 'stopped after epoch', axis: { labelAngle: 0 } },
      y: { aggregate: 'count', type: 'quantitative', title: 'trials', axis: { tickMinStep: 1, format: 'd' } },
      tooltip: [{ field: 'epoch', title: 'after epoch' }, { aggregate: 'count', title: 'trials' }],
    },
  };
}
