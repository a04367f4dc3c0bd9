/**
 * Fitting a sweep to this machine before anything is written: a trial too large for the wasm
 * backend's 4 GB heap is refused (it would fail mid-run with "memory access out of bounds"),
 * and the workers are kept within the free memory (64 wasm workers on a 2-core machine took
 * 9 GB) with a note when there are more than cores.
 */
import { availableParallelism, freemem } from 'node:os';
import { defaultWorkers, plannedBackend, type BackendChoice } from '../backend/choice.js';
import {
  gigabytes, largestWasmBatch, largestWasmGroup, MAIN_ADDRESS_MARGIN_BYTES, parameterCount, THREAD_ADDRESS_BYTES, WASM_USABLE_BYTES, WASM_WORKER_ADDRESS_BYTES, wasmGroupStepBytes, wasmStepBytes, workerBytes,
} from '../backend/memory.js';
import { UserError } from '../config/errors.js';
import type { Trial } from '../config/experiment.js';
import { trainImagesPerEpoch } from '../data/counts.js';
import type { DatasetShape } from '../data/dataset.js';
import { kindCounts } from './fusion.js';
import { addressSpaceLimit, chooseWorkers, openFilesLimit, type ProcessLimit, type WorkerChoice } from './workers.js';
import { paramsText } from '../view/format.js';
import { processUsage } from '../util/process-limits.js';
import { maxOf } from '../util/extremes.js';

/** Memory this process may still use: the machine's available memory, or the cgroup's limit if lower. */
function freeBytes(): number {
  const limit = process.constrainedMemory?.() ?? 0;
  const free = freemem();
  return limit > 0 && limit < Number.MAX_SAFE_INTEGER ? Math.min(free, Math.max(0, limit - process.memoryUsage.rss())) : free;
}

/**
 * The limits set on this process that its workers take from (process-limits.ts): the address
 * space (`ulimit -v`; a worker on wasm reserves far more of it than memory, see
 * backend/memory.ts) and open files (`ulimit -n`: each worker thread takes about 17 here, for its
 * event loop, message ports and the files it loads; a sweep of one worker peaked at 31, of two at 48).
 */
function processLimits(backends: BackendChoice[]): ProcessLimit[] {
  const usage = processUsage();
  if (!usage) return [];
  const found: ProcessLimit[] = [];
  if (usage.addressSpace !== undefined && Number.isFinite(usage.mappedBytes)) {
    const wasm = backends.some((b) => plannedBackend(b) === 'wasm');
    found.push(addressSpaceLimit(usage.addressSpace, usage.mappedBytes, wasm ? WASM_WORKER_ADDRESS_BYTES : THREAD_ADDRESS_BYTES, MAIN_ADDRESS_MARGIN_BYTES));
  }
  if (usage.openFiles !== undefined) found.push(openFilesLimit(usage.openFiles, usage.openNow, FILES_PER_WORKER, MAIN_FILES_MARGIN));
  return found;
}

/** Open files a worker thread takes (measured: 17), and what the main thread opens after the check (the database, its journal, modules it loads, connections). */
const FILES_PER_WORKER = 20;
const MAIN_FILES_MARGIN = 15;

/** The workers chosen, or the refusal (bad input: exit 2) or failure (this machine's limits: exit 1) said as such. */
function settled(choice: WorkerChoice): { workers: number; notes: string[] } {
  if (choice.failure) throw new Error(choice.failure);
  if (choice.refusal) throw new UserError(choice.refusal);
  return choice;
}

/** A trial's config with the batch that trains: never larger than the training set (limit_train: 100 with batch_size: 8192 trains batches of 100). */
function stepped(t: Trial, files: Map<string, number | null>) {
  const batch = Math.min(t.config.training.batch_size, trainImagesPerEpoch(t.config, files) ?? Infinity);
  return { ...t.config, training: { ...t.config.training, batch_size: batch } };
}

/** Why a trial cannot train on the wasm backend's 4 GB heap (what to lower), or null when it can or runs elsewhere. */
export function wasmProblem(t: Trial, dataset: (t: Trial) => DatasetShape, files = new Map<string, number | null>()): { need: string; fix: string } | null {
  if (plannedBackend(t.config.backend) !== 'wasm') return null;
  const { side } = dataset(t);
  const step = stepped(t, files);
  const bytes = wasmStepBytes(step, side);
  if (bytes <= WASM_USABLE_BYTES) return null;
  const { conv1_filters: c1, conv2_filters: c2, fc1_units: f1, fc2_units: f2 } = t.config.model;
  const batch = largestWasmBatch(t.config.model, side);
  return {
    need:
      `a training step of batch ${step.training.batch_size} with widths ${c1}/${c2}/${f1}/${f2} (${parameterCount(t.config.model, side, dataset(t).classes.length).toLocaleString('en')} parameters) ` +
      `needs about ${gigabytes(bytes)}, more than the wasm backend's 4 GB`,
    fix: batch >= 1 ? `lower training.batch_size to ${batch} or less, or the model widths` : 'lower the model widths',
  };
}

