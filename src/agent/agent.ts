/**
 * An agent (`sweep agent --queue URL`): takes trials from the queue's BullMQ jobs and trains
 * them on its own pool (worker/trial-pool.ts), `workers` at a time. Each trial's events go to
 * its sweep's events stream, each epoch's checkpoint with them (uploaded first, so the
 * coordinator stores an epoch only with its state); a trial taken over from a lost agent starts
 * from the latest checkpoint the coordinator holds. The agent never writes a database: the
 * coordinator is the one writer.
 *
 * What a job may make an agent do is bounded: its config must validate against the schema and
 * hash to its trial id, it must come from a coordinator of this version, and its data is found
 * in the agent's own folders (a job naming another path fails there).
 */
import { mkdtempSync, readFileSync, realpathSync, rmSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { join, relative, isAbsolute } from 'node:path';
import { DelayedError, WaitingError, Worker, type Job } from 'bullmq';
import type { Redis } from 'ioredis';
import type { BackendChoice } from '../backend/index.js';
import { checkpointName, trialFolder, writeCheckpointFile, removeTrialCheckpoints } from '../checkpoint/files.js';
import { decodeCheckpoint } from '../checkpoint/format.js';
import { configProblems } from '../config/load.js';
import type { Experiment } from '../config/experiment.types.js';
import { UserError } from '../config/errors.js';
import { DEBIAN_FASHION_MNIST, prepareDataset, type PreparedDataset } from '../data/sources.js';
import { processState } from '../store/queries.js';
import { trialId } from '../sweep/trial-id.js';
import type { TrialJob, Verdict, WorkerEvent } from '../worker/messages.js';
import { TrialPool } from '../worker/trial-pool.js';
import { connect, redisOptions } from '../queue/redis.js';
import { CHECKPOINT_TTL_S, HEARTBEAT_MS, HEARTBEAT_TTL_MS, keys, liveAgents, MAX_CHECKPOINT_BYTES, parseJob, parseJobRecord, PREFIX, QUEUE_NAME, type AgentInfo, type QueueJob, type StreamEntry } from '../queue/protocol.js';
import type { QueueUrl } from '../queue/url.js';

export interface AgentOptions {
  url: QueueUrl;
  name: string;
  workers: number;
  version: string;
  /** Trains every trial on this backend instead of its config's (--backend). */
  backend?: BackendChoice;
  gpu: boolean;
  gpus: string[];
  gpuApi?: string;
  /** How long a taken trial's lock lasts without renewal: a lost agent's trials go to others after it. */
  lockMs: number;
  /** Folders a job's data.dir may be in (--data); Debian's datasets and the cache are always allowed. */
  dataDirs: string[];
  /** One line per happening, for the agent's output. */
  log: (line: string) => void;
}

/** How often the stop key of each sweep with a running trial is read. */
const STOP_POLL_MS = 500;
/** How long a trial this agent cannot train waits for another agent to take it. */
const PASS_ON_DELAY_MS = 2000;
/** A crashed thread may have posted events that arrive after its task failed: wait this long for them. */
const CRASH_GRACE_MS = 1000;
/** How long one wait for a verdict blocks before the trial's state is looked at again. */
const VERDICT_BLOCK_S = 1;

/** Sets the heartbeat key to ARGV[2] only if it still holds ARGV[1] (the dead agent's last heartbeat). */
const TAKE_OVER_NAME = `if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('SET', KEYS[1], ARGV[2], 'PX', ARGV[3]) end return false`;

/** Why an agent gave up on taking trials (a coordinator of another version): the command ends with 2. */
export class AgentRefusal extends UserError {}

interface Running {
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
function endRun(run: Running): void {
  Atomics.store(run.stop, 0, 1);
  run.end();
}

const delay = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms).unref());

export class Agent {
  private readonly pool: TrialPool;
  private readonly redis: Redis;
  private worker: Worker | undefined;
  private readonly running = new Map<string, Running>();
  private readonly datasets = new Map<string, Promise<PreparedDataset>>();
  private readonly checkpoints = mkdtempSync(join(tmpdir(), 'lenet-sweep-agent-'));
  private readonly timers: NodeJS.Timeout[] = [];
  private epochs = 0;
  private closing: Promise<void> | undefined;
  /** The heartbeat key under this agent's name is this agent's (not another's of the same name). */
  private claimed = false;
  private images = 0;
  /** Set when the agent must end (refusal, or asked to): `finished` settles with it. */
  private ending: ((error?: Error) => void) | undefined;
  readonly finished: Promise<Error | undefined>;

  constructor(private readonly options: AgentOptions) {
    this.pool = new TrialPool(options.workers, options.gpus);
    this.redis = connect(options.url, 'lenet-sweep-agent');
    this.finished = new Promise((resolve) => (this.ending = resolve));
  }

