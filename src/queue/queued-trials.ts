/**
 * The coordinator's trial executor (`sweep FILE --queue URL`): trials go to agents as BullMQ
 * jobs, and their events come back through the sweep's events stream (events-reader.ts), each
 * entry taken here, in stream order, and acknowledged only once the runner has stored it.
 *
 * Attempts: BullMQ moves a trial whose agent died or was cut off back to the queue once its
 * lock expires, and another agent takes it (its attemptsStarted grows). Events of an earlier
 * attempt than the latest seen are stale and dropped, so an agent that comes back cannot count an
 * epoch twice or overwrite a result. The new attempt starts from the latest checkpoint this
 * side stored (the `resume` key, checkpoint-transfer.ts), and the runner rewinds the trial to it.
 *
 * Only as many trials are out as the live agents have workers, plus a few (agent-slots.ts). A
 * coordinator started again after one died adopts its jobs (adoption.ts) rather than queue their
 * trials again; taking entries and adopting jobs are steps of one line, one after another.
 */
import { Queue, QueueEvents } from 'bullmq';
import type { Redis } from 'ioredis';
import type { Trial } from '../config/experiment.js';
import { checkpointEpochs, writeCheckpointFile } from '../checkpoint/files.js';
import { diskFullText, isDiskFull } from '../util/disk-full.js';
import type { Relayed, TrialExecutor } from '../sweep/executor.js';
import type { TrialJob, Verdict, WorkerEvent } from '../worker/messages.js';
import type { PoolTask } from '../worker/trial-pool.js';
import { Adoption } from './adoption.js';
import { AgentSlots } from './agent-slots.js';
import { dropUpload, fetchUpload, keepAsResume, offerCheckpoint, withdrawOffer, withdrawOffers } from './checkpoint-transfer.js';
import { debug } from './debug.js';
import { EventsReader, type Pending } from './events-reader.js';
import type { Handed } from './handed.js';
import { JobRecords } from './job-records.js';
import type { CoordinatorLease } from './lease.js';
import { connect, redisOptions } from './redis.js';
import { jobId, keys, PREFIX, QUEUE_NAME, VERDICT_TTL_S, type QueueJob, type StreamEntry } from './protocol.js';
import type { QueueUrl } from './url.js';

/** The most search loops a coordinator keeps (each waits for a slot). */
const MAX_SLOTS = 1024;

export interface QueuedTrialsOptions {
  url: QueueUrl;
  sweep: string;
  version: string;
  /** The most trials this run may hand over (the runner's loops). */
  trials: number;
  /** The stored trials this run trains again: an earlier coordinator's jobs of others are given up at once. */
  resumable: string[];
  /** The folder of the database's checkpoints: each uploaded checkpoint is stored there. */
  checkpoints: string;
  /** This coordinator's lease of the sweep (queue/lease.ts), released when it is destroyed. */
  lease: CoordinatorLease;
  /** Said when the agents change (joined, lost) and while none is there. */
  log: (line: string) => void;
}

export class QueuedTrials implements TrialExecutor {
  readonly slots: number;
  private readonly queue: Queue;
  private readonly queueEvents: QueueEvents;
  private readonly redis: Redis;
  /** Each trial's current job (keys.jobs). */
  private readonly records: JobRecords;
  /** The stream reader's own connection (it blocks). */
  private readonly reader: Redis;
  /** Reads the events stream, and says how far it has read. */
  private readonly events: EventsReader;
  private readonly handed = new Map<string, Handed>();
  private readonly byJob = new Map<string, Handed>();
  private turn = 0;
  /** How many trials are out at once: as many as the live agents' workers, and a few. */
  private readonly agentSlots: AgentSlots;
  private closed = false;
  private stopping = false;
  private readonly reading: Promise<void>;
  /** Every job this coordinator handed out or adopted: an entry of another is an earlier coordinator's. */
  private readonly ours = new Set<string>();
  /** What earlier coordinators left: kept until adopted, or dropped. */
  private readonly adoption: Adoption;
  /** Entries are taken one at a time, in stream order, and adoptions happen between them. */
  private taking: Promise<void> = Promise.resolve();

