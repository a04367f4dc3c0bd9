import type { Experiment } from '../src/config/experiment.types.js';

export type Overrides = { [K in 'model' | 'optimizer' | 'schedule' | 'augment' | 'training']?: Partial<Experiment[K]> };

/** A fully resolved experiment (the reference recipe, tiny budget), with overrides per section. */
export function config(overrides: Overrides = {}): Experiment {
  return {
    name: 't',
    description: '',
    backend: 'wasm',
    metric: { name: 'val_acc', goal: 'maximize' },
    data: { dataset: 'mnist', split_seed: 0, mean: 0.1307, std: 0.3081 },
    model: { pooling: 'avg', activation: 'relu', dropout: 0, dropout_conv: 0, batchnorm: false, batchnorm_fc: false, conv1_filters: 6, conv2_filters: 16, fc1_units: 120, fc2_units: 84, ...overrides.model },
    optimizer: { name: 'adam', lr: 0.001, nesterov: false, beta1: 0.9, beta2: 0.999, alpha: 0.99, epsilon: 1e-8, weight_decay: 0, clip_norm: 0, ...overrides.optimizer },
    schedule: { name: 'constant', step_size: 5, gamma: 0.5, milestones: [5, 8], warmup_epochs: 0, min_lr: 0, factor: 0.1, patience: 2, ...overrides.schedule },
    augment: { rotate: 0, scale: 0, translate: 0, ...overrides.augment },
    training: { epochs: 1, batch_size: 64, seed: 1, limit_train: 0, ...overrides.training },
  };
}

