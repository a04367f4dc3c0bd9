/**
 * Each trial's current job, as the coordinator records it in its sweep's keys.jobs (protocol.ts
 * says what a record holds). Agents and later coordinators go by these records: an agent drops a
 * job once its trial's record names another job, or none; a coordinator started after this one
 * died adopts the recorded jobs (adoption.ts), going on with the attempt whose start a record
 * holds. When a record is written, before or after what it tells of, matters: the executor
 * (queued-trials.ts) keeps that order, and says why at each write.
 */
import type { ChainableCommander, Redis } from 'ioredis';
import { inBatches } from './redis.js';
import { keys, parseJobRecord, type TrialJobRecord } from './protocol.js';

export class JobRecords {
  private readonly key: string;

  constructor(
    private readonly redis: Redis,
    sweep: string,
  ) {
    this.key = keys.jobs(sweep);
  }

  /** Forgets the jobs of every trial but these; answers the trials forgotten. */
  async keepOnly(trials: string[]): Promise<string[]> {
    const kept = new Set(trials);
    const unwanted = Object.keys(await this.redis.hgetall(this.key)).filter((trial) => !kept.has(trial));
    await inBatches(unwanted, (fields) => this.redis.hdel(this.key, ...fields));
    return unwanted;
  }

  /** The trial's record; null when it has none (or not one that parses). */
  async get(trial: string): Promise<TrialJobRecord | null> {
    return parseJobRecord(await this.redis.hget(this.key, trial));
  }

  async set(trial: string, record: TrialJobRecord): Promise<void> {
    await this.redis.hset(this.key, trial, JSON.stringify(record));
  }

  /** Adds writing the trial's record to `write` (a MULTI), to be stored with what else it holds. */
  setIn(write: ChainableCommander, trial: string, record: TrialJobRecord): ChainableCommander {
    return write.hset(this.key, trial, JSON.stringify(record));
  }

  /** The trial has no job any more (it ended). */
  async remove(trial: string): Promise<void> {
    await this.redis.hdel(this.key, trial);
  }

  /** The jobs recorded now, of every trial. */
  async jobs(): Promise<Set<string | undefined>> {
    return new Set(Object.values(await this.redis.hgetall(this.key)).map((v) => parseJobRecord(v)?.job));
  }

  /** No trial of the sweep has a job any more. */
  async clear(): Promise<void> {
    await this.redis.del(this.key);
  }
}
