/**
 * The words of the programmatic API (session.ts startSweep): its options, the plan of a run, the
 * events it streams and how it ended. The command (`sweep FILE`) prints every line it prints
 * from these, so nothing it says is out of an API user's reach.
 */
import type { BackendChoice } from '../backend/choice.js';
import type { Damaged } from '../checkpoint/files.js';
import type { KeepPolicy } from '../checkpoint/retention.js';
import type { Trial } from '../config/experiment.js';
import type { Experiment } from '../config/experiment.types.js';
import type { AdaptiveMethod } from '../search/methods.js';
import type { TrialRecord } from '../store/queries.js';
import type { TrialStatus } from '../store/status.js';
import type { EpochMetrics } from '../train/metrics.js';
import type { WorkerEvent } from '../worker/messages.js';
import type { Relayed } from './executor.js';
import type { Assignment } from './grid.js';

/** How a sweep runs: the options of `sweep FILE`, by the same names and with the same defaults. */
export interface SweepOptions {
  /** The runs database, created if missing (default runs/runs.db); its checkpoints go beside it. */
  db?: string;
  /** Trials trained at once (default: one per CPU core on wasm and cpu, at most 4 per adapter on webgpu, held to the free memory). */
  workers?: number;
  /**
   * The most trials trained as one computation on a worker (fused trials: trials that share their
   * network's shape, batch size, data, backend and optimizer rule); 1 trains each alone. Default:
   * the file's sweep.fuse, else per backend (backend/choice.ts defaultFuse).
   */
  fuse?: number;
  /** The checkpoints a trial keeps once it ends (default last). */
  keep?: KeepPolicy;
  /** How many times a trial whose worker died starts again from its checkpoint (default 1). */
  retries?: number;
  /** Every trial's backend, whatever the experiment says. */
  backend?: BackendChoice;
  /** The WebGPU adapters to spread the workers over, as `sweep backends` lists them ('0,1', names). */
  gpus?: string;
  /** Coordinate the sweep through the Redis at this URL: agents (`sweep agent`) train its trials. */
  queue?: string;
  /** Train every trial again from its first epoch, completed and pruned ones included (grid, random). */
  rerun?: boolean;
  /** `path=value` overrides of the experiment (--set), each value read as YAML. */
  set?: string[];
  /** `path=a,b,c` grid axes added to the experiment (--grid). */
  grid?: string[];
  /** Allow a grid of more than 10,000 trials (--yes). */
  yes?: boolean;
  /**
   * Leave out a folder dataset's images that do not decode, and say which (--skip-bad), instead of
   * refusing the first one. The dataset so prepared is cached apart from the one without.
   */
  skipBad?: boolean;
  /**
   * Stops the sweep as stop() does, from any point: before the database is opened startSweep
   * rejects with the signal's reason, nothing written; while it is being claimed, a wait for
   * another program's lock is given up (startSweep rejects with GaveUp) and a run not yet started
   * trains nothing (recorded as interrupted); once training, the running trials end after their batch.
   */
  signal?: AbortSignal;
}

/** What a run trains, settled before the first trial starts. */
export interface SweepPlan {
  /** The sweep's name (the experiment's): how the database and the dashboard know it. */
  sweep: string;
  /** The experiment file, or "(inline experiment)" for an object. */
  file: string;
  /** The database, as given. */
  db: string;
  metric: Experiment['metric'];
  /** A grid or random experiment's trials (after the backend option); an adaptive search's start-up trials. */
  trials: Trial[];
  /** An adaptive search (tpe, bayes): its method and the most trials it runs; null for grid and random. */
  search: { method: AdaptiveMethod; maxTrials: number } | null;
  /** Trials of the sweep that had ended before this run, kept as they are. */
  ended: { completed: number; pruned: number };
  /** The trials this run trains first, in order (an adaptive search proposes the others as it goes). */
  queued: Trial[];
  /** The most trials this run may train; 0: nothing left to do. */
  runnable: number;
  /** Trials trained at once here (1 with a queue, whose agents choose their own). */
  workers: number;
  /**
   * The most trials a worker trains as one computation in this run (fused trials): K, or fewer where
   * these trials cannot form groups that large (at most the trials of one kind, and an even share
   * among the workers); 1: each alone, and always with a queue.
   */
  fuse: number;
  /** Each backend the trials name, and what it runs on here ('auto' → 'wasm'). */
  backends: { name: BackendChoice; runsOn: string }[];
  /** The queue's URL as it may be shown (no password), when agents train the trials. */
  queue: string | null;
  /** What preparing the data (images left out by skipBad) and fitting the workers to this machine (more workers than cores, fewer than asked) had to say, as lines to show. */
  notes: string[];
}

