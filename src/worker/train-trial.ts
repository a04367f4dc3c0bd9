/**
 * Trains a group of trials as one computation (fused trials; a trial alone is a group of one)
 * and reports each step of each trial through `post`: the same code whether it runs in a pool
 * thread (wasm, cpu, tfjs-node) or in a GPU process (webgpu, see gpu-process.ts). It never
 * touches the database.
 */
import { initBackend } from '../backend/index.js';
import { checkGpu, GpuFault } from '../backend/webgpu-backend.js';
import { gigabytes, wasmStepBytes } from '../backend/memory.js';
import { loadDataset } from '../data/dataset.js';
import { splitOptions } from '../data/sources.js';
import { encodeCheckpoint } from '../checkpoint/format.js';
import { readCheckpoint, trialFolder, writeCheckpointFile } from '../checkpoint/files.js';
import { trainGroup, type GroupMember } from '../train/loop.js';
import { DiskFullError, diskFullText, isDiskFull } from '../util/disk-full.js';
import type { TrialJob, WorkerEvent } from './messages.js';

/** Progress events are for people watching: a few per second are enough. */
const PROGRESS_INTERVAL_MS = 250;

/**
 * 'unusable' when the backend cannot train again where it ran (the wasm module trapped, the GPU
 * device failed): the caller ends its thread or process, and a fresh one takes the next trial.
 */
export type TrialOutcome = 'done' | 'unusable';

/**
 * `verdict(trialId, epoch)` waits for the runner's answer to an epoch of a judged trial
 * (TrialJob.judged), null to go on. The group's trials share their backend, dataset, split and
 * batch size (sweep/fusion.ts groups them so); each keeps everything else of its own.
 */
