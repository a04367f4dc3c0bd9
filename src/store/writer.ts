/**
 * The one writer of runs.db, used by the main thread of a sweep. Each event from a worker
 * becomes one short transaction, so readers see whole epochs and whole trials.
 */
import type { AdapterInfo } from '../backend/webgpu.js';
import { resolve } from 'node:path';
import type Database from 'better-sqlite3';
import type { Experiment } from '../config/experiment.types.js';
import type { Trial } from '../config/experiment.js';
import { UserError } from '../config/errors.js';
import type { EpochMetrics, TrainStatus } from '../train/metrics.js';
import type { CheckpointFile } from '../checkpoint/files.js';
import { processState } from './queries.js';
import { isBetter } from './best.js';
import { runningHere } from './running-here.js';
import { insertTrials } from './trial-rows.js';


const now = () => new Date().toISOString();

/** Assignments that forget how a trial ended, for an attempt that goes on from a checkpoint. */
const ENDING_CLEARED = `finished_at = NULL, test_loss = NULL, test_acc = NULL, error = NULL, prune_reason = NULL`;

/** Assignments that forget a trial's results, for a new attempt. */
const RESULTS_CLEARED = `finished_at = NULL, best_epoch = NULL, best_value = NULL, test_loss = NULL, test_acc = NULL, error = NULL,
  epochs = 0, val_acc = NULL, val_loss = NULL, images_per_s = NULL, seconds = NULL, prune_reason = NULL, rungs = NULL`;

export class RunWriter {
  private readonly metric: Experiment['metric'];
  private readonly insertEpoch: Database.Statement;
  private readonly nextEpochSeq: Database.Statement;
  private readonly bestOf: Database.Statement;
  private readonly setBest: Database.Statement;
  private readonly setProgress: Database.Statement;
  private readonly touchSweep: Database.Statement;
  private readonly aggregate: Database.Statement;
  private readonly recordCheckpoint: Database.Statement;
  private readonly endAttempt: Database.Statement;
  /** The sweep was marked running on another host (last written at updatedAt) and this run took it over. */
  takenOver: { host: string; updatedAt: string | null } | null = null;
  /** Whether this run trained anything (runStarted was called). */
  private trained = false;
  /** This run's entry in runningHere. */
  private here = '';

