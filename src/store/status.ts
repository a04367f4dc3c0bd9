/** A trial's status in the store (its own file: the writer, the queries and the views all name it). */

/** Every status a trial can have (the trial_records CHECK constraint lists the same). */
export const TRIAL_STATUSES = ['queued', 'running', 'completed', 'pruned', 'failed', 'diverged', 'interrupted'] as const;
export type TrialStatus = (typeof TRIAL_STATUSES)[number];
