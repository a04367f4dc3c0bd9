import type Database from 'better-sqlite3';
import type { Trial } from '../config/experiment.js';

/**
 * Records trials as queued. A trial the sweep had before stays (with its results); it joins this
 * run, with the parameters this expansion swept.
 */
export function insertTrials(db: Database.Database, sweepId: number, run: number, trials: Trial[]): void {
  const insert = db.prepare(
    `INSERT INTO trial_records (id, sweep_id, params, config, status, epochs_planned, metric, goal, run) VALUES (?, ?, ?, ?, 'queued', ?, ?, ?, ?)
     ON CONFLICT (id) DO UPDATE SET params = excluded.params, run = excluded.run`,
  );
  for (const t of trials) {
    insert.run(t.id, sweepId, JSON.stringify(t.params), JSON.stringify(t.config), t.config.training.epochs, t.config.metric.name, t.config.metric.goal, run);
  }
}