type Worker<T extends WorkerEvent['type']> = Extract<WorkerEvent, { type: T }>;
/** How the trial's event came (a queue's coordinator started again takes up what agents sent meanwhile). */
type About = { trial: Trial; relayed: Relayed };

/**
 * A trial's event, once it is stored: started (with the epochs its checkpoint brought, when it
 * resumes), progress within an epoch, an epoch, finished (completed, pruned, diverged,
 * interrupted), failed.
 */
export type TrialEvent =
  | (Worker<'started'> & About & { resumed: EpochMetrics[] })
  | (Worker<'progress'> & About)
  | (Worker<'epoch'> & About)
  | (Worker<'finished'> & About)
  | (Worker<'failed'> & About);

/** What the run had to say besides its trials' events (the command prints each as a `note:` line). */
export type SweepNote =
  /** Another coordinator held the sweep on the queue a moment ago: waiting for its lease to lapse. */
  | { type: 'lease-wait'; sweep: string; host: string; pid: number; lapseMs: number }
  /** Another program has locked the database: waiting (said again every 30 s), at most `patienceMs`. */
  | { type: 'database-wait'; db: string; holder: string; patienceMs: number }
  /** The sweep was marked running on another host, which this one cannot ask: this run takes it over. */
  | { type: 'takeover'; sweep: string; host: string; updatedAt: string | null }
  /** A trial with stored epochs but no checkpoint to resume from: it trains again from its first epoch. */
  | { type: 'starting-over'; trial: Trial; storedEpochs: number }
  /** An adaptive search's proposal that cannot train (it breaks a rule of the config, or the wasm heap cannot hold it). */
  | { type: 'proposal-skipped'; params: Assignment; problem: string }
  /** A trial's newest checkpoints failed their check (set aside as .damaged): it resumes from `resumesFrom` (0: the start). */
  | { type: 'damaged'; trial: Trial; damaged: Damaged[]; resumesFrom: number }
  /** A trial's worker died: it starts again from its last checkpoint. */
  | { type: 'retrying'; trial: Trial; retry: number; retries: number; error: string }
  /** The queue's word on its agents (joined, lost, none there). */
  | { type: 'queue'; message: string };

export type SweepEvent =
  /**
   * Every check has passed (the experiment, its backends and data, this machine, the queue and
   * its lease); the database is opened next. Nothing was written to it before.
   */
  | { type: 'opening'; db: string }
  /** The database holds this run now; what it trains. */
  | { type: 'planned'; plan: SweepPlan }
  | SweepNote
  | TrialEvent;

export type SweepListener = (event: SweepEvent) => void;

/** How a run ended, once the database records it (and is closed). */
export interface SweepOutcome {
  /** As the database records the run: interrupted when stopped, failed when a trial failed. */
  status: 'completed' | 'failed' | 'interrupted';
  /** Stopped before the end (stop(), abort(), or the signal before training). */
  stopped: boolean;
  /** The status each trial this run took up ended with ('queued': not started before the stop). */
  statuses: Map<string, TrialStatus | 'queued'>;
  /** An adaptive search tried every point of its space before its count. */
  exhausted: boolean;
  /** The trial that reached metric.target, after which no new trial started. */
  reachedTarget: { id: string; value: number } | null;
  /** The trials of this run (every trial of an adaptive search) ranked best first, as the leaderboard shows them; read from the database when called. */
  ranked(): TrialRecord[];
}

export interface SweepSession {
  readonly plan: SweepPlan;
  /**
   * The events from the start, in order (those before startSweep resolved included, for a
   * reader that starts at once; a later reader gets them from when it starts). It ends when the
   * run has settled, throwing its error if it failed.
   */
  readonly events: AsyncIterable<SweepEvent>;
  /** A stop was asked for (stop(), abort()) or the run is stopping of itself (a full disk). */
  readonly stopping: boolean;
  /** The running trials end after their current batch (marked interrupted); queued ones do not start. */
  stop(): void;
  /** The running trials end now, mid-batch, marked interrupted; a wait for a locked database is given up. */
  abort(): Promise<void>;
  /** Settles once the run is recorded and the database closed: rejects with what stopped it (a full disk, a database that failed). */
  readonly done: Promise<SweepOutcome>;
}
