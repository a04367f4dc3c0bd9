/**
 * What "best" means, everywhere it is said (`runs best`, `sweeps list`, `export|predict|evaluate
 * best`, the report's leader): the best-ranked trial of a sweep that completed. A diverged,
 * failed, pruned or interrupted trial may rank high on the leaderboard by an epoch it reached,
 * but it is never the sweep's best; a sweep without a completed trial has none, and says what
 * became of its trials instead.
 */
import type Database from 'better-sqlite3';
import type { TrialStatus } from './status.js';

/** Whether `value` beats `best` under a metric's goal (a value that is not a finite number never does). */
export function isBetter(value: number, best: number | null, goal: 'maximize' | 'minimize'): boolean {
  if (!Number.isFinite(value)) return false;
  return best === null || (goal === 'maximize' ? value > best : value < best);
}

/** Whether a trial, ranked on its sweep's leaderboard, can be its best. */
export const canBeBest = (t: { status: TrialStatus; rank: number | null }) => t.status === 'completed' && t.rank !== null;

/** The best of trials in leaderboard order (ties in the file's order): the first that can be. */
export function bestOf<T extends { status: TrialStatus; rank: number | null }>(ranked: Iterable<T>): T | undefined {
  for (const t of ranked) if (canBeBest(t)) return t;
  return undefined;
}

/** The best trial of a sweep as SQL: its id and value, or nothing. */
export function bestInDatabase(db: Database.Database, sweep: string): { id: string; best_value: number } | undefined {
  return db
    .prepare(
      `SELECT l.id, l.best_value FROM leaderboard l JOIN trial_records r ON r.id = l.id
        WHERE l.sweep = ? AND l.status = 'completed' AND l.rank IS NOT NULL ORDER BY l.rank, r.rowid LIMIT 1`,
    )
    .get(sweep) as { id: string; best_value: number } | undefined;
}

/** Why a sweep has no best trial: "sweep 'x' has no completed trial (3 diverged, 1 failed)". */
export function noBestText(sweep: string, counts: Partial<Record<TrialStatus, number>>): string {
  const parts = Object.entries(counts).filter(([status, n]) => status !== 'completed' && n).map(([status, n]) => `${n} ${status}`);
  return `sweep '${sweep}' has no completed trial${parts.length ? ` (${parts.join(', ')})` : ' (it has no trials)'}`;
}

/** A sweep's trials counted by status. */
export function statusCounts(db: Database.Database, sweep: string): Partial<Record<TrialStatus, number>> {
  const rows = db.prepare(`SELECT t.status, count(*) AS n FROM trial_records t JOIN sweeps s ON s.id = t.sweep_id WHERE s.name = ? GROUP BY t.status`).all(sweep) as { status: TrialStatus; n: number }[];
  return Object.fromEntries(rows.map((r) => [r.status, r.n]));
}
