/**
 * Running a sweep: whenever a worker is free, the search (sweep/search.ts) names the next trial
 * and it goes to a trial executor: this machine's Piscina pool (LocalTrials), or agents on other
 * machines through a queue (queue/queued-trials.ts). Each trial's events come back to this
 * thread alone, which writes them to the database and answers each epoch with the
 * early-termination rule's verdict.
 */
import type { Trial } from '../config/experiment.js';
import { checkpointEpochs, checkpointFiles, findResumePoint, readCheckpoint, removeCheckpoints, removeTrialCheckpoints, type CheckpointFile, type Damaged } from '../checkpoint/files.js';
import { checkpointsToRemove, type KeepPolicy } from '../checkpoint/retention.js';
import type { EpochMetrics } from '../train/metrics.js';
import type { RunWriter } from '../store/writer.js';
import type { TrialStatus } from '../store/status.js';
import { isTerminal, type TerminalEvent, type TrialJob, type Verdict, type WorkerEvent } from '../worker/messages.js';
import type { PoolTask } from '../worker/trial-pool.js';
import { DiskFullError } from '../util/disk-full.js';
import { within } from '../util/within.js';
import type { Assignment } from './grid.js';
import type { SweepSearch } from './search.js';
import { LocalTrials, type Relayed, type TrialExecutor } from './executor.js';

// Where the queue's executor (queue/queued-trials.ts) has always found them.
export type { Relayed, TrialExecutor } from './executor.js';

export interface RunOptions {
  workers: number;
  /** The folder of each trial's dataset, prepared before the pool starts. */
  dataDir: (trial: Trial) => string;
  /**
   * Stores an event (a call of the writer), waiting out another program's lock on the database
   * (store/patience.ts); the writes are made one at a time, in the order the events arrived.
   */
  store: (write: () => void) => Promise<void>;
  /** Whether `backend: auto` may take webgpu (backend/probeWebgpu found a GPU). */
  gpu: boolean;
  /** WebGPU adapters by name to spread the workers over (--gpus); empty: the first found. */
  gpus?: string[];
  /** The route to the WebGPU adapter the probe found (vulkan, metal, d3d12, opengles). */
  gpuApi?: string;
  /** The folder of the database's checkpoints (checkpoint/files.ts checkpointRoot). */
  checkpoints: string;
  /** Which checkpoints a trial keeps once it has ended. */
  keep: KeepPolicy;
  /** How many times a trial whose worker died is started again from its checkpoint. */
  retries: number;
  /** What it takes to reproduce a trial, recorded when it starts (sweep/provenance.ts). */
  provenance?: (trial: Trial, backend: string, agent?: string) => object;
}

/**
 * Receives every worker event after it has been written to the database; with a resumed trial's
 * 'started', the epochs its checkpoint brought; and how the executor came by it.
 */
export type EventListener = (trial: Trial, event: WorkerEvent, resumed?: EpochMetrics[], relayed?: Relayed) => void;

/** Told about the search's own decisions: a proposal that broke a rule of the config, the target reached. */
export interface SearchListener {
  skipped?(params: Assignment, problem: string): void;
  /** A trial's newer checkpoints failed their check: it resumes from an older one (or the start). */
  damaged?(trial: Trial, damaged: Damaged[], resumeFrom: number): void;
  /** A trial's worker died; the trial starts again from its checkpoint (attempt counts the retries). */
  retrying?(trial: Trial, retry: number, error: string): void;
}

export interface RunOutcome {
  /** Final status of each trial that was handed to the pool. */
  statuses: Map<string, TrialStatus | 'queued'>;
  stopped: boolean;
}

/** A crashed worker may have posted events that arrive after its task failed: wait this long for them. */
const CRASH_GRACE_MS = 1000;

/**
 * What a full disk does to a sweep, after where and how full (util/disk-full.ts): it stops, since
 * every trial after would fail the same way. Nothing is lost: each stored epoch has its checkpoint,
 * and the trials it stopped are interrupted, so the same command goes on where it stopped.
 */
export const STOPPED_BY_FULL_DISK = 'the sweep stopped; free some space there, then run the same command again to resume';

export class SweepRun {
  private stopRequested = false;
  private readonly executor: TrialExecutor;
  /** The first error in writing events; the sweep stops and `done` rejects with it. */
  private failure: Error | undefined;
  /** Set by abort(): the threads are being ended, so their trials' events no longer count. */
  private aborted = false;
  /** The executor's shutdown, once begun (by abort, or when every trial has ended). */
  private destroyed: Promise<void> | undefined;
  /** The events' writes, one after another in arrival order, so that a wait for a lock keeps them in order. */
  private writes: Promise<void> = Promise.resolve();
  readonly done: Promise<RunOutcome>;