  constructor(private readonly options: QueuedTrialsOptions) {
    this.slots = Math.max(1, Math.min(options.trials, MAX_SLOTS));
    const connection = redisOptions(options.url);
    this.queue = new Queue(QUEUE_NAME, { prefix: PREFIX, connection });
    this.queue.on('error', () => {});
    this.queueEvents = new QueueEvents(QUEUE_NAME, { prefix: PREFIX, connection });
    this.queueEvents.on('error', () => {});
    // A job BullMQ gave up on (stalled too often, refused by an agent): its trial failed.
    this.queueEvents.on('failed', ({ jobId: id, failedReason }) => {
      const handed = this.byJob.get(id);
      if (handed && !handed.ended) void this.deliverFailure(handed, `the queue gave up on it: ${failedReason}`);
    });
    // A job an agent completed: its last event is in the stream by then (an agent sends it
    // before it completes the job). Once the reader has taken every entry up to the stream's
    // end as it is now, a trial still without its result lost it on the way: it failed, and the
    // runner may try it again.
    this.queueEvents.on('completed', ({ jobId: id }) => {
      if (!this.byJob.has(id)) return;
      void this.events.readToEnd()
        .then(() => {
          const handed = this.byJob.get(id);
          if (handed && !handed.ended) return this.deliverFailure(handed, 'its agent ended it without sending its result', true);
        })
        .catch(() => {});
    });
    this.redis = connect(options.url, 'lenet-sweep-coordinator');
    this.reader = connect(options.url, 'lenet-sweep-coordinator-events');
    this.records = new JobRecords(this.redis, options.sweep);
    this.agentSlots = new AgentSlots(this.redis, options.version, options.url.shown, options.log);
    this.events = new EventsReader(this.redis, this.reader, options.sweep);
    this.adoption = new Adoption({
      redis: this.redis,
      queue: this.queue,
      events: this.events,
      serially: (step) => this.serially(step),
      own: (handed, job) => this.own(handed, job),
      takeAndAck: (pending, caughtUp) => this.takeAndAck(pending, caughtUp),
    });
    // Once all an earlier coordinator left is read, entries of jobs no trial records are dropped.
    void this.events.caughtUp.then(() => this.serially(() => (this.closed ? Promise.resolve() : this.adoption.dropUnrecorded(this.records)))).catch(() => {});
    this.reading = this.prepare().then(() => this.events.read((pending) => this.onEntry(pending)));
  }

  private async prepare(): Promise<void> {
    // A new coordinator of the sweep: an earlier one's stop flag goes; its events stay, for the
    // trials this one adopts.
    await this.redis.del(keys.stop(this.options.sweep));
    // Jobs of trials this run does not train (ended, or not in the file as it is now): their
    // agents drop them, and what they sent is dropped once read.
    const unwanted = await this.records.keepOnly(this.options.resumable);
    await withdrawOffers(this.redis, this.options.sweep, unwanted);
    await this.events.begin();
    await this.agentSlots.begin();
  }

  reserve(): Promise<() => void> {
    return this.agentSlots.reserve();
  }

  start(trial: Trial, job: TrialJob, onEvent: (event: WorkerEvent, relayed?: Relayed) => Promise<void>): PoolTask {
    let end!: (crash: Error | null) => void;
    const ended = new Promise<Error | null>((resolve) => (end = resolve));
    const handed: Handed = { trial, job: '', attempt: 0, seq: 0, onEvent, end: (crash) => ((handed.ended = true), end(crash)), ended: false };
    this.handed.set(trial.id, handed);
    this.hand(handed, job).catch((err: Error) => handed.end(new Error(`could not queue it: ${err.message}`)));
    return {
      verdict: (v) => void this.sendVerdict(handed, v),
      ended,
      close: () => {
        this.handed.delete(trial.id);
        this.byJob.delete(handed.job);
      },
    };
  }

  /** Adopts the trial's job of an earlier coordinator where there is one to adopt, else queues a new job. */
  private async hand(handed: Handed, job: TrialJob): Promise<void> {
    const { trial } = handed;
    // An agent taking the trial starts from the checkpoint this database resumes it from, and
    // from none when it has none (not from one an earlier run left in Redis).
    if (job.resume) await offerCheckpoint(this.redis, this.options.sweep, trial.id, job.checkpoints, job.resume);
    else await withdrawOffer(this.redis, this.options.sweep, trial.id);
    const record = await this.records.get(trial.id);
    if (record && !this.ours.has(record.job) && (await this.adoption.adopt(handed, record, job.resume ?? 0))) return;
    const id = jobId(this.options.sweep, trial.id, this.options.lease.token, ++this.turn);
    this.own(handed, id);
    // Recorded first: an agent still training an earlier job of the trial drops it.
    await this.records.set(trial.id, { job: id });
    const data: QueueJob = { version: this.options.version, sweep: this.options.sweep, trialId: trial.id, config: job.config, judged: job.judged, lease: this.options.lease.token };
    await this.queue.add('trial', data, { jobId: id, removeOnComplete: true, removeOnFail: true });
  }

