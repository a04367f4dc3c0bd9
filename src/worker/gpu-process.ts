/**
 * The GPU process of a pool thread (gpu-host.ts): trains the webgpu trials it is sent, one at
 * a time, and sends their events back over IPC.
 */
import { releaseWebgpu } from '../backend/webgpu-backend.js';
import type { GpuRequest, WorkerEvent } from './messages.js';
import { trainTrial } from './train-trial.js';
import { VerdictInbox } from './verdicts.js';

// Ctrl-C in the terminal reaches every process of its group; the sweep stops this one's trial
// with a 'stop' message (after the current batch) or ends the thread that owns it.
for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) process.on(signal, () => {});
// The owning thread ended, or the sweep's process died: nothing left to train for.
process.on('disconnect', () => {
  releaseWebgpu();
  process.exit(0);
});

let stopped = false;
/** The runner's verdicts on the trial in training (a fresh inbox per trial). */
let verdicts = new VerdictInbox();
/** The last event's delivery: a process about to exit waits for it. */
let sent: Promise<void> = Promise.resolve();

const post = (event: WorkerEvent) => {
  sent = new Promise((resolve) => process.send!(event, undefined, {}, () => resolve()));
};

process.on('message', (request: GpuRequest) => {
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
});
