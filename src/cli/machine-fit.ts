/**
 * Fitting a sweep to this machine before anything is written: a trial too large for the wasm
 * backend's 4 GB heap is refused (it would fail mid-run with "memory access out of bounds"),
 * and the workers are kept within the free memory (64 wasm workers on a 2-core machine took
 * 9 GB) with a note when there are more than cores.
 */
import { availableParallelism, freemem } from 'node:os';
import { defaultWorkers, plannedBackend, type BackendChoice } from '../backend/index.js';
import { gigabytes, largestWasmBatch, parameterCount, WASM_USABLE_BYTES, wasmStepBytes, workerBytes } from '../backend/memory.js';
import { UserError } from '../config/errors.js';
import type { Trial } from '../config/experiment.js';
import { trainImagesPerEpoch } from '../data/counts.js';
import type { DatasetShape } from '../data/dataset.js';
import { chooseWorkers } from '../sweep/workers.js';
import { paramsText } from './format.js';

/** Memory this process may still use: the machine's available memory, or the cgroup's limit if lower. */
function freeBytes(): number {
  const limit = process.constrainedMemory?.() ?? 0;
  const free = freemem();
  return limit > 0 && limit < Number.MAX_SAFE_INTEGER ? Math.min(free, Math.max(0, limit - process.memoryUsage.rss())) : free;
}

export function fitToMachine(options: { file: string; trials: Trial[]; dataset: (t: Trial) => DatasetShape; requested: number | undefined; adapters?: number }): { workers: number; notes: string[] } {
  const { file, trials, dataset, requested } = options;
  // A batch is never larger than the training set (limit_train: 100 with batch_size: 8192 trains batches of 100).
  const files = new Map<string, number | null>();
  const stepped = (t: Trial) => {
    const batch = Math.min(t.config.training.batch_size, trainImagesPerEpoch(t.config, files) ?? Infinity);
    return { ...t.config, training: { ...t.config.training, batch_size: batch } };
  };
  for (const t of trials) {
    if (plannedBackend(t.config.backend) !== 'wasm') continue;
    const { side } = dataset(t);
    const step = stepped(t);
    const bytes = wasmStepBytes(step, side);
    if (bytes <= WASM_USABLE_BYTES) continue;
    const { conv1_filters: c1, conv2_filters: c2, fc1_units: f1, fc2_units: f2 } = t.config.model;
    const batch = largestWasmBatch(t.config.model, side);
    const trial = Object.keys(t.params).length ? ` (trial ${t.id}: ${paramsText(t.params)})` : '';
    throw new UserError({
      file,
      message:
        `a training step of batch ${step.training.batch_size} with widths ${c1}/${c2}/${f1}/${f2} (${parameterCount(t.config.model, side).toLocaleString('en')} parameters) ` +
        `needs about ${gigabytes(bytes)}, more than the wasm backend's 4 GB${trial}; ` +
        (batch >= 1 ? `lower training.batch_size to ${batch} or less, or the model widths` : 'lower the model widths'),
    });
  }
  const heaviest = Math.max(...trials.map((t) => workerBytes(stepped(t), dataset(t))));
  const choice = chooseWorkers({
    requested,
    byDefault: defaultWorkers(trials.map((t) => t.config.backend as BackendChoice), availableParallelism(), options.adapters),
    trials: trials.length,
    cores: availableParallelism(),
    freeBytes: freeBytes(),
    perWorkerBytes: heaviest,
  });
  if (choice.refusal) throw new UserError(choice.refusal);
  return choice;
}
