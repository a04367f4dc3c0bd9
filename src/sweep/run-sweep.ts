/**
 * Running a sweep: whenever a worker is free, the search (sweep/search.ts) names the next trial
 * and it goes to a Piscina pool; each worker's events arrive on the trial's own MessagePort and
 * are written by this thread alone, which also answers each epoch with the early-termination
 * rule's verdict on the same port.
 */
import { MessageChannel, type MessagePort } from 'node:worker_threads';
import { Piscina } from 'piscina';
import type { Trial } from '../config/experiment.js';
import { findResumePoint, removeCheckpoints, removeTrialCheckpoints, type Damaged } from '../checkpoint/files.js';
import { checkpointsToRemove, type KeepPolicy } from '../checkpoint/retention.js';
import type { EpochMetrics } from '../train/loop.js';
import type { RunWriter, TrialStatus } from '../store/writer.js';
import { isTerminal, type PoolData, type TerminalEvent, type TrialTask, type Verdict, type WorkerEvent } from '../worker/messages.js';
import type { Assignment } from './grid.js';
import type { SweepSearch } from './search.js';

export interface SweepOptions {
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
  /** What it takes to reproduce a trial, recorded when it starts (sweep/provenance.ts). */
  provenance?: (trial: Trial, backend: string) => object;
}

/**
 * Receives every worker event after it has been written to the database; with a resumed trial's
 * 'started', the epochs its checkpoint brought.
 */
export type EventListener = (trial: Trial, event: WorkerEvent, resumed?: EpochMetrics[]) => void;

/** Told about the search's own decisions: a proposal that broke a rule of the config, the target reached. */
export interface SearchListener {
  skipped?(params: Assignment, problem: string): void;
  /** A trial's newer checkpoints failed their check: it resumes from an older one (or the start). */
  damaged?(trial: Trial, damaged: Damaged[], resumeFrom: number): void;
  /** A trial's worker died; the trial starts again from its checkpoint (attempt counts the retries). */
  retrying?(trial: Trial, retry: number, error: string): void;
}

export interface SweepOutcome {
  /** Final status of each trial that was handed to the pool. */
  statuses: Map<string, TrialStatus | 'queued'>;
  stopped: boolean;
}

/** A judged trial's port, answered after each of its epochs is stored. */
type Ports = Map<string, MessagePort>;

const WORKER_FILE = new URL('../worker/trial-worker.js', import.meta.url);

/** Slots for the pool threads' GPU processes (a thread that is replaced takes the next slot, round). */
const GPU_PROCESS_SLOTS = 256;
/** How long GPU processes get to end by themselves once their threads are gone. */
const GPU_PROCESS_GRACE_MS = 1000;

/** A crashed worker may have posted events that arrive after its task failed: wait this long for them. */
const CRASH_GRACE_MS = 1000;

export class SweepRun {
  private readonly stopFlag = new Int32Array(new SharedArrayBuffer(4));
  private readonly pool: Piscina;
  /** The GPU processes of the pool threads (worker/gpu-host.ts), by slot: 0 when none. */
  private readonly gpuPids = new Int32Array(new SharedArrayBuffer(4 * GPU_PROCESS_SLOTS));
  /** The first error in writing events; the sweep stops and `done` rejects with it. */
  private failure: Error | undefined;
  /** Set by abort(): the threads are being ended, so their trials' events no longer count. */
  private aborted = false;
  /** The pool's shutdown, once begun (by abort, or when every trial has ended). */
  private destroyed: Promise<void> | undefined;
  /** The events' writes, one after another in arrival order, so that a wait for a lock keeps them in order. */
  private writes: Promise<void> = Promise.resolve();
  readonly done: Promise<SweepOutcome>;

  private readonly ports: Ports = new Map();
  /** The epochs a resuming trial brings from its checkpoint, for the search to see again when it starts. */
  private readonly resumed = new Map<string, EpochMetrics[]>();

