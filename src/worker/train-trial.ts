/**
 * Trains one trial and reports each step of it through `post`: the same code whether it runs in
 * a pool thread (wasm, cpu, tfjs-node) or in a GPU process (webgpu, see gpu-process.ts). It
 * never touches the database.
 */
import { initBackend } from '../backend/index.js';
import { checkGpu, GpuFault } from '../backend/webgpu-backend.js';
import { gigabytes, wasmStepBytes } from '../backend/memory.js';
import { loadDataset } from '../data/dataset.js';
import { splitOptions } from '../data/sources.js';
import { encodeCheckpoint } from '../checkpoint/format.js';
import { readCheckpoint, trialFolder, writeCheckpointFile } from '../checkpoint/files.js';
import { trainModel } from '../train/loop.js';
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
 * `verdict(epoch)` waits for the runner's answer to an epoch of a judged trial (TrialJob.judged),
 * null to go on.
 */
export async function trainTrial(
  job: TrialJob,
  worker: number,
  post: (event: WorkerEvent) => void,
  stopped: () => boolean,
  verdict: (epoch: number) => Promise<string | null>,
): Promise<TrialOutcome> {
  const { trialId, config } = job;
  // What a training step holds, for the message if the wasm heap runs out: the batch that
  // trains (never more than the training set) on the dataset's images.
  let step = { config, side: 28 };
  let started = false;
  try {
    if (stopped()) {
      post({ type: 'skipped', trialId });
      return 'done';
    }
    const { name: backend, adapter } = await initBackend(config.backend, { gpu: job.gpu, adapter: job.adapter, api: job.api });
    const data = loadDataset(job.dataDir, splitOptions(config));
    // A stop that came while the backend was being made (seconds for a GPU device): the trial
    // has not started, so it stays queued.
    if (stopped()) {
      post({ type: 'skipped', trialId });
      return 'done';
    }
    step = { config: { ...config, training: { ...config.training, batch_size: Math.min(config.training.batch_size, data.train.count) } }, side: data.height };
    // Read here, not by the main thread: a checkpoint is a megabyte, and the main thread checked it.
    const resume = job.resume ? readCheckpoint(job.checkpoints, trialId, job.resume) : undefined;
    let lastProgress = 0;
    const result = await trainModel(config, data, {
      onStart: ({ paramCount, batchesPerEpoch }) => {
        started = true;
        post({ type: 'started', trialId, worker, backend, adapter, paramCount, batchesPerEpoch, resumedFrom: resume?.epoch ?? 0 });
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
      shouldStop: stopped,
      judge: job.judged ? verdict : undefined,
    }, resume);
    post({ type: 'finished', trialId, status: result.status, testLoss: result.testLoss, testAcc: result.testAcc, pruneReason: result.pruneReason, confusion: result.confusion ?? undefined });
    return 'done';
  } catch (err) {
    // Said as it is, without the resume hint below: what stops the sweep is the disk, not the trial.
    if (err instanceof DiskFullError) {
      post({ type: 'failed', trialId, error: err.message, diskFull: true });
      return 'done';
    }
    if (err instanceof GpuFault) {
      post({ type: 'failed', trialId, error: err.message, retryable: true });
      return 'unusable';
    }
    if (!(err instanceof WebAssembly.RuntimeError)) {
      const message = err instanceof Error ? err.message : String(err);
      // A checkpoint that passed its checksum but does not fit (written by another version, or
      // by hand): it would fail the same way every run, so say how to get past it.
      const hint = job.resume && !started ? `; its checkpoint of epoch ${job.resume} cannot be resumed: remove ${trialFolder(job.checkpoints, trialId)} or run with --rerun to train it from the start` : '';
      post({ type: 'failed', trialId, error: `${message}${hint}` });
      return 'done';
    }
    // A trap in the wasm module ("memory access out of bounds", "divide by zero" after XNNPACK
    // could not allocate): its heap ran out, and the module is unusable from now on.
    const need = gigabytes(wasmStepBytes(step.config, step.side));
    post({
      type: 'failed',
      trialId,
      error: `out of memory in the wasm backend (${err.message}): a training step of batch ${step.config.training.batch_size} with these widths needs about ${need} and the wasm backend has 4 GB; lower training.batch_size or the model widths`,
    });
    return 'unusable';
  }
}
