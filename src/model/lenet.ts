/**
 * LeNet-5 as in the classic PyTorch tutorial, built from tfjs ops on explicit variables:
 * conv 6@5x5 pad 2 → act → 2x2 pool → conv 16@5x5 → act → 2x2 pool → fc 120 → fc 84 → fc 10.
 * Weights and biases start like PyTorch's defaults (uniform ±1/sqrt(fan_in)), from the trial's
 * seeded generator, so the recipe trains like the reference.
 */
import {
  avgPool,
  matMul,
  fused,
  dropout,
  maxPool,
  relu,
  reshape,
  sigmoid,
  tanh,
  tensor,
  tidy,
  variable,
  type Tensor,
  type Tensor1D,
  type Tensor2D,
  type Tensor4D,
  type Variable,
} from '../backend/tfjs.js';
import type { Experiment } from '../config/experiment.types.js';
import { CLASSES } from '../data/class-names.js';
import type { Random } from '../util/random.js';
import { batchNorm, type BatchNormParams } from './batchnorm.js';
import { convolve } from './convolution.js';

export type ModelConfig = Experiment['model'];

const KERNEL = 5;

/**
 * A convolution or dense layer: a bias, or a batchnorm after it (batchnorm's shift takes the
 * bias's place: a per-channel constant before batchnorm changes nothing).
 */
type Layer = { weight: Variable } & ({ bias: Variable; norm?: never } | { bias?: never; norm: BatchNormParams });

type ConvLayer = Layer & { padding: 'same' | 'valid' };

/**
 * The model's variables by name, as checkpoints store them and exports read them:
 * `conv1.weight` [5, 5, in, out] (HWIO), `fc1.weight` [in, out] with fc1's rows in TF's NHWC
 * flatten order (height, width, channel); then `.bias`, or for a batch-normalised layer
 * `.gamma`, `.beta`, `.running_mean`, `.running_var`. Layers: conv1, conv2, fc1, fc2, fc3.
 */
export type NamedVariables = Array<[name: string, variable: Variable]>;

export interface LeNet {
  /** Variables the optimizer updates. */
  trainable: Variable[];
  /** Every variable (running statistics too), by name. */
  named: NamedVariables;
  paramCount: number;
  /** The classes its last layer tells apart. */
  classes: number;
  /** Logits [n, classes]. With training, dropout is active and batchnorm uses and updates batch statistics. */
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

function normParams(units: number): BatchNormParams {
  return {
    gamma: constantVariable([units], 1, true),
    beta: constantVariable([units], 0, true),
    runningMean: constantVariable([units], 0, false),
    runningVar: constantVariable([units], 1, false),
  };
}

/**
 * A layer's weight and bias, drawn like PyTorch's defaults. The bias is drawn even when batchnorm
 * replaces it, so that the other weights start as they would without batchnorm.
 */
function layer(rng: Random, weightShape: number[], fanIn: number, units: number, normalized: boolean): Layer {
  const bound = 1 / Math.sqrt(fanIn);
  const weight = uniformVariable(rng, weightShape, bound);
  const bias = uniformVariable(rng, [units], bound);
  if (!normalized) return { weight, bias };
  bias.dispose();
  return { weight, norm: normParams(units) };
}

const variablesOf = (l: Layer): Variable[] => (l.norm ? [l.weight, l.norm.gamma, l.norm.beta] : [l.weight, l.bias]);

function namedOf(name: string, l: Layer): NamedVariables {
  const rest: NamedVariables = l.norm
    ? [['gamma', l.norm.gamma], ['beta', l.norm.beta], ['running_mean', l.norm.runningMean], ['running_var', l.norm.runningVar]]
    : [['bias', l.bias]];
  return [[`${name}.weight`, l.weight], ...rest.map(([k, v]): [string, Variable] => [`${name}.${k}`, v])];
}

export function buildLeNet(config: ModelConfig, rng: Random, inputSize = 28, classes = CLASSES): LeNet {
  const convFilters = [config.conv1_filters, config.conv2_filters];
  const fcUnits = [config.fc1_units, config.fc2_units];
  const conv: ConvLayer[] = [];
  let channels = 1;
  let size = inputSize;
  convFilters.forEach((filters, i) => {
    const padding = i === 0 ? 'same' : 'valid';
    conv.push({ ...layer(rng, [KERNEL, KERNEL, channels, filters], channels * KERNEL * KERNEL, filters, config.batchnorm), padding });
    size = Math.floor((padding === 'same' ? size : size - KERNEL + 1) / 2);
    channels = filters;
  });
  const dense: Layer[] = [];
  let features = size * size * channels;
  [...fcUnits, classes].forEach((units, i) => {
    const hidden = i < fcUnits.length;
    dense.push(layer(rng, [features, units], features, units, hidden && config.batchnorm_fc));
    features = units;
  });

  const trainable = [...conv, ...dense].flatMap(variablesOf);
  const named = [...conv.flatMap((l, i) => namedOf(`conv${i + 1}`, l)), ...dense.flatMap((l, i) => namedOf(`fc${i + 1}`, l))];
  const pool = config.pooling === 'max' ? maxPool : avgPool;
  const drop = <T extends Tensor>(t: T, rate: number, seed: number, training: boolean): T =>
    training && rate > 0 ? (dropout(t, rate, undefined, seed) as T) : t;

  return {
    trainable,
    named,
    paramCount: trainable.reduce((n, v) => n + v.size, 0),
    classes,
    forward(x, training, dropoutSeed = 0) {
      let h: Tensor4D = x;
      // Convolutions are one op with their bias, and relu where nothing comes between
      // (convolution.ts); products fuse their bias (tfjs fuses activations only outside
      // gradient recording, so those stay apart).
      conv.forEach((l, i) => {
        const relu = !l.norm && config.activation === 'relu';
        h = convolve(h, l.weight as Tensor4D, l.norm ? undefined : (l.bias as Tensor1D), { pad: l.padding, relu, inputGradient: i > 0 });
        if (l.norm) h = batchNorm(h, l.norm, training);
        // Every activation here is increasing, so it commutes with max pooling: applied after the
        // pooling it touches a quarter of the values (forward and backward), same results.
        if (!relu && config.pooling !== 'max') h = activate(h, config.activation) as Tensor4D;
        h = pool(h, 2, 2, 'valid');
        if (!relu && config.pooling === 'max') h = activate(h, config.activation) as Tensor4D;
        h = drop(h, config.dropout_conv, dropoutSeed + 100 + i, training);
      });
      let z: Tensor2D = reshape(h, [h.shape[0], -1]);
      dense.forEach((l, i) => {
        z = l.norm
          ? batchNorm(matMul(z, l.weight as Tensor2D), l.norm, training)
          : (fused.matMul({ a: z, b: l.weight as Tensor2D, bias: l.bias }) as Tensor2D);
        if (i < dense.length - 1) z = drop(activate(z, config.activation) as Tensor2D, config.dropout, dropoutSeed + i, training);
      });
      return z;
    },
    dispose() {
      named.forEach(([, v]) => v.dispose());
    },
  };
}
