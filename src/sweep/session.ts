/**
 * A sweep run from code, and by `sweep FILE`: startSweep checks an experiment (a file, or an
 * object) and its options, claims the database, plans what still has to run, and starts it on a
 * worker pool (or a queue's agents), streaming its events; the session it returns stops it and
 * tells how it ended.
 *
 * Order matters for bad input: the experiment is checked completely (prepare.ts) before the
 * database is opened, and the database before any training starts.
 */
import { hostname } from 'node:os';
import { plannedBackend } from '../backend/choice.js';
import { checkCheckpointRoot, checkpointEpochs, checkpointRoot, removeTrialCheckpoints } from '../checkpoint/files.js';
import type { InlineExperiment } from '../config/compose.js';
import type { Trial } from '../config/experiment.js';
import type { ExperimentFile } from '../config/experiment.types.js';
import type { CoordinatorLease } from '../queue/lease.js';
import { DatabaseFile, openForWriting, withReadOnly } from '../store/open.js';
import { PATIENCE_MS, patiently } from '../store/patience.js';
import { listTrials, rankAmong, searchRecords, type TrialFilter } from '../store/queries.js';
import { RunWriter } from '../store/writer.js';
import { DiskFullError, sayingDiskFull } from '../util/disk-full.js';
import { packageVersion, tfjsVersion } from '../version.js';
import { EventStream } from './event-stream.js';
import { checkOptions, type CheckedOptions } from './options.js';
import { prepareSweep, type PreparedSweep } from './prepare.js';
import { datasetRecord, provenanceOf } from './provenance.js';
import { planRun } from './resume.js';
import { fusionKey, largestKind } from './fusion.js';
import { SweepRun } from './run-sweep.js';
import type { RunOutcome } from './run-types.js';
import { STOPPED_BY_FULL_DISK } from './trial-events.js';
import type { SweepEvent, SweepListener, SweepOptions, SweepOutcome, SweepPlan, SweepSession } from './session-types.js';
import type Database from 'better-sqlite3';

/** How an experiment given as an object is named in messages and in the database (its file). */
export const INLINE_LABEL = '(inline experiment)';

/** How often a wait for another program's lock on the database is said again. */
const TELL_WAIT_EVERY_MS = 30_000;

/**
 * Starts a sweep of an experiment file, or of an experiment object (its `extends` relative to the
 * working folder), with the options of `sweep FILE`. Resolves once the run is planned and has
 * started (when nothing is left to train, its `done` has settled already); `listener` hears every
 * event as it happens, those before that included. Bad input rejects with a UserError, each
 * problem naming the file (or option) and place.
 */
export async function startSweep(source: string | ExperimentFile, options: SweepOptions = {}, listener?: SweepListener): Promise<SweepSession> {
  const session = new Session(listener);
  // Aborted already: nothing is read, prepared or written.
  options?.signal?.throwIfAborted?.();
  await session.begin(typeof source === 'string' ? source : { label: INLINE_LABEL, value: source }, checkOptions(options));
  return session;
}

/** Runs a sweep to its end: startSweep, then its outcome. */
export async function runSweep(source: string | ExperimentFile, options: SweepOptions = {}, listener?: SweepListener): Promise<SweepOutcome> {
  return (await startSweep(source, options, listener)).done;
}

class Session implements SweepSession {
  plan!: SweepPlan;
  done!: Promise<SweepOutcome>;
  private readonly stream = new EventStream<SweepEvent>();
  readonly events: AsyncIterable<SweepEvent> = this.stream;
  private run: SweepRun | undefined;
  private options!: CheckedOptions;
  /** The experiment file, or the object given. */
  private from!: string | InlineExperiment;
  /** The run has been handed to the pool: from then a single stop no longer gives up a wait for the database. */
  private training = false;
  private aborting = false;
  private toldWaitAt = -Infinity;
  /** The queue's side (queueing.ts), loaded for a sweep across machines only. */
  private queueing: typeof import('./queueing.js') | undefined;

  constructor(private readonly listener: SweepListener | undefined) {}

  get stopping(): boolean {
    return this.run?.stopping ?? false;
  }

