/**
 * Training one attempt at a trial on the agent's pool (worker/trial-pool.ts, through groups.ts): from the latest
 * checkpoint the coordinator holds (a trial taken over from a lost agent), on the agent's backend
 * where --backend names one, its events sent to the events stream one after another in the order
 * the trial posted them, and the coordinator's verdicts waited for where the trial is judged. The
 * attempt is over once its last event is sent (its group may train on); a thread that died gets a moment for events on
 * their way, and then its trial fails, to be tried again.
 */
import type { Redis } from 'ioredis';
import type { Experiment } from '../config/experiment.types.js';
import type { PreparedDataset } from '../data/sources.js';
import { fetchOffer } from '../queue/checkpoint-transfer.js';
import type { TrialJob, WorkerEvent } from '../worker/messages.js';
import type { PoolTask } from '../worker/trial-pool.js';
import type { EntrySender } from './entry-sender.js';
import type { AgentOptions } from './options.js';
import type { Running } from './running.js';
import { waitForVerdicts } from './verdicts.js';
import { within } from '../util/within.js';

/** A crashed thread may have posted events that arrive after its task failed: wait this long for them. */
const CRASH_GRACE_MS = 1000;

export interface TrainingParts {
  options: AgentOptions;
  /** Starts a trial on the agent's pool, in a group of its kind where the agent fuses (groups.ts). */
  run: (job: TrialJob, stop: Int32Array, onEvent: (event: WorkerEvent) => void) => PoolTask;
  /** Fetches the checkpoint the coordinator offers. */
  redis: Redis;
  /** The agent's checkpoint folder, where the trial's worker reads and writes them. */
  checkpoints: string;
  /** The agent's prepared dataset of a config. */
  dataset: (config: Experiment) => Promise<PreparedDataset>;
}

/** Trains the run's attempt, its entries sent by `sender`; answers how it ended (a 'finished' status, or 'failed', 'skipped'). */
export async function trainAttempt(run: Running, sender: EntrySender, parts: TrainingParts): Promise<string> {
  const { job, attempt } = run;
  const { options } = parts;
  const config: Experiment = options.backend ? { ...job.config, backend: options.backend } : job.config;
  // Prepared before the trial was taken on (agent.ts).
  const data = await parts.dataset(config);
  const resume = await fetchOffer(parts.redis, parts.checkpoints, job.sweep, job.trialId);
  const trainJob: TrialJob = {
    trialId: job.trialId,
    config,
    dataDir: data.dir,
    gpu: options.gpu,
    api: options.gpuApi,
    judged: job.judged,
    checkpoints: parts.checkpoints,
    ...(resume ? { resume } : {}),
  };
  // Events go out one after another, in the order the trial posted them.
  let sending: Promise<unknown> = Promise.resolve();
  let last: WorkerEvent | undefined;
  let lastArrived!: () => void;
  const terminal = new Promise<void>((resolve) => (lastArrived = resolve));
  const verdicts = job.judged ? waitForVerdicts(options.url, job, attempt, (v) => task.verdict(v)) : undefined;
  let lastEpoch = resume;
  let ended = false;
  const endVerdict = () => task.verdict({ type: 'verdict', epoch: lastEpoch, reason: 'ended on the agent' });
  // A verdict to stop on the epoch it waits on, if it waits (an epoch it has not reached gets none).
  // An epoch on its way as the trial is ended gets one too when it comes: the trial would wait for
  // it for ever (an ended trial's events reach no coordinator), and with it the rest of its group.
  run.end = () => {
    ended = true;
    endVerdict();
  };
  const task = parts.run(trainJob, run.stop, (event) => {
    if (event.type === 'epoch') {
      lastEpoch = event.metrics.epoch;
      if (ended) endVerdict();
    }
    if (event.type === 'finished' || event.type === 'failed' || event.type === 'skipped') {
      last = event;
      lastArrived();
    }
    if (run.abandoned) return;
    if (event.type === 'started') event = { ...event, agent: options.name };
    if (event.type === 'started') options.log(`trial ${job.trialId} of ${job.sweep}: ${event.resumedFrom ? `resumed after epoch ${event.resumedFrom}` : 'started'} on ${event.backend}${attempt > 1 ? ` (taken over: its job's start ${attempt})` : ''}`);
    sending = sending.then(() => sender.relay(event)).catch((err: Error) => options.log(`trial ${job.trialId}: could not send an event: ${err.message}`));
  });
  try {
    // The task's end and its events travel separately: the trial's last event is waited for
    // (a thread that died gets a moment for events on their way). A trial of a group ends with
    // its last event, not with its group's task: one that completes or is pruned before the
    // others frees its job and its place at once, and is not taken for dropped meanwhile.
    const crash = await Promise.race([terminal.then(() => null), task.ended]);
    await (crash ? within(terminal, CRASH_GRACE_MS) : terminal);
    if (crash && !last && !run.abandoned) sending = sending.then(() => sender.send({ type: 'failed', trialId: job.trialId, error: `worker died on agent ${options.name}: ${crash.message}`, retryable: true }));
    await sending;
  } finally {
    verdicts?.close();
    task.close();
  }
  const outcome = last?.type === 'finished' ? last.status : last?.type ?? 'failed';
  options.log(`trial ${job.trialId} of ${job.sweep}: ${run.handBack ? 'handed back to the queue' : run.abandoned ? 'dropped (another agent or coordinator has it now)' : outcome}`);
  return outcome;
}
