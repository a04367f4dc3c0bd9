/**
 * A trial the coordinator has handed to the queue, as its executor (queued-trials.ts) and the
 * adoption of an earlier coordinator's job (adoption.ts) follow it: which job is its attempt now,
 * how far its entries are taken, and where its events go, until its last event.
 */
import type { Trial } from '../config/experiment.js';
import type { Relayed } from '../sweep/executor.js';
import type { WorkerEvent } from '../worker/messages.js';
import type { TrialJobRecord } from './protocol.js';

/** A trial handed to the queue, until its last event. */
export interface Handed {
  trial: Trial;
  job: string;
  /** The latest attempt seen (BullMQ's attemptsStarted); 0 before the first event. */
  attempt: number;
  /** The latest entry taken of that attempt (StreamEntry.seq). */
  seq: number;
  onEvent: (event: WorkerEvent, relayed?: Relayed) => Promise<void>;
  end: (crash: Error | null) => void;
  ended: boolean;
  /**
   * An earlier coordinator's job, adopted: the attempt it had stored the 'started' of, and the
   * epoch the database holds (its entries up to there were stored already).
   */
  adopted?: { attempt: number; through: number };
  /** What keys.jobs says of the trial's job (kept up to date as its events are stored). */
  record?: TrialJobRecord;
}
