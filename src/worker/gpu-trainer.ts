/**
 * The training side of a GPU process (gpu-process.ts is its entry): trains the webgpu trials it
 * is sent, one at a time, and sends their events back over IPC.
 */
import { releaseWebgpu } from '../backend/webgpu-backend.js';
import type { GpuRequest, WorkerEvent } from './messages.js';
import { trainTrial } from './train-trial.js';
import { VerdictInbox } from './verdicts.js';

let stopped = false;
/** The runner's verdicts on the trial in training (a fresh inbox per trial). */
let verdicts = new VerdictInbox();
/** The last event's delivery: a process about to exit waits for it. */
let sent: Promise<void> = Promise.resolve();

const post = (event: WorkerEvent) => {
  sent = new Promise((resolve) => process.send!(event, undefined, {}, () => resolve()));
};

/** Frees the device before the process exits. */
export const release = releaseWebgpu;

/** One request from the host: a trial to train, a stop, or a verdict on the trial in training. */
export function handle(request: GpuRequest): void {
  if (request.type === 'stop') {
    stopped = true;
    return;
  }
  if (request.type === 'verdict') {
    verdicts.receive(request);
    return;
  }
  stopped = false;
  const inbox = (verdicts = new VerdictInbox());
  void trainTrial(request.job, request.worker, post, () => stopped, (epoch) => inbox.await(epoch)).then(async (outcome) => {
    if (outcome === 'done') return;
    // The device failed: a fresh process gets a fresh one for the next trial.
    await sent;
    releaseWebgpu();
    process.exit(1);
  });
}
