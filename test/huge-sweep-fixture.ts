/**
 * A database of one huge sweep, made by SQL alone in the schema a sweep makes (store/schema.ts):
 * a random search over the learning rate and pooling, each trial completed after one epoch.
 */
import { join } from 'node:path';
import { loadExperiment } from '../src/config/experiment.js';
import { openForWriting } from '../src/store/open.js';
import { tempDir, writeExperiment } from './helpers.js';

export /** A database of one sweep of `trials` completed trials, made in a few seconds. */
function sweepOf(trials: number): string {
  const file = writeExperiment(`
name: huge
metric: { name: val_acc, goal: maximize }
training: { epochs: 1 }
sweep:
  method: random
  count: 1
  parameters:
    optimizer.lr: { distribution: log_uniform_values, min: 0.0001, max: 0.1 }
    model.pooling: [avg, max]
`);
  // The file's config with its count, and one trial's: each trial's own lr and pooling are set in it by SQL.
  const { experiment: loaded, trials: [first] } = loadExperiment(file);
  const experiment = { ...loaded, sweep: { ...loaded.sweep, count: trials } };
  const path = join(tempDir(), 'runs.db');
  const db = openForWriting(path);
  try {
    db.transaction(() => {
      const at = '2024-01-01T00:00:00Z';
      const { id } = db
        .prepare(`INSERT INTO sweeps (name, file, config, status, created_at, updated_at, host, versions, metric, goal, run, run_started_at, run_finished_at)
                  VALUES ('huge', ?, ?, 'completed', ?, ?, 'test', '{}', 'val_acc', 'maximize', 1, ?, ?) RETURNING id`)
        .get(file, JSON.stringify(experiment), at, at, at, at) as { id: number };
      // Values spread over the trials (a multiplicative hash of the row number), so that ranks differ.
      db.prepare(
        `WITH RECURSIVE n(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM n LIMIT ${trials}),
              v AS (SELECT x, pow(10, -4 + 3 * ((x * 7919) % 1000) / 1000.0) AS lr, iif(x % 2, 'max', 'avg') AS pooling,
                           0.9 + ((x * 104729) % 10000) / 200000.0 AS acc FROM n)
         INSERT INTO trial_records (id, sweep_id, params, config, status, attempt, backend, param_count, started_at, finished_at,
                                    best_epoch, best_value, test_loss, test_acc, epochs, epochs_planned, val_acc, val_loss, images_per_s, seconds, metric, goal, run)
         SELECT printf('%012x', x), @sweep, json_object('optimizer.lr', lr, 'model.pooling', pooling),
                json_set(@config, '$.optimizer.lr', lr, '$.model.pooling', pooling), 'completed', 1, 'wasm', 61706,
                '2024-01-01T00:00:00Z', '2024-01-01T00:00:05Z', 1, acc, 0.1, acc - 0.01, 1, 1, acc, 0.2, 2000, 5, 'val_acc', 'maximize', 1
           FROM v`,
      ).run({ sweep: id, config: JSON.stringify({ ...first.config, sweep: experiment.sweep }) });
      db.exec(`INSERT INTO epoch_records (trial_id, epoch, train_loss, train_acc, val_loss, val_acc, lr, seconds, images_per_s)
               SELECT id, 1, 0.3, best_value - 0.02, 0.2, best_value, json_extract(params, '$."optimizer.lr"'), 5, 2000 FROM trial_records`);
    })();
  } finally {
    db.close();
  }
  return path;
}