  constructor(
    private readonly writer: RunWriter,
    private readonly search: SweepSearch,
    options: SweepOptions,
    private readonly listener: EventListener,
    private readonly searchListener: SearchListener = {},
  ) {
    const workerData: PoolData = { gpus: options.gpus ?? [], taken: new Int32Array(new SharedArrayBuffer(4)), gpuPids: this.gpuPids };
    this.pool = new Piscina({ filename: WORKER_FILE.href, minThreads: options.workers, maxThreads: options.workers, idleTimeout: 1000, workerData });
    this.done = this.runAll(options);
  }

  get stopping(): boolean {
    return Atomics.load(this.stopFlag, 0) !== 0;
  }

  /** Asks the workers to stop after their current batch; queued trials are not started. */
  stop(): void {
    Atomics.store(this.stopFlag, 0, 1);
  }

  /**
   * Stops at once: the worker threads are ended mid-batch and `done` settles as stopped; the
   * trials they ran stay marked running for the caller to mark interrupted.
   */
  async abort(): Promise<void> {
    if (this.aborted) return;
    this.stop();
    this.aborted = true;
    await this.destroy();
  }

  private destroy(): Promise<void> {
    this.destroyed ??= this.pool.destroy().then(() => endGpuProcesses(this.gpuPids));
    return this.destroyed;
  }

  private async runAll(options: SweepOptions): Promise<SweepOutcome> {
    const statuses = new Map<string, TrialStatus | 'queued'>();
    // One loop per worker asks the search for the next trial when its last one ends: the pool
    // never holds more than `workers` tasks (and ports), however large the sweep, and an adaptive
    // method chooses each trial knowing every result so far.
    const loop = async () => {
      while (!this.stopping && !this.failure) {
        const next = this.search.next();
        if (!next) return;
        if ('skipped' in next) {
          this.searchListener.skipped?.(next.skipped, next.problem);
          continue;
        }
        const { trial, proposed } = next;
        // Recorded (queued) before it starts, in order with the events' writes.
        if (proposed) await this.write(() => this.writer.addTrials([trial]), options);
        if (this.failure) return;
        statuses.set(trial.id, this.stopping ? 'queued' : await this.runOne(trial, options));
      }
    };
    const settled = await Promise.allSettled(Array.from({ length: options.workers }, loop));
    await this.destroy();
    await this.writes;
    const rejected = settled.find((r): r is PromiseRejectedResult => r.status === 'rejected');
    const failure = this.failure ?? (rejected?.reason as Error | undefined);
    if (failure) throw failure;
    return { statuses, stopped: this.stopping };
  }

  /**
   * Trains a trial: from its newest intact checkpoint if it has one, and again from the newest
   * after its worker died (a crashed thread, GPU process or device), up to `retries` times.
   */
  private async runOne(trial: Trial, options: SweepOptions): Promise<TrialStatus | 'queued'> {
    for (let retry = 0; ; retry++) {
      const resume = await this.resumePoint(trial, options);
      if (this.failure) return 'queued';
      const { status, died } = await this.attempt(trial, options, resume);
      if (status !== 'failed' || died === null || retry >= options.retries || this.stopping) return status;
      this.searchListener.retrying?.(trial, retry + 1, died);
    }
  }

  /**
   * Where a trial starts: the epoch of its newest intact checkpoint, whose history then becomes
   * the trial's epochs in the database (0 when it has none, and any leftover files are removed).
   */
  private async resumePoint(trial: Trial, options: SweepOptions): Promise<number> {
    const point = findResumePoint(options.checkpoints, trial.id);
    if (!point) {
      removeTrialCheckpoints(options.checkpoints, trial.id);
      return 0;
    }
    const { checkpoint, files, damaged } = point;
    if (damaged.length) this.searchListener.damaged?.(trial, damaged, checkpoint.epoch);
    await this.write(() => this.writer.resumeAt(trial.id, checkpoint.history, files), options);
    this.resumed.set(trial.id, checkpoint.history);
    return checkpoint.epoch;
  }

