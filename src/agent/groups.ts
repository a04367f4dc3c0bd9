/**
 * An agent's trials trained as one computation (fused trials): the BullMQ worker hands the agent
 * its jobs one at a time, so each trial waits here for others that may fuse with it
 * (sweep/fusion.ts), and each group becomes one task of the pool. Groups are formed when a pool
 * worker is free, as the runner on one machine forms them (sweep/run-sweep.ts): trials taken
 * while every worker trains wait here, not in the pool's queue, so that those of a kind train
 * together once a worker is free, however one by one they came (a trial that ends before its
 * group frees its job at once, and the next job taken waits for the group to end). A free
 * worker starts a group as soon as it holds `fuse` trials of its kind, or once the oldest
 * waiting trial has waited GATHER_MS: the BullMQ worker fetches the jobs it has room for at
 * once, so a moment is enough to see them together.
 */
import type { TrialJob, Verdict, WorkerEvent } from '../worker/messages.js';
import type { PoolTask, TrialPool } from '../worker/trial-pool.js';
import { fusionKey, takeGroup } from '../sweep/fusion.js';

const GATHER_MS = 150;

interface Waiting {
  job: TrialJob;
  key: string;
  stop: Int32Array;
  onEvent: (event: WorkerEvent) => void;
  started: (task: PoolTask) => void;
}

export class AgentGroups {
  /** Trials waiting for a group, oldest first. */
  private waiting: Waiting[] = [];
  /** Groups in training: at most one per pool worker. */
  private training = 0;
  private gather: NodeJS.Timeout | undefined;

  constructor(private readonly pool: TrialPool, private readonly fuse: number, private readonly workers: number) {}

  /** Trains a trial in a group of its kind: what TrialPool.run does for one trial alone. */
  run(job: TrialJob, stop: Int32Array, onEvent: (event: WorkerEvent) => void): PoolTask {
    if (this.fuse <= 1) return this.pool.run(job, stop, onEvent);
    let task: PoolTask | undefined;
    let closed = false;
    /** Verdicts that came before the group started (none should: the trial has reported nothing yet). */
    const early: Verdict[] = [];
    const started = new Promise<PoolTask>((resolve) => {
      this.waiting.push({ job, key: fusionKey(job.config, job.dataDir), stop, onEvent, started: resolve });
      this.pump();
    });
    void started.then((t) => {
      task = t;
      for (const v of early.splice(0)) t.verdict(v);
      if (closed) t.close();
    });
    return {
      verdict: (v) => (task ? task.verdict(v) : early.push(v)),
      ended: started.then((t) => t.ended),
      close: () => {
        closed = true;
        task?.close();
      },
    };
  }

  /**
   * Starts what a free worker can: a group of the oldest trial's kind once it is full, or once
   * the gathering moment is over (`now`).
   */
  private pump(now = false): void {
    while (this.training < this.workers && this.waiting.length) {
      const key = this.waiting[0].key;
      const full = this.waiting.filter((w) => w.key === key).length >= this.fuse;
      if (!full && !now) {
        this.gather ??= setTimeout(() => {
          this.gather = undefined;
          this.pump(true);
        }, GATHER_MS);
        return;
      }
      this.start(takeGroup(this.waiting, this.fuse, (w) => w.key));
    }
    if (!this.waiting.length || this.training >= this.workers) {
      clearTimeout(this.gather);
      this.gather = undefined;
    }
  }

  private start(members: Waiting[]): void {
    let tasks: PoolTask[];
    try {
      tasks = this.pool.runGroup(members.map((m) => m.job), members.map((m) => m.stop), members.map((m) => m.onEvent));
    } catch (err) {
      // The pool is being closed: each trial's task ends with why, as a dead thread's would.
      const ended = Promise.resolve(err as Error);
      tasks = members.map(() => ({ verdict: () => {}, ended, close: () => {} }));
    }
    this.training++;
    // The worker is free again: the trials waiting meanwhile gather for a moment, then train.
    void tasks[0].ended.then(() => {
      this.training--;
      this.pump();
    });
    members.forEach((m, k) => m.started(tasks[k]));
  }
}
