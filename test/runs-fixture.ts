/**
 * Databases of past runs for the query and dashboard tests, written by the real RunWriter into
 * a real SQLite file from a real experiment file; only the metrics are made up (no training),
 * so that the expected rankings and statistics are known exactly.
 */
import { join } from 'node:path';
import { loadExperiment, type Trial } from '../src/config/experiment.js';
import type { Experiment } from '../src/config/experiment.types.js';
import { openForWriting } from '../src/store/open.js';
import { RunWriter } from '../src/store/writer.js';
import { tempDir, writeExperiment } from './helpers.js';

export interface FakeTrial {
  status: 'queued' | 'running' | 'completed' | 'failed' | 'interrupted' | 'pruned' | 'diverged';
  /** For a pruned trial: the rule's figures. */
  pruneReason?: string;
  /** Validation accuracy of each completed epoch. */
  valAcc?: number[];
  testAcc?: number;
  /** For a running trial: where it is in its current epoch. */
  progress?: { epoch: number; batch: number };
  error?: string;
  /** For a completed trial: its test confusion matrix, confusion[actual][predicted]. */
  confusion?: number[][];
}

export const BATCHES = 100;

/** Writes one sweep of the experiment `yaml` into `db` (a new file unless given); `plan` says what happened to each trial. */
export function writeRuns(
  yaml: string,
  plan: (trial: Trial, index: number) => FakeTrial,
  options: { db?: string; sweepStatus?: 'running' | 'completed' | 'interrupted' | 'failed'; workers?: number } = {},
): { db: string; file: string; experiment: Experiment; trials: Trial[] } {
  const path = options.db ?? join(tempDir(), 'runs.db');
  const file = writeExperiment(yaml);
  const { experiment, trials } = loadExperiment(file);
  const conn = openForWriting(path);
  try {
    const writer = RunWriter.begin(conn, file, experiment, trials, { host: 'test', versions: {} });
    writer.runStarted(options.workers ?? 2);
    trials.forEach((trial, i) => {
      const fake = plan(trial, i);
      if (fake.status === 'queued') return;
      writer.trialStarted(trial.id, 1, 'wasm', null, 61_706, BATCHES);
      (fake.valAcc ?? []).forEach((acc, e) =>
        writer.epoch(trial.id, { epoch: e + 1, train_loss: 2 / (e + 2), train_acc: acc - 0.01, val_loss: 1 - acc, val_acc: acc, lr: 0.001, seconds: 2, images_per_s: 2000 + 10 * i }),
      );
      if (fake.progress) writer.progress(trial.id, fake.progress.epoch, fake.progress.batch);
      if (fake.status === 'failed') writer.trialFailed(trial.id, fake.error ?? 'boom');
      else if (fake.status !== 'running') writer.trialFinished(trial.id, fake.status, { loss: 0.1, acc: fake.testAcc ?? null }, fake.pruneReason ?? null, fake.confusion ?? null);
    });
    writer.finish(options.sweepStatus === 'running' ? 'completed' : (options.sweepStatus ?? 'completed'));
    // Still running: no end time yet.
    if (options.sweepStatus === 'running') conn.prepare(`UPDATE sweeps SET status = 'running', run_finished_at = NULL`).run();
  } finally {
    conn.close();
  }
  return { db: path, file, experiment, trials };
}