  /** One attempt at a trial; `died`: why its worker died (it may be retried), else null. */
  private async attempt(trial: Trial, options: SweepOptions, resume: number): Promise<{ status: TrialStatus | 'queued'; died: string | null }> {
    const { port1, port2 } = new MessageChannel();
    let resolveTerminal!: (e: TerminalEvent) => void;
    const terminal = new Promise<TerminalEvent>((resolve) => (resolveTerminal = resolve));
    port1.on('message', (event: WorkerEvent) => {
      void this.handle(trial, event, options).then(() => isTerminal(event) && resolveTerminal(event));
    });
    const judged = this.search.judged;
    if (judged) this.ports.set(trial.id, port1);
    try {
      // Inside the try: whatever throws here, the port is closed (an open one keeps the process alive).
      const task: TrialTask = {
        trialId: trial.id,
        config: trial.config,
        dataDir: options.dataDir(trial),
        port: port2,
        stop: this.stopFlag,
        gpu: options.gpu,
        api: options.gpuApi,
        judged,
        checkpoints: options.checkpoints,
        ...(resume ? { resume } : {}),
      };
      const crash = await this.pool.run(task, { transferList: [port2] }).then(() => null, (err: Error) => err);
      if (crash && this.aborted) return { status: 'interrupted', died: null };
      // Port messages and the task's completion travel separately: wait for the trial's last event.
      const last = crash ? await Promise.race([terminal, delay(CRASH_GRACE_MS)]) : await terminal;
      if (last) return { status: statusOf(last), died: last.type === 'failed' && last.retryable ? last.error : null };
      const error = `worker died: ${crash?.message}`;
      await this.handle(trial, { type: 'failed', trialId: trial.id, error, retryable: true }, options);
      return { status: 'failed', died: error };
    } finally {
      this.ports.delete(trial.id);
      port1.close();
    }
  }

  /** A write that is not an event's (a proposed trial), in order with the events' writes. */
  private write(write: () => void, options: SweepOptions): Promise<void> {
    this.writes = this.writes.then(async () => {
      if (this.aborted) return;
      try {
        await options.store(write);
      } catch (err) {
        this.failure ??= err as Error;
        this.stop();
      }
    });
    return this.writes;
  }

  /** Stores an event after those before it, then tells the listener; settles once both are done. */
  private handle(trial: Trial, event: WorkerEvent, options: SweepOptions): Promise<void> {
    this.writes = this.writes.then(async () => {
      // A thread being ended may still have events on its way: a 'started' would mark its
      // trial running again after the caller settled it.
      if (this.aborted) return;
      // A judged trial waits for the verdict on each epoch but its last (and, resumed, on its
      // checkpoint's epoch when it starts): it always gets one.
      const judgedEpoch = event.type === 'epoch' ? event.metrics.epoch : event.type === 'started' && event.resumedFrom > 0 ? event.resumedFrom : null;
      let verdict: Verdict | null = judgedEpoch !== null && this.ports.has(trial.id) && judgedEpoch < trial.config.training.epochs
        ? { type: 'verdict', epoch: judgedEpoch, reason: null }
        : null;
      try {
        this.observe(trial, event);
        if (verdict) {
          const decided = this.search.judge(trial.id);
          if (decided?.rungs) {
            const rungs = decided.rungs;
            await options.store(() => this.writer.setRungs(trial.id, rungs));
          }
          if (decided?.stop) verdict = { ...verdict, reason: decided.reason };
        }
        // The event and the keep policy's removals in one transaction; the files go once it has committed.
        let removed: number[] = [];
        await options.store(() =>
          this.writer.together(() => {
            this.record(trial, event, options);
            if (event.type === 'epoch' || event.type === 'finished') removed = this.dropCheckpoints(trial, event.type === 'finished' && event.status !== 'interrupted', options);
          }),
        );
        removeCheckpoints(options.checkpoints, trial.id, removed);
        const resumed = event.type === 'started' && event.resumedFrom ? this.resumed.get(trial.id)?.slice(0, event.resumedFrom) : undefined;
        if (event.type === 'started') this.resumed.delete(trial.id);
        this.listener(trial, event, resumed);
      } catch (err) {
        // The database could not take the event (disk full, its file deleted, locked for
        // minutes…): stop the sweep and fail it with this error once the running trials have ended.
        this.failure ??= err as Error;
        this.stop();
      } finally {
        if (verdict) this.ports.get(trial.id)?.postMessage(verdict);
      }
    });
    return this.writes;
  }

