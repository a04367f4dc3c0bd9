/**
 * A Piscina pool of trial threads (trial-worker.ts) and the GPU processes they start: runs a
 * group of trials per task (trained as one computation; one trial alone is a group of one), each
 * trial with its events on its own MessagePort and the runner's verdicts sent back on that port. Used by a sweep on one machine (sweep/executor.ts) and by an agent that
 * takes trials from a queue (agent/agent.ts makes it, agent/training.ts runs each attempt); neither the pool nor its threads touch a database.
 */
import { MessageChannel } from 'node:worker_threads';
import { Piscina } from 'piscina';
import type { PoolData, TrialJob, TrialTask, Verdict, WorkerEvent } from './messages.js';

const WORKER_FILE = new URL('./trial-worker.js', import.meta.url);

/** Slots for the pool threads' GPU processes (a thread that is replaced takes the next slot, round). */
const GPU_PROCESS_SLOTS = 256;
/** How long GPU processes get to end by themselves once their threads are gone. */
const GPU_PROCESS_GRACE_MS = 1000;

/** One trial handed to the pool. */
export interface PoolTask {
  /** Sends the runner's verdict on an epoch to the trial's training (judged trials). */
  verdict(verdict: Verdict): void;
  /** Settles when the task has ended: null, or the error its thread died of. */
  ended: Promise<Error | null>;
  /** Closes the trial's port; call once its last event has been handled. */
  close(): void;
}

export class TrialPool {
  private readonly pool: Piscina;
  /** The GPU processes of the pool threads (worker/gpu-host.ts), by slot: 0 when none. */
  private readonly gpuPids = new Int32Array(new SharedArrayBuffer(4 * GPU_PROCESS_SLOTS));
  private destroyed: Promise<void> | undefined;

  constructor(workers: number, gpus: string[] = []) {
    const workerData: PoolData = { gpus, taken: new Int32Array(new SharedArrayBuffer(4)), gpuPids: this.gpuPids };
    this.pool = new Piscina({ filename: WORKER_FILE.href, minThreads: workers, maxThreads: workers, idleTimeout: 1000, workerData });
  }

  /**
   * Trains a trial in a pool thread. Events arrive on `onEvent` in the order the thread posted
   * them; port messages and the task's completion travel separately, so a trial's last event may
   * come after `ended` settles (the caller waits for it).
   */
  run(job: TrialJob, stop: Int32Array, onEvent: (event: WorkerEvent) => void): PoolTask {
    return this.runGroup([job], [stop], [onEvent])[0];
  }

  /**
   * Trains a group of trials as one computation in a pool thread (they share their backend,
   * dataset, split and batch size: sweep/fusion.ts); `stops[k]` stops trial k and `onEvents[k]`
   * hears its events, as run's `stop` and `onEvent`. Their tasks end together.
   */
  runGroup(jobs: TrialJob[], stops: Int32Array[], onEvents: ((event: WorkerEvent) => void)[]): PoolTask[] {
    const channels = jobs.map(() => new MessageChannel());
    channels.forEach(({ port1 }, k) => port1.on('message', onEvents[k]));
    try {
      const ports = channels.map((c) => c.port2);
      const task: TrialTask = { jobs, ports, stops };
      const ended = this.pool.run(task, { transferList: ports }).then(() => null, (err: Error) => err);
      return channels.map(({ port1 }) => ({ verdict: (v) => port1.postMessage(v), ended, close: () => port1.close() }));
    } catch (err) {
      // An open port keeps the process alive.
      for (const { port1 } of channels) port1.close();
      throw err;
    }
  }

  /** Ends the threads (mid-batch, if any still trains) and then any GPU process left. */
  destroy(): Promise<void> {
    this.destroyed ??= this.pool.destroy().then(() => endGpuProcesses(this.gpuPids));
    return this.destroyed;
  }
}

/**
 * Ends the GPU processes the pool threads leave behind. Each ends by itself once its thread's
 * channel closes; one stuck in a driver call, or stopped, would not (it ignores the terminal's
 * signals), so after a grace period whatever is left is killed. A process that ended is at worst
 * a zombie of this process by then (its thread, which would have reaped it, is gone), so its
 * pid cannot have been reused.
 */
async function endGpuProcesses(pids: Int32Array): Promise<void> {
  const left = () => Array.from(pids).filter((pid) => pid > 0);
  if (!left().length) return;
  // A timer that holds the process open: this must happen before it exits.
  await new Promise((resolve) => setTimeout(resolve, GPU_PROCESS_GRACE_MS));
  for (const pid of left()) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // Gone already.
    }
  }
}
