/**
 * The Piscina task: one trial, in a worker thread, reporting over the task's port. The main
 * thread closes the port once it has the trial's last event. webgpu trials train in this
 * thread's GPU process instead (gpu-host.ts): Dawn writes its warnings straight to the
 * process's stderr, and a driver that crashes must take down one trial, not the sweep.
 */
import { threadId, workerData } from 'node:worker_threads';
import { GpuHost } from './gpu-host.js';
import type { PoolData, TrialTask, Verdict, WorkerEvent } from './messages.js';
import { trainTrial } from './train-trial.js';
import { VerdictInbox } from './verdicts.js';

/** This thread's GPU process, started by its first webgpu trial and kept for the next ones (its device and compiled shaders with it). */
let gpuHost: GpuHost | undefined;
/** The adapter this thread's trials train on (--gpus), taken in turn when its first webgpu trial comes. */
let adapter: string | undefined;

export default async function runTrial(task: TrialTask): Promise<void> {
  const { port, stop, ...job } = task;
  const post = (event: WorkerEvent) => port.postMessage(event);
  if (job.config.backend === 'webgpu' || (job.config.backend === 'auto' && job.gpu)) {
    if (!gpuHost) {
      const { gpus, taken, gpuPids } = workerData as PoolData;
      const turn = Atomics.add(taken, 0, 1);
      adapter = gpus.length ? gpus[turn % gpus.length] : undefined;
      gpuHost = new GpuHost(threadId, gpuPids, turn % gpuPids.length);
    }
    return gpuHost.run({ ...job, adapter }, post, stop, port);
  }
  const verdicts = new VerdictInbox();
  // Only a judged trial hears back on its port (the rule's verdicts).
  if (job.judged) port.on('message', (verdict: Verdict) => verdicts.receive(verdict));
  const outcome = await trainTrial(job, threadId, post, () => Atomics.load(stop, 0) !== 0, (epoch) => verdicts.await(epoch));
  // The backend cannot train again in this thread: it ends, and the pool starts a fresh one.
  if (outcome === 'unusable') process.exit(1);
}
