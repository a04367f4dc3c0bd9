/**
 * How much memory a trial takes, estimated without running it: to refuse a trial the wasm
 * backend cannot hold before it starts (instead of "memory access out of bounds" mid-run), and
 * to keep `--workers` within what the machine has.
 *
 * Fitted to the wasm heap measured after training steps of LeNet variants on 28x28 images
 * (batch 16…8192, widths 6…1024; within about 20% of each, mostly above): per image of a batch,
 * about 8.5 floats per conv1 activation and 20 per conv2 activation (activations, their
 * gradients, XNNPACK's buffers), and 64 bytes per parameter (weights, gradients, Adam's two
 * slots, packed copies, temporaries).
 */
import type { Experiment } from '../config/experiment.types.js';
import { CLASSES } from '../data/class-names.js';

/**
 * A trial estimated above this is refused on wasm. Its heap can grow to 4 GB (emscripten's
 * getHeapMax: 4294901760 bytes); growth and fragmentation need the rest.
 */
export const WASM_USABLE_BYTES = 3.6e9;

/** A worker thread before its trial's data and tensors: Node, TensorFlow.js and the wasm module (measured: 150 MB). */
export const WORKER_RUNTIME_BYTES = 150e6;

const WASM_BASE_BYTES = 16e6;

/**
 * Address space (not memory) a worker thread takes: V8 reserves 10 GiB for each wasm memory
 * (guard regions that let it skip bounds checks), and each thread's isolate about 0.6 GB more.
 * Measured here: a sweep's process had 1.1 GB before its pool, 2.4 GB with two threads, 23.4 GB
 * once both had started wasm; under `ulimit -v` one wasm worker needed 12.3 GB, two 23.4 GB.
 * Below that, a thread's isolate cannot start (V8 aborts the whole process: "Failed to reserve
 * virtual memory for CodeRange") or wasm cannot allocate its memory.
 */
export const WASM_WORKER_ADDRESS_BYTES = 11.2e9;
export const THREAD_ADDRESS_BYTES = 0.65e9;
/** What the main thread maps after the check (the dashboard, Piscina, SQLite's pages). */
export const MAIN_ADDRESS_MARGIN_BYTES = 0.3e9;

/**
 * LeNet-5's trainable parameters for a model section on square images of `side` pixels, telling
 * `classes` apart. (The memory estimates below take ten: the last layer of 256 classes adds
 * 21,000 parameters, 1.4 MB of a heap whose fixed part is hundreds.)
 */
export function parameterCount(model: Experiment['model'], side: number, classes = CLASSES): number {
  const { conv1_filters: c1, conv2_filters: c2, fc1_units: f1, fc2_units: f2 } = model;
  const flat = Math.floor((Math.floor(side / 2) - 4) / 2) ** 2 * c2;
  return 25 * c1 + c1 + 25 * c1 * c2 + c2 + flat * f1 + f1 + f1 * f2 + f2 + f2 * classes + classes;
}

/** The wasm heap a step needs whatever its batch (model and optimizer), and for each image of the batch. */
function wasmStepParts(model: Experiment['model'], side: number): { fixed: number; perImage: number } {
  const conv1 = side * side * model.conv1_filters;
  const conv2 = (Math.floor(side / 2) - 4) ** 2 * model.conv2_filters;
  return { fixed: WASM_BASE_BYTES + 64 * parameterCount(model, side), perImage: 4 * (8.5 * conv1 + 20 * conv2) };
}

/** The wasm heap a training step of this trial needs, in bytes. */
export function wasmStepBytes(config: Pick<Experiment, 'model' | 'training'>, side = 28): number {
  const { fixed, perImage } = wasmStepParts(config.model, side);
  return fixed + config.training.batch_size * perImage;
}

/**
 * The wasm heap a step of `trials` trials trained as one computation (fused trials) needs: each
 * holds its own model, optimizer state and batch; the runtime's share is counted once.
 */
export function wasmGroupStepBytes(config: Pick<Experiment, 'model' | 'training'>, side: number, trials: number): number {
  return WASM_BASE_BYTES + trials * (wasmStepBytes(config, side) - WASM_BASE_BYTES);
}

/** The most trials of this config one wasm step can train as one computation (0: not even one). */
export function largestWasmGroup(config: Pick<Experiment, 'model' | 'training'>, side: number): number {
  return Math.max(0, Math.floor((WASM_USABLE_BYTES - WASM_BASE_BYTES) / (wasmStepBytes(config, side) - WASM_BASE_BYTES)));
}

/** The largest batch this model can train with on wasm (0 when even one image is too many). */
export function largestWasmBatch(model: Experiment['model'], side: number): number {
  const { fixed, perImage } = wasmStepParts(model, side);
  return Math.max(0, Math.floor((WASM_USABLE_BYTES - fixed) / perImage));
}

/** Evaluation reads at most this many images at once, and fewer where one image's conv1 output is large. */
const EVALUATION_CHUNK = 1000;
/** The largest conv1 output an evaluation chunk makes (in bytes): 1000 images of LeNet-5's 6 filters take 19 MB. */
const EVALUATION_BYTES = 256e6;

/**
 * Images per evaluation step. A fixed 1000 made 1.2 GB tensors with 384 conv1 filters, which
 * the wasm heap could not hold whatever the training batch: "memory access out of bounds".
 * Up to 81 filters on 28x28 images this stays 1000, so results of the usual widths are unchanged.
 */
export function evaluationChunk(model: Pick<Experiment['model'], 'conv1_filters'>, side: number): number {
  return Math.max(1, Math.min(EVALUATION_CHUNK, Math.floor(EVALUATION_BYTES / (4 * side * side * model.conv1_filters))));
}

/** A worker's memory for a trial, or a group of `trials` trained as one: runtime, its copy of the dataset's pixels, and the training step. */
export function workerBytes(config: Pick<Experiment, 'model' | 'training'>, dataset: { images: number; side: number }, trials = 1): number {
  return WORKER_RUNTIME_BYTES + dataset.images * dataset.side ** 2 + wasmGroupStepBytes(config, dataset.side, trials);
}

/** Bytes as people read them: 0.19 GB, 31 GB. */
export function gigabytes(bytes: number): string {
  const gb = bytes / 1e9;
  return `${gb < 10 ? gb.toFixed(gb < 1 ? 2 : 1) : Math.round(gb)} GB`;
}
