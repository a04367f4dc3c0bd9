/** The ranked trials table: end of a sweep, `sweep runs list`, `sweep runs best`, `sweep dashboard` without a terminal. */
import { DistinguishingPaths, settingText } from '../config/load.js';
import type { TrialRecord } from '../store/queries.js';
import { metricValue, pct, rate } from '../view/format.js';
import { renderLines, type Rows } from './output.js';

/** A pass over the trials to show, in order; called once per pass (a cursor can be read again). */
export type TrialPasses = () => Rows<TrialRecord>;

/**
 * Rank, (sweep, when there are several), id, a column per setting that tells the trials apart
 * (of one sweep: the swept parameters and any other that differs; of several: the swept ones),
 * metrics, status. The columns take one pass over the trials and the rows a second, so a
 * million trials need not be held.
 */
export async function* leaderboardLines(trials: TrialPasses): AsyncGenerator<string> {
  const metrics = new Set<string>();
  const sweeps = new Set<string>();
  const sweptKeys = new Set<string>();
  const distinguishingPaths = new DistinguishingPaths();
  for await (const t of trials()) {
    metrics.add(t.metric);
    sweeps.add(t.sweep);
    for (const key of Object.keys(t.params)) sweptKeys.add(key);
    distinguishingPaths.add(t);
  }
  const distinguishing = distinguishingPaths.paths();
  if (metrics.size === 0) {
    yield 'no trials';
    return;
  }
  const showSweep = sweeps.size > 1;
  // The config's backend (auto, cpu, …) is left to the backend column: the one each trial ran on.
  const paramKeys = (showSweep ? [...sweptKeys] : distinguishing).filter((k) => k !== 'backend');
  const columns: { header: string; text: (t: TrialRecord) => string; numeric?: boolean }[] = [
    { header: '#', text: (t) => (t.rank === null ? '' : String(t.rank)), numeric: true },
    ...(showSweep ? [{ header: 'sweep', text: (t: TrialRecord) => t.sweep }] : []),
    { header: 'trial', text: (t) => t.id },
    ...paramKeys.map((k) => ({ header: k, text: (t: TrialRecord) => settingText(t.config, k) })),
    { header: metrics.size === 1 ? `best ${[...metrics][0]}` : 'best metric', text: (t) => metricValue(t.metric, t.best_value), numeric: true },
    { header: 'test_acc', text: (t) => pct(t.test_acc), numeric: true },
    { header: 'epochs', text: (t) => `${t.epochs}/${t.epochs_planned}`, numeric: true },
    { header: 'img/s', text: (t) => rate(t.images_per_s), numeric: true },
    { header: 'backend', text: (t) => t.backend ?? '—' },
    { header: 'status', text: (t) => t.status },
  ];
  async function* rows() {
    for await (const t of trials()) yield [t];
  }
  yield* renderLines(
    {
      headers: columns.map((c) => c.header),
      rows: rows(),
      text: ([t]) => columns.map((c) => c.text(t as TrialRecord)),
      numeric: new Set(columns.flatMap((c, i) => (c.numeric ? [i] : []))),
    },
    'table',
  );
}

/** The leaderboard of trials in memory, as one text. */
export async function leaderboard(trials: TrialRecord[]): Promise<string> {
  const lines: string[] = [];
  for await (const line of leaderboardLines(() => trials)) lines.push(line);
  return lines.join('\n');
}
