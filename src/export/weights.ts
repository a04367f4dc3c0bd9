/**
 * A trained LeNet's weights as plain arrays: what every export reads, so that the exporters are
 * pure functions of bytes and need no tfjs backend (a checkpoint decodes to the same thing).
 * Also the model's layer geometry, which each exporter needs to lay the weights out.
 */
import type { Experiment } from '../config/experiment.types.js';
import { CLASSES } from '../data/class-names.js';
import type { LeNet } from '../model/lenet.js';
import type { Checkpoint } from '../checkpoint/format.js';

export interface TensorValues {
  shape: number[];
  values: Float32Array;
}

export interface ModelWeights {
  model: Experiment['model'];
  /** Height and width of the (square) input images: 28 for MNIST. */
  inputSize: number;
  /** By name, as LeNet.named gives them (see NamedVariables in model/lenet.ts): HWIO filters, [in, out] dense kernels. */
  tensors: Map<string, TensorValues>;
}

/** Reads every variable of a model (asynchronously: webgpu can read no other way). */
export async function weightsOf(net: LeNet, model: Experiment['model'], inputSize: number): Promise<ModelWeights> {
  const tensors = new Map<string, TensorValues>();
  for (const [name, v] of net.named) {
    // A copy: the array data() gives may be the backend's own buffer.
    tensors.set(name, { shape: [...v.shape], values: Float32Array.from(await v.data()) });
  }
  return { model, inputSize, tensors };
}

/** The classes a trained model tells apart: its last layer's outputs (fc3 always has its bias). */
export function classesOfWeights(w: Pick<ModelWeights, 'tensors'>): number {
  return w.tensors.get('fc3.bias')?.values.length ?? CLASSES;
}

export const KERNEL = 5;

interface LayerShape {
  /** conv1, conv2, fc1, fc2, fc3: the prefix of the layer's tensor names. */
  name: string;
  inputs: number;
  outputs: number;
  /** Batch normalisation (gamma, beta, running statistics) in place of the bias. */
  normalized: boolean;
}

export interface ConvShape extends LayerShape {
  padding: 'same' | 'valid';
  /** Height and width of the convolution's output, before pooling. */
  size: number;
}

export interface Geometry {
  conv: ConvShape[];
  dense: LayerShape[];
  /** Height and width, and channels, of the last pooling's output (what fc1 reads, flattened NHWC). */
  pooledSize: number;
  pooledChannels: number;
}

/** The layers of model/lenet.ts for a config and input size. */
export function geometryOf(model: Experiment['model'], inputSize: number, classes = CLASSES): Geometry {
  const conv: ConvShape[] = [];
  let size = inputSize;
  let channels = 1;
  [model.conv1_filters, model.conv2_filters].forEach((filters, i) => {
    const padding = i === 0 ? 'same' : 'valid';
    const out = padding === 'same' ? size : size - KERNEL + 1;
    conv.push({ name: `conv${i + 1}`, inputs: channels, outputs: filters, normalized: model.batchnorm, padding, size: out });
    size = Math.floor(out / 2);
    channels = filters;
  });
  const dense: LayerShape[] = [];
  let features = size * size * channels;
  [model.fc1_units, model.fc2_units, classes].forEach((units, i) => {
    dense.push({ name: `fc${i + 1}`, inputs: features, outputs: units, normalized: i < 2 && model.batchnorm_fc });
    features = units;
  });
  return { conv, dense, pooledSize: size, pooledChannels: channels };
}

/** A named tensor, checked against the shape the config implies (a mismatch is a caller's bug, said plainly). */
export function tensorOf(w: ModelWeights, name: string, shape: number[]): Float32Array {
  const t = w.tensors.get(name);
  if (!t) throw new Error(`export: the weights have no tensor ${name} (model ${JSON.stringify(w.model)})`);
  const size = shape.reduce((a, b) => a * b, 1);
  if (t.shape.join() !== shape.join() || t.values.length !== size) {
    throw new Error(`export: ${name} has shape [${t.shape}], the model config implies [${shape}]`);
  }
  return t.values;
}

/** A layer's stored weight shape: HWIO for a convolution, [in, out] for a dense layer. */
export const weightShape = (l: LayerShape): number[] => ('padding' in l ? [KERNEL, KERNEL, l.inputs, l.outputs] : [l.inputs, l.outputs]);

export interface Normalization {
  gamma: Float32Array;
  beta: Float32Array;
  mean: Float32Array;
  variance: Float32Array;
}

/** A layer's weight and either its bias or its batchnorm, checked. */
export function layerTensors(w: ModelWeights, l: LayerShape): { weight: Float32Array; bias?: Float32Array; norm?: Normalization } {
  const weight = tensorOf(w, `${l.name}.weight`, weightShape(l));
  const c = [l.outputs];
  if (!l.normalized) return { weight, bias: tensorOf(w, `${l.name}.bias`, c) };
  const t = (k: string) => tensorOf(w, `${l.name}.${k}`, c);
  return { weight, norm: { gamma: t('gamma'), beta: t('beta'), mean: t('running_mean'), variance: t('running_var') } };
}

/** The model's weights as a checkpoint holds them (`model.<name>`), without building the model. */
export function weightsOfCheckpoint(checkpoint: Checkpoint, model: Experiment['model']): ModelWeights {
  const tensors = new Map<string, TensorValues>();
  for (const [key, t] of checkpoint.tensors) {
    if (key.startsWith('model.') && t.dtype === 'float32') tensors.set(key.slice('model.'.length), { shape: t.shape, values: t.values });
  }
  return { model, inputSize: checkpoint.inputSize, tensors };
}
