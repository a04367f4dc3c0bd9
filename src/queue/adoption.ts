/**
 * A coordinator started again after one died adopts its jobs (keys.jobs names each trial's,
 * job-records.ts): agents go on training them meanwhile, and what they sent stays in the stream
 * unacknowledged. Here those entries are kept, by job, as the reader comes upon them. When the
 * runner starts such a trial again (from the checkpoint the database holds), the job still queued
 * or running, or whose result is in the stream, becomes this attempt: its entries not yet stored
 * are taken in order (the runner is told they are caught up, not trained now), and nothing is
 * trained twice. An attempt whose start the database holds goes on as that attempt (the runner is
 * told it is adopted), not as a new one. Entries of jobs not adopted, or that no trial records
 * any more, are dropped.
 */
import type { Queue } from 'bullmq';
import type { Redis } from 'ioredis';
import { isTerminal } from '../worker/messages.js';
import { dropUpload } from './checkpoint-transfer.js';
import { debug } from './debug.js';
import type { EventsReader, Pending } from './events-reader.js';
import type { Handed } from './handed.js';
import type { JobRecords } from './job-records.js';
import type { TrialJobRecord } from './protocol.js';

/** Job states in which an earlier coordinator's job is still to be trained or training: adopted. */
const ADOPTABLE = ['active', 'waiting', 'delayed', 'prioritized', 'paused', 'waiting-children'];

/** What adopting a job works with: the executor's connections and reader, and its steps. */
export interface AdoptionParts {
  /** Drops a dropped entry's upload. */
  redis: Redis;
  /** Says what state an earlier job is in. */
  queue: Queue;
  /** Says when everything an earlier coordinator left is read; acknowledges dropped entries. */
  events: EventsReader;
  /** Runs one step after the executor's steps of taking entries and adopting jobs before it. */
  serially: (step: () => Promise<void>) => Promise<void>;
  /** Makes a job the trial's attempt here: its entries are taken from now on. */
  own: (handed: Handed, job: string) => void;
  /** Takes an entry as the executor does (`caughtUp`: sent before this coordinator took the trial up). */
  takeAndAck: (pending: Pending, caughtUp: boolean) => Promise<void>;
}

export class Adoption {
  /** Entries of earlier coordinators' jobs, unacknowledged, until their trial starts here (adopted) or not. */
  private readonly orphans = new Map<string, Pending[]>();

  constructor(private readonly parts: AdoptionParts) {}

  /** An entry of an earlier coordinator's job: kept until its trial starts here (adopted) or not. */
  keep({ id, entry }: Pending): void {
    const kept = this.orphans.get(entry.job) ?? [];
    if (!kept.some((p) => p.id === id)) kept.push({ id, entry });
    this.orphans.set(entry.job, kept);
  }

  /**
   * An earlier coordinator's job of the trial becomes this attempt when it is still queued or
   * running, or its result is among the entries it left; its entries are then taken, in order.
   * Otherwise its entries are dropped (false: a new job is queued).
   */
  async adopt(handed: Handed, record: TrialJobRecord, through: number): Promise<boolean> {
    const { events, queue } = this.parts;
    await events.caughtUp;
    const state = await queue.getJobState(record.job);
    // A job no longer queued or running may have been completed since this coordinator began,
    // its result sent after the end of what the earlier one left: its agent sends the result
    // before it completes the job, so the result is read once the reader is past the stream's
    // end as it is now. (Decided without it, the trial was queued again and trained twice.)
    if (!ADOPTABLE.includes(state)) await events.readToEnd();
    const waiting = this.orphans.get(record.job) ?? [];
    // Only where this database holds every epoch the dead coordinator took off the stream (not
    // under --rerun, nor with another database that lacks them). It may hold more: an epoch
    // stored just before the coordinator died, whose entry is still there, is passed over.
    const stored = record.started ? (record.stored ?? record.started.resumedFrom) : 0;
    // An agent ends a trial 'interrupted' only when the coordinator told it to (one stopped at
    // once, with Ctrl-C twice): no result to take, so the trial trains on from the checkpoint this
    // database holds, as a new job (adopting it ended the trial interrupted, never trained further).
    const stopped = waiting.some(({ entry: { event } }) => event.type === 'finished' && event.status === 'interrupted');
    const adopt = !stopped && stored <= through && (ADOPTABLE.includes(state) || waiting.some((p) => isTerminal(p.entry.event)));
    await this.parts.serially(async () => {
      const left = this.orphans.get(record.job) ?? [];
      this.orphans.delete(record.job);
      if (!adopt) {
        for (const p of left) await this.drop(p);
        return;
      }
      this.parts.own(handed, record.job);
      const attempt = record.attempt ?? 0;
      handed.attempt = attempt;
      // Its attempt had started (the database has its start): it goes on, the same attempt, from
      // the epoch the database holds, unless it is back in the queue with nothing more sent.
      const going = record.started && (state === 'active' || left.some((p) => p.entry.attempt === attempt));
      handed.record = { ...record, stored: through };
      if (going && record.started) {
        handed.adopted = { attempt, through };
        await handed.onEvent({ ...record.started, resumedFrom: through }, { adopted: { from: record.started.resumedFrom } });
      }
      // What its agents sent meanwhile is stored now: caught up, not trained now.
      for (const p of left) await this.parts.takeAndAck(p, true);
    });
    debug(`${adopt ? 'adopted' : 'did not adopt'} ${record.job} (${state}, ${waiting.length} entries it left)`);
    return adopt;
  }

  /** Drops the kept entries of earlier jobs that no trial records any more (not to be adopted). */
  async dropUnrecorded(records: JobRecords): Promise<void> {
    if (!this.orphans.size) return;
    const recorded = await records.jobs();
    for (const [job, kept] of this.orphans) {
      if (recorded.has(job)) continue;
      this.orphans.delete(job);
      for (const p of kept) await this.drop(p);
    }
  }

  /** Drops every entry kept (the sweep ended: no trial adopts them any more). */
  async dropAll(): Promise<void> {
    for (const kept of this.orphans.values()) for (const p of kept) await this.drop(p).catch(() => {});
  }

  /** An entry no attempt takes: its upload and itself go. */
  private async drop({ id, entry }: Pending): Promise<void> {
    await dropUpload(this.parts.redis, entry);
    await this.parts.events.ack(id);
  }
}
