/**
 * Which trials may train as one computation (fused trials, train/loop.ts trainGroup), and how
 * many at a time. Pure: the runner (run-sweep.ts) forms the groups from these answers.
 *
 * A group's trials share one dataset and batch index, one backend and one optimizer rule (a flat
 * step over all their weights); they are kept to one network shape too, so that a group is one
 * model with a trial axis. Everything else may differ: seeds, learning rates and every optimizer
 * setting, dropout rates, augmentation, schedules, epochs.
 */
import type { Experiment } from '../config/experiment.types.js';
import { splitOptions } from '../data/sources.js';
import { optimizerGroupKey } from '../train/optimizer.js';
import { maxOf } from '../util/extremes.js';

/** Equal for trials that may train in one group: the data, the network's shape, the batch, the backend, the optimizer rule. */
export function fusionKey(config: Experiment, dataDir: string): string {
  const { dropout, dropout_conv, ...shape } = config.model;
  return JSON.stringify({
    dataDir,
    split: splitOptions(config),
    // A rate of 0 turns dropout off: then it is no layer of the network at all.
    shape: { ...shape, dropout: dropout > 0, dropout_conv: dropout_conv > 0 },
    batch: config.training.batch_size,
    backend: config.backend,
    optimizer: optimizerGroupKey(config.optimizer),
  });
}

/**
 * How many trials the next group takes: at most `fuse`, and no more than an even share of those
 * left among the workers looking for work, so that 8 trials on 2 workers train as 4 and 4, not 8
 * and none.
 */
export function groupSize(fuse: number, left: number, idleWorkers: number): number {
  return Math.max(1, Math.min(fuse, Math.ceil(left / Math.max(1, idleWorkers))));
}

/**
 * Takes the next group's trials out of `waiting` (oldest first): the first, and those after it
 * of its kind, up to `size`. The rest stay waiting, in order.
 */
export function takeGroup<T>(waiting: T[], size: number, keyOf: (t: T) => string): T[] {
  if (!waiting.length) return [];
  const key = keyOf(waiting[0]);
  const group: T[] = [];
  for (let i = 0; i < waiting.length && group.length < size; ) {
    if (keyOf(waiting[i]) === key) group.push(...waiting.splice(i, 1));
    else i++;
  }
  return group;
}

/** How many of these trials there are of each kind (fusionKey): the most each can train beside, itself included. */
export function kindCounts<T>(trials: T[], keyOf: (t: T) => string): Map<string, number> {
  const counts = new Map<string, number>();
  for (const t of trials) counts.set(keyOf(t), (counts.get(keyOf(t)) ?? 0) + 1);
  return counts;
}

/**
 * The largest group these trials can form: the number of trials of the most common kind (0 for
 * none). Below 2 no two may train together, so fusing does nothing, and that is said once.
 */
export function largestKind<T>(trials: T[], keyOf: (t: T) => string): number {
  return Math.max(0, maxOf(kindCounts(trials, keyOf).values()));
}
