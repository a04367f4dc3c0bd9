/**
 * What training reports of an epoch, and how a trial's training ends: the words shared by the
 * loop, its schedule and state, checkpoints, workers and the store (a file of types with no
 * imports, so that none of them imports another for it).
 */
export interface EpochMetrics {
  epoch: number;
  train_loss: number;
  train_acc: number;
  val_loss: number;
  val_acc: number;
  lr: number;
  /** Wall time of the epoch, training and validation. */
  seconds: number;
  /** Training throughput of the epoch (optimizer steps only). */
  images_per_s: number;
}

export type TrainStatus = 'completed' | 'diverged' | 'interrupted' | 'pruned';