  /** The running attempt of each judged trial, answered after each of its epochs is stored. */
  private readonly tasks = new Map<string, PoolTask>();
  /** The epochs a resuming trial brings from its checkpoint, for the search to see again when it starts. */
  private readonly resumed = new Map<string, EpochMetrics[]>();
  /**
   * The last epoch each trial has stored: a 'started' from another epoch (an agent that took it
   * over from an older checkpoint, or from a newer one another attempt had sent) rewinds it.
   */
  private readonly storedThrough = new Map<string, number>();

  constructor(
    private readonly writer: RunWriter,
    private readonly search: SweepSearch,
    options: RunOptions,
    private readonly listener: EventListener,
    private readonly searchListener: SearchListener = {},
    executor?: TrialExecutor,
  ) {
    this.executor = executor ?? new LocalTrials(options.workers, options.gpus);
    this.done = this.runAll(options);
  }

  get stopping(): boolean {
    return this.stopRequested;
  }

  /** Asks the workers to stop after their current batch; queued trials are not started. */
  stop(): void {
    this.stopRequested = true;
    this.executor.stop();
  }

  /**
   * Stops at once: the worker threads are ended mid-batch and `done` settles as stopped; the
   * trials they ran stay marked running for the caller to mark interrupted.
   */
  async abort(): Promise<void> {
    if (this.aborted) return;
    this.stop();
    this.aborted = true;
    await this.destroy();
  }

  private destroy(): Promise<void> {
    this.destroyed ??= this.executor.destroy();
    return this.destroyed;
  }

  private async runAll(options: RunOptions): Promise<RunOutcome> {
    const statuses = new Map<string, TrialStatus | 'queued'>();
    // One loop per slot asks the search for the next trial when its last one ends: never more
    // trials are out than the executor can take, however large the sweep, and an adaptive
    // method chooses each trial knowing every result so far.
    const loop = async () => {
      while (!this.stopping && !this.failure) {
        const release = await this.executor.reserve();
        try {
          if (this.stopping || this.failure) return;
          const next = this.search.next();
          if (!next) return;
          if ('skipped' in next) {
            this.searchListener.skipped?.(next.skipped, next.problem);
            continue;
          }
          const { trial, proposed } = next;
          // Recorded (queued) before it starts, in order with the events' writes.
          if (proposed) await this.write(() => this.writer.addTrials([trial]), options);
          if (this.failure) return;
          statuses.set(trial.id, this.stopping ? 'queued' : await this.runOne(trial, options));
        } finally {
          release();
        }
      }
    };
    const settled = await Promise.allSettled(Array.from({ length: this.executor.slots }, loop));
    await this.destroy();
    await this.writes;
    const rejected = settled.find((r): r is PromiseRejectedResult => r.status === 'rejected');
    const failure = this.failure ?? (rejected?.reason as Error | undefined);
    if (failure) throw failure;
    return { statuses, stopped: this.stopping };
  }

  /**
   * Trains a trial: from its newest intact checkpoint if it has one, and again from the newest
   * after its worker died (a crashed thread, GPU process or device), up to `retries` times.
   */
  private async runOne(trial: Trial, options: RunOptions): Promise<TrialStatus | 'queued'> {
    for (let retry = 0; ; retry++) {
      const resume = await this.resumePoint(trial, options);
      if (this.failure) return 'queued';
      const { status, died } = await this.attempt(trial, options, resume);
      if (status !== 'failed' || died === null || retry >= options.retries || this.stopping) return status;
      this.searchListener.retrying?.(trial, retry + 1, died);
    }
  }

  /**
   * Where a trial starts: the epoch of its newest intact checkpoint, whose history then becomes
   * the trial's epochs in the database (0 when it has none, and any leftover files are removed).
   */
  private async resumePoint(trial: Trial, options: RunOptions): Promise<number> {
    const point = findResumePoint(options.checkpoints, trial.id);
    this.storedThrough.set(trial.id, point?.checkpoint.epoch ?? 0);
    if (!point) {
      removeTrialCheckpoints(options.checkpoints, trial.id);
      return 0;
    }
    const { checkpoint, files, damaged } = point;
    if (damaged.length) this.searchListener.damaged?.(trial, damaged, checkpoint.epoch);
    await this.write(() => this.writer.resumeAt(trial.id, checkpoint.history, files), options);
    this.resumed.set(trial.id, checkpoint.history);
    return checkpoint.epoch;
  }