  stop(): void {
    // Once: the signal may follow the stop its own request made (a queue's stop is not one to repeat).
    if (!this.stopping) this.run?.stop();
  }

  async abort(): Promise<void> {
    this.aborting = true;
    await this.run?.abort();
  }

  private emit(event: SweepEvent): void {
    this.stream.push(event);
    this.listener?.(event);
  }

  /**
   * A write to the database, waiting out another program's lock (store/patience.ts), saying so
   * now and then; a full disk under it stops the sweep with the words for it (its open says its
   * own). Before training starts a stop request is enough not to wait; after, abort() is.
   */
  private store<T>(write: () => T): Promise<T> {
    const path = this.options.db;
    return patiently(path, () => sayingDiskFull({ path, holding: 'the database', fix: STOPPED_BY_FULL_DISK }, write), {
      onWait: (holder) => {
        if (performance.now() - this.toldWaitAt < TELL_WAIT_EVERY_MS) return;
        this.toldWaitAt = performance.now();
        this.emit({ type: 'database-wait', db: path, holder, patienceMs: PATIENCE_MS });
      },
      giveUp: () => this.aborting || (!this.training && this.options.signal?.aborted === true),
    });
  }

  async begin(from: string | InlineExperiment, options: CheckedOptions): Promise<void> {
    this.options = options;
    this.from = from;
    const prepared = await prepareSweep(from, options);
    const name = prepared.loaded.experiment.name;
    // The checkpoints' folder beside the database, if it is there, must be a folder: found out when
    // the first trial starts, the sweep would be left marked running in the database.
    checkCheckpointRoot(checkpointRoot(options.db));
    this.queueing = options.queue && (await import('./queueing.js'));
    // A wrong URL or password is said before the database is opened; a Redis that does not answer too.
    if (options.queue) await this.queueing!.checkConnection(options.queue);
    // One coordinator per sweep on that Redis (another would train its trials twice).
    const lease = options.queue && (await this.queueing!.CoordinatorLease.take(options.queue, name, (h) => this.emit({ type: 'lease-wait', sweep: name, host: h.host, pid: h.pid, lapseMs: this.queueing!.LEASE_TTL_MS })));
    // Once the run trains, the signal stops it as stop() does (before, the waits and the start hear it).
    const stopOnSignal = () => this.stop();
    options.signal?.addEventListener('abort', stopOnSignal, { once: true });
    let ending: Promise<SweepOutcome>;
    try {
      options.signal?.throwIfAborted();
      this.emit({ type: 'opening', db: options.db });
      const db = await this.store(() => openForWriting(options.db));
      try {
        ({ ending } = await this.claim(db, prepared, lease));
      } catch (err) {
        db.close();
        throw err;
      }
      ending = ending.finally(() => db.close());
    } catch (err) {
      options.signal?.removeEventListener('abort', stopOnSignal);
      await lease?.release();
      throw err;
    }
    this.done = ending.finally(() => {
      options.signal?.removeEventListener('abort', stopOnSignal);
      return lease?.release();
    });
    this.done.then(
      () => this.stream.end(),
      (err: unknown) => this.stream.end(err),
    );
    this.stream.seal();
  }

  /** Begins the run in the database, plans it, and starts it; `ending` settles once it is recorded as ended. */
  private async claim(db: Database.Database, prepared: PreparedSweep, lease: CoordinatorLease | undefined): Promise<{ ending: Promise<SweepOutcome> }> {
    const { loaded, trials } = prepared;
    const { experiment } = loaded;
    const { db: dbPath } = this.options;
    const file = new DatabaseFile(dbPath);
    const versions = { node: process.versions.node, 'lenet-sweep': packageVersion(), tfjs: tfjsVersion() };
    const writer = await this.store(() =>
      // An adaptive search records its trials as it proposes them (its start-up ones first).
      RunWriter.begin(db, loaded.file, experiment, prepared.search ? [] : trials, { host: hostname(), versions }, () => file.check()),
    );
    file.recordJournal();
    try {
      return await this.planAndStart(db, prepared, lease, writer, versions);
    } catch (err) {
      // Claimed but not started (a listener that threw, a disk that failed): recorded as failed,
      // not left marked running.
      try {
        writer.interruptRunning();
        writer.finish('failed');
      } catch {
        // The error that stopped it is the one to report.
      }
      writer.release();
      throw err;
    }
  }