  /** The job is the trial's attempt now: its entries are taken (an entry of a job not ours is an earlier coordinator's). */
  private own(handed: Handed, job: string): void {
    handed.job = job;
    this.ours.add(job);
    this.byJob.set(job, handed);
  }

  private async sendVerdict(handed: Handed, verdict: Verdict): Promise<void> {
    const key = keys.verdicts(this.options.sweep, handed.trial.id, handed.attempt);
    await this.redis.multi().rpush(key, JSON.stringify(verdict)).expire(key, VERDICT_TTL_S).exec();
  }

  private async deliverFailure(handed: Handed, error: string, retryable = false): Promise<void> {
    await handed.onEvent({ type: 'failed', trialId: handed.trial.id, error, retryable });
    handed.end(null);
  }

  /** An entry the reader read: taken, or kept (an earlier coordinator's job), after the steps before it. */
  private onEntry({ id, entry }: Pending): Promise<void> {
    return this.serially(async () => {
      // An earlier coordinator's job: kept until its trial starts here (adopted) or not.
      if (!this.ours.has(entry.job)) {
        this.adoption.keep({ id, entry });
        return;
      }
      await this.takeAndAck({ id, entry });
    });
  }

  /** Runs one step of taking entries or adopting a job, after those before it. */
  private serially(step: () => Promise<void>): Promise<void> {
    this.taking = this.taking.then(step, step);
    return this.taking;
  }

  /** Takes an entry; acknowledged (and deleted) once stored, else left for a coordinator started again. */
  private async takeAndAck({ id, entry }: Pending, caughtUp = false): Promise<void> {
    try {
      await this.take(entry, caughtUp);
    } catch (err) {
      this.options.log(`could not take an event from ${keys.events(this.options.sweep)}: ${(err as Error).message}`);
      return;
    }
    await this.events.ack(id);
  }

