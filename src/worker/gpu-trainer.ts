/**
 * The training side of a GPU process (gpu-process.ts is its entry): trains the webgpu trials it
 * is sent, one group at a time, and sends their events back over IPC.
 */
import { releaseWebgpu } from '../backend/webgpu-backend.js';
import type { GpuRequest, WorkerEvent } from './messages.js';
import { trainTrials } from './train-trial.js';
import { VerdictInbox } from './verdicts.js';

/** The trials of the group in training asked to stop after their batch. */
let stopped = new Set<string>();
/** The runner's verdicts on the group in training, by trial (fresh inboxes per group). */
let verdicts = new Map<string, VerdictInbox>();
/** The last event's delivery: a process about to exit waits for it. */
let sent: Promise<void> = Promise.resolve();

const post = (event: WorkerEvent) => {
  sent = new Promise((resolve) => process.send!(event, undefined, {}, () => resolve()));
};

/** Frees the device before the process exits. */
export const release = releaseWebgpu;

/** One request from the host: a group to train, a stop, or a verdict on a trial in training. */
export function handle(request: GpuRequest): void {
  if (request.type === 'stop') {
    stopped.add(request.trialId);
    return;
  }
  if (request.type === 'verdict') {
    verdicts.get(request.trialId)?.receive(request);
    return;
  }
  const stops = (stopped = new Set());
  const inboxes = (verdicts = new Map(request.jobs.map((job) => [job.trialId, new VerdictInbox()])));
  void trainTrials(request.jobs, request.worker, post, (trialId) => stops.has(trialId), (trialId, epoch) => inboxes.get(trialId)!.await(epoch)).then(async (outcome) => {
    if (outcome === 'done') return;
    // The device failed: a fresh process gets a fresh one for the next group.
    await sent;
    releaseWebgpu();
    process.exit(1);
  });
}
