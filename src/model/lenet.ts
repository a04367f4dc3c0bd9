/**
 * LeNet-5 as in the classic PyTorch tutorial, built from tfjs ops on explicit variables:
 * conv 6@5x5 pad 2 → act → 2x2 pool → conv 16@5x5 → act → 2x2 pool → fc 120 → fc 84 → fc 10.
 * Weights and biases start like PyTorch's defaults (uniform ±1/sqrt(fan_in)), from the trial's
 * seeded generator, so the recipe trains like the reference.
 */
import {
  add,
  avgPool,
  conv2d,
  fused,
  dropout,
  maxPool,
  mul,
  relu,
  reshape,
  sigmoid,
  tanh,
  tensor,
  tidy,
  variable,
  type Tensor,
  type Tensor2D,
  type Tensor4D,
  type Variable,
} from '@tensorflow/tfjs';
import type { Experiment } from '../config/experiment.types.js';
import type { Random } from '../util/random.js';
import { batchNorm, type BatchNormParams } from './batchnorm.js';

export type ModelConfig = Experiment['model'];

const CONV_FILTERS = [6, 16];
const KERNEL = 5;
const FC_UNITS = [120, 84];
const CLASSES = 10;

/** A convolution has a bias or a batchnorm after it: batchnorm's shift takes the bias's place. */
type ConvLayer = { filter: Variable; padding: 'same' | 'valid' } & ({ bias: Variable; norm?: never } | { bias?: never; norm: BatchNormParams });

interface DenseLayer {
  weight: Variable;
  bias: Variable;
}

export interface LeNet {
  /** Variables the optimizer updates. */
  trainable: Variable[];
  paramCount: number;
  /** Logits [n, 10]. With training, dropout is active and batchnorm uses and updates batch statistics. */
  forward(x: Tensor4D, training: boolean, dropoutSeed?: number): Tensor2D;
  dispose(): void;
}

function uniformVariable(rng: Random, shape: number[], bound: number): Variable {
  const size = shape.reduce((a, b) => a * b, 1);
  const values = new Float32Array(size);
  for (let i = 0; i < size; i++) values[i] = rng.uniform(-bound, bound);
  // In tidy: the variable keeps the data, the temporary tensor it was made from is released.
  return tidy(() => variable(tensor(values, shape), true));
}

function constantVariable(shape: number[], value: number, trainable: boolean): Variable {
  return tidy(() => variable(tensor(new Float32Array(shape.reduce((a, b) => a * b, 1)).fill(value), shape), trainable));
}

function activate(x: Tensor, kind: ModelConfig['activation']): Tensor {
  switch (kind) {
    case 'relu':
      return relu(x);
    case 'tanh':
      return tanh(x);
    case 'sigmoid':
      return sigmoid(x);
  }
}

export function buildLeNet(config: ModelConfig, rng: Random, inputSize = 28): LeNet {
  const conv: ConvLayer[] = [];
  let channels = 1;
  let size = inputSize;
  CONV_FILTERS.forEach((filters, i) => {
    const bound = 1 / Math.sqrt(channels * KERNEL * KERNEL);
    const padding = i === 0 ? 'same' : 'valid';
    const filter = uniformVariable(rng, [KERNEL, KERNEL, channels, filters], bound);
    // The bias is drawn even when batchnorm replaces it (a per-channel constant before batchnorm
    // changes nothing), so that the other weights start as they would without batchnorm.
    const bias = uniformVariable(rng, [filters], bound);
    if (config.batchnorm) {
      bias.dispose();
      conv.push({
        filter,
        padding,
        norm: {
          gamma: constantVariable([filters], 1, true),
          beta: constantVariable([filters], 0, true),
          runningMean: constantVariable([filters], 0, false),
          runningVar: constantVariable([filters], 1, false),
        },
      });
    } else {
      conv.push({ filter, bias, padding });
    }
    size = Math.floor((padding === 'same' ? size : size - KERNEL + 1) / 2);
    channels = filters;
  });
  const dense: DenseLayer[] = [];
  let features = size * size * channels;
  [...FC_UNITS, CLASSES].forEach((units, i) => {
    const bound = 1 / Math.sqrt(features);
    dense.push({
      weight: uniformVariable(rng, [features, units], bound),
      bias: uniformVariable(rng, [units], bound),
    });
    features = units;
  });

  const trainable = [
    ...conv.flatMap((l) => (l.norm ? [l.filter, l.norm.gamma, l.norm.beta] : [l.filter, l.bias])),
    ...dense.flatMap((l) => [l.weight, l.bias]),
  ];
  const all = [...trainable, ...conv.flatMap((l) => (l.norm ? [l.norm.runningMean, l.norm.runningVar] : []))];
  const pool = config.pooling === 'max' ? maxPool : avgPool;

  return {
    trainable,
    paramCount: trainable.reduce((n, v) => n + v.size, 0),
    forward(x, training, dropoutSeed = 0) {
      let h: Tensor4D = x;
      // Convolutions stay unfused: tfjs's fused conv2d computes the gradient of its input even
      // for the image, which costs more than the bias add it saves. Products fuse their bias.
      // (tfjs fuses activations only outside gradient recording, so those stay apart.)
      for (const layer of conv) {
        h = conv2d(h, layer.filter as Tensor4D, 1, layer.padding);
        h = layer.norm ? batchNorm(h, layer.norm, training) : add(h, layer.bias);
        h = pool(activate(h, config.activation) as Tensor4D, 2, 2, 'valid');
      }
      let z: Tensor2D = reshape(h, [h.shape[0], -1]);
      dense.forEach((layer, i) => {
        z = fused.matMul({ a: z, b: layer.weight as Tensor2D, bias: layer.bias }) as Tensor2D;
        if (i < dense.length - 1) {
          z = activate(z, config.activation) as Tensor2D;
          if (training && config.dropout > 0) z = dropout(z, config.dropout, undefined, dropoutSeed + i) as Tensor2D;
        }
      });
      return z;
    },
    dispose() {
      all.forEach((v) => v.dispose());
    },
  };
}