  /** One entry: passed to the runner (stored) unless it is stale; `caughtUp`: sent before this coordinator took its trial up. */
  private async take(entry: StreamEntry, caughtUp = false): Promise<void> {
    const handed = this.byJob.get(entry.job);
    // Of an adopted attempt, its start and the epochs the database holds were stored before.
    const adopted = handed?.adopted;
    if (adopted && entry.attempt === adopted.attempt) {
      const event = entry.event;
      if (event.type === 'started' || ((event.type === 'epoch' || event.type === 'progress') && (event.type === 'epoch' ? event.metrics.epoch : event.epoch) <= adopted.through)) {
        debug(`passed over the ${event.type} of adopted ${entry.job} stored before`);
        return dropUpload(this.redis, entry);
      }
    }
    // Not a job of this run, or an attempt an agent lost: stale.
    if (!handed || handed.ended || entry.attempt < handed.attempt) {
      debug(`passed over a stale ${entry.event.type} of ${entry.job} attempt ${entry.attempt} (${handed ? `latest ${handed.attempt}${handed.ended ? ', ended' : ''}` : 'not handed out'})`);
      return dropUpload(this.redis, entry);
    }
    if (entry.attempt === handed.attempt && entry.seq <= handed.seq) {
      debug(`passed over entry ${entry.seq} of ${entry.job} attempt ${entry.attempt} again (sent twice)`);
      return;
    }
    if (entry.attempt > handed.attempt) handed.seq = 0;
    handed.attempt = entry.attempt;
    handed.seq = entry.seq;
    let event = entry.event;
    if (event.type === 'started' && event.resumedFrom > 0 && !checkpointEpochs(this.options.checkpoints, handed.trial.id).includes(event.resumedFrom)) {
      // Resumed from a checkpoint this database does not hold (one another run left in Redis):
      // tried again, from the checkpoint it does hold.
      await withdrawOffer(this.redis, this.options.sweep, handed.trial.id).catch(() => {});
      await this.deliverFailure(handed, `agent ${entry.agent} resumed it from epoch ${event.resumedFrom}, a checkpoint this database does not hold`, true);
      return;
    }
    if (event.type === 'epoch') {
      const upload = await fetchUpload(this.redis, entry.upload, handed.trial.id, event.metrics.epoch);
      if ('problem' in upload) {
        // An epoch is stored only with its state: this attempt ends, and the trial is tried again
        // from the last checkpoint stored here.
        await this.deliverFailure(handed, `epoch ${event.metrics.epoch} from agent ${entry.agent} could not be stored: ${upload.problem}`, true);
        return;
      }
      const { bytes, checkpoint } = upload;
      try {
        event = { ...event, checkpoint: writeCheckpointFile(this.options.checkpoints, handed.trial.id, checkpoint.epoch, bytes) };
      } catch (err) {
        if (!isDiskFull(err)) throw err;
        // The disk under this database's checkpoints is full: as on one machine, this attempt
        // ends here, the trial interrupted, and the sweep stops (sweep/run-sweep.ts). Ended as
        // any attempt (below), so that a coordinator started again gives the trial out anew from
        // the checkpoint stored here, and does not adopt the attempt without this epoch.
        await dropUpload(this.redis, entry);
        event = { type: 'failed', trialId: handed.trial.id, error: diskFullText({ path: this.options.checkpoints, holding: 'the checkpoints folder', needed: bytes.length }), diskFull: true };
      }
    }
    if (event.type === 'started') {
      // A coordinator started after this one dies goes on with this attempt from here. Recorded
      // before it is stored, so that one dying in between leaves it to be adopted (stored then,
      // as a new attempt where the database lacks it), not taken from the stream as another attempt.
      handed.record = { job: handed.job, attempt: entry.attempt, started: event, stored: event.resumedFrom };
      await this.records.set(handed.trial.id, handed.record);
    }
    await handed.onEvent(event, caughtUp ? { caughtUp } : undefined);
    if (event.type === 'epoch' && entry.upload) {
      // Stored: it is now the checkpoint a takeover starts from, and the epoch a coordinator
      // started after this one must hold to adopt the job.
      const write = keepAsResume(this.redis.multi(), this.options.sweep, handed.trial.id, entry.upload);
      if (handed.record) this.records.setIn(write, handed.trial.id, (handed.record = { ...handed.record, stored: event.metrics.epoch }));
      await write.exec().catch(() => {});
    }
    if (event.type === 'finished' || event.type === 'failed' || event.type === 'skipped') {
      // (A retryable failure is tried again by the runner as a new job, from the checkpoint stored here.)
      await withdrawOffer(this.redis, this.options.sweep, handed.trial.id).catch(() => {});
      await this.records.remove(handed.trial.id).catch(() => {});
      handed.end(null);
    }
  }

  stop(): void {
    this.stopping = true;
    this.agentSlots.stop();
    void this.redis.set(keys.stop(this.options.sweep), '1').catch(() => {});
    // Trials still waiting in the queue do not start: taken out, they stay queued. (Only those
    // waiting: BullMQ's remove also answers 1 for a job that is gone, completed.)
    for (const handed of this.handed.values()) {
      void this.queue
        .getJobState(handed.job)
        .then((state) => (['waiting', 'delayed', 'prioritized', 'paused'].includes(state) ? this.queue.remove(handed.job) : 0))
        .then(async (removed) => {
          if (removed && !handed.ended) await this.serially(() => this.take({ job: handed.job, attempt: Number.MAX_SAFE_INTEGER, agent: '', seq: 1, event: { type: 'skipped', trialId: handed.trial.id } }));
        })
        .catch(() => {});
    }
  }

  async destroy(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.agentSlots.close();
    this.events.close();
    for (const handed of this.handed.values()) if (!handed.ended) handed.end(new Error('the coordinator stopped'));
    await this.reading.catch(() => {});
    await this.taking.catch(() => {});
    // The sweep ended here (not stopped): what earlier coordinators left that no trial adopted
    // goes, and no trial has a job any more (an agent still on one drops it).
    if (!this.stopping) {
      await this.adoption.dropAll();
      await this.records.clear().catch(() => {});
    }
    await Promise.allSettled([this.queue.close(), this.queueEvents.close(), this.options.lease.release()]);
    this.redis.disconnect();
    this.reader.disconnect();
  }
}
