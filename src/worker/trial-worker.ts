/**
 * The Piscina task: trains one trial in a worker thread and reports over the task's port.
 * The only code that runs in worker threads; it never touches the database. The main thread
 * closes the port once it has the trial's last event.
 */
import { threadId } from 'node:worker_threads';
import { initBackend } from '../backend/index.js';
import { gigabytes, wasmStepBytes } from '../backend/memory.js';
import { loadDataset } from '../data/dataset.js';
import { splitOptions } from '../data/sources.js';
import { trainModel } from '../train/loop.js';
import type { TrialTask, WorkerEvent } from './messages.js';

/** Progress events are for people watching: a few per second are enough. */
const PROGRESS_INTERVAL_MS = 250;

export default async function runTrial(task: TrialTask): Promise<void> {
  const { trialId, config, port, stop } = task;
  const post = (event: WorkerEvent) => port.postMessage(event);
  const stopped = () => Atomics.load(stop, 0) !== 0;
  // What a training step holds, for the message if the wasm heap runs out: the batch that
  // trains (never more than the training set) on the dataset's images.
  let step = { config, side: 28 };
  try {
    if (stopped()) return post({ type: 'skipped', trialId });
    const backend = await initBackend(config.backend);
    const data = loadDataset(task.dataDir, splitOptions(config));
    step = { config: { ...config, training: { ...config.training, batch_size: Math.min(config.training.batch_size, data.train.count) } }, side: data.height };
    let lastProgress = 0;
    const result = trainModel(config, data, {
      onStart: ({ paramCount, batchesPerEpoch }) =>
        post({ type: 'started', trialId, worker: threadId, backend, paramCount, batchesPerEpoch }),
      onBatch: (epoch, batch, batches) => {
        const t = performance.now();
        if (t - lastProgress < PROGRESS_INTERVAL_MS && batch !== batches) return;
        lastProgress = t;
        post({ type: 'progress', trialId, epoch, batch, batches });
      },
      onEpoch: (metrics) => post({ type: 'epoch', trialId, metrics }),
      shouldStop: stopped,
    });
    post({ type: 'finished', trialId, status: result.status, testLoss: result.testLoss, testAcc: result.testAcc });
  } catch (err) {
    if (!(err instanceof WebAssembly.RuntimeError)) return post({ type: 'failed', trialId, error: err instanceof Error ? err.message : String(err) });
    // A trap in the wasm module ("memory access out of bounds", "divide by zero" after XNNPACK
    // could not allocate): its heap ran out, and the module is unusable from now on, so this
    // thread ends and the pool starts a fresh one for the next trial.
    const need = gigabytes(wasmStepBytes(step.config, step.side));
    post({
      type: 'failed',
      trialId,
      error: `out of memory in the wasm backend (${err.message}): a training step of batch ${step.config.training.batch_size} with these widths needs about ${need} and the wasm backend has 4 GB; lower training.batch_size or the model widths`,
    });
    process.exit(1);
  }
}
