/**
 * An agent (`sweep agent --queue URL`): takes trials from the queue's BullMQ jobs and trains
 * them on its own pool (worker/trial-pool.ts), `workers` groups at a time, each of up to `fuse`
 * trials trained as one (groups.ts, training.ts). Each trial's
 * events go to its sweep's events stream, each epoch's checkpoint with them (entry-sender.ts); a
 * trial taken over from a lost agent starts from the latest checkpoint the coordinator holds. The
 * agent never writes a database: the coordinator is the one writer.
 *
 * Here, a job is taken or not: it must come from a coordinator of this version, be one its
 * coordinator still counts on (sweep-watch.ts), and pass the agent's checks (job-checks.ts); one
 * taken after its sweep was stopped stays queued, and one whose data this agent lacks is left for
 * another agent, until every live agent has said it cannot. While the agent runs, its heartbeat
 * says it is there (heartbeat.ts); a trial whose lock it loses goes on on another agent.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { DelayedError, WaitingError, Worker, type Job } from 'bullmq';
import type { Redis } from 'ioredis';
import { removeTrialCheckpoints } from '../checkpoint/files.js';
import type { Experiment } from '../config/experiment.types.js';
import { UserError } from '../config/errors.js';
import { prepareDataset, type PreparedDataset } from '../data/sources.js';
import { TrialPool } from '../worker/trial-pool.js';
import { connect, redisOptions } from '../queue/redis.js';
import { keys, liveAgents, parseJob, PREFIX, QUEUE_NAME, type AgentInfo, type QueueJob } from '../queue/protocol.js';
import { EntrySender, type Sent } from './entry-sender.js';
import { Heartbeat } from './heartbeat.js';
import { dataProblem, jobProblem } from './job-checks.js';
import type { AgentOptions } from './options.js';
import { endRun, type Running } from './running.js';
import { superseded, watchSweeps } from './sweep-watch.js';
import { AgentGroups } from './groups.js';
import { trainAttempt } from './training.js';

/** How long a trial this agent cannot train waits for another agent to take it. */
const PASS_ON_DELAY_MS = 2000;

/** Why an agent gave up on taking trials (a coordinator of another version): the command ends with 2. */
export class AgentRefusal extends UserError {}

export class Agent {
  private readonly pool: TrialPool;
  private readonly groups: AgentGroups;
  private readonly redis: Redis;
  private readonly heartbeat: Heartbeat;
  private worker: Worker | undefined;
  private readonly running = new Map<string, Running>();
  private readonly datasets = new Map<string, Promise<PreparedDataset>>();
  private readonly checkpoints = mkdtempSync(join(tmpdir(), 'lenet-sweep-agent-'));
  /** Looks at the running trials' sweeps (their stop keys, their job records). */
  private sweepWatch: NodeJS.Timeout | undefined;
  private readonly sent: Sent = { epochs: 0, images: 0 };
  private closing: Promise<void> | undefined;
  /** Set when the agent must end (refusal, or asked to): `finished` settles with it. */
  private ending: ((error?: Error) => void) | undefined;
  readonly finished: Promise<Error | undefined>;

  constructor(private readonly options: AgentOptions) {
    this.pool = new TrialPool(options.workers, options.gpus);
    this.groups = new AgentGroups(this.pool, options.fuse, options.workers);
    this.redis = connect(options.url, 'lenet-sweep-agent');
    this.heartbeat = new Heartbeat(this.redis, options.name, () => this.info());
    this.finished = new Promise((resolve) => (this.ending = resolve));
  }

  /** Starts taking trials; refused when another live agent has this name. */
  async start(): Promise<void> {
    const { options } = this;
    const other = await this.heartbeat.claim();
    if (other) {
      await this.close(true);
      throw new UserError(`--name: an agent named ${options.name} already takes trials from ${options.url.shown} (on ${other.host ?? '?'}, pid ${other.pid ?? '?'}); give this one another --name`);
    }
    this.worker = new Worker(QUEUE_NAME, (job, token) => this.process(job, token!), {
      prefix: PREFIX,
      connection: redisOptions(options.url),
      // Each worker trains up to `fuse` trials as one: the agent takes that many at once.
      concurrency: options.workers * options.fuse,
      lockDuration: options.lockMs,
      stalledInterval: Math.max(500, Math.floor(options.lockMs / 2)),
      // A trial whose agents keep dying (killed, cut off) is taken again this many times; then it fails.
      maxStalledCount: 10,
      autorun: true,
    });
    // Connection errors are retried by ioredis; the worker's other errors (a lost lock's
    // renewal, a completion refused after the trial went elsewhere) are expected here.
    this.worker.on('error', () => {});
    this.worker.on('lockRenewalFailed', (ids) => {
      for (const id of ids) {
        const run = this.running.get(id);
        if (!run || run.abandoned) continue;
        run.abandoned = true;
        endRun(run);
        options.log(`lost the lock on trial ${run.job.trialId} of ${run.job.sweep} (cut off for longer than ${options.lockMs / 1000} s?): another agent takes it over; this one stops it`);
      }
    });
    this.heartbeat.start();
    this.sweepWatch = watchSweeps(this.redis, this.running, options.log);
  }

  /** Stops taking trials; running ones end after their batch when `now`, else they finish. */
  close(now: boolean): Promise<void> {
    if (now) {
      for (const run of this.running.values()) {
        // Its events stop here; the queue gives it to another agent, from its last checkpoint.
        run.abandoned = true;
        run.handBack = true;
        endRun(run);
      }
    }
    this.closing ??= this.shutdown();
    return this.closing;
  }

