/**
 * The words between a sweep's runner (run-sweep.ts), the recorder of its trials' events
 * (trial-events.ts) and whoever starts it (session.ts): the run's options, its listeners, how it ended.
 */
import type { Trial } from '../config/experiment.js';
import type { Damaged } from '../checkpoint/files.js';
import type { KeepPolicy } from '../checkpoint/retention.js';
import type { EpochMetrics } from '../train/metrics.js';
import type { TrialStatus } from '../store/status.js';
import type { WorkerEvent } from '../worker/messages.js';
import type { Relayed } from './executor.js';
import type { Assignment } from './grid.js';

export interface RunOptions {
  workers: number;
  /** The folder of each trial's dataset, prepared before the pool starts. */
  dataDir: (trial: Trial) => string;
  /**
   * Stores an event (a call of the writer), waiting out another program's lock on the database
   * (store/patience.ts); the writes are made one at a time, in the order the events arrived.
   */
  store: (write: () => void) => Promise<void>;
  /** Whether `backend: auto` may take webgpu (backend/probeWebgpu found a GPU). */
  gpu: boolean;
  /** WebGPU adapters by name to spread the workers over (--gpus); empty: the first found. */
  gpus?: string[];
  /** The route to the WebGPU adapter the probe found (vulkan, metal, d3d12, opengles). */
  gpuApi?: string;
  /** The folder of the database's checkpoints (checkpoint/files.ts checkpointRoot). */
  checkpoints: string;
  /** Which checkpoints a trial keeps once it has ended. */
  keep: KeepPolicy;
  /** How many times a trial whose worker died is started again from its checkpoint. */
  retries: number;
  /**
   * The most trials trained as one computation (fused trials, sweep/fusion.ts); 1 (or absent): each alone.
   * An executor that cannot train groups (a queue's: its agents fuse what they take) trains each alone.
   */
  fuse?: number;
  /** What it takes to reproduce a trial, recorded when it starts (sweep/provenance.ts). */
  provenance?: (trial: Trial, backend: string, agent?: string) => object;
}

/**
 * Receives every worker event after it has been written to the database; with a resumed trial's
 * 'started', the epochs its checkpoint brought; and how the executor came by it.
 */
export type EventListener = (trial: Trial, event: WorkerEvent, resumed?: EpochMetrics[], relayed?: Relayed) => void;

/** Told about the search's own decisions: a proposal that broke a rule of the config, the target reached. */
export interface SearchListener {
  skipped?(params: Assignment, problem: string): void;
  /** A trial's newer checkpoints failed their check: it resumes from an older one (or the start). */
  damaged?(trial: Trial, damaged: Damaged[], resumeFrom: number): void;
  /** A trial's worker died; the trial starts again from its checkpoint (attempt counts the retries). */
  retrying?(trial: Trial, retry: number, error: string): void;
}

export interface RunOutcome {
  /** Final status of each trial that was handed to the pool. */
  statuses: Map<string, TrialStatus | 'queued'>;
  stopped: boolean;
}
