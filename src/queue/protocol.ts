/**
 * What travels between a coordinator (`sweep FILE --queue URL`) and its agents (`sweep agent`)
 * through Redis, and under which keys. The trials are BullMQ jobs on one queue; each sweep has
 * its own keys under `lenet-sweep:sweep:<name>:`:
 *
 *   events            stream, agents → coordinator: every WorkerEvent of every attempt, read by
 *                     the coordinator's consumer group (a restarted coordinator reads on where it
 *                     stopped: entries are acknowledged only once written to the database)
 *   upload:<t>:<a>:<e> an epoch's checkpoint, agent → coordinator (bytes, with a time to live)
 *   resume:<t>        the trial's latest checkpoint the database holds, coordinator → the agent
 *                     that takes the trial over (bytes, with a time to live)
 *   verdict:<t>:<a>   list, coordinator → the agent training attempt a: the rule's verdicts
 *   stop              set when the coordinator stops the sweep (Ctrl-C): running trials end after
 *                     their batch, taken ones do not start
 *   coordinator       the coordinator's lease (queue/lease.ts): one coordinator per sweep
 *
 * Agents announce themselves under `lenet-sweep:agent:<name>` (a heartbeat with a time to live).
 * Every message is JSON checked on arrival (`parseJob`, `parseEntry`): a job can name no path
 * (its data is found by the agent in its own folders) and must carry this version.
 */
import type { Redis } from 'ioredis';
import type { Experiment } from '../config/experiment.types.js';
import type { Verdict, WorkerEvent } from '../worker/messages.js';

export const PREFIX = 'lenet-sweep';
/** The BullMQ queue all sweeps' trials go through. */
export const QUEUE_NAME = 'trials';
/** The coordinator's consumer group on a sweep's events stream. */
export const GROUP = 'coordinator';

/** How long an uploaded or resumable checkpoint lives in Redis if nobody takes it. */
export const CHECKPOINT_TTL_S = 24 * 3600;
/** The largest checkpoint an agent sends (a LeNet's is about 1 MB; this guards Redis's memory). */
export const MAX_CHECKPOINT_BYTES = 64 * 1024 * 1024;
/** How long verdict lists live once written. */
export const VERDICT_TTL_S = 3600;
/** An agent's heartbeat: written this often, and gone after the TTL without one. */
export const HEARTBEAT_MS = 2000;
export const HEARTBEAT_TTL_MS = 10_000;

const sweepKey = (sweep: string) => `${PREFIX}:sweep:${encodeURIComponent(sweep)}`;

export const keys = {
  events: (sweep: string) => `${sweepKey(sweep)}:events`,
  upload: (sweep: string, trial: string, attempt: number, epoch: number) => `${sweepKey(sweep)}:upload:${trial}:${attempt}:${epoch}`,
  resume: (sweep: string, trial: string) => `${sweepKey(sweep)}:resume:${trial}`,
  verdicts: (sweep: string, trial: string, attempt: number) => `${sweepKey(sweep)}:verdict:${trial}:${attempt}`,
  stop: (sweep: string) => `${sweepKey(sweep)}:stop`,
  /**
   * Each trial's current job (a hash: trial id → TrialJobRecord). An agent drops a job once its
   * trial's record names another (the coordinator handed the trial out again); a coordinator
   * started after another died adopts the jobs recorded here instead of starting them again.
   */
  jobs: (sweep: string) => `${sweepKey(sweep)}:jobs`,
  /** The coordinator's lease (queue/lease.ts): JSON with the token its jobs carry. */
  coordinator: (sweep: string) => `${sweepKey(sweep)}:coordinator`,
  agent: (name: string) => `${PREFIX}:agent:${encodeURIComponent(name)}`,
  agentPattern: () => `${PREFIX}:agent:*`,
};

/** A trial as a BullMQ job: everything an agent needs to train it, and no path. */
export interface QueueJob {
  /** The coordinator's lenet-sweep version: an agent of another version takes nothing. */
  version: string;
  sweep: string;
  trialId: string;
  config: Experiment;
  /** The sweep has an early-termination rule: after each epoch but the last, training waits for a verdict. */
  judged: boolean;
  /** The token of the coordinator's lease that handed it out (it makes the job's id unique). */
  lease: string;
}

/** A trial's current job, as the coordinator records it (keys.jobs). */
export interface TrialJobRecord {
  job: string;
  /** The attempt whose 'started' the coordinator stored, and that event: an adopting coordinator starts the trial's attempt from it. */
  attempt?: number;
  started?: Extract<WorkerEvent, { type: 'started' }>;
  /** The trial's last epoch the coordinator stored: a job is adopted only by a database that holds the same. */
  stored?: number;
}

