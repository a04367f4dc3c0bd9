/**
 * What the coordinators of an agent's running trials say while they train, looked at every
 * STOP_POLL_MS: a sweep's stop key (its coordinator stopped it: its trials end after their batch,
 * and go on where the stop is taken back), and each trial's job record (keys.jobs): a job its
 * coordinator no longer counts on is dropped.
 */
import type { Redis } from 'ioredis';
import { keys, parseJobRecord } from '../queue/protocol.js';
import { endRun, type Running } from './running.js';

/** How often the stop key of each sweep with a running trial is read. */
const STOP_POLL_MS = 500;

/** Why the coordinator no longer counts on a job, given its trial's record (keys.jobs); null while it does. */
export function superseded(jobId: string, record: string | null): string | null {
  const current = parseJobRecord(record);
  if (!current) return 'its sweep no longer has it (ended, or its coordinator is gone for good)';
  if (current.job !== jobId) return 'its coordinator handed the trial out again (it resumes there from its checkpoint)';
  return null;
}

/** Looks at the running trials' sweeps every STOP_POLL_MS (`running`: by BullMQ job id); clear the timer to stop. */
export function watchSweeps(redis: Redis, running: Map<string, Running>, log: (line: string) => void): NodeJS.Timeout {
  return setInterval(() => void pollStops(redis, running, log), STOP_POLL_MS);
}

/** Ends the trials of a stopped sweep after their batch, and drops those the coordinator no longer counts on. */
async function pollStops(redis: Redis, running: Map<string, Running>, log: (line: string) => void): Promise<void> {
  const sweeps = [...new Set([...running.values()].map((r) => r.job.sweep))];
  for (const sweep of sweeps) {
    const runs = [...running].filter(([, r]) => r.job.sweep === sweep);
    let stopped: string | null;
    let records: (string | null)[];
    try {
      [stopped, records] = await Promise.all([redis.get(keys.stop(sweep)), redis.hmget(keys.jobs(sweep), ...runs.map(([, r]) => r.job.trialId))]);
    } catch {
      continue; // Redis away: asked again in a moment.
    }
    runs.forEach(([id, run], i) => {
      const gone = superseded(id, records[i]);
      if (gone && !run.abandoned) {
        run.abandoned = true;
        log(`trial ${run.job.trialId} of ${sweep}: ${gone}; dropped`);
      }
      if (run.abandoned) endRun(run);
      else if (stopped) {
        Atomics.store(run.stop, 0, 1);
        run.stoppedBySweep = true;
      } else if (run.stoppedBySweep) {
        // The stop was taken back before the trial saw it (its coordinator died stopping, one
        // started again adopts it): it goes on.
        Atomics.store(run.stop, 0, 0);
        run.stoppedBySweep = false;
      }
    });
  }
}
