/**
 * When a trial has diverged: its training stops and it is recorded as `diverged`, not
 * `completed`, so that a blown-up run (a training loss of 1e16) is never ranked as a result.
 */

/** How many times the reference loss a trial's training loss may reach. */
export const DIVERGENCE_FACTOR = 100;

/**
 * Whether an epoch's losses say the trial diverged: a loss that is not finite, or a training
 * loss above DIVERGENCE_FACTOR times the smaller of the first epoch's training loss and
 * ln(classes), the cross-entropy of guessing every class alike (2.30 for digits). The second
 * catches a trial that blows up in its first epoch; the first, one that learned, then blew up.
 */
export function hasDiverged(epoch: { train_loss: number; val_loss: number }, firstTrainLoss: number, classes: number): boolean {
  if (!Number.isFinite(epoch.train_loss) || !Number.isFinite(epoch.val_loss)) return true;
  const reference = Math.min(Number.isFinite(firstTrainLoss) ? firstTrainLoss : Infinity, Math.log(classes));
  return epoch.train_loss > DIVERGENCE_FACTOR * reference;
}