/** A trial's job record as stored; null when it is not one. */
export function parseJobRecord(value: string | null): TrialJobRecord | null {
  if (!value) return null;
  try {
    const record = JSON.parse(value) as TrialJobRecord;
    return isObject(record) && typeof record.job === 'string' ? record : null;
  } catch {
    return null;
  }
}

/** An agent, as its heartbeat says. */
export interface AgentInfo {
  name: string;
  host: string;
  version: string;
  workers: number;
  /** Trials each worker trains as one computation (absent from agents before fused trials: 1). */
  fuse?: number;
  /** Trials it trains now. */
  busy: number;
  /** Epochs it has sent and their images, for the dashboard's images/s. */
  epochs: number;
  images: number;
  pid: number;
}

/** The live agents of a version, as their heartbeats say (keys that lapsed are gone). */
export async function liveAgents(redis: Redis, version: string): Promise<AgentInfo[]> {
  const found: AgentInfo[] = [];
  let cursor = '0';
  do {
    const [next, names] = await redis.scan(cursor, 'MATCH', keys.agentPattern(), 'COUNT', 500);
    cursor = next;
    const values = names.length ? await redis.mget(...names) : [];
    for (const v of values) {
      if (!v) continue;
      try {
        const info = JSON.parse(v) as AgentInfo;
        if (info.version === version) found.push(info);
      } catch {
        // Not an agent's heartbeat.
      }
    }
  } while (cursor !== '0');
  return found;
}

/** One entry of a sweep's events stream: a worker event of one attempt at one trial. */
export interface StreamEntry {
  /** The BullMQ job, and how many times it has been taken (BullMQ's attemptsStarted): a later attempt makes the earlier ones stale. */
  job: string;
  attempt: number;
  /**
   * The entry's place among its attempt's entries (1, 2, …): an entry sent twice (a reply lost
   * when Redis went away, and the command sent again on reconnection) is recognised and dropped.
   */
  seq: number;
  agent: string;
  event: WorkerEvent;
  /** With an 'epoch' event: the key its checkpoint was uploaded under. */
  upload?: string;
}

export type { Verdict };

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/** A job's data as it arrived, checked for shape (the config is checked against the schema by the agent). */
export function parseJob(data: unknown): QueueJob | string {
  if (!isObject(data)) return 'the job is not an object';
  const { version, sweep, trialId, config, judged, lease } = data;
  if (typeof version !== 'string') return 'the job carries no version';
  if (typeof sweep !== 'string' || !sweep) return 'the job names no sweep';
  if (typeof trialId !== 'string' || !/^[0-9a-f]{6,64}$/.test(trialId)) return 'the job has no valid trial id';
  if (!isObject(config)) return 'the job has no config';
  if (typeof judged !== 'boolean') return 'the job does not say whether it is judged';
  if (typeof lease !== 'string') return 'the job carries no lease';
  return { version, sweep, trialId, config: config as unknown as Experiment, judged, lease };
}

const EVENT_TYPES = new Set(['started', 'progress', 'epoch', 'finished', 'skipped', 'failed']);

/** A stream entry's fields as Redis returns them; null when it is not one of ours. */
export function parseEntry(fields: string[]): StreamEntry | null {
  const at = fields.indexOf('m');
  if (at < 0 || at + 1 >= fields.length) return null;
  let value: unknown;
  try {
    value = JSON.parse(fields[at + 1]);
  } catch {
    return null;
  }
  if (!isObject(value) || !isObject(value.event)) return null;
  const { job, attempt, seq, agent, event, upload } = value;
  if (typeof job !== 'string' || typeof attempt !== 'number' || typeof seq !== 'number' || typeof agent !== 'string') return null;
  if (typeof event.type !== 'string' || !EVENT_TYPES.has(event.type) || typeof event.trialId !== 'string') return null;
  if (upload !== undefined && typeof upload !== 'string') return null;
  return value as unknown as StreamEntry;
}

/**
 * The id a trial's job gets: unique per coordinator (its lease) and handing-over, so a trial
 * handed over again, or by a coordinator started again, is a new job.
 */
export function jobId(sweep: string, trialId: string, lease: string, turn: number): string {
  return `${encodeURIComponent(sweep)}.${trialId}.${lease.slice(0, 8)}.${turn}`;
}
