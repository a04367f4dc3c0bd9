/**
 * An agent's trials trained as one computation (fused trials): the BullMQ worker hands the agent
 * its jobs one at a time, so each trial waits here a moment for others that may fuse with it
 * (sweep/fusion.ts), and each group becomes one task of the pool. A group starts as soon as it
 * holds `fuse` trials, or once the first of it has waited GATHER_MS: the worker fetches the jobs
 * it has room for at once, so a moment is enough to see them together.
 */
import type { TrialJob, Verdict, WorkerEvent } from '../worker/messages.js';
import type { PoolTask, TrialPool } from '../worker/trial-pool.js';
import { fusionKey } from '../sweep/fusion.js';

const GATHER_MS = 150;

interface Waiting {
  job: TrialJob;
  stop: Int32Array;
  onEvent: (event: WorkerEvent) => void;
  started: (task: PoolTask) => void;
}

export class AgentGroups {
  private readonly waiting = new Map<string, { members: Waiting[]; timer: NodeJS.Timeout }>();

  constructor(private readonly pool: TrialPool, private readonly fuse: number) {}

  /** Trains a trial in a group of its kind: what TrialPool.run does for one trial alone. */
  run(job: TrialJob, stop: Int32Array, onEvent: (event: WorkerEvent) => void): PoolTask {
    if (this.fuse <= 1) return this.pool.run(job, stop, onEvent);
    let task: PoolTask | undefined;
    let closed = false;
    /** Verdicts that came before the group started (none should: the trial has reported nothing yet). */
    const early: Verdict[] = [];
    const started = new Promise<PoolTask>((resolve) => this.add(fusionKey(job.config, job.dataDir), { job, stop, onEvent, started: resolve }));
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

  private add(key: string, member: Waiting): void {
    const group = this.waiting.get(key);
    if (!group) {
      this.waiting.set(key, { members: [member], timer: setTimeout(() => this.start(key), GATHER_MS) });
    } else {
      group.members.push(member);
    }
    if (this.waiting.get(key)!.members.length >= this.fuse) this.start(key);
  }

  private start(key: string): void {
    const group = this.waiting.get(key);
    if (!group) return;
    this.waiting.delete(key);
    clearTimeout(group.timer);
    const { members } = group;
    let tasks: PoolTask[];
    try {
      tasks = this.pool.runGroup(members.map((m) => m.job), members.map((m) => m.stop), members.map((m) => m.onEvent));
    } catch (err) {
      // The pool is being closed: each trial's task ends with why, as a dead thread's would.
      const ended = Promise.resolve(err as Error);
      tasks = members.map(() => ({ verdict: () => {}, ended, close: () => {} }));
    }
    members.forEach((m, k) => m.started(tasks[k]));
  }
}
