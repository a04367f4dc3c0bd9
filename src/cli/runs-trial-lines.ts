/** A list of trials as the lines of a format (table, JSON or CSV): what `sweep runs list` and `sweep runs best` print. */
import type { TrialRecord, TrialSummary } from '../store/queries.js';
import { leaderboardLines, type TrialPasses } from './leaderboard.js';
import { jsonLines, renderLines, type Format } from './output.js';
import { FIELDS } from './runs-fields.js';

const withoutConfig = ({ config: _config, ...summary }: TrialRecord): TrialSummary => summary;

/**
 * The lines of a list of trials in a format. Every format streams: JSON an object at a time;
 * CSV (a column per swept parameter) and the table (columns from the trials' settings) after a
 * first pass that finds the columns.
 */
export async function* trialsLines(trials: TrialPasses, format: Format): AsyncGenerator<string> {
  if (format === 'table') return yield* leaderboardLines(trials);
  if (format === 'json') {
    async function* summaries() {
      for await (const t of trials()) yield withoutConfig(t);
    }
    return yield* jsonLines(summaries());
  }
  const paramKeys = new Set<string>();
  for await (const t of trials()) for (const key of Object.keys(t.params)) paramKeys.add(key);
  const keys = [...paramKeys];
  async function* rows() {
    for await (const t of trials()) yield [...FIELDS.slice(0, 4).map((f) => t[f]), ...keys.map((k) => t.params[k] ?? null), ...FIELDS.slice(4).map((f) => t[f])];
  }
  yield* renderLines({ headers: [...FIELDS.slice(0, 4), ...keys, ...FIELDS.slice(4)], rows: rows() }, 'csv');
}