  /**
   * `checkFile` (see store/open.databaseFileGuard) throws when the database file is no longer
   * the one open: it is asked before every result is stored.
   */
  private constructor(
    private readonly db: Database.Database,
    readonly sweepId: number,
    /** The sweep's run number of this run (sweeps.run). */
    private readonly run: number,
    experiment: Experiment,
    private readonly checkFile: () => void,
  ) {
    this.metric = experiment.metric;
    // Each epoch takes the next place in its sweep's sequence (schema.ts, version 6), which no
    // deleted epoch ever gives back: what sweep serve's cursors count on.
    this.nextEpochSeq = db.prepare(`UPDATE sweeps SET epoch_seq = epoch_seq + 1 WHERE id = ? RETURNING epoch_seq`).pluck();
    this.insertEpoch = db.prepare(
      `INSERT INTO epoch_records (trial_id, epoch, train_loss, train_acc, val_loss, val_acc, lr, seconds, images_per_s, seq)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
    );
    this.bestOf = db.prepare(`SELECT best_value FROM trial_records WHERE id = ?`);
    this.setBest = db.prepare(`UPDATE trial_records SET best_epoch = ?, best_value = ? WHERE id = ?`);
    // The trials view's epoch aggregates, as the epochs table would give them (see schema.ts).
    // Every right-hand side reads the row as it was, so images_per_s is the running mean.
    this.aggregate = db.prepare(
      `UPDATE trial_records SET
         epochs = epochs + 1,
         val_acc = CASE WHEN val_acc IS NULL OR @val_acc > val_acc THEN coalesce(@val_acc, val_acc) ELSE val_acc END,
         val_loss = CASE WHEN val_loss IS NULL OR @val_loss < val_loss THEN coalesce(@val_loss, val_loss) ELSE val_loss END,
         images_per_s = CASE WHEN images_per_s IS NULL THEN @images_per_s ELSE (images_per_s * epochs + @images_per_s) / (epochs + 1) END,
         seconds = coalesce(seconds, 0) + @seconds
       WHERE id = @id`,
    );
    this.setProgress = db.prepare(`UPDATE trial_records SET current_epoch = ?, current_batch = ? WHERE id = ?`);
    this.recordCheckpoint = db.prepare(
      `INSERT OR REPLACE INTO checkpoint_records (trial_id, epoch, path, bytes, sha256, created_at) VALUES (?, ?, ?, ?, ?, ?)`,
    );
    this.endAttempt = db.prepare(
      `UPDATE attempt_records SET status = ?, finished_at = ?, error = ?
        WHERE trial_id = ? AND status = 'running' AND attempt = (SELECT attempt FROM trial_records WHERE id = ?)`,
    );
    // Each stored result counts as an update of the sweep (which one `sweep dashboard` shows, sweeps list).
    this.touchSweep = db.prepare(`UPDATE sweeps SET updated_at = ? WHERE id = ?`);
  }

  /**
   * Creates the sweep, or takes up the one of the same name, and records its trials as queued.
   * A sweep of that name that another live process on this host is running is refused (two
   * runs would train the same trials into one curve); one whose process is gone is taken over.
   * Check and claim are one IMMEDIATE transaction, so two starts at once cannot both pass.
   */
  static begin(
    db: Database.Database,
    file: string,
    experiment: Experiment,
    trials: Trial[],
    meta: { host: string; versions: Record<string, string> },
    checkFile: () => void = () => {},
  ): RunWriter {
    let takenOver: RunWriter['takenOver'] = null;
    const here = `${resolve(db.name)}\0${experiment.name}`;
    const sweepId = db.transaction(() => {
      const running = db.prepare(`SELECT host, pid, run_started_at, updated_at FROM sweeps WHERE name = ? AND status = 'running'`).get(experiment.name) as
        | { host: string | null; pid: number | null; run_started_at: string | null; updated_at: string | null }
        | undefined;
      if (running && running.pid === process.pid && runningHere.has(here)) {
        throw new UserError({
          file,
          message: `sweep '${experiment.name}' is already running in this database, in this process (another session of it has not ended); wait for it to end, or use another --db`,
        });
      }
      if (running && running.pid !== process.pid) {
        const state = processState(running);
        if (state === 'alive') {
          throw new UserError({
            file,
            message: `sweep '${experiment.name}' is already running in this database (pid ${running.pid} on ${running.host}, since ${running.run_started_at ?? '?'}); wait for it, stop it (q or Ctrl-C where it runs), or use another --db`,
          });
        }
        // Marked running on another host: this one cannot tell whether it still runs there.
        if (state === 'unknown' && running.host !== null && running.host !== meta.host) takenOver = { host: running.host, updatedAt: running.updated_at };
      }
      const t = now();
      // The pid is claimed here, not only when training starts, so that a second start sees it.
      const row = db
        .prepare(
          `INSERT INTO sweeps (name, file, config, status, created_at, updated_at, host, versions, metric, goal, run, pid)
           VALUES (?, ?, ?, 'running', ?, ?, ?, ?, ?, ?, 1, ?)
           ON CONFLICT (name) DO UPDATE SET file = excluded.file, config = excluded.config, status = 'running',
             updated_at = excluded.updated_at, host = excluded.host, versions = excluded.versions,
             metric = excluded.metric, goal = excluded.goal, run = run + 1, pid = excluded.pid
           RETURNING id, run`,
        )
        .get(experiment.name, file, JSON.stringify(experiment), t, t, meta.host, JSON.stringify(meta.versions), experiment.metric.name, experiment.metric.goal, process.pid) as { id: number; run: number };
      // No other process runs this sweep now (checked above), so a trial still marked running was
      // left so by a run that died (SIGKILL, a power cut): it is settled as interrupted, whether or
      // not this run trains it again (an edited file may no longer have it).
      db.prepare(`UPDATE trial_records SET status = 'interrupted', finished_at = coalesce(finished_at, ?) WHERE sweep_id = ? AND status = 'running'`).run(t, row.id);
      // When it died is not known: its attempt keeps no end time.
      db.prepare(
        `UPDATE attempt_records SET status = 'interrupted'
          WHERE status = 'running' AND trial_id IN (SELECT id FROM trial_records WHERE sweep_id = ?)`,
      ).run(row.id);
      insertTrials(db, row.id, row.run, trials);
      return { id: row.id, run: row.run };
    }).immediate();
    const writer = new RunWriter(db, sweepId.id, sweepId.run, experiment, checkFile);
    writer.takenOver = takenOver;
    writer.here = here;
    runningHere.add(here);
    return writer;
  }

  /** Trials a search method proposed during the run, recorded as queued before they start. */
  addTrials(trials: Trial[]): void {
    this.checkFile();
    this.db.transaction(() => insertTrials(this.db, this.sweepId, this.run, trials))();
  }

  /** Stored trials join this run (an adaptive search's, from earlier runs of the file). */
  joinRun(ids: string[]): void {
    const join = this.db.prepare(`UPDATE trial_records SET run = ? WHERE id = ? AND sweep_id = ?`);
    this.db.transaction(() => {
      for (const id of ids) join.run(this.run, id, this.sweepId);
    })();
  }

  /** The early-termination rule's bookkeeping for a trial (asha's rungs), kept for the next decisions. */
  setRungs(id: string, rungs: Record<string, number>): void {
    this.db.prepare(`UPDATE trial_records SET rungs = ? WHERE id = ?`).run(JSON.stringify(rungs), id);
  }

  /** The run of the sweep's remaining trials starts, on this many parallel workers. */
  runStarted(workers: number): void {
    this.trained = true;
    this.db
      .prepare(`UPDATE sweeps SET workers = ?, pid = ?, run_started_at = ?, run_finished_at = NULL, updated_at = ? WHERE id = ?`)
      .run(workers, process.pid, now(), now(), this.sweepId);
  }

  /**
   * The trials this run will train are queued again. Those that will start over (no checkpoint,
   * or --rerun) lose their earlier results (of an interrupted or failed attempt, or a completed
   * one under --rerun), so that counts, progress and ranks show this run from its start; those
   * that will resume from a checkpoint keep theirs.
   */
  requeue(ids: string[], resuming: ReadonlySet<string> = new Set()): void {
    const reset = this.db.prepare(`UPDATE trial_records SET status = 'queued', ${RESULTS_CLEARED}, current_epoch = NULL, current_batch = NULL WHERE id = ?`);
    const queue = this.db.prepare(`UPDATE trial_records SET status = 'queued', ${ENDING_CLEARED}, current_batch = NULL WHERE id = ?`);
    const drop = this.db.prepare(`DELETE FROM epoch_records WHERE trial_id = ?`);
    const dropCheckpoints = this.db.prepare(`DELETE FROM checkpoint_records WHERE trial_id = ?`);
    this.db.transaction(() => {
      for (const id of ids) {
        if (resuming.has(id)) {
          queue.run(id);
          continue;
        }
        drop.run(id);
        dropCheckpoints.run(id);
        reset.run(id);
      }
    })();
  }

  /**
   * A trial about to resume from a checkpoint: its epochs become the checkpoint's history, no
   * more and no fewer (after a crash the database may hold an epoch past the newest intact file,
   * or lack the last epoch a file holds), and its checkpoint records the files it has.
   */
  resumeAt(id: string, history: EpochMetrics[], files: CheckpointFile[]): void {
    this.checkFile();
    this.db.transaction(() => {
      this.db.prepare(`DELETE FROM epoch_records WHERE trial_id = ?`).run(id);
      this.db.prepare(`UPDATE trial_records SET ${RESULTS_CLEARED} WHERE id = ?`).run(id);
      for (const m of history) this.storeEpoch(id, m);
      this.db.prepare(`DELETE FROM checkpoint_records WHERE trial_id = ?`).run(id);
      for (const f of files) this.recordCheckpoint.run(id, f.epoch, f.path, f.bytes, f.sha256, now());
    })();
  }

  /** Runs writes as one transaction (an event and what follows from it). */
  together(writes: () => void): void {
    this.db.transaction(writes)();
  }

  /** The epochs of a trial's recorded checkpoints, and its best epoch. */
  checkpointsOf(id: string): { epochs: number[]; best: number | null } {
    const epochs = (this.db.prepare(`SELECT epoch FROM checkpoint_records WHERE trial_id = ? ORDER BY epoch`).all(id) as { epoch: number }[]).map((r) => r.epoch);
    const { best_epoch: best } = this.db.prepare(`SELECT best_epoch FROM trial_records WHERE id = ?`).get(id) as { best_epoch: number | null };
    return { epochs, best };
  }

  /** Forgets checkpoints the keep policy drops (their files are removed once this has committed). */
  dropCheckpoints(id: string, epochs: number[]): void {
    const drop = this.db.prepare(`DELETE FROM checkpoint_records WHERE trial_id = ? AND epoch = ?`);
    this.db.transaction(() => {
      for (const e of epochs) drop.run(id, e);
    })();
  }

  /**
   * A new attempt starts. From the start (`resumedFrom` 0), earlier epochs of the trial are
   * dropped so its curve is one run; from a checkpoint, the epochs up to it stay (resumeAt made
   * them the checkpoint's). `provenance`: what it takes to reproduce the trial (JSON): the
   * trial keeps its first attempt's, each attempt its own.
   */
  trialStarted(id: string, worker: number, backend: string, adapter: AdapterInfo | null, paramCount: number, batchesPerEpoch: number, resumedFrom = 0, provenance: object | null = null): void {
    this.checkFile();
    this.db.transaction(() => {
      if (!resumedFrom) {
        this.db.prepare(`DELETE FROM epoch_records WHERE trial_id = ?`).run(id);
        this.db.prepare(`DELETE FROM checkpoint_records WHERE trial_id = ?`).run(id);
        this.db.prepare(`DELETE FROM confusion_records WHERE trial_id = ?`).run(id);
      }
      const t = now();
      // An attempt still running when the next starts was lost with its agent (killed, or cut off
      // until another agent took the trial over).
      this.db
        .prepare(`UPDATE attempt_records SET status = 'lost', finished_at = ?, error = 'another attempt took the trial over (its agent was lost, or handed it back)' WHERE trial_id = ? AND status = 'running'`)
        .run(t, id);
      const json = provenance && JSON.stringify(provenance);
      const { attempt } = this.db
        .prepare(
          `UPDATE trial_records SET status = 'running', attempt = attempt + 1, worker = ?, backend = ?, adapter = ?, param_count = ?,
             started_at = ${resumedFrom ? 'coalesce(started_at, ?)' : '?'}, ${resumedFrom ? ENDING_CLEARED : RESULTS_CLEARED}, current_epoch = ?, current_batch = 0, batches_per_epoch = ?,
             resumed_from = ?, provenance = CASE WHEN ? THEN provenance ELSE ? END
           WHERE id = ? RETURNING attempt`,
        )
        .get(worker, backend, adapter && JSON.stringify(adapter), paramCount, t, resumedFrom + 1, batchesPerEpoch, resumedFrom, resumedFrom ? 1 : 0, json, id) as { attempt: number };
      this.db
        .prepare(`INSERT OR REPLACE INTO attempt_records (trial_id, attempt, run, from_epoch, started_at, status, provenance) VALUES (?, ?, ?, ?, ?, 'running', ?)`)
        .run(id, attempt, this.run, resumedFrom, t, json);
    })();
  }

  /**
   * An attempt that a run which died had started, taken up by this run (a queue's coordinator
   * started again: the agent trains on, queue/adoption.ts): the trial's latest attempt goes
   * on, running again and now of this run, rather than a new one from `resumedFrom`. It is
   * that attempt only when begin() found it running (marked interrupted, no end time), in the
   * run before this one, begun from `from` on `agent`; otherwise (another database, or a start
   * the dead run never stored) nothing is written and false says the caller records a new attempt.
   */
  continueAttempt(id: string, from: number, resumedFrom: number, agent: string | undefined): boolean {
    this.checkFile();
    return this.db.transaction(() => {
      const continued = this.db
        .prepare(
          `UPDATE attempt_records SET status = 'running', run = ?
            WHERE trial_id = ? AND attempt = (SELECT attempt FROM trial_records WHERE id = ?)
              AND status = 'interrupted' AND finished_at IS NULL AND run = ? AND from_epoch = ? AND json_extract(provenance, '$.agent') IS ?`,
        )
        .run(this.run, id, id, this.run - 1, from, agent ?? null);
      if (!continued.changes) return false;
      this.db.prepare(`UPDATE trial_records SET status = 'running', ${ENDING_CLEARED}, current_epoch = ?, current_batch = 0 WHERE id = ?`).run(resumedFrom + 1, id);
      return true;
    })();
  }

  /** Where a running trial is within its epoch, for dashboards (workers send this a few times a second). */
  progress(id: string, epoch: number, batch: number): void {
    this.setProgress.run(epoch, batch, id);
  }

  /** An epoch and, in the same transaction, its checkpoint (written before the worker reported the epoch). */
  epoch(id: string, m: EpochMetrics, checkpoint?: CheckpointFile): void {
    this.checkFile();
    this.db.transaction(() => {
      this.storeEpoch(id, m);
      if (checkpoint) this.recordCheckpoint.run(id, checkpoint.epoch, checkpoint.path, checkpoint.bytes, checkpoint.sha256, now());
      this.touchSweep.run(now(), this.sweepId);
    })();
  }

  private storeEpoch(id: string, m: EpochMetrics): void {
    const seq = this.nextEpochSeq.get(this.sweepId) as number;
    this.insertEpoch.run(id, m.epoch, m.train_loss, m.train_acc, m.val_loss, m.val_acc, m.lr, m.seconds, m.images_per_s, seq);
    this.aggregate.run({ id, val_acc: m.val_acc, val_loss: m.val_loss, images_per_s: m.images_per_s, seconds: m.seconds });
    const value = m[this.metric.name];
    const { best_value: best } = this.bestOf.get(id) as { best_value: number | null };
    if (isBetter(value, best, this.metric.goal)) this.setBest.run(m.epoch, value, id);
  }

  /** `confusion[actual][predicted]`: the test confusion matrix of a completed trial. */
  trialFinished(id: string, status: TrainStatus, test: { loss: number | null; acc: number | null }, pruneReason: string | null = null, confusion: number[][] | null = null): void {
    this.checkFile();
    this.db.transaction(() => {
      const t = now();
      this.db
        .prepare(`UPDATE trial_records SET status = ?, finished_at = ?, test_loss = ?, test_acc = ?, prune_reason = ? WHERE id = ?`)
        .run(status, t, test.loss, test.acc, pruneReason, id);
      this.db.prepare(`DELETE FROM confusion_records WHERE trial_id = ?`).run(id);
      if (confusion) {
        const insert = this.db.prepare(`INSERT INTO confusion_records (trial_id, actual, predicted, count) VALUES (?, ?, ?, ?)`);
        // Pairs with no image are left out, but the last class's diagonal: it says the matrix's size
        // (a class no test image had, and none was predicted as, would drop off its edge).
        const last = confusion.length - 1;
        confusion.forEach((row, actual) => row.forEach((count, predicted) => (count || (actual === last && predicted === last)) && insert.run(id, actual, predicted, count)));
      }
      this.endAttempt.run(status, t, null, id, id);
      this.touchSweep.run(t, this.sweepId);
    })();
  }

  trialFailed(id: string, error: string): void {
    this.endTrialWith(id, 'failed', error);
  }

  /** A trial stopped by something not its own (a full disk): interrupted, so it resumes, with why. */
  trialInterrupted(id: string, why: string): void {
    this.endTrialWith(id, 'interrupted', why);
  }

  /** Ends a trial and its attempt without test results, saying why. */
  private endTrialWith(id: string, status: 'failed' | 'interrupted', why: string): void {
    this.checkFile();
    this.db.transaction(() => {
      const t = now();
      this.db.prepare(`UPDATE trial_records SET status = ?, finished_at = ?, error = ? WHERE id = ?`).run(status, t, why, id);
      this.endAttempt.run(status, t, why, id, id);
      this.touchSweep.run(t, this.sweepId);
    })();
  }

  /** Marks every trial of this sweep still marked running as interrupted (a forced stop). */
  interruptRunning(): void {
    const t = now();
    this.db.transaction(() => {
      this.db
        .prepare(
          `UPDATE attempt_records SET status = 'interrupted', finished_at = ?
            WHERE status = 'running' AND trial_id IN (SELECT id FROM trial_records WHERE sweep_id = ? AND status = 'running')`,
        )
        .run(t, this.sweepId);
      this.db.prepare(`UPDATE trial_records SET status = 'interrupted', finished_at = ? WHERE sweep_id = ? AND status = 'running'`).run(t, this.sweepId);
    })();
  }

  finish(status: 'completed' | 'interrupted' | 'failed'): void {
    this.release();
    this.checkFile();
    // A run that trained nothing (all completed before) keeps the times of the run that did.
    this.db
      .prepare(`UPDATE sweeps SET status = ?, updated_at = ?, run_finished_at = CASE WHEN ? THEN ? ELSE run_finished_at END WHERE id = ?`)
      .run(status, now(), this.trained ? 1 : 0, now(), this.sweepId);
  }

  /** This process no longer runs the sweep (finished, or its database closed without a word more). */
  release(): void {
    runningHere.delete(this.here);
  }
}
