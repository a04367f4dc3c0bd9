/**
 * Running a sweep: whenever a worker is free, the search (sweep/search.ts) names the next trials
 * and they go to a trial executor as a group (trained as one computation where they may: sweep/
 * fusion.ts; a trial alone is a group of one): this machine's Piscina pool (LocalTrials), or
 * agents on other machines through a queue (queue/queued-trials.ts). Each trial's events come
 * back to this thread alone, where trial-events.ts writes them to the database and answers each
 * epoch with the early-termination rule's verdict.
 */
import type { Trial } from '../config/experiment.js';
import type { RunWriter } from '../store/writer.js';
import type { TrialStatus } from '../store/status.js';
import { isTerminal, type TerminalEvent, type TrialJob, type WorkerEvent } from '../worker/messages.js';
import type { PoolTask } from '../worker/trial-pool.js';
import { within } from '../util/within.js';
import type { SweepSearch } from './search.js';
import { LocalTrials, type Relayed, type TrialExecutor } from './executor.js';
import { fusionKey, groupSize, takeGroup } from './fusion.js';
import type { EventListener, RunOptions, RunOutcome, SearchListener } from './run-types.js';
import { statusOf, TrialRecorder } from './trial-events.js';

/** A crashed worker may have posted events that arrive after its task failed: wait this long for them. */
const CRASH_GRACE_MS = 1000;
/** How many times a group's trials skipped while the sweep was not stopping start again. */
const MAX_SKIPS = 3;

/** How one attempt at a trial ended; `died`: why its worker died (it may be retried), else null. */
interface AttemptEnd {
  status: TrialStatus | 'queued';
  died: string | null;
}

export class SweepRun {
  private stopRequested = false;
  private readonly executor: TrialExecutor;
  private readonly recorder: TrialRecorder;
  /** The first error in writing events; the sweep stops and `done` rejects with it. */
  private failure: Error | undefined;
  /** Set by abort(): the threads are being ended, so their trials' events no longer count. */
  private aborted = false;
  /** The executor's shutdown, once begun (by abort, or when every trial has ended). */
  private destroyed: Promise<void> | undefined;
  /** Trials the search has named that wait for a group of their kind (another worker's, or the next). */
  private readonly waiting: Trial[] = [];
  /** Workers forming or training a group: those without one share what is left (fusion.ts groupSize). */
  private busy = 0;
  readonly done: Promise<RunOutcome>;

  constructor(
    writer: RunWriter,
    private readonly search: SweepSearch,
    options: RunOptions,
    listener: EventListener,
    private readonly searchListener: SearchListener = {},
    executor?: TrialExecutor,
  ) {
    this.executor = executor ?? new LocalTrials(options.workers, options.gpus);
    this.recorder = new TrialRecorder(writer, search, options, listener, searchListener, (err) => {
      this.failure ??= err;
      this.stop();
    });
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
    this.recorder.abort();
    await this.destroy();
  }

  private destroy(): Promise<void> {
    this.destroyed ??= this.executor.destroy();
    return this.destroyed;
  }

  private async runAll(options: RunOptions): Promise<RunOutcome> {
    const statuses = new Map<string, TrialStatus | 'queued'>();
    // One loop per slot asks the search for the next trials when its last group ends: never more
    // groups are out than the executor can take, however large the sweep, and an adaptive
    // method chooses each trial knowing every result so far.
    const loop = async () => {
      while (!this.stopping && !this.failure) {
        const release = await this.executor.reserve();
        try {
          if (this.stopping || this.failure) return;
          // Counted from before its group is formed: the next worker's group is sized knowing this one's.
          this.busy++;
          try {
            const group = await this.nextGroup(options);
            if (!group.length) return;
            if (this.stopping || this.failure) {
              for (const trial of group) statuses.set(trial.id, 'queued');
              return;
            }
            for (const [id, status] of await this.runGroup(group, options)) statuses.set(id, status);
          } finally {
            this.busy--;
          }
        } finally {
          release();
        }
      }
    };
    const settled = await Promise.allSettled(Array.from({ length: this.executor.slots }, loop));
    // Named by the search, never started (the sweep stopped): they stay queued.
    for (const trial of this.waiting) statuses.set(trial.id, 'queued');
    await this.destroy();
    await this.recorder.flushed();
    const rejected = settled.find((r): r is PromiseRejectedResult => r.status === 'rejected');
    const failure = this.failure ?? (rejected?.reason as Error | undefined);
    if (failure) throw failure;
    return { statuses, stopped: this.stopping };
  }

