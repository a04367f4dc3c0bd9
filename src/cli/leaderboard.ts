/** The ranked trials table: end of a sweep, `sweep runs list` and `sweep runs best`. */
import type { TrialSummary } from '../store/queries.js';
import { metricValue, pct, rate } from './format.js';
import { render, type Format, type Grid } from './output.js';

/** Trials as a grid: rank, (sweep), id, one column per swept parameter, metrics, status. */
export function leaderboardGrid(trials: TrialSummary[], options: { showSweep?: boolean } = {}): Grid {
  const paramKeys = [...new Set(trials.flatMap((t) => Object.keys(t.params)))];
  const metrics = [...new Set(trials.map((t) => t.metric))];
  const metricHeader = metrics.length === 1 ? `best ${metrics[0]}` : 'best metric';
  const columns: { header: string; raw: (t: TrialSummary) => unknown; text?: (t: TrialSummary) => string; numeric?: boolean }[] = [
    { header: '#', raw: (t) => t.rank, numeric: true },
    ...(options.showSweep ? [{ header: 'sweep', raw: (t: TrialSummary) => t.sweep }] : []),
    { header: 'trial', raw: (t) => t.id },
    ...paramKeys.map((k) => ({ header: k, raw: (t: TrialSummary) => t.params[k] ?? null, text: (t: TrialSummary) => (k in t.params ? String(t.params[k]) : '') })),
    { header: metricHeader, raw: (t) => t.best_value, text: (t) => metricValue(t.metric, t.best_value), numeric: true },
    { header: 'test_acc', raw: (t) => t.test_acc, text: (t) => pct(t.test_acc), numeric: true },
    { header: 'epochs', raw: (t) => t.epochs, text: (t) => `${t.epochs}/${t.epochs_planned}`, numeric: true },
    { header: 'img/s', raw: (t) => t.images_per_s, text: (t) => rate(t.images_per_s), numeric: true },
    { header: 'backend', raw: (t) => t.backend },
    { header: 'status', raw: (t) => t.status },
  ];
  return {
    headers: columns.map((c) => c.header),
    rows: trials.map((t) => columns.map((c) => c.raw(t))),
    text: trials.map((t) => columns.map((c) => (c.text ? c.text(t) : String(c.raw(t) ?? '—')))),
    numeric: new Set(columns.flatMap((c, i) => (c.numeric ? [i] : []))),
  };
}

export function leaderboard(trials: TrialSummary[], options: { showSweep?: boolean; format?: Format } = {}): string {
  return render(leaderboardGrid(trials, options), options.format ?? 'table', 'no trials');
}
