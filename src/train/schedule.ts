/**
 * Learning-rate schedules, per epoch (like PyTorch's schedulers stepped once an epoch):
 * `rate(epoch)` is the rate used for that epoch's steps, and `observe` feeds the epoch's metrics
 * to the schedules that react to them (plateau).
 */
import type { Experiment } from '../config/experiment.types.js';
import type { EpochMetrics } from './metrics.js';

export interface Schedule {
  /** The learning rate for an epoch (1-based). */
  rate(epoch: number): number;
  /** Called after each epoch's validation. */
  observe(metrics: EpochMetrics): void;
  /** What `observe` has learnt (plateau's counters), for a checkpoint; null for a fixed schedule. */
  save(): unknown;
  restore(state: unknown): void;
}

/** ReduceLROnPlateau's default threshold: a relative improvement of 1e-4 counts. */
const PLATEAU_THRESHOLD = 1e-4;

export function buildSchedule(config: Experiment): Schedule {
  const s = config.schedule;
  const lr = config.optimizer.lr;
  const epochs = config.training.epochs;
  const fixed = (f: (epoch: number) => number): Schedule => ({ rate: f, observe: () => {}, save: () => null, restore: () => {} });
  switch (s.name) {
    case 'constant':
      return fixed(() => lr);
    case 'step':
      return fixed((e) => lr * s.gamma ** Math.floor((e - 1) / s.step_size));
    case 'multistep':
      return fixed((e) => lr * s.gamma ** s.milestones.filter((m) => m < e).length);
    case 'exponential':
      return fixed((e) => lr * s.gamma ** (e - 1));
    case 'cosine':
      return fixed((e) => {
        if (e <= s.warmup_epochs) return (lr * e) / (s.warmup_epochs + 1);
        const span = epochs - s.warmup_epochs - 1;
        if (span <= 0) return lr;
        const k = e - s.warmup_epochs - 1;
        return s.min_lr + ((lr - s.min_lr) * (1 + Math.cos((Math.PI * k) / span))) / 2;
      });
    case 'plateau': {
      const { name, goal } = config.metric;
      let current = lr;
      let best: number | null = null;
      let badEpochs = 0;
      return {
        rate: () => current,
        observe(m) {
          const value = m[name];
          const improved = best === null ||
            (goal === 'maximize' ? value > best * (1 + PLATEAU_THRESHOLD) : value < best * (1 - PLATEAU_THRESHOLD));
          if (improved) {
            best = value;
            badEpochs = 0;
          } else if (++badEpochs > s.patience) {
            current = Math.max(current * s.factor, s.min_lr);
            badEpochs = 0;
          }
        },
        save: () => ({ current, best, badEpochs }),
        restore(state) {
          ({ current, best, badEpochs } = state as { current: number; best: number | null; badEpochs: number });
        },
      };
    }
  }
}
