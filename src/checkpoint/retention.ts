/**
 * Which of a trial's checkpoints are kept: a pure decision. While a trial can still go on
 * (running, interrupted, failed) its newest two are kept (the one before the newest is the
 * fall-back if the newest is ever found damaged) and its best epoch's; once it has ended, the
 * `--keep` policy decides.
 */
export const KEEP_POLICIES = ['best', 'last', 'all'] as const;
export type KeepPolicy = (typeof KEEP_POLICIES)[number];

/** The default: the final model and the best one, which is what export's --epoch chooses between. */
export const DEFAULT_KEEP: KeepPolicy = 'last';

/** `epochs`: the recorded checkpoints; `best`: the trial's best epoch; returns the epochs to remove. */
export function checkpointsToRemove(epochs: number[], best: number | null, keep: KeepPolicy, ended: boolean): number[] {
  if (keep === 'all' || !epochs.length) return [];
  const newest = [...epochs].sort((a, b) => b - a);
  const kept = new Set<number>(best === null ? [] : [best]);
  if (!ended) newest.slice(0, 2).forEach((e) => kept.add(e));
  else if (keep === 'last' || best === null || !epochs.includes(best)) kept.add(newest[0]);
  return epochs.filter((e) => !kept.has(e));
}
