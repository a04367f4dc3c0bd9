/**
 * What crosses between threads. The main thread hands a worker a TrialTask: a group of trials
 * trained as one computation (fused trials; a trial alone is a group of one), each with one end
 * of its own MessagePort. The worker answers with each trial's WorkerEvents on that trial's port,
 * a discriminated union on `type`, and the main thread alone writes them to the database.
 */
import type { MessagePort } from 'node:worker_threads';
import type { AdapterInfo, BackendName } from '../backend/choice.js';
import type { Experiment } from '../config/experiment.types.js';
import type { CheckpointFile } from '../checkpoint/files.js';
import type { EpochMetrics, TrainStatus } from '../train/metrics.js';

/** What training a trial needs, wherever it trains. */
export interface TrialJob {
  trialId: string;
  config: Experiment;
  /** Folder with the dataset's IDX files, prepared by the main thread. */
  dataDir: string;
  /** Whether `backend: auto` takes webgpu: the main thread found a GPU adapter (not a CPU implementation). */
  gpu: boolean;
  /** The WebGPU adapter to train on, by name (--gpus); the first found when absent. */
  adapter?: string;
  /** The route to it the main thread's probe found (vulkan, metal, d3d12, opengles). */
  api?: string;
  /**
   * The sweep has an early-termination rule: after each epoch but the last, training waits for
   * the runner's Verdict on the trial's port.
   */
  judged: boolean;
  /** The folder of the database's checkpoints (checkpoint/files.ts): each epoch's state is written there. */
  checkpoints: string;
  /** The checkpoint's epoch to continue from (the main thread found it intact); absent: from the start. */
  resume?: number;
}

/** The runner's answer to an epoch of a judged trial: null to go on, or why it stops (pruned). */
export interface Verdict {
  type: 'verdict';
  epoch: number;
  reason: string | null;
}

/** What every pool thread is started with. */
export interface PoolData {
  /** WebGPU adapters by name (--gpus): each thread takes the next, round the list. */
  gpus: string[];
  /** Index 0 counts the threads that have made a GPU process: the count picks the adapter and the slot. */
  taken: Int32Array;
  /** Each GPU process's pid in its slot (0 once it has ended), for the pool's owner to end any left. */
  gpuPids: Int32Array;
}

/**
 * A group handed to a pool thread: trials that may train as one computation (sweep/fusion.ts
 * says which may), `ports[k]` trial k's.
 */
export interface TrialTask {
  jobs: TrialJob[];
  ports: MessagePort[];
  /**
   * `stops[k]`: trial k's stop flag, index 0 becoming 1 when it is to stop after its batch (a
   * sweep's trials share one, set when the sweep is asked to stop; an agent's each have their own).
   */
  stops: Int32Array[];
}

/** A verdict passed on to a GPU process, which trains a whole group over one channel: whose it is. */
export type GpuVerdict = Verdict & { trialId: string };

/** From a pool thread to its GPU process (gpu-host.ts → gpu-process.ts). */
export type GpuRequest = { type: 'run'; jobs: TrialJob[]; worker: number } | { type: 'stop'; trialId: string } | GpuVerdict;

export type WorkerEvent =
  /**
   * `resumedFrom`: the checkpoint's epoch training continues after (0: the start). `beside`: the
   * other trials of its group, trained as one computation with it (fused; absent when alone).
   */
  | { type: 'started'; trialId: string; worker: number; backend: BackendName; adapter?: AdapterInfo; paramCount: number; batchesPerEpoch: number; resumedFrom: number; beside?: string[]; /** The agent it trains on (a sweep across machines). */ agent?: string }
  | { type: 'progress'; trialId: string; epoch: number; batch: number; batches: number }
  /** Sent once the epoch's checkpoint is on disk. */
  | { type: 'epoch'; trialId: string; metrics: EpochMetrics; checkpoint: CheckpointFile }
  /** `confusion[actual][predicted]`: test images counted (completed trials). */
  | { type: 'finished'; trialId: string; status: TrainStatus; testLoss: number | null; testAcc: number | null; pruneReason?: string; confusion?: number[][] }
  /** The sweep was stopped before this trial started; it stays queued. */
  | { type: 'skipped'; trialId: string }
  /**
   * `retryable`: the worker died under the trial (its thread or GPU process), not the trial's own fault.
   * `diskFull`: its checkpoint could not be written, the disk is full (`error` says where): not the
   * trial's fault either, and every trial after it would fail the same way, so the sweep stops.
   */
  | { type: 'failed'; trialId: string; error: string; retryable?: boolean; diskFull?: boolean };

/** Events after which a trial's port closes. */
export type TerminalEvent = Extract<WorkerEvent, { type: 'finished' | 'skipped' | 'failed' }>;

export function isTerminal(e: WorkerEvent): e is TerminalEvent {
  return e.type === 'finished' || e.type === 'skipped' || e.type === 'failed';
}
