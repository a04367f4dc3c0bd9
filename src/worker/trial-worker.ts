/**
 * The Piscina task: a group of trials trained as one computation (one trial alone is a group of
 * one), in a worker thread, each reporting over its own port. The main thread closes a trial's
 * port once it has the trial's last event. webgpu groups train in this thread's GPU process
 * instead (gpu-host.ts): Dawn writes its warnings straight to the process's stderr, and a driver
 * that crashes must take down one group, not the sweep.
 */
import { threadId, workerData } from 'node:worker_threads';
import { GpuHost } from './gpu-host.js';
import type { PoolData, TrialTask, Verdict, WorkerEvent } from './messages.js';
import { trainTrials } from './train-trial.js';
import { VerdictInbox } from './verdicts.js';

/** This thread's GPU process, started by its first webgpu trial and kept for the next ones (its device and compiled shaders with it). */
let gpuHost: GpuHost | undefined;
/** The adapter this thread's trials train on (--gpus), taken in turn when its first webgpu trial comes. */
let adapter: string | undefined;

export default async function runTrials(task: TrialTask): Promise<void> {
  const { jobs, ports, stops } = task;
  const stopOf = new Map(jobs.map((job, k) => [job.trialId, stops[k]]));
  const portOf = new Map(jobs.map((job, k) => [job.trialId, ports[k]]));
  const post = (event: WorkerEvent) => portOf.get(event.trialId)!.postMessage(event);
  const { config, gpu } = jobs[0];
  if (config.backend === 'webgpu' || (config.backend === 'auto' && gpu)) {
    if (!gpuHost) {
      const { gpus, taken, gpuPids } = workerData as PoolData;
      const turn = Atomics.add(taken, 0, 1);
      adapter = gpus.length ? gpus[turn % gpus.length] : undefined;
      gpuHost = new GpuHost(threadId, gpuPids, turn % gpuPids.length);
    }
    return gpuHost.run(jobs.map((job) => ({ ...job, adapter })), post, stops, ports);
  }
  const inboxes = new Map(jobs.map((job) => [job.trialId, new VerdictInbox()]));
  // Only a judged trial hears back on its port (the rule's verdicts).
  jobs.forEach((job, k) => {
    if (job.judged) ports[k].on('message', (verdict: Verdict) => inboxes.get(job.trialId)!.receive(verdict));
  });
  const outcome = await trainTrials(jobs, threadId, post, (trialId) => Atomics.load(stopOf.get(trialId)!, 0) !== 0, (trialId, epoch) => inboxes.get(trialId)!.await(epoch));
  // The backend cannot train again in this thread: it ends, and the pool starts a fresh one.
  if (outcome === 'unusable') process.exit(1);
}
