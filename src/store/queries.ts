/** Read-only questions about past runs. */
import type Database from 'better-sqlite3';
import { UserError } from '../config/errors.js';
import type { TrialStatus } from './writer.js';

export interface TrialSummary {
  id: string;
  sweep: string;
  status: TrialStatus;
  params: Record<string, string | number | boolean>;
  /** Completed epochs. */
  epochs: number;
  /** Planned epochs. */
  epochs_planned: number;
  /** Best validation accuracy over the epochs, 0..1. */
  val_acc: number | null;
  /** The sweep's ranking metric at the trial's best epoch. */
  metric: string;
  best_value: number | null;
  best_epoch: number | null;
  test_acc: number | null;
  /** Mean training throughput over the epochs. */
  images_per_s: number | null;
  backend: string | null;
  param_count: number | null;
  error: string | null;
}

interface Row {
  id: string;
  sweep: string;
  status: TrialStatus;
  params: string;
  config: string;
  sweep_config: string;
  epochs: number;
  val_acc: number | null;
  best_value: number | null;
  best_epoch: number | null;
  test_acc: number | null;
  images_per_s: number | null;
  backend: string | null;
  param_count: number | null;
  error: string | null;
}

export function sweepExists(db: Database.Database, name: string): boolean {
  return db.prepare(`SELECT 1 FROM sweeps WHERE name = ?`).get(name) !== undefined;
}

/** Trials, best first within each sweep (by the sweep's metric and goal). */
export function listTrials(db: Database.Database, filter: { sweep?: string } = {}): TrialSummary[] {
  if (filter.sweep !== undefined && !sweepExists(db, filter.sweep)) {
    const names = (db.prepare(`SELECT name FROM sweeps ORDER BY name`).all() as { name: string }[]).map((r) => r.name);
    throw new UserError(`no sweep named '${filter.sweep}'${names.length ? `; sweeps: ${names.join(', ')}` : ' (the database has none yet)'}`);
  }
  const rows = db
    .prepare(
      `SELECT t.id, s.name AS sweep, t.status, t.params, t.config, s.config AS sweep_config,
              count(e.epoch) AS epochs, max(e.val_acc) AS val_acc, avg(e.images_per_s) AS images_per_s,
              t.best_value, t.best_epoch, t.test_acc, t.backend, t.param_count, t.error
         FROM trials t JOIN sweeps s ON s.id = t.sweep_id LEFT JOIN epochs e ON e.trial_id = t.id
        WHERE (@sweep IS NULL OR s.name = @sweep)
        GROUP BY t.id
        ORDER BY s.name, t.rowid`,
    )
    .all({ sweep: filter.sweep ?? null }) as Row[];
  const summaries = rows.map((r): TrialSummary & { goal: string } => {
    const metric = JSON.parse(r.sweep_config).metric as { name: string; goal: string };
    return {
      id: r.id,
      sweep: r.sweep,
      status: r.status,
      params: JSON.parse(r.params),
      epochs: r.epochs,
      epochs_planned: JSON.parse(r.config).training.epochs,
      val_acc: r.val_acc,
      metric: metric.name,
      goal: metric.goal,
      best_value: r.best_value,
      best_epoch: r.best_epoch,
      test_acc: r.test_acc,
      images_per_s: r.images_per_s,
      backend: r.backend,
      param_count: r.param_count,
      error: r.error,
    };
  });
  const rank = (a: (typeof summaries)[number], b: (typeof summaries)[number]) => {
    if (a.sweep !== b.sweep) return a.sweep < b.sweep ? -1 : 1;
    if (a.best_value === null || b.best_value === null) return (a.best_value === null ? 1 : 0) - (b.best_value === null ? 1 : 0);
    return a.goal === 'maximize' ? b.best_value - a.best_value : a.best_value - b.best_value;
  };
  return summaries.sort(rank).map(({ goal: _goal, ...s }) => s);
}
