/**
 * A pool thread's GPU process: a child Node process that trains this thread's webgpu trials
 * (gpu-process.ts), one group at a time, and sends back the same events a thread posts. The
 * thread relays them to each trial's port, turns each trial's stop flag into a 'stop' message, and passes
 * on the child's stderr without Dawn's limit warnings (printed natively on every adapter
 * request, on real GPUs too, they would scroll through the dashboard).
 *
 * The child lives as long as the thread: its device and compiled shaders serve the next group.
 * It ends when its IPC channel closes (the thread ended or the sweep's process died). It runs in
 * a process group of its own: Ctrl-C or a closed terminal signals the terminal's whole group,
 * and a GPU process still loading would die of it and fail its trial; the sweep decides when
 * its trials stop.
 */
import { fork, type ChildProcess } from 'node:child_process';
import type { MessagePort } from 'node:worker_threads';
import { createInterface } from 'node:readline';
import { isDawnNoise } from '../backend/webgpu.js';
import { isTerminal, type GpuRequest, type TrialJob, type Verdict, type WorkerEvent } from './messages.js';

const GPU_PROCESS_FILE = new URL('./gpu-process.js', import.meta.url);

/** How often the stop flag is looked at while a trial trains in the child. */
const STOP_POLL_MS = 50;

/** The signals a terminal sends a whole process group, which a sweep takes as a stop. */
const STOP_SIGNALS = new Set<NodeJS.Signals>(['SIGINT', 'SIGTERM', 'SIGHUP']);

/** How long a GPU process ended by one of them waits for the sweep's stop before its trials are counted failed. */
const STOP_SIGNAL_WAIT_MS = 1000;

export class GpuHost {
  private child: ChildProcess | undefined;

  /** `pids[slot]` holds the child's pid while it lives, for the pool's owner to end it if this thread cannot. */
  constructor(private readonly worker: number, private readonly pids: Int32Array, private readonly slot: number) {}

  private start(): ChildProcess {
    const child = fork(GPU_PROCESS_FILE, [], { stdio: ['ignore', 'pipe', 'pipe', 'ipc'], serialization: 'advanced', detached: true });
    // Anything the child prints goes to stderr: stdout belongs to the sweep's own output.
    for (const stream of [child.stdout!, child.stderr!]) {
      createInterface({ input: stream, crlfDelay: Infinity }).on('line', (line) => {
        if (!isDawnNoise(line)) process.stderr.write(`${line}\n`);
      });
    }
    // Unheard, an 'error' would end this thread: a message that cannot reach a child that is
    // dying (its 'exit' then fails the trial), or a process that could not be started (run() says so).
    child.on('error', () => {});
    Atomics.store(this.pids, this.slot, child.pid ?? 0);
    child.on('exit', () => {
      Atomics.compareExchange(this.pids, this.slot, child.pid ?? 0, 0);
      if (this.child === child) this.child = undefined;
    });
    return child;
  }

  /**
   * Trains a group in the child; settles once every trial's last event has been relayed.
   * `ports[k]` brings the runner's verdicts on `jobs[k]`, passed on; `stops[k]` is its stop flag.
   */
  run(jobs: TrialJob[], post: (event: WorkerEvent) => void, stops: Int32Array[], ports: MessagePort[]): Promise<void> {
    // Stopped before it started: they stay queued, as in a thread.
    if (stops.every((stop) => Atomics.load(stop, 0) !== 0)) {
      for (const { trialId } of jobs) post({ type: 'skipped', trialId });
      return Promise.resolve();
    }
    const child = (this.child ??= this.start());
    return new Promise<void>((resolve) => {
      /** The trials still to send their last event; those that have started. */
      const left = new Set(jobs.map((j) => j.trialId));
      const started = new Set<string>();
      const judges = jobs.map((job) => (verdict: Verdict) => send(child, { ...verdict, trialId: job.trialId }));
      const end = () => {
        clearInterval(poll);
        child.off('message', relay);
        child.off('exit', died);
        child.off('error', unstarted);
        jobs.forEach((job, k) => ports[k].off('message', judges[k]));
        resolve();
      };
      /** The last event of each trial not yet ended, made by `lastOf`; then the run ends. */
      const endAll = (lastOf: (trialId: string) => WorkerEvent) => {
        for (const trialId of left) post(lastOf(trialId));
        left.clear();
        end();
      };
      const relay = (event: WorkerEvent) => {
        if (event.type === 'started') started.add(event.trialId);
        post(event);
        if (!isTerminal(event)) return;
        left.delete(event.trialId);
        if (!left.size) end();
      };
      const died = (code: number | null, signal: NodeJS.Signals | null, waited = 0): void => {
        if (!left.size) return;
        const asked = (trialId: string) => stopSent.has(trialId) || Atomics.load(stops[jobs.findIndex((j) => j.trialId === trialId)], 0) !== 0;
        // Ended by a terminal's signal (Ctrl-C reaching it while it loaded, before it ignores them):
        // the sweep got the same signal and is about to ask its trials to stop; waited for, a little.
        if (signal !== null && STOP_SIGNALS.has(signal) && waited < STOP_SIGNAL_WAIT_MS && ![...left].every(asked)) {
          setTimeout(() => died(code, signal, waited + STOP_POLL_MS), STOP_POLL_MS);
          return;
        }
        // Asked to stop, it ended instead (killed by hand, or by the sweep's second Ctrl-C): the
        // trials asked stopped, as they would have; they resume from their checkpoints.
        const error = `the GPU process ended (${signal ?? `exit code ${code}`}): the driver or the device failed`;
        endAll((trialId) =>
          !asked(trialId) ? { type: 'failed', trialId, error, retryable: true }
          : started.has(trialId) ? { type: 'finished', trialId, status: 'interrupted', testLoss: null, testAcc: null }
          : { type: 'skipped', trialId });
      };
      // A process that could not be started (no process slots or file descriptors left) never
      // exits. (Out of memory, fork throws instead: the task fails, and the runner says the worker died.)
      const unstarted = (err: Error) => {
        if (!left.size || child.pid !== undefined) return;
        if (this.child === child) this.child = undefined;
        endAll((trialId) => ({ type: 'failed', trialId, error: `the GPU process could not be started: ${err.message}`, retryable: true }));
      };
      jobs.forEach((job, k) => {
        if (job.judged) ports[k].on('message', judges[k]);
      });
      /** The trials whose stop has been passed on. */
      const stopSent = new Set<string>();
      const poll = setInterval(() => {
        jobs.forEach(({ trialId }, k) => {
          if (stopSent.has(trialId) || !left.has(trialId) || Atomics.load(stops[k], 0) === 0) return;
          stopSent.add(trialId);
          send(child, { type: 'stop', trialId });
        });
      }, STOP_POLL_MS);
      child.on('message', relay);
      child.on('exit', died);
      child.on('error', unstarted);
      send(child, { type: 'run', jobs, worker: this.worker });
    });
  }
}

function send(child: ChildProcess, request: GpuRequest): void {
  // A child that has just died cannot take it; its exit fails the trial.
  if (child.connected) child.send(request);
}