/**
 * How many trials a worker trains as one computation (sweep/fusion.ts): `fuse.k`, unless the wasm
 * heap cannot hold that many of some trial at once. Then a K the person chose (`fuse.source`:
 * --fuse or the file's sweep.fuse) is refused, naming the K that fits; a default one is lowered.
 * No group is larger than the trials that may run, nor, where the trials are known in advance
 * (`keyOf`: sweep/fusion.ts fusionKey; not for an adaptive search), than the trials of its kind:
 * a trial that can fuse with none, or with fewer than K, is checked in a group of that many.
 */
export function fitFuse(options: { trials: Trial[]; dataset: (t: Trial) => DatasetShape; planned: number; fuse: { k: number; source?: string }; keyOf?: (t: Trial) => string }): number {
  const { trials, dataset, fuse, keyOf } = options;
  const kinds = keyOf ? kindCounts(trials, keyOf) : new Map<string, number>();
  const k = Math.max(1, Math.min(fuse.k, options.planned));
  const files = new Map<string, number | null>();
  let fits = k;
  let limiting: { trial: Trial; group: number; batch: number; bytes: number } | undefined;
  for (const t of trials) {
    if (plannedBackend(t.config.backend) !== 'wasm') continue;
    // The largest group this trial can be in.
    const group = keyOf ? Math.min(k, kinds.get(keyOf(t)) ?? 1) : k;
    const step = stepped(t, files);
    const side = dataset(t).side;
    const most = Math.max(1, largestWasmGroup(step, side));
    if (most < group && most < fits) {
      fits = most;
      limiting = { trial: t, group, batch: step.training.batch_size, bytes: wasmGroupStepBytes(step, side, group) };
    }
  }
  if (fits === k || !limiting) return k;
  if (fuse.source === undefined) return fits;
  const { trial, group, batch, bytes } = limiting;
  const like = Object.keys(trial.params).length ? ` like ${trial.id} (${paramsText(trial.params)})` : '';
  throw new UserError(
    `${fuse.source}: a group of ${group} trials${like} with batch ${batch} needs about ${gigabytes(bytes)}, more than the wasm backend's 4 GB; ` +
      `use ${fits === 1 ? '--fuse 1 (each trial alone)' : `--fuse ${fits} or fewer`}, or lower training.batch_size`,
  );
}

/**
 * `planned`: the most trials that may run (an adaptive search's count; the trials given
 * otherwise); `heaviest`: trials that may run but need not fit (an adaptive search's heaviest
 * corner), counted for each worker's memory within the wasm heap.
 */
export function fitToMachine(options: {
  file: string;
  trials: Trial[];
  dataset: (t: Trial) => DatasetShape;
  requested: number | undefined;
  adapters?: number;
  planned?: number;
  heaviest?: Trial[];
  /** Trials each worker trains as one computation (fitFuse): each worker holds that many steps. */
  fuse?: number;
}): { workers: number; notes: string[] } {
  const { file, trials, dataset, requested } = options;
  const files = new Map<string, number | null>();
  for (const t of trials) {
    const problem = wasmProblem(t, dataset, files);
    if (!problem) continue;
    const trial = Object.keys(t.params).length ? ` (trial ${t.id}: ${paramsText(t.params)})` : '';
    throw new UserError({ file, message: `${problem.need}${trial}; ${problem.fix}` });
  }
  const bytes = (t: Trial, capped: boolean) => {
    const d = dataset(t);
    const full = workerBytes(stepped(t, files), d, options.fuse ?? 1);
    // A trial beyond the heap is skipped, never trained: a worker holds at most the heap.
    return capped ? Math.min(full, full - wasmStepBytes(stepped(t, files), d.side) + WASM_USABLE_BYTES) : full;
  };
  const heaviest = Math.max(maxOf(trials.map((t) => bytes(t, false))), maxOf((options.heaviest ?? []).map((t) => bytes(t, true))));
  const choice = chooseWorkers({
    requested,
    byDefault: defaultWorkers(trials.map((t) => t.config.backend as BackendChoice), availableParallelism(), options.adapters),
    trials: options.planned ?? trials.length,
    cores: availableParallelism(),
    freeBytes: freeBytes(),
    perWorkerBytes: heaviest,
    limits: processLimits(trials.map((t) => t.config.backend as BackendChoice)),
  });
  return settled(choice);
}

/**
 * An agent's workers: it does not know the trials it will get, so each worker is counted as the
 * reference recipe on full MNIST (60,000 images) would take, the usual trial of a sweep.
 */
export function fitAgentToMachine(options: { requested: number | undefined; backend: BackendChoice; adapters: number; fuse?: number }): { workers: number; notes: string[] } {
  const typical = workerBytes({ model: REFERENCE_MODEL, training: { batch_size: 64 } as Trial['config']['training'] }, { images: 60_000, side: 28 }, options.fuse ?? 1);
  return settled(
    chooseWorkers({
      requested: options.requested,
      byDefault: defaultWorkers([options.backend], availableParallelism(), options.adapters),
      trials: Infinity,
      cores: availableParallelism(),
      freeBytes: freeBytes(),
      perWorkerBytes: typical,
      limits: processLimits([options.backend]),
      workload: 'a LeNet-5 trial on full MNIST',
    }),
  );
}

/** LeNet-5's layers, for estimates where no trial is known yet. */
const REFERENCE_MODEL = { conv1_filters: 6, conv2_filters: 16, fc1_units: 120, fc2_units: 84 } as Trial['config']['model'];
