/** The ranked trials table: end of a sweep, `sweep runs list` and `sweep runs best`. */
import { distinguishingPaths, settingText } from '../config/load.js';
import type { TrialRecord } from '../store/queries.js';
import { metricValue, pct, rate, table } from './format.js';

/**
 * Rank, (sweep), id, a column per setting that tells the trials apart (of one sweep: the swept
 * parameters and any other that differs; of several: the swept ones), metrics, status.
 */
export function leaderboard(trials: TrialRecord[], options: { showSweep?: boolean } = {}): string {
  if (trials.length === 0) return 'no trials';
  // The config's backend (auto, cpu, …) is left to the backend column: the one each trial ran on.
  const paramKeys = (options.showSweep ? [...new Set(trials.flatMap((t) => Object.keys(t.params)))] : distinguishingPaths(trials)).filter((k) => k !== 'backend');
  const metrics = [...new Set(trials.map((t) => t.metric))];
  const columns: { header: string; text: (t: TrialRecord) => string; numeric?: boolean }[] = [
    { header: '#', text: (t) => (t.rank === null ? '' : String(t.rank)), numeric: true },
    ...(options.showSweep ? [{ header: 'sweep', text: (t: TrialRecord) => t.sweep }] : []),
    { header: 'trial', text: (t) => t.id },
    ...paramKeys.map((k) => ({ header: k, text: (t: TrialRecord) => settingText(t.config, k) })),
    { header: metrics.length === 1 ? `best ${metrics[0]}` : 'best metric', text: (t) => metricValue(t.metric, t.best_value), numeric: true },
    { header: 'test_acc', text: (t) => pct(t.test_acc), numeric: true },
    { header: 'epochs', text: (t) => `${t.epochs}/${t.epochs_planned}`, numeric: true },
    { header: 'img/s', text: (t) => rate(t.images_per_s), numeric: true },
    { header: 'backend', text: (t) => t.backend ?? '—' },
    { header: 'status', text: (t) => t.status },
  ];
  return table(
    columns.map((c) => c.header),
    trials.map((t) => columns.map((c) => c.text(t))),
    new Set(columns.flatMap((c, i) => (c.numeric ? [i] : []))),
  );
}