  private async shutdown(): Promise<void> {
    this.heartbeat.stop();
    clearInterval(this.sweepWatch);
    // Waits for the running trials (ended after their batch when stopped).
    await this.worker?.close();
    await this.pool.destroy();
    await this.heartbeat.release();
    this.redis.disconnect();
    rmSync(this.checkpoints, { recursive: true, force: true });
  }

  private info(): AgentInfo {
    return {
      name: this.options.name,
      host: hostname(),
      version: this.options.version,
      workers: this.options.workers,
      fuse: this.options.fuse,
      busy: this.running.size,
      epochs: this.sent.epochs,
      images: this.sent.images,
      pid: process.pid,
    };
  }

  /** A BullMQ job: one attempt at a trial, until its last event is in the stream. */
  private async process(bullJob: Job, token: string): Promise<string> {
    const { options } = this;
    // The version first: a job of another version may be of another shape.
    const version = (bullJob.data as { version?: unknown } | null)?.version;
    if (version !== options.version) {
      const sweep = (bullJob.data as { sweep?: unknown } | null)?.sweep;
      // Handed back at once for an agent of the right version; this one takes nothing more.
      await bullJob.moveToWait(token);
      this.ending?.(new AgentRefusal(`sweep ${String(sweep)} is coordinated by lenet-sweep ${String(version)} and this agent is ${options.version}: start the agent of the same version (npm install lenet-sweep@${String(version)})`));
      throw new WaitingError();
    }
    const parsed = parseJob(bullJob.data);
    if (typeof parsed === 'string') throw new Error(`refused: ${parsed}`);
    const job = parsed;
    // A job the coordinator no longer counts on (it handed the trial out again, or the sweep
    // ended): dropped. Without a coordinator, it is trained: one started again adopts it.
    const gone = superseded(bullJob.id!, await this.redis.hget(keys.jobs(job.sweep), job.trialId));
    if (gone) {
      options.log(`trial ${job.trialId} of ${job.sweep}: ${gone}; dropped`);
      return 'dropped';
    }
    const attempt = bullJob.attemptsStarted;
    const sender = new EntrySender({ redis: this.redis, job, jobId: bullJob.id!, attempt, agent: options.name, checkpoints: this.checkpoints, sent: this.sent, log: options.log });
    // Taken after the coordinator stopped the sweep: it stays queued.
    if (await this.redis.exists(keys.stop(job.sweep))) {
      await sender.send({ type: 'skipped', trialId: job.trialId });
      return 'skipped';
    }
    const refusal = jobProblem(job);
    if (refusal) {
      options.log(`trial ${job.trialId} of ${job.sweep}: refused: ${refusal}`);
      await sender.send({ type: 'failed', trialId: job.trialId, error: `agent ${options.name} refused it: ${refusal}` });
      return 'refused';
    }
    // The data, here: a job naming a folder outside this agent's, or a dataset it cannot get,
    // goes to another agent.
    const cannot = dataProblem(job.config, options.dataDirs) ?? (await this.dataset(job.config).then(() => null, (err: Error) => `it has no data for it: ${err.message}`));
    if (cannot) return this.passOn(bullJob, token, job, cannot, sender);
    const run: Running = { job, attempt, stop: new Int32Array(new SharedArrayBuffer(4)), abandoned: false, end: () => {}, handBack: false };
    this.running.set(bullJob.id!, run);
    try {
      const outcome = await trainAttempt(run, sender, { options, run: (job, stop, onEvent) => this.groups.run(job, stop, onEvent), redis: this.redis, checkpoints: this.checkpoints, dataset: (config) => this.dataset(config) });
      if (run.handBack) {
        await bullJob.moveToWait(token);
        throw new WaitingError();
      }
      return outcome;
    } finally {
      this.running.delete(bullJob.id!);
      removeTrialCheckpoints(this.checkpoints, `${job.trialId}`);
    }
  }

  /**
   * A trial whose data this agent does not have goes to another agent (after a moment, so that
   * another takes it first); once every live agent has said it cannot, the trial fails with
   * what each said.
   */
  private async passOn(bullJob: Job, token: string, job: QueueJob, reason: string, sender: EntrySender): Promise<string> {
    const { options } = this;
    const refusals: Record<string, string> = { ...((bullJob.data as { refusals?: Record<string, string> }).refusals ?? {}), [options.name]: reason };
    const live = await liveAgents(this.redis, options.version);
    if (live.every((agent) => agent.name in refusals)) {
      const said = Object.entries(refusals).map(([agent, why]) => `${agent}: ${why}`).join('; ');
      await sender.send({ type: 'failed', trialId: job.trialId, error: `no agent has its data (${said})` });
      options.log(`trial ${job.trialId} of ${job.sweep}: no agent has its data: failed`);
      return 'failed';
    }
    await bullJob.updateData({ ...(bullJob.data as object), refusals });
    await bullJob.moveToDelayed(Date.now() + PASS_ON_DELAY_MS, token);
    options.log(`trial ${job.trialId} of ${job.sweep}: ${reason}; left for another agent`);
    throw new DelayedError();
  }

  /** The dataset of a config, prepared once for every trial of it. */
  private dataset(config: Experiment): Promise<PreparedDataset> {
    const key = `${config.data.dataset}:${config.data.dir ?? ''}`;
    let prepared = this.datasets.get(key);
    if (!prepared) {
      prepared = prepareDataset(config.data);
      // A failure is tried again with the next trial (the folder may have been made meanwhile).
      prepared.catch(() => this.datasets.delete(key));
      this.datasets.set(key, prepared);
    }
    return prepared;
  }
}