  /**
   * Forgets the checkpoints a trial no longer keeps (checkpoint/retention.ts) and returns their
   * epochs, whose files the caller removes once this has committed (a crash between the two
   * leaves a file no record names: harmless, and gone when the trial trains again).
   */
  private dropCheckpoints(trial: Trial, ended: boolean, options: SweepOptions): number[] {
    const { epochs, best } = this.writer.checkpointsOf(trial.id);
    const removed = checkpointsToRemove(epochs, best, options.keep, ended);
    if (removed.length) this.writer.dropCheckpoints(trial.id, removed);
    return removed;
  }

  /** Keeps the search's picture of the sweep up to date with an event. */
  private observe(trial: Trial, event: WorkerEvent): void {
    switch (event.type) {
      case 'started': {
        this.search.started(trial.id);
        // A resumed trial's values so far are its checkpoint's.
        const history = this.resumed.get(trial.id) ?? [];
        for (const m of history.slice(0, event.resumedFrom)) this.search.epoch(trial.id, m);
        return;
      }
      case 'epoch':
        return this.search.epoch(trial.id, event.metrics);
      case 'finished':
        return this.search.ended(trial.id, event.status);
      case 'failed':
        return this.search.ended(trial.id, 'failed');
    }
  }

  private record(trial: Trial, event: WorkerEvent, options: SweepOptions): void {
    switch (event.type) {
      case 'started': {
        const provenance = options.provenance?.(trial, event.backend) ?? null;
        return this.writer.trialStarted(trial.id, event.worker, event.backend, event.adapter ?? null, event.paramCount, event.batchesPerEpoch, event.resumedFrom, provenance);
      }
      case 'progress':
        return this.writer.progress(trial.id, event.epoch, event.batch);
      case 'epoch':
        return this.writer.epoch(trial.id, event.metrics, event.checkpoint);
      case 'finished':
        return this.writer.trialFinished(trial.id, event.status, { loss: event.testLoss, acc: event.testAcc }, event.pruneReason ?? null, event.confusion ?? null);
      case 'failed':
        return this.writer.trialFailed(trial.id, event.error);
      case 'skipped':
        return;
    }
  }
}

function statusOf(event: TerminalEvent): TrialStatus | 'queued' {
  return event.type === 'finished' ? event.status : event.type === 'failed' ? 'failed' : 'queued';
}

/**
 * Ends the GPU processes the pool threads leave behind. Each ends by itself once its thread's
 * channel closes; one stuck in a driver call, or stopped, would not (it ignores the terminal's
 * signals), so after a grace period whatever is left is killed. A process that ended is at worst
 * a zombie of this process by then (its thread, which would have reaped it, is gone), so its
 * pid cannot have been reused.
 */
async function endGpuProcesses(pids: Int32Array): Promise<void> {
  const left = () => Array.from(pids).filter((pid) => pid > 0);
  if (!left().length) return;
  // A timer that holds the process open: this must happen before it exits.
  await new Promise((resolve) => setTimeout(resolve, GPU_PROCESS_GRACE_MS));
  for (const pid of left()) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // Gone already.
    }
  }
}

const delay = (ms: number) => new Promise<null>((resolve) => setTimeout(() => resolve(null), ms).unref());