  /** Starts taking trials; refused when another live agent has this name. */
  async start(): Promise<void> {
    const { options } = this;
    const key = keys.agent(options.name);
    let claimed = (await this.redis.set(key, JSON.stringify(this.info()), 'PX', HEARTBEAT_TTL_MS, 'NX')) !== null;
    const held = claimed ? null : await this.redis.get(key);
    const other = JSON.parse(held ?? '{}') as Partial<AgentInfo>;
    // An agent of this name that died on this machine (its pid gone): its name is taken over at
    // once, not after its heartbeat lapses (an agent restarted by systemd after a crash).
    if (!claimed && held && other.host && typeof other.pid === 'number' && processState({ host: other.host, pid: other.pid, updated_at: null }) === 'gone') {
      claimed = (await this.redis.eval(TAKE_OVER_NAME, 1, key, held, JSON.stringify(this.info()), HEARTBEAT_TTL_MS)) !== null;
    }
    this.claimed = claimed;
    if (!claimed) {
      await this.close(true);
      throw new UserError(`--name: an agent named ${options.name} already takes trials from ${options.url.shown} (on ${other.host ?? '?'}, pid ${other.pid ?? '?'}); give this one another --name`);
    }
    this.worker = new Worker(QUEUE_NAME, (job, token) => this.process(job, token!), {
      prefix: PREFIX,
      connection: redisOptions(options.url),
      concurrency: options.workers,
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
    this.heartbeat();
    this.timers.push(setInterval(() => this.heartbeat(), HEARTBEAT_MS));
    this.timers.push(setInterval(() => void this.pollStops(), STOP_POLL_MS));
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
    for (const t of this.timers) clearInterval(t);
    // Waits for the running trials (ended after their batch when stopped).
    await this.worker?.close();
    await this.pool.destroy();
    if (this.claimed) await this.redis.del(keys.agent(this.options.name)).catch(() => {});
    this.redis.disconnect();
    rmSync(this.checkpoints, { recursive: true, force: true });
  }

  private heartbeat(): void {
    this.redis.set(keys.agent(this.options.name), JSON.stringify(this.info()), 'PX', HEARTBEAT_TTL_MS).catch(() => {});
  }

  private info(): AgentInfo {
    return {
      name: this.options.name,
      host: hostname(),
      version: this.options.version,
      workers: this.options.workers,
      busy: this.running.size,
      epochs: this.epochs,
      images: this.images,
      pid: process.pid,
    };
  }

  /** Ends the trials of a stopped sweep after their batch, and drops those the coordinator no longer counts on. */
  private async pollStops(): Promise<void> {
    const sweeps = [...new Set([...this.running.values()].map((r) => r.job.sweep))];
    for (const sweep of sweeps) {
      const runs = [...this.running].filter(([, r]) => r.job.sweep === sweep);
      let stopped: string | null;
      let records: (string | null)[];
      try {
        [stopped, records] = await Promise.all([this.redis.get(keys.stop(sweep)), this.redis.hmget(keys.jobs(sweep), ...runs.map(([, r]) => r.job.trialId))]);
      } catch {
        continue; // Redis away: asked again in a moment.
      }
      runs.forEach(([id, run], i) => {
        const gone = this.superseded(id, records[i]);
        if (gone && !run.abandoned) {
          run.abandoned = true;
          this.options.log(`trial ${run.job.trialId} of ${sweep}: ${gone}; dropped`);
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

  /** Why the coordinator no longer counts on a job, given its trial's record (keys.jobs); null while it does. */
  private superseded(jobId: string, record: string | null): string | null {
    const current = parseJobRecord(record);
    if (!current) return 'its sweep no longer has it (ended, or its coordinator is gone for good)';
    if (current.job !== jobId) return 'its coordinator handed the trial out again (it resumes there from its checkpoint)';
    return null;
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
    const gone = this.superseded(bullJob.id!, await this.redis.hget(keys.jobs(job.sweep), job.trialId));
    if (gone) {
      options.log(`trial ${job.trialId} of ${job.sweep}: ${gone}; dropped`);
      return 'dropped';
    }
    const attempt = bullJob.attemptsStarted;
    let seq = 0;
    const send = (event: WorkerEvent, upload?: string) => {
      const entry: StreamEntry = { job: bullJob.id!, attempt, seq: ++seq, agent: options.name, event, ...(upload ? { upload } : {}) };
      return this.redis.xadd(keys.events(job.sweep), '*', 'm', JSON.stringify(entry));
    };
    // Taken after the coordinator stopped the sweep: it stays queued.
    if (await this.redis.exists(keys.stop(job.sweep))) {
      await send({ type: 'skipped', trialId: job.trialId });
      return 'skipped';
    }
    const refusal = this.check(job);
    if (refusal) {
      options.log(`trial ${job.trialId} of ${job.sweep}: refused: ${refusal}`);
      await send({ type: 'failed', trialId: job.trialId, error: `agent ${options.name} refused it: ${refusal}` });
      return 'refused';
    }
    // The data, here: a job naming a folder outside this agent's, or a dataset it cannot get,
    // goes to another agent.
    const cannot = this.dataProblem(job.config) ?? (await this.dataset(job.config).then(() => null, (err: Error) => `it has no data for it: ${err.message}`));
    if (cannot) return this.passOn(bullJob, token, job, cannot, send);
    const run: Running = { job, attempt, stop: new Int32Array(new SharedArrayBuffer(4)), abandoned: false, end: () => {}, handBack: false };
    this.running.set(bullJob.id!, run);
    try {
      const outcome = await this.train(run, send);
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

  /** Why a job is not trained by any agent; null when it may be. */
  private check(job: QueueJob): string | null {
    const problems = configProblems(job.config);
    if (problems.length) return `its config does not validate: ${problems[0]}`;
    if (trialId(job.config) !== job.trialId) return 'its config does not hash to its trial id';
    return null;
  }

  /**
   * A trial whose data this agent does not have goes to another agent (after a moment, so that
   * another takes it first); once every live agent has said it cannot, the trial fails with
   * what each said.
   */
  private async passOn(bullJob: Job, token: string, job: QueueJob, reason: string, send: (event: WorkerEvent) => Promise<unknown>): Promise<string> {
    const { options } = this;
    const refusals: Record<string, string> = { ...((bullJob.data as { refusals?: Record<string, string> }).refusals ?? {}), [options.name]: reason };
    const live = await liveAgents(this.redis, options.version);
    if (live.every((agent) => agent.name in refusals)) {
      const said = Object.entries(refusals).map(([agent, why]) => `${agent}: ${why}`).join('; ');
      await send({ type: 'failed', trialId: job.trialId, error: `no agent has its data (${said})` });
      options.log(`trial ${job.trialId} of ${job.sweep}: no agent has its data: failed`);
      return 'failed';
    }
    await bullJob.updateData({ ...(bullJob.data as object), refusals });
    await bullJob.moveToDelayed(Date.now() + PASS_ON_DELAY_MS, token);
    options.log(`trial ${job.trialId} of ${job.sweep}: ${reason}; left for another agent`);
    throw new DelayedError();
  }


  /** A data.dir outside the agent's folders is never read. */
  private dataProblem(config: Experiment): string | null {
    const dir = config.data.dir;
    if (dir === undefined) return null;
    const allowed = [...this.options.dataDirs, DEBIAN_FASHION_MNIST];
    let real: string;
    try {
      real = realpathSync(dir);
    } catch {
      return `data.dir ${dir} does not exist on this agent`;
    }
    const inside = allowed.some((a) => {
      try {
        const rel = relative(realpathSync(a), real);
        return rel === '' || (!rel.startsWith('..') && !isAbsolute(rel));
      } catch {
        return false;
      }
    });
    return inside ? null : `data.dir ${dir} is not in this agent's data folders; start the agent with --data ${dir} (or a folder above it)`;
  }

  private async train(run: Running, send: (event: WorkerEvent, upload?: string) => Promise<unknown>): Promise<string> {
    const { job, attempt } = run;
    const { options } = this;
    const config: Experiment = options.backend ? { ...job.config, backend: options.backend } : job.config;
    // Prepared before the trial was taken on (process).
    const data = await this.dataset(config);
    const resume = await this.fetchResume(job);
    const trainJob: TrialJob = {
      trialId: job.trialId,
      config,
      dataDir: data.dir,
      gpu: options.gpu,
      api: options.gpuApi,
      judged: job.judged,
      checkpoints: this.checkpoints,
      ...(resume ? { resume } : {}),
    };
    // Events go out one after another, in the order the trial posted them.
    let sending: Promise<unknown> = Promise.resolve();
    let last: WorkerEvent | undefined;
    let lastArrived!: () => void;
    const terminal = new Promise<void>((resolve) => (lastArrived = resolve));
    const verdicts = job.judged ? this.verdicts(run, (v) => task.verdict(v)) : undefined;
    let lastEpoch = resume;
    // A verdict to stop on the epoch it waits on, if it waits (an epoch it has not reached gets none).
    run.end = () => task.verdict({ type: 'verdict', epoch: lastEpoch, reason: 'ended on the agent' });
    const task = this.pool.run(trainJob, run.stop, (event) => {
      if (event.type === 'epoch') lastEpoch = event.metrics.epoch;
      if (event.type === 'finished' || event.type === 'failed' || event.type === 'skipped') {
        last = event;
        lastArrived();
      }
      if (run.abandoned) return;
      if (event.type === 'started') event = { ...event, agent: options.name };
      if (event.type === 'started') options.log(`trial ${job.trialId} of ${job.sweep}: ${event.resumedFrom ? `resumed after epoch ${event.resumedFrom}` : 'started'} on ${event.backend}${attempt > 1 ? ` (taken over: its job's start ${attempt})` : ''}`);
      sending = sending.then(() => this.relay(run, event, send)).catch((err: Error) => options.log(`trial ${job.trialId}: could not send an event: ${err.message}`));
    });
    try {
      // The task's end and its events travel separately: the trial's last event is waited for
      // (a thread that died gets a moment for events on their way).
      const crash = await task.ended;
      await (crash ? Promise.race([terminal, delay(CRASH_GRACE_MS)]) : terminal);
      if (crash && !last && !run.abandoned) sending = sending.then(() => send({ type: 'failed', trialId: job.trialId, error: `worker died on agent ${options.name}: ${crash.message}`, retryable: true }));
      await sending;
    } finally {
      verdicts?.close();
      task.close();
    }
    const outcome = last?.type === 'finished' ? last.status : last?.type ?? 'failed';
    options.log(`trial ${job.trialId} of ${job.sweep}: ${run.handBack ? 'handed back to the queue' : run.abandoned ? 'dropped (another agent or coordinator has it now)' : outcome}`);
    return outcome;
  }

  /** Sends an event; an epoch's checkpoint goes first, under its own key. */
  private async relay(run: Running, event: WorkerEvent, send: (event: WorkerEvent, upload?: string) => Promise<unknown>): Promise<void> {
    if (event.type === 'failed' && event.diskFull) {
      // This agent's disk, not the sweep's: the trial goes back to be tried again from its last
      // checkpoint (on an agent with room), rather than stopping the sweep as a coordinator's would.
      const error = `on agent ${this.options.name}: ${event.error}; free some space there`;
      this.options.log(`trial ${run.job.trialId} of ${run.job.sweep}: ${error}`);
      await send({ type: 'failed', trialId: event.trialId, error, retryable: true });
      return;
    }
    if (event.type !== 'epoch') {
      await send(event);
      return;
    }
    const { job, attempt } = run;
    const bytes = readFileSync(join(trialFolder(this.checkpoints, job.trialId), checkpointName(event.metrics.epoch)));
    if (bytes.length > MAX_CHECKPOINT_BYTES) throw new Error(`the checkpoint of epoch ${event.metrics.epoch} is ${bytes.length} bytes, more than the ${MAX_CHECKPOINT_BYTES} a queue carries`);
    const upload = keys.upload(job.sweep, job.trialId, attempt, event.metrics.epoch);
    await this.redis.set(upload, bytes, 'EX', CHECKPOINT_TTL_S);
    // The path is this agent's: the coordinator records its own.
    await send({ ...event, checkpoint: { ...event.checkpoint, path: '' } }, upload);
    this.epochs++;
    this.images += Math.round(event.metrics.images_per_s * event.metrics.seconds);
  }

  /** The trial's latest checkpoint the coordinator holds, written where the worker reads it; its epoch, or 0. */
  private async fetchResume(job: QueueJob): Promise<number> {
    const got = await this.redis.getBuffer(keys.resume(job.sweep, job.trialId));
    if (!got) return 0;
    // Copied: ioredis may hand back a view at an offset the checkpoint's float arrays cannot start at.
    const bytes = new Uint8Array(got);
    try {
      const checkpoint = decodeCheckpoint(bytes);
      if (checkpoint.trialId !== job.trialId) return 0;
      writeCheckpointFile(this.checkpoints, job.trialId, checkpoint.epoch, bytes);
      return checkpoint.epoch;
    } catch {
      // Damaged on the way: the trial starts over, which ends the same.
      return 0;
    }
  }

  /** Waits for the coordinator's verdicts on a judged trial, on a connection of its own. */
  private verdicts(run: Running, deliver: (v: Verdict) => void): { close(): void } {
    const { job, attempt } = run;
    const redis = connect(this.options.url, 'lenet-sweep-agent-verdicts');
    let open = true;
    const key = keys.verdicts(job.sweep, job.trialId, attempt);
    void (async () => {
      while (open) {
        const got = await redis.blpop(key, VERDICT_BLOCK_S).catch(() => null);
        if (!got || !open) continue;
        try {
          const verdict = JSON.parse(got[1]) as Verdict;
          if (verdict.type === 'verdict' && Number.isInteger(verdict.epoch)) deliver(verdict);
        } catch {
          // Not a verdict: ignored.
        }
      }
      redis.disconnect();
    })();
    return { close: () => (open = false) };
  }

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
