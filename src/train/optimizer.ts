import { train, type Optimizer } from '@tensorflow/tfjs';
import type { Experiment } from '../config/experiment.types.js';

export function buildOptimizer(config: Experiment['optimizer']): Optimizer {
  switch (config.name) {
    case 'adam':
      return train.adam(config.lr, config.beta1, config.beta2, config.epsilon);
    case 'sgd':
      return config.momentum > 0 ? train.momentum(config.lr, config.momentum, config.nesterov) : train.sgd(config.lr);
  }
}
