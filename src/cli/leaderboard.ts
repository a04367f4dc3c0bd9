/** The ranked table printed at the end of a sweep and by `sweep runs list`. */
import type { TrialSummary } from '../store/queries.js';
import { metricValue, pct, rate, table } from './format.js';

export function leaderboard(trials: TrialSummary[], options: { showSweep?: boolean } = {}): string {
  if (trials.length === 0) return 'no trials';
  const paramKeys = [...new Set(trials.flatMap((t) => Object.keys(t.params)))];
  const metrics = [...new Set(trials.map((t) => t.metric))];
  const headers = [
    '#',
    ...(options.showSweep ? ['sweep'] : []),
    'trial',
    ...paramKeys,
    metrics.length === 1 ? `best ${metrics[0]}` : 'best metric',
    'test_acc',
    'epochs',
    'img/s',
    'backend',
    'status',
  ];
  const rows = trials.map((t, i) => [
    String(i + 1),
    ...(options.showSweep ? [t.sweep] : []),
    t.id,
    ...paramKeys.map((k) => (k in t.params ? String(t.params[k]) : '')),
    metricValue(t.metric, t.best_value),
    pct(t.test_acc),
    `${t.epochs}/${t.epochs_planned}`,
    rate(t.images_per_s),
    t.backend ?? '—',
    t.status,
  ]);
  const first = options.showSweep ? 3 : 2;
  const numeric = new Set([0, first + paramKeys.length, first + paramKeys.length + 1, first + paramKeys.length + 2, first + paramKeys.length + 3]);
  return table(headers, rows, numeric);
}
