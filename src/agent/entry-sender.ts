/**
 * One attempt's entries on its sweep's events stream (agent → coordinator): each event is a
 * StreamEntry numbered in the order sent (seq: an entry sent twice is recognised), and an epoch's
 * checkpoint is uploaded first (queue/checkpoint-transfer.ts), so the coordinator stores an epoch
 * only with its state. A full disk here is this agent's, not the sweep's: the trial fails, to be
 * tried again from its last checkpoint on an agent with room.
 */
import type { Redis } from 'ioredis';
import { uploadCheckpoint } from '../queue/checkpoint-transfer.js';
import { keys, type QueueJob, type StreamEntry } from '../queue/protocol.js';
import type { WorkerEvent } from '../worker/messages.js';

/** What an agent has sent: its epochs and their images, for its heartbeat (the dashboard's images/s). */
export interface Sent {
  epochs: number;
  images: number;
}

export interface EntrySenderParts {
  redis: Redis;
  job: QueueJob;
  /** The BullMQ job's id, and how many times it has been taken (its attemptsStarted). */
  jobId: string;
  attempt: number;
  /** The agent's name, its checkpoint folder (where the trial's worker writes them), and its tally. */
  agent: string;
  checkpoints: string;
  sent: Sent;
  log: (line: string) => void;
}

export class EntrySender {
  private seq = 0;

  constructor(private readonly parts: EntrySenderParts) {}

  /** Sends an event as the attempt's next entry; `upload`: the key its epoch's checkpoint is under. */
  send(event: WorkerEvent, upload?: string): Promise<unknown> {
    const { redis, job, jobId, attempt, agent } = this.parts;
    const entry: StreamEntry = { job: jobId, attempt, seq: ++this.seq, agent, event, ...(upload ? { upload } : {}) };
    return redis.xadd(keys.events(job.sweep), '*', 'm', JSON.stringify(entry));
  }

  /** Sends an event of the trial's training; an epoch's checkpoint goes first, under its own key. */
  async relay(event: WorkerEvent): Promise<void> {
    const { redis, job, attempt, agent, checkpoints, sent, log } = this.parts;
    if (event.type === 'failed' && event.diskFull) {
      // This agent's disk, not the sweep's: the trial goes back to be tried again from its last
      // checkpoint (on an agent with room), rather than stopping the sweep as a coordinator's would.
      const error = `on agent ${agent}: ${event.error}; free some space there`;
      log(`trial ${job.trialId} of ${job.sweep}: ${error}`);
      await this.send({ type: 'failed', trialId: event.trialId, error, retryable: true });
      return;
    }
    if (event.type !== 'epoch') {
      await this.send(event);
      return;
    }
    const upload = await uploadCheckpoint(redis, checkpoints, job.sweep, job.trialId, attempt, event.metrics.epoch);
    // The path is this agent's: the coordinator records its own.
    await this.send({ ...event, checkpoint: { ...event.checkpoint, path: '' } }, upload);
    sent.epochs++;
    sent.images += Math.round(event.metrics.images_per_s * event.metrics.seconds);
  }
}
