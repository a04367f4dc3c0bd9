/**
 * A sweep's trial events as they come back from the executor: each is stored (one write after
 * another, in arrival order), shown to the search, and told to the listener; a judged trial's
 * epochs are answered with the early-termination rule's verdict once stored. The runner
 * (run-sweep.ts) decides what trains; this decides nothing, it records.
 */
import type { Trial } from '../config/experiment.js';
import { checkpointEpochs, checkpointFiles, findResumePoint, readCheckpoint, removeCheckpoints, removeTrialCheckpoints, type CheckpointFile } from '../checkpoint/files.js';
import { checkpointsToRemove } from '../checkpoint/retention.js';
import type { EpochMetrics } from '../train/metrics.js';
import type { RunWriter } from '../store/writer.js';
import type { TrialStatus } from '../store/status.js';
import type { TerminalEvent, Verdict, WorkerEvent } from '../worker/messages.js';
import type { PoolTask } from '../worker/trial-pool.js';
import { DiskFullError } from '../util/disk-full.js';
import type { SweepSearch } from './search.js';
import type { Relayed } from './executor.js';
import type { EventListener, RunOptions, SearchListener } from './run-types.js';

/**
 * What a full disk does to a sweep, after where and how full (util/disk-full.ts): it stops, since
 * every trial after would fail the same way. Nothing is lost: each stored epoch has its checkpoint,
 * and the trials it stopped are interrupted, so the same command goes on where it stopped.
 */
export const STOPPED_BY_FULL_DISK = 'the sweep stopped; free some space there, then run the same command again to resume';

export class TrialRecorder {
  /** The events' writes, one after another in arrival order, so that a wait for a lock keeps them in order. */
  private writes: Promise<void> = Promise.resolve();
  /** Set by abort(): the threads are being ended, so their trials' events no longer count. */
  private aborted = false;
  /** The running attempt of each judged trial, answered after each of its epochs is stored. */
  readonly tasks = new Map<string, PoolTask>();
  /** The epochs a resuming trial brings from its checkpoint, for the search to see again when it starts. */
  private readonly resumed = new Map<string, EpochMetrics[]>();
  /**
   * The last epoch each trial has stored: a 'started' from another epoch (an agent that took it
   * over from an older checkpoint, or from a newer one another attempt had sent) rewinds it.
   */
  private readonly storedThrough = new Map<string, number>();

  /** `fail` stops the sweep with the first error in storing an event (disk full, database gone…). */
  constructor(
    private readonly writer: RunWriter,
    private readonly search: SweepSearch,
    private readonly options: RunOptions,
    private readonly listener: EventListener,
    private readonly searchListener: SearchListener,
    private readonly fail: (err: Error) => void,
  ) {}

  /** From now on events are dropped: their threads are being ended mid-batch. */
  abort(): void {
    this.aborted = true;
  }

  /** Records a trial the search has just proposed (queued), in order with the events' writes. */
  propose(trial: Trial): Promise<void> {
    return this.write(() => this.writer.addTrials([trial]));
  }

  /** Settles once every write asked for so far has been made. */
  flushed(): Promise<void> {
    return this.writes;
  }

  /**
   * Where a trial starts: the epoch of its newest intact checkpoint, whose history then becomes
   * the trial's epochs in the database (0 when it has none, and any leftover files are removed).
   */
  async resumePoint(trial: Trial): Promise<number> {
    const point = findResumePoint(this.options.checkpoints, trial.id);
    this.storedThrough.set(trial.id, point?.checkpoint.epoch ?? 0);
    if (!point) {
      removeTrialCheckpoints(this.options.checkpoints, trial.id);
      return 0;
    }
    const { checkpoint, files, damaged } = point;
    if (damaged.length) this.searchListener.damaged?.(trial, damaged, checkpoint.epoch);
    await this.write(() => this.writer.resumeAt(trial.id, checkpoint.history, files));
    this.resumed.set(trial.id, checkpoint.history);
    return checkpoint.epoch;
  }