  /**
   * A trial that starts from another epoch than the one it was set to resume from (an agent
   * took it over from its latest checkpoint after another agent was lost): its epochs become
   * that checkpoint's history (none for 0) and the checkpoints after it go. Read here; the caller
   * writes it in the same transaction as the 'started' event.
   */
  private rewindTo(trial: Trial, epoch: number, options: RunOptions): { history: EpochMetrics[]; files: CheckpointFile[]; later: number[] } {
    const history = epoch ? readCheckpoint(options.checkpoints, trial.id, epoch).history : [];
    const epochs = checkpointEpochs(options.checkpoints, trial.id);
    this.resumed.set(trial.id, history);
    this.storedThrough.set(trial.id, epoch);
    return { history, files: checkpointFiles(options.checkpoints, trial.id, epochs.filter((e) => e <= epoch)), later: epochs.filter((e) => e > epoch) };
  }

  /** One attempt at a trial; `died`: why its worker died (it may be retried), else null. */
  private async attempt(trial: Trial, options: RunOptions, resume: number): Promise<{ status: TrialStatus | 'queued'; died: string | null }> {
    let resolveTerminal!: (e: TerminalEvent) => void;
    const terminal = new Promise<TerminalEvent>((resolve) => (resolveTerminal = resolve));
    const judged = this.search.judged;
    const job: TrialJob = {
      trialId: trial.id,
      config: trial.config,
      dataDir: options.dataDir(trial),
      gpu: options.gpu,
      api: options.gpuApi,
      judged,
      checkpoints: options.checkpoints,
      ...(resume ? { resume } : {}),
    };
    const task = this.executor.start(trial, job, (event, relayed) =>
      this.handle(trial, event, options, relayed).then(() => {
        if (isTerminal(event)) resolveTerminal(event);
      }),
    );
    if (judged) this.tasks.set(trial.id, task);
    try {
      const crash = await task.ended;
      if (crash && this.aborted) return { status: 'interrupted', died: null };
      // Events and the task's end travel separately: wait for the trial's last event.
      const last = crash ? await within(terminal, CRASH_GRACE_MS) : await terminal;
      if (last) return { status: statusOf(last), died: last.type === 'failed' && last.retryable ? last.error : null };
      const error = `worker died: ${crash?.message}`;
      await this.handle(trial, { type: 'failed', trialId: trial.id, error, retryable: true }, options);
      return { status: 'failed', died: error };
    } finally {
      this.tasks.delete(trial.id);
      task.close();
    }
  }

  /** A write that is not an event's (a proposed trial), in order with the events' writes. */
  private write(write: () => void, options: RunOptions): Promise<void> {
    this.writes = this.writes.then(async () => {
      if (this.aborted) return;
      try {
        await options.store(write);
      } catch (err) {
        this.failure ??= err as Error;
        this.stop();
      }
    });
    return this.writes;
  }