  /** Plans the claimed run and starts it. */
  private async planAndStart(db: Database.Database, prepared: PreparedSweep, lease: CoordinatorLease | undefined, writer: RunWriter, versions: Record<'node' | 'lenet-sweep' | 'tfjs', string>): Promise<{ ending: Promise<SweepOutcome> }> {
    const { loaded, trials, fit, datasetOf } = prepared;
    const { experiment } = loaded;
    const { db: dbPath, rerun, queue } = this.options;
    if (writer.takenOver) this.emit({ type: 'takeover', sweep: experiment.name, ...writer.takenOver });
    const stored = searchRecords(db, writer.sweepId, experiment.metric.name);
    const { toRun, search, runnable, ended, members } = planRun({ ...loaded, search: prepared.search }, trials, stored, { rerun, adjust: prepared.adjust });
    // Whether or not it trains anything, this run is now the search's latest.
    if (members.length) await this.store(() => writer.joinRun(members));
    const workers = Math.max(1, Math.min(fit.workers, runnable));
    // With a queue the agents train the trials, each alone.
    const fuse = queue ? 1 : prepared.fuse;
    // The largest group these trials can form (an adaptive search's proposals are not known yet:
    // K): no more than the trials of one kind, nor than an even share among the workers (fusion.ts
    // groupSize). Said once where fusing was asked for and no two of them are of one kind.
    const kind = loaded.search ? fuse : largestKind(toRun, (t) => fusionKey(t.config, datasetOf(t).dir));
    const largest = loaded.search ? fuse : Math.min(fuse, kind, Math.ceil(toRun.length / workers));
    const unfused = fuse > 1 && !loaded.search && toRun.length > 1 && kind < 2
      ? [`note: no two of these trials can train as one (they differ in network shape, batch size, data, backend or optimizer); each trains alone`]
      : [];
    // The file's sweep.fuse is for a run on one machine: with a queue each agent fuses as its own --fuse says.
    const fromFile = experiment.sweep?.fuse ?? 1;
    const queueFuse = queue && fromFile > 1 ? [`note: sweep.fuse ${fromFile} is not used with --queue: each agent fuses as its own --fuse says (sweep agent --queue ${queue.shown} --fuse ${fromFile})`] : [];
    this.plan = {
      sweep: experiment.name,
      file: loaded.file,
      db: dbPath,
      metric: experiment.metric,
      trials,
      search: loaded.search ? { method: loaded.search.method, maxTrials: loaded.search.maxTrials } : null,
      ended,
      queued: toRun,
      runnable,
      workers,
      fuse: Math.max(1, largest),
      backends: prepared.backends.map((name) => ({ name, runsOn: plannedBackend(name) })),
      queue: queue?.shown ?? null,
      notes: [...fit.notes, ...unfused, ...queueFuse],
    };
    this.emit({ type: 'planned', plan: this.plan });
    // A grid or random experiment's trials; every trial of an adaptive search (they joined this run).
    const filter: TrialFilter = loaded.search ? { sweep: experiment.name, latestRun: true } : { sweep: experiment.name, ids: trials.map((t) => t.id) };
    const outcome = (status: SweepOutcome['status'], ran: RunOutcome): SweepOutcome => ({
      status,
      ...ran,
      exhausted: search.exhausted,
      reachedTarget: search.reachedTarget,
      ranked: () => withReadOnly(dbPath, (reading) => rankAmong(listTrials(reading, filter))),
    });
    if (!runnable) {
      await this.store(() => writer.finish('completed'));
      return { ending: Promise.resolve(outcome('completed', { statuses: new Map(), stopped: false })) };
    }

    // A trial resumes from its newest checkpoint, unless it trains again from the start: under
    // --rerun, or after it diverged (its checkpoints would only diverge again).
    const checkpoints = checkpointRoot(dbPath);
    const statusOf = new Map(stored.map((r) => [r.id, r.status]));
    const startOver = (t: Trial) => rerun || statusOf.get(t.id) === 'diverged';
    const resuming = new Set(toRun.filter((t) => !startOver(t) && checkpointEpochs(checkpoints, t.id).length).map((t) => t.id));
    await this.store(() => {
      // Across machines the agents' workers come and go: none is recorded (the dashboard then counts trials only).
      writer.runStarted(queue ? 0 : workers);
      writer.requeue(toRun.map((t) => t.id), resuming);
    });
    for (const t of toRun) if (!resuming.has(t.id)) removeTrialCheckpoints(checkpoints, t.id);
    // Epochs were stored but no checkpoint is left (its folder removed, or trained by a version
    // without checkpoints): said, since the trial loses them.
    const storedOf = new Map(stored.map((r) => [r.id, r]));
    for (const t of toRun) {
      const had = storedOf.get(t.id)?.values.length ?? 0;
      if (had && !resuming.has(t.id) && !startOver(t)) this.emit({ type: 'starting-over', trial: t, storedEpochs: had });
    }
    // Asked to stop while the database was being claimed: the run is recorded, and ends at once.
    if (this.options.signal?.aborted) return { ending: this.settle(writer, Promise.resolve({ statuses: new Map(), stopped: true }), outcome) };

    const { keep, retries } = this.options;
    const provenance = provenanceOf(this.from, versions);
    // Numbered out of what this run may train: its queue, and what an adaptive method may still propose.
    this.run = new SweepRun(
      writer,
      search,
      {
        workers,
        dataDir: (t) => datasetOf(t).dir,
        store: (write) => this.store(write),
        ...prepared.gpuPlan,
        checkpoints,
        keep,
        retries,
        fuse,
        provenance: (t, backend, agent) => ({
          ...provenance(datasetRecord(t.config.data, datasetOf(t)), backend),
          ...(queue ? { queue: queue.shown, agent } : {}),
        }),
      },
      (trial, event, resumed = [], relayed = {}) => {
        if (event.type === 'skipped') return;
        this.emit(event.type === 'started' ? { ...event, trial, relayed, resumed } : { ...event, trial, relayed });
      },
      {
        skipped: (params, problem) => this.emit({ type: 'proposal-skipped', params, problem }),
        damaged: (trial, damaged, resumesFrom) => this.emit({ type: 'damaged', trial, damaged, resumesFrom }),
        retrying: (trial, retry, error) => this.emit({ type: 'retrying', trial, retry, retries, error }),
      },
      lease && queue && new this.queueing!.QueuedTrials({
        url: queue, sweep: experiment.name, version: versions['lenet-sweep'], trials: runnable, resumable: toRun.map((t) => t.id), checkpoints, lease,
        log: (message) => this.emit({ type: 'queue', message }),
      }),
    );
    this.training = true;
    return { ending: this.settle(writer, this.run.done, outcome) };
  }

  /** Records how the run ended: interrupted when stopped, failed when a trial failed or the run itself did. */
  private async settle(writer: RunWriter, ran: Promise<RunOutcome>, outcome: (status: SweepOutcome['status'], ran: RunOutcome) => SweepOutcome): Promise<SweepOutcome> {
    const ended = await ran.catch((err: Error) => {
      // Where the database can still take it, the sweep is marked failed, or interrupted where
      // the disk filled up (the same command resumes it); the error says why.
      try {
        writer.interruptRunning();
        writer.finish(err instanceof DiskFullError ? 'interrupted' : 'failed');
      } catch {
        // The error that stopped the run is the one to report.
      }
      throw err;
    });
    const failed = [...ended.statuses.values()].includes('failed');
    const status = ended.stopped ? 'interrupted' : failed ? 'failed' : 'completed';
    await this.store(() => {
      // Trials a forced stop ended mid-batch are still marked running.
      if (ended.stopped) writer.interruptRunning();
      writer.finish(status);
    });
    return outcome(status, ended);
  }
}
