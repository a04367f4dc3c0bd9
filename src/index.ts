/**
 * lenet-sweep as a library: run a sweep from TypeScript or JavaScript, as `sweep FILE` does (the
 * command is built on this API). `import { startSweep } from 'lenet-sweep'`; see the README's
 * "From TypeScript".
 */
export { INLINE_LABEL, runSweep, startSweep } from './sweep/session.js';
export type { SweepEvent, SweepListener, SweepNote, SweepOptions, SweepOutcome, SweepPlan, SweepSession, TrialEvent } from './sweep/session-types.js';
export type { Experiment, ExperimentFile, Parameter } from './config/experiment.types.js';
export type { Trial } from './config/experiment.js';
export type { Relayed } from './sweep/executor.js';
export type { Assignment } from './sweep/grid.js';
export type { EpochMetrics, TrainStatus } from './train/metrics.js';
export type { TrialRecord } from './store/queries.js';
export type { TrialStatus } from './store/status.js';
export type { KeepPolicy } from './checkpoint/retention.js';
export type { BackendChoice, BackendName } from './backend/choice.js';
/** A user's mistake (a bad experiment, option or path): each problem names the file or option and the place. */
export { UserError, type Problem } from './config/errors.js';
/** A wait for a locked database given up on request (the signal, or abort()): stopped as asked, not failed. */
export { GaveUp } from './store/patience.js';
