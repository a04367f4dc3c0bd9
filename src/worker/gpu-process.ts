/**
 * The GPU process of a pool thread (gpu-host.ts): its entry point. What it must do before
 * anything else is here; the training (gpu-trainer.ts) loads after, since loading tfjs and
 * Dawn takes seconds, and a process that had not yet said how it takes signals, or that lost
 * a request sent while it loaded, would fail its trial for nothing.
 */
import type { GpuRequest } from './messages.js';

// The host forks this process in a process group of its own, out of the terminal's reach; a
// signal sent to it by pid still must not end it mid-batch: the sweep stops its trial with a
// 'stop' message (after the current batch) or ends the thread that owns it.
for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) process.on(signal, () => {});

/** What the host sent while the trainer loaded, handled in order once it has. */
const early: GpuRequest[] = [];
let handle: ((request: GpuRequest) => void) | undefined;
process.on('message', (request: GpuRequest) => (handle ? handle(request) : early.push(request)));

let release = () => {};
// The owning thread ended, or the sweep's process died: nothing left to train for.
process.on('disconnect', () => {
  release();
  process.exit(0);
});

const trainer = await import('./gpu-trainer.js');
release = trainer.release;
handle = trainer.handle;
for (const request of early.splice(0)) handle(request);