  /** Stores an event after those before it, then tells the listener; settles once both are done. */
  private handle(trial: Trial, event: WorkerEvent, options: RunOptions, relayed?: Relayed): Promise<void> {
    // A trial's checkpoint found the disk full: the trial is interrupted (it resumes from its last
    // checkpoint), saying why and what to do, and the sweep stops with the same words.
    if (event.type === 'failed' && event.diskFull) event = { ...event, error: `${event.error}; ${STOPPED_BY_FULL_DISK}` };
    this.writes = this.writes.then(async () => {
      // A thread being ended may still have events on its way: a 'started' would mark its
      // trial running again after the caller settled it.
      if (this.aborted) return;
      // A judged trial waits for the verdict on each epoch but its last (and, resumed, on its
      // checkpoint's epoch when it starts): it always gets one.
      const judgedEpoch = event.type === 'epoch' ? event.metrics.epoch : event.type === 'started' && event.resumedFrom > 0 ? event.resumedFrom : null;
      let verdict: Verdict | null = judgedEpoch !== null && this.tasks.has(trial.id) && judgedEpoch < trial.config.training.epochs
        ? { type: 'verdict', epoch: judgedEpoch, reason: null }
        : null;
      try {
        const rewound = event.type === 'started' && event.resumedFrom !== (this.storedThrough.get(trial.id) ?? 0) ? this.rewindTo(trial, event.resumedFrom, options) : null;
        this.observe(trial, event);
        if (verdict) {
          const decided = this.search.judge(trial.id);
          if (decided?.rungs) {
            const rungs = decided.rungs;
            await options.store(() => this.writer.setRungs(trial.id, rungs));
          }
          if (decided?.stop) verdict = { ...verdict, reason: decided.reason };
        }
        // The event and the keep policy's removals in one transaction; the files go once it has committed.
        let removed: number[] = [];
        await options.store(() =>
          this.writer.together(() => {
            if (rewound) this.writer.resumeAt(trial.id, rewound.history, rewound.files);
            this.record(trial, event, options, relayed);
            if (event.type === 'epoch' || event.type === 'finished') removed = this.dropCheckpoints(trial, event.type === 'finished' && event.status !== 'interrupted', options);
          }),
        );
        if (event.type === 'epoch') this.storedThrough.set(trial.id, event.metrics.epoch);
        removeCheckpoints(options.checkpoints, trial.id, [...removed, ...(rewound?.later ?? [])]);
        const resumed = event.type === 'started' && event.resumedFrom ? this.resumed.get(trial.id)?.slice(0, event.resumedFrom) : undefined;
        if (event.type === 'started') this.resumed.delete(trial.id);
        if (event.type === 'failed' && event.diskFull) {
          this.failure ??= new DiskFullError(event.error);
          this.stop();
        }
        this.listener(trial, event, resumed, relayed);
      } catch (err) {
        // The database could not take the event (disk full, its file deleted, locked for
        // minutes…): stop the sweep and fail it with this error once the running trials have ended.
        this.failure ??= err as Error;
        this.stop();
      } finally {
        if (verdict) this.tasks.get(trial.id)?.verdict(verdict);
      }
    });
    return this.writes;
  }

  /**
   * Forgets the checkpoints a trial no longer keeps (checkpoint/retention.ts) and returns their
   * epochs, whose files the caller removes once this has committed (a crash between the two
   * leaves a file no record names: harmless, and gone when the trial trains again).
   */
  private dropCheckpoints(trial: Trial, ended: boolean, options: RunOptions): number[] {
    const { epochs, best } = this.writer.checkpointsOf(trial.id);
    const removed = checkpointsToRemove(epochs, best, options.keep, ended);
    if (removed.length) this.writer.dropCheckpoints(trial.id, removed);
    return removed;
  }

  /** Keeps the search's picture of the sweep up to date with an event. */
  private observe(trial: Trial, event: WorkerEvent): void {
    switch (event.type) {
      case 'started': {
        this.search.started(trial.id);
        // A resumed trial's values so far are its checkpoint's.
        const history = this.resumed.get(trial.id) ?? [];
        for (const m of history.slice(0, event.resumedFrom)) this.search.epoch(trial.id, m);
        return;
      }
      case 'epoch':
        return this.search.epoch(trial.id, event.metrics);
      case 'finished':
        return this.search.ended(trial.id, event.status);
      case 'failed':
        return this.search.ended(trial.id, event.diskFull ? 'interrupted' : 'failed');
    }
  }

  private record(trial: Trial, event: WorkerEvent, options: RunOptions, relayed?: Relayed): void {
    switch (event.type) {
      case 'started': {
        // An adopted attempt goes on as the one the database holds, where it holds it.
        if (relayed?.adopted && this.writer.continueAttempt(trial.id, relayed.adopted.from, event.resumedFrom, event.agent)) return;
        const provenance = options.provenance?.(trial, event.backend, event.agent) ?? null;
        return this.writer.trialStarted(trial.id, event.worker, event.backend, event.adapter ?? null, event.paramCount, event.batchesPerEpoch, event.resumedFrom, provenance);
      }
      case 'progress':
        return this.writer.progress(trial.id, event.epoch, event.batch);
      case 'epoch':
        return this.writer.epoch(trial.id, event.metrics, event.checkpoint);
      case 'finished':
        return this.writer.trialFinished(trial.id, event.status, { loss: event.testLoss, acc: event.testAcc }, event.pruneReason ?? null, event.confusion ?? null);
      case 'failed':
        return event.diskFull ? this.writer.trialInterrupted(trial.id, event.error) : this.writer.trialFailed(trial.id, event.error);
      case 'skipped':
        return;
    }
  }
}

function statusOf(event: TerminalEvent): TrialStatus | 'queued' {
  if (event.type === 'failed') return event.diskFull ? 'interrupted' : 'failed';
  return event.type === 'finished' ? event.status : 'queued';
}