  /**
   * The next group's trials: those waiting first, then the search's next ones, up to the group's
   * size. A trial of another kind than the group's (fusion.ts fusionKey) waits for a group of its
   * own; the search is asked for at most as many trials as the group may take, so that an
   * adaptive method never runs far ahead of the results. Empty when the search has none left.
   */
  private async nextGroup(options: RunOptions): Promise<Trial[]> {
    // An executor that cannot train groups (a queue's agents, which train each trial alone) gets them one by one.
    const fuse = this.executor.startGroup ? options.fuse ?? 1 : 1;
    const keyOf = (t: Trial) => fusionKey(t.config, options.dataDir(t));
    // The workers without a group, this one among them.
    const idle = this.executor.slots - this.busy + 1;
    const size = groupSize(fuse, this.waiting.length + this.search.remaining, idle);
    const group = takeGroup(this.waiting, size, keyOf);
    for (let asked = 0; group.length < size && asked < size && !this.stopping && !this.failure; ) {
      const next = this.search.next();
      if (!next) break;
      if ('skipped' in next) {
        this.searchListener.skipped?.(next.skipped, next.problem);
        continue;
      }
      asked++;
      const { trial, proposed } = next;
      // Recorded (queued) before it starts, in order with the events' writes.
      if (proposed) await this.recorder.propose(trial);
      if (!group.length || keyOf(trial) === keyOf(group[0])) group.push(trial);
      else this.waiting.push(trial);
    }
    return group;
  }

  /**
   * Trains a group: each trial from its newest intact checkpoint if it has one, and those whose
   * worker died (a crashed thread, GPU process or device) again from their newest, together, up
   * to `retries` times.
   */
  private async runGroup(trials: Trial[], options: RunOptions): Promise<Map<string, TrialStatus | 'queued'>> {
    const statuses = new Map<string, TrialStatus | 'queued'>();
    const retries = new Map<string, number>();
    let skips = 0;
    for (let members = trials; members.length; ) {
      const resumes: number[] = [];
      for (const trial of members) resumes.push(await this.recorder.resumePoint(trial));
      if (this.failure) {
        for (const trial of members) statuses.set(trial.id, 'queued');
        break;
      }
      const ends = await this.attempt(members, options, resumes);
      const again: Trial[] = [];
      let skipped = false;
      members.forEach((trial, k) => {
        const { status, died } = ends[k];
        // Skipped while this run is not stopping: an agent took its job for one an earlier,
        // stopped run had left, while that run's stop flag still stood. It never trained: it
        // starts again (a few times at most), rather than ending the sweep with it still queued.
        if (status === 'queued' && !this.stopping && !this.failure && skips < MAX_SKIPS) {
          skipped = true;
          again.push(trial);
          return;
        }
        const retry = retries.get(trial.id) ?? 0;
        if (status !== 'failed' || died === null || retry >= options.retries || this.stopping) {
          statuses.set(trial.id, status);
          return;
        }
        retries.set(trial.id, retry + 1);
        this.searchListener.retrying?.(trial, retry + 1, died);
        again.push(trial);
      });
      if (skipped) skips++;
      members = again;
    }
    return statuses;
  }

  /** One attempt at a group of trials, `resumes[k]` the epoch trial k resumes from (0: the start). */
  private async attempt(trials: Trial[], options: RunOptions, resumes: number[]): Promise<AttemptEnd[]> {
    const judged = this.search.judged;
    const members = trials.map((trial, k) => {
      let resolveTerminal!: (e: TerminalEvent) => void;
      const terminal = new Promise<TerminalEvent>((resolve) => (resolveTerminal = resolve));
      const job: TrialJob = {
        trialId: trial.id,
        config: trial.config,
        dataDir: options.dataDir(trial),
        gpu: options.gpu,
        api: options.gpuApi,
        judged,
        checkpoints: options.checkpoints,
        ...(resumes[k] ? { resume: resumes[k] } : {}),
      };
      const onEvent = (event: WorkerEvent, relayed?: Relayed) =>
        this.recorder.handle(trial, event, relayed).then(() => {
          if (isTerminal(event)) resolveTerminal(event);
        });
      return { trial, job, onEvent, terminal };
    });
    const tasks: PoolTask[] = members.length > 1 && this.executor.startGroup
      ? this.executor.startGroup(members)
      : members.map((m) => this.executor.start(m.trial, m.job, m.onEvent));
    if (judged) tasks.forEach((task, k) => this.recorder.tasks.set(trials[k].id, task));
    return Promise.all(members.map(async ({ trial, terminal }, k): Promise<AttemptEnd> => {
      const task = tasks[k];
      try {
        const crash = await task.ended;
        if (crash && this.aborted) return { status: 'interrupted', died: null };
        // Events and the task's end travel separately: wait for the trial's last event.
        const last = crash ? await within(terminal, CRASH_GRACE_MS) : await terminal;
        if (last) return { status: statusOf(last), died: last.type === 'failed' && last.retryable ? last.error : null };
        const error = `worker died: ${crash?.message}`;
        await this.recorder.handle(trial, { type: 'failed', trialId: trial.id, error, retryable: true });
        return { status: 'failed', died: error };
      } finally {
        this.recorder.tasks.delete(trial.id);
        task.close();
      }
    }));
  }
}