export async function trainTrials(
  jobs: TrialJob[],
  worker: number,
  post: (event: WorkerEvent) => void,
  stopped: (trialId: string) => boolean,
  verdict: (trialId: string, epoch: number) => Promise<string | null>,
): Promise<TrialOutcome> {
  const { config } = jobs[0];
  // What a training step holds, for the message if the wasm heap runs out: the batch that
  // trains (never more than the training set) on the dataset's images, for each trial.
  let step = { config, side: 28 };
  /** The trials that have posted their last event. */
  const ended = new Set<string>();
  const postEnd = (event: WorkerEvent) => {
    ended.add(event.trialId);
    post(event);
  };
  let started = false;
  try {
    // Stopped before it started: it stays queued.
    const skip = () => {
      for (const { trialId } of jobs) if (!ended.has(trialId) && stopped(trialId)) postEnd({ type: 'skipped', trialId });
      return jobs.every((j) => ended.has(j.trialId));
    };
    if (skip()) return 'done';
    const first = jobs[0];
    const { name: backend, adapter } = await initBackend(config.backend, { gpu: first.gpu, adapter: first.adapter, api: first.api });
    const data = loadDataset(first.dataDir, splitOptions(config));
    // A stop that came while the backend was being made (seconds for a GPU device): the trials
    // have not started, so they stay queued.
    if (skip()) return 'done';
    step = { config: { ...config, training: { ...config.training, batch_size: Math.min(config.training.batch_size, data.train.count) } }, side: data.height };
    const members: GroupMember[] = [];
    const training: TrialJob[] = [];
    for (const job of jobs) {
      const { trialId } = job;
      if (ended.has(trialId)) continue;
      let resume;
      try {
        // Read here, not by the main thread: a checkpoint is a megabyte, and the main thread checked it.
        resume = job.resume ? readCheckpoint(job.checkpoints, trialId, job.resume) : undefined;
      } catch (err) {
        // One trial's checkpoint fails that trial, not the others of its group.
        postEnd({ type: 'failed', trialId, error: `${messageOf(err)}${resumeHint(job)}` });
        continue;
      }
      let lastProgress = 0;
      training.push(job);
      members.push({
        config: job.config,
        resume,
        hooks: {
          onStart: ({ paramCount, batchesPerEpoch }) => {
            started = true;
            const beside = training.filter((j) => j.trialId !== trialId).map((j) => j.trialId);
            post({ type: 'started', trialId, worker, backend, adapter, paramCount, batchesPerEpoch, resumedFrom: resume?.epoch ?? 0, ...(beside.length ? { beside } : {}) });
          },
          onBatch: (epoch, batch, batches) => {
            if (backend === 'webgpu') checkGpu();
            const t = performance.now();
            if (t - lastProgress < PROGRESS_INTERVAL_MS && batch !== batches) return;
            lastProgress = t;
            post({ type: 'progress', trialId, epoch, batch, batches });
          },
          // The checkpoint first: an epoch the database holds always has its state on disk.
          onEpoch: (metrics, state) => {
            const bytes = encodeCheckpoint({ trialId, ...state });
            let checkpoint;
            try {
              checkpoint = writeCheckpointFile(job.checkpoints, trialId, metrics.epoch, bytes);
            } catch (err) {
              throw isDiskFull(err) ? new DiskFullError(diskFullText({ path: job.checkpoints, holding: 'the checkpoints folder', needed: bytes.length })) : err;
            }
            post({ type: 'epoch', trialId, metrics, checkpoint });
          },
          shouldStop: () => stopped(trialId),
          judge: job.judged ? (epoch) => verdict(trialId, epoch) : undefined,
          onEnd: (result) => postEnd({ type: 'finished', trialId, status: result.status, testLoss: result.testLoss, testAcc: result.testAcc, pruneReason: result.pruneReason, confusion: result.confusion ?? undefined }),
        },
      });
    }
    if (!members.length) return 'done';
    try {
      await trainGroup(members, data);
    } catch (err) {
      // A group that failed before any of it started (a checkpoint that passed its checksum but
      // does not fit its model): each trial alone, so that only the one at fault fails.
      if (started || training.length === 1 || err instanceof DiskFullError || err instanceof GpuFault || err instanceof WebAssembly.RuntimeError) throw err;
      for (const job of training) {
        const outcome = await trainTrials([job], worker, postEnd, stopped, verdict);
        if (outcome === 'unusable') return outcome;
      }
    }
    return 'done';
  } catch (err) {
    const left = jobs.filter((j) => !ended.has(j.trialId));
    // Said as it is, without the resume hint below: what stops the sweep is the disk, not the trial.
    if (err instanceof DiskFullError) {
      for (const { trialId } of left) postEnd({ type: 'failed', trialId, error: err.message, diskFull: true });
      return 'done';
    }
    if (err instanceof GpuFault) {
      for (const { trialId } of left) postEnd({ type: 'failed', trialId, error: err.message, retryable: true });
      return 'unusable';
    }
    if (!(err instanceof WebAssembly.RuntimeError)) {
      // A checkpoint that passed its checksum but does not fit (written by another version, or
      // by hand): it would fail the same way every run, so say how to get past it.
      for (const job of left) postEnd({ type: 'failed', trialId: job.trialId, error: `${messageOf(err)}${started ? '' : resumeHint(job)}` });
      return 'done';
    }
    // A trap in the wasm module ("memory access out of bounds", "divide by zero" after XNNPACK
    // could not allocate): its heap ran out, and the module is unusable from now on.
    const need = gigabytes(jobs.length * wasmStepBytes(step.config, step.side));
    const group = jobs.length > 1 ? ` for each of the ${jobs.length} trials trained together` : '';
    const fix = jobs.length > 1 ? 'lower --fuse, training.batch_size or the model widths' : 'lower training.batch_size or the model widths';
    for (const { trialId } of left) {
      postEnd({
        type: 'failed',
        trialId,
        error: `out of memory in the wasm backend (${err.message}): a training step of batch ${step.config.training.batch_size} with these widths${group} needs about ${need} and the wasm backend has 4 GB; ${fix}`,
      });
    }
    return 'unusable';
  }
}

const messageOf = (err: unknown) => (err instanceof Error ? err.message : String(err));

/** For a trial that could not resume from its checkpoint: how to get past it. */
const resumeHint = (job: TrialJob) =>
  job.resume ? `; its checkpoint of epoch ${job.resume} cannot be resumed: remove ${trialFolder(job.checkpoints, job.trialId)} or run with --rerun to train it from the start` : '';
