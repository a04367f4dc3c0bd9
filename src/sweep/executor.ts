/**
 * Trial executors: where a sweep's trials train. The runner (run-sweep.ts) hands each trial to
 * one: this machine's Piscina pool (LocalTrials, here), or agents on other machines through a
 * queue (queue/queued-trials.ts).
 */
import type { Trial } from '../config/experiment.js';
import type { TrialJob, WorkerEvent } from '../worker/messages.js';
import { TrialPool, type PoolTask } from '../worker/trial-pool.js';

/**
 * How a trial executor came by an event, where not as its worker sent it just now: a queue's
 * coordinator started again after one died (queue/adoption.ts) takes up the trials the
 * agents went on training meanwhile.
 */
export interface Relayed {
  /**
   * A 'started' that takes up an attempt whose start the coordinator that died had stored, and
   * whose agent trains on: the attempt goes on (not a new one), from `resumedFrom`, the epoch
   * this database holds; `from` is the epoch it began from.
   */
  adopted?: { from: number };
  /** Sent before this coordinator took the trial up (while none ran): stored only now, not trained now. */
  caughtUp?: boolean;
}

/** One trial of a group to start: what `start` takes for it. */
export interface GroupStart {
  trial: Trial;
  job: TrialJob;
  onEvent: (event: WorkerEvent, relayed?: Relayed) => Promise<void>;
}

/**
 * Where trials train. The runner asks for a slot before it asks the search for a trial, so an
 * adaptive method chooses each trial knowing every result so far, and never more trials are out
 * than the executor can train (plus what it buffers).
 */
export interface TrialExecutor {
  /** How many trials may be out at once at most: the runner keeps one search loop per slot. */
  readonly slots: number;
  /** Waits for a free slot; the returned function gives it back. */
  reserve(): Promise<() => void>;
  /**
   * Starts one attempt at a trial; its events go to `onEvent` in order, which settles once the
   * event is stored. A trial whose task ends without a terminal event died with it (`ended`
   * settles with why).
   */
  start(trial: Trial, job: TrialJob, onEvent: (event: WorkerEvent, relayed?: Relayed) => Promise<void>): PoolTask;
  /**
   * Starts a group of trials trained as one computation (sweep/fusion.ts says which may), each
   * as `start` would start it alone; absent where the executor cannot (a queue's agents fuse
   * what they take themselves).
   */
  startGroup?(members: GroupStart[]): PoolTask[];
  /** Asks every running trial to end after its current batch; trials not started stay queued. */
  stop(): void;
  /** Ends everything at once (trials mid-batch); settles when it is all gone. */
  destroy(): Promise<void>;
}

/** This machine's pool: `workers` threads, one group of trials each (one trial, unfused). */
export class LocalTrials implements TrialExecutor {
  private readonly stopFlag = new Int32Array(new SharedArrayBuffer(4));
  private readonly pool: TrialPool;

  constructor(readonly slots: number, gpus: string[] = []) {
    this.pool = new TrialPool(slots, gpus);
  }

  reserve(): Promise<() => void> {
    return Promise.resolve(() => {});
  }

  start(_trial: Trial, job: TrialJob, onEvent: (event: WorkerEvent) => Promise<void>): PoolTask {
    return this.pool.run(job, this.stopFlag, (event) => void onEvent(event));
  }

  startGroup(members: GroupStart[]): PoolTask[] {
    return this.pool.runGroup(
      members.map((m) => m.job),
      members.map(() => this.stopFlag),
      members.map((m) => (event: WorkerEvent) => void m.onEvent(event)),
    );
  }

  stop(): void {
    Atomics.store(this.stopFlag, 0, 1);
  }

  destroy(): Promise<void> {
    return this.pool.destroy();
  }
}