  /**
   * A trial that starts from another epoch than the one it was set to resume from (an agent
   * took it over from its latest checkpoint after another agent was lost): its epochs become
   * that checkpoint's history (none for 0) and the checkpoints after it go. Read here; the caller
   * writes it in the same transaction as the 'started' event.
   */
  private rewindTo(trial: Trial, epoch: number): { history: EpochMetrics[]; files: CheckpointFile[]; later: number[] } {
    const history = epoch ? readCheckpoint(this.options.checkpoints, trial.id, epoch).history : [];
    const epochs = checkpointEpochs(this.options.checkpoints, trial.id);
    this.resumed.set(trial.id, history);
    this.storedThrough.set(trial.id, epoch);
    return { history, files: checkpointFiles(this.options.checkpoints, trial.id, epochs.filter((e) => e <= epoch)), later: epochs.filter((e) => e > epoch) };
  }

  /** A write that is not an event's (a proposed trial), in order with the events' writes. */
  private write(write: () => void): Promise<void> {
    this.writes = this.writes.then(async () => {
      if (this.aborted) return;
      try {
        await this.options.store(write);
      } catch (err) {
        this.fail(err as Error);
      }
    });
    return this.writes;
  }

  /** Stores an event after those before it, then tells the listener; settles once both are done. */
  handle(trial: Trial, event: WorkerEvent, relayed?: Relayed): Promise<void> {
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
        const rewound = event.type === 'started' && event.resumedFrom !== (this.storedThrough.get(trial.id) ?? 0) ? this.rewindTo(trial, event.resumedFrom) : null;
        this.observe(trial, event);
        if (verdict) {
          const decided = this.search.judge(trial.id);
          if (decided?.rungs) {
            const rungs = decided.rungs;
            await this.options.store(() => this.writer.setRungs(trial.id, rungs));
          }
          if (decided?.stop) verdict = { ...verdict, reason: decided.reason };
        }
        // The event and the keep policy's removals in one transaction; the files go once it has committed.
        let removed: number[] = [];
        await this.options.store(() =>
          this.writer.together(() => {
            if (rewound) this.writer.resumeAt(trial.id, rewound.history, rewound.files);
            this.record(trial, event, relayed);
            if (event.type === 'epoch' || event.type === 'finished') removed = this.dropCheckpoints(trial, event.type === 'finished' && event.status !== 'interrupted');
          }),
        );
        if (event.type === 'epoch') this.storedThrough.set(trial.id, event.metrics.epoch);
        removeCheckpoints(this.options.checkpoints, trial.id, [...removed, ...(rewound?.later ?? [])]);
        const resumed = event.type === 'started' && event.resumedFrom ? this.resumed.get(trial.id)?.slice(0, event.resumedFrom) : undefined;
        if (event.type === 'started') this.resumed.delete(trial.id);
        if (event.type === 'failed' && event.diskFull) this.fail(new DiskFullError(event.error));
        this.listener(trial, event, resumed, relayed);
      } catch (err) {
        // The database could not take the event (disk full, its file deleted, locked for
        // minutes…): stop the sweep and fail it with this error once the running trials have ended.
        this.fail(err as Error);
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
  private dropCheckpoints(trial: Trial, ended: boolean): number[] {
    const { epochs, best } = this.writer.checkpointsOf(trial.id);
    const removed = checkpointsToRemove(epochs, best, this.options.keep, ended);
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

  private record(trial: Trial, event: WorkerEvent, relayed?: Relayed): void {
    switch (event.type) {
      case 'started': {
        // An adopted attempt goes on as the one the database holds, where it holds it.
        if (relayed?.adopted && this.writer.continueAttempt(trial.id, relayed.adopted.from, event.resumedFrom, event.agent)) return;
        const made = this.options.provenance?.(trial, event.backend, event.agent) ?? null;
        // Which trials it trained as one with: said by runs show (its numbers are its own either way).
        const provenance = made && event.beside?.length ? { ...made, beside: event.beside } : made;
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

/** The status a trial's last event leaves it in ('queued': skipped, it never started). */
export function statusOf(event: TerminalEvent): TrialStatus | 'queued' {
  if (event.type === 'failed') return event.diskFull ? 'interrupted' : 'failed';
  return event.type === 'finished' ? event.status : 'queued';
}
