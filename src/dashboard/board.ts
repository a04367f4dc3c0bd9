/**
 * What the dashboard shows, read from the database: one snapshot of a sweep and its trials.
 * The dashboard of a running sweep and `sweep dashboard` in another process read the same way,
 * through a read-only connection, so both show exactly what is stored.
 */
import type Database from 'better-sqlite3';
import { UserError } from '../config/errors.js';
import { listTrials, requireSweep, type EpochRow, type Goal, type TrialRecord } from '../store/queries.js';

export interface BoardSweep {
  name: string;
  status: 'running' | 'completed' | 'interrupted' | 'failed';
  metric: string;
  goal: Goal;
  workers: number | null;
  /** When the latest run of the sweep started (ISO time). */
  runStartedAt: string | null;
  updatedAt: string;
}

export interface BoardTrial extends TrialRecord {
  /** Position in the sweep's trial order (the order of the experiment file). */
  seq: number;
  /** Completed epochs in order. */
  history: EpochRow[];
}

export interface Board {
  sweep: BoardSweep;
  /** Ranked by the sweep's metric, as the leaderboard view ranks them. */
  trials: BoardTrial[];
}

interface SweepRow {
  name: string;
  status: BoardSweep['status'];
  metric: string;
  goal: Goal;
  workers: number | null;
  run_started_at: string | null;
  updated_at: string;
}

/** The sweep to show: the named one, or the most recently updated. */
export function chooseSweep(db: Database.Database, name?: string): string {
  if (name !== undefined) {
    requireSweep(db, name);
    return name;
  }
  const latest = db.prepare(`SELECT name FROM sweeps ORDER BY updated_at DESC LIMIT 1`).get() as { name: string } | undefined;
  if (!latest) throw new UserError('the database has no sweeps yet; start one with sweep FILE');
  return latest.name;
}

/** A snapshot of one sweep; `ids` restricts it to the trials of the current run. */
export function loadBoard(db: Database.Database, sweep: string, ids?: string[]): Board {
  const row = db
    .prepare(
      `SELECT name, status, json_extract(config, '$.metric.name') AS metric, json_extract(config, '$.metric.goal') AS goal,
              workers, run_started_at, updated_at
         FROM sweeps WHERE name = ?`,
    )
    .get(sweep) as SweepRow | undefined;
  if (!row) throw new UserError(`--sweep: no sweep named '${sweep}'`);
  const trials = listTrials(db, { sweep, ids });
  const seq = new Map(
    (db.prepare(`SELECT t.id, t.rowid AS seq FROM trial_records t JOIN sweeps s ON s.id = t.sweep_id WHERE s.name = ?`).all(sweep) as { id: string; seq: number }[]).map((r) => [r.id, r.seq]),
  );
  const history = new Map<string, EpochRow[]>(trials.map((t) => [t.id, []]));
  const epochs = db.prepare(
    `SELECT e.trial_id, e.epoch, e.train_loss, e.train_acc, e.val_loss, e.val_acc, e.lr, e.seconds, e.images_per_s
       FROM epoch_records e JOIN trial_records t ON t.id = e.trial_id JOIN sweeps s ON s.id = t.sweep_id
      WHERE s.name = ? ORDER BY e.trial_id, e.epoch`,
  );
  for (const { trial_id, ...epoch } of epochs.all(sweep) as (EpochRow & { trial_id: string })[]) history.get(trial_id)?.push(epoch);
  return {
    sweep: { name: row.name, status: row.status, metric: row.metric, goal: row.goal, workers: row.workers, runStartedAt: row.run_started_at, updatedAt: row.updated_at },
    trials: trials.map((t) => ({ ...t, seq: seq.get(t.id)!, history: history.get(t.id)! })),
  };
}
