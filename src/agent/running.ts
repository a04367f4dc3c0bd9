/**
 * A trial an agent trains now, as the agent (its lock, its shutdown), its sweep's stop key
 * (sweep-watch.ts) and its training (training.ts) all see it: whether its events still count,
 * and how to end it.
 */
import type { QueueJob } from '../queue/protocol.js';

export interface Running {
  job: QueueJob;
  attempt: number;
  stop: Int32Array;
  /** The lock was lost (the agent was cut off and the trial went to another agent): its events no longer count. */
  abandoned: boolean;
  /** Ends the trial's training even while it waits for a verdict (one that may never come). */
  end: () => void;
  /** The agent is being shut down: the trial goes back to the queue for another agent. */
  handBack: boolean;
  /** The stop flag was set because the sweep's stop key was. */
  stoppedBySweep?: boolean;
}

/** Stops a run's training: after its batch, or at once where it waits for a verdict. */
export function endRun(run: Running): void {
  Atomics.store(run.stop, 0, 1);
  run.end();
}
