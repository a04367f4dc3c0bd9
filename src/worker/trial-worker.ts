/**
 * The Piscina task: trains one trial in a worker thread and reports over the task's port.
 * The only code that runs in worker threads; it never touches the database. The main thread
 * closes the port once it has the trial's last event.
 */
import { threadId } from 'node:worker_threads';
import { initBackend } from '../backend/index.js';
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
  try {
    if (stopped()) return post({ type: 'skipped', trialId });
    const backend = await initBackend(config.backend);
    const data = loadDataset(task.dataDir, splitOptions(config));
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
    post({ type: 'failed', trialId, error: err instanceof Error ? err.message : String(err) });
  }
}
