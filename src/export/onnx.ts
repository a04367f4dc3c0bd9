/**
 * A trained LeNet as an ONNX model (IR 8, opset 13): input `input` float32 [N, 1, H, W] (NCHW,
 * normalised as in training), output `logits` [N, 10]. Written with onnx-proto (protobufjs
 * static code), so exporting needs no ONNX runtime.
 *
 * The network is first laid out as a plan: a list of stages in ONNX's layout with batchnorm
 * folded in (see planOf). The float graph and the quantised one (onnx-int8.ts) are both emitted
 * from the same plan, and the quantised export runs the plan in JS to calibrate, so the three
 * cannot disagree about the architecture.
 */
import onnxProto from 'onnx-proto';
import { BN_EPSILON } from '../model/batchnorm.js';
import { packageVersion } from '../version.js';
import { classesOfWeights, geometryOf, KERNEL, layerTensors, type Normalization, type ModelWeights } from './weights.js';

const { onnx } = onnxProto;
const DataType = onnx.TensorProto.DataType;
const AttributeType = onnx.AttributeProto.AttributeType;

export const OPSET = 13;
export const IR_VERSION = 8;
export const INPUT = 'input';
export const OUTPUT = 'logits';

/** A Conv (weight OIHW) or Gemm (weight [in, out], output channels on axis 1), with its bias. */
export interface LinearStage {
  kind: 'linear';
  op: 'Conv' | 'Gemm';
  name: string;
  weight: Float32Array;
  dims: number[];
  bias: Float32Array;
  /** Conv: padding on every side. */
  pads: number;
  /** A Relu right after: kept with the layer so that a quantised graph can fuse it into the integer op. */
  relu: boolean;
}

export type Stage =
  | LinearStage
  | { kind: 'activation'; name: string; fn: 'tanh' | 'sigmoid' }
  | { kind: 'pool'; name: string; fn: 'max' | 'avg' }
  | { kind: 'flatten'; name: string };

/** The axis of a linear stage's weight that indexes its output channels. */
export const outputAxis = (s: LinearStage): number => (s.op === 'Conv' ? 0 : 1);

/** HWIO [k, k, in, out] (tfjs) to OIHW [out, in, k, k] (ONNX). */
function hwioToOihw(src: Float32Array, inputs: number, outputs: number): Float32Array {
  const dst = new Float32Array(src.length);
  for (let y = 0; y < KERNEL; y++)
    for (let x = 0; x < KERNEL; x++)
      for (let i = 0; i < inputs; i++)
        for (let o = 0; o < outputs; o++) dst[((o * inputs + i) * KERNEL + y) * KERNEL + x] = src[((y * KERNEL + x) * inputs + i) * outputs + o];
  return dst;
}

/**
 * fc1's rows from TF's flatten order (h, w, c), which the model was trained with, to ONNX's
 * Flatten of NCHW (c, h, w). Permuting the weights once saves a Transpose at every inference and
 * leaves the graph a plain LeNet for whoever reads it.
 */
function nhwcRowsToNchw(src: Float32Array, size: number, channels: number, outputs: number): Float32Array {
  const dst = new Float32Array(src.length);
  for (let h = 0; h < size; h++)
    for (let w = 0; w < size; w++)
      for (let c = 0; c < channels; c++) {
        const from = ((h * size + w) * channels + c) * outputs;
        dst.set(src.subarray(from, from + outputs), ((c * size + h) * size + w) * outputs);
      }
  return dst;
}

/**
 * Folds inference-mode batchnorm, γ·(z − μ)/√(σ² + ε) + β, into the layer before it: output
 * channel o's weights scale by s = γ/√(σ² + ε), the bias becomes β − μ·s. At inference batchnorm
 * is only a per-channel affine map, so this is exact up to rounding; the graph has one op fewer
 * per layer, and a quantised graph needs it: its integer Conv/Gemm is quantised with the scale
 * already in the weights, where a float BatchNormalization between the integer op and its output
 * quantisation would stop ONNX Runtime fusing them.
 */
function fold(weight: Float32Array, axis: number, dims: number[], norm: Normalization): { weight: Float32Array; bias: Float32Array } {
  const channels = dims[axis];
  const inner = dims.slice(axis + 1).reduce((a, b) => a * b, 1);
  const scale = Array.from(norm.gamma, (g, c) => g / Math.sqrt(norm.variance[c] + BN_EPSILON));
  const folded = weight.map((v, i) => v * scale[Math.floor(i / inner) % channels]);
  const bias = Float32Array.from(norm.beta, (b, c) => b - norm.mean[c] * scale[c]);
  return { weight: folded, bias };
}

/**
 * The forward pass of model/lenet.ts at inference, in ONNX's layout: dropout is the identity
 * there and is left out; the activation comes before the pooling, except tanh and sigmoid with
 * max pooling, which lenet.ts applies after it (the same values: every activation is increasing,
 * so it commutes with max; the order is mirrored anyway). Relu sits with its layer in every case:
 * relu before or after max pooling gives the same values exactly.
 */
export function planOf(w: ModelWeights): Stage[] {
  const { model } = w;
  const geometry = geometryOf(model, w.inputSize, classesOfWeights(w));
  const relu = model.activation === 'relu';
  const activation = (name: string): Stage[] => (model.activation === 'relu' ? [] : [{ kind: 'activation', name, fn: model.activation }]);
  const stages: Stage[] = [];
  geometry.conv.forEach((l, i) => {
    const t = layerTensors(w, l);
    const dims = [l.outputs, l.inputs, KERNEL, KERNEL];
    const oihw = hwioToOihw(t.weight, l.inputs, l.outputs);
    const { weight, bias } = t.norm ? fold(oihw, 0, dims, t.norm) : { weight: oihw, bias: t.bias! };
    const pads = l.padding === 'same' ? (KERNEL - 1) / 2 : 0;
    stages.push({ kind: 'linear', op: 'Conv', name: l.name, weight, dims, bias, pads, relu });
    const pool: Stage = { kind: 'pool', name: `pool${i + 1}`, fn: model.pooling };
    const act = activation(`${l.name}_${model.activation}`);
    stages.push(...(model.pooling === 'max' ? [pool, ...act] : [...act, pool]));
  });
  stages.push({ kind: 'flatten', name: 'flatten' });
  geometry.dense.forEach((l, i) => {
    const t = layerTensors(w, l);
    const dims = [l.inputs, l.outputs];
    const rows = i === 0 ? nhwcRowsToNchw(t.weight, geometry.pooledSize, geometry.pooledChannels, l.outputs) : t.weight;
    const { weight, bias } = t.norm ? fold(rows, 1, dims, t.norm) : { weight: rows, bias: t.bias! };
    const hidden = i < geometry.dense.length - 1;
    stages.push({ kind: 'linear', op: 'Gemm', name: l.name, weight, dims, bias, pads: 0, relu: hidden && relu });
    if (hidden) stages.push(...activation(`${l.name}_${model.activation}`));
  });
  return stages;
}

type Initializer = Float32Array | Int8Array | Uint8Array | Int32Array;
type Attribute = number | number[] | { float: number };

function dataTypeOf(a: Initializer): number {
  if (a instanceof Float32Array) return DataType.FLOAT;
  if (a instanceof Int8Array) return DataType.INT8;
  if (a instanceof Uint8Array) return DataType.UINT8;
  return DataType.INT32;
}

/** Nodes and initializers, appended in order (a valid topological order as long as each input exists first). */
export class Graph {
  readonly nodes: onnxProto.onnx.INodeProto[] = [];
  readonly initializers: onnxProto.onnx.ITensorProto[] = [];

  /** A constant tensor, stored as raw little-endian bytes (every platform Node runs on is little-endian). */
  constant(name: string, dims: number[], values: Initializer): string {
    this.initializers.push({ name, dims, dataType: dataTypeOf(values), rawData: new Uint8Array(values.buffer, values.byteOffset, values.byteLength) });
    return name;
  }

  /** A node with one output, named `output`; returns that name. */
  node(opType: string, inputs: string[], output: string, attributes: Record<string, Attribute> = {}): string {
    const attribute = Object.entries(attributes).map(([name, v]): onnxProto.onnx.IAttributeProto =>
      Array.isArray(v) ? { name, type: AttributeType.INTS, ints: v } : typeof v === 'number' ? { name, type: AttributeType.INT, i: v } : { name, type: AttributeType.FLOAT, f: v.float },
    );
    // Unnamed: names are optional, and the output's name says which node it is.
    this.nodes.push({ opType, input: inputs, output: [output], attribute });
    return output;
  }
}

/** How a plan becomes nodes: the float export keeps tensors as they are, the quantised one adds Q/DQ pairs. */
export interface Lowering {
  /** The weight and bias inputs of a Conv or Gemm that reads `input`. */
  parameters(g: Graph, stage: LinearStage, input: string): [weight: string, bias: string];
  /** Called with the graph input (stage −1) and every stage's output but the logits; returns the tensor the next stage reads. */
  tensor(g: Graph, name: string, stage: number): string;
}

const floatLowering: Lowering = {
  parameters: (g, s) => [g.constant(`${s.name}.weight`, s.dims, s.weight), g.constant(`${s.name}.bias`, [s.bias.length], s.bias)],
  tensor: (_g, name) => name,
};

/** One stage's nodes; returns its output. */
function emitStage(g: Graph, s: Stage, x: string, lowering: Lowering, output: string): string {
  switch (s.kind) {
    case 'linear': {
      const [weight, bias] = lowering.parameters(g, s, x);
      const attributes: Record<string, Attribute> = s.op === 'Conv' ? { kernel_shape: [KERNEL, KERNEL], pads: [s.pads, s.pads, s.pads, s.pads], strides: [1, 1] } : {};
      const y = g.node(s.op, [x, weight, bias], s.relu ? `${s.name}_linear` : output, attributes);
      return s.relu ? g.node('Relu', [y], output) : y;
    }
    case 'activation':
      return g.node(s.fn === 'tanh' ? 'Tanh' : 'Sigmoid', [x], output);
    case 'pool':
      return g.node(s.fn === 'max' ? 'MaxPool' : 'AveragePool', [x], output, { kernel_shape: [2, 2], strides: [2, 2] });
    case 'flatten':
      return g.node('Flatten', [x], output, { axis: 1 });
  }
}

function valueInfo(name: string, dims: (number | string)[]): onnxProto.onnx.IValueInfoProto {
  const dim = dims.map((d) => (typeof d === 'string' ? { dimParam: d } : { dimValue: d }));
  return { name, type: { tensorType: { elemType: DataType.FLOAT, shape: { dim } } } };
}

/** The model's bytes: the plan lowered, with the model config and how to feed it as metadata. */
export function encodeModel(w: ModelWeights, plan: Stage[], lowering: Lowering, description: string, metadata: Record<string, string> = {}): Uint8Array {
  const g = new Graph();
  let x = lowering.tensor(g, INPUT, -1);
  plan.forEach((s, i) => {
    const last = i === plan.length - 1;
    const y = emitStage(g, s, x, lowering, last ? OUTPUT : s.name);
    x = last ? y : lowering.tensor(g, y, i);
  });
  const docString =
    `LeNet-5 exported by lenet-sweep${description ? ` (${description})` : ''}. Input "${INPUT}": float32 [N, 1, ${w.inputSize}, ${w.inputSize}], ` +
    `pixels in 0..1 normalised as in training, (p − mean) / std. Output "${OUTPUT}": logits [N, ${classesOfWeights(w)}] (no softmax). ` +
    'Batch normalisation is folded into the layer before it; dropout is left out.';
  return onnx.ModelProto.encode({
    irVersion: IR_VERSION,
    opsetImport: [{ domain: '', version: OPSET }],
    producerName: 'lenet-sweep',
    producerVersion: packageVersion(),
    docString,
    metadataProps: Object.entries({ 'lenet-sweep.model': JSON.stringify(w.model), 'lenet-sweep.input_size': String(w.inputSize), ...metadata }).map(([key, value]) => ({ key, value })),
    graph: {
      name: 'lenet5',
      node: g.nodes,
      initializer: g.initializers,
      input: [valueInfo(INPUT, ['N', 1, w.inputSize, w.inputSize])],
      output: [valueInfo(OUTPUT, ['N', classesOfWeights(w)])],
    },
  }).finish();
}

/** `metadata`: more metadata_props (the exporter's: trial, epoch, normalisation). */
export function toOnnx(w: ModelWeights, metadata: Record<string, string> = {}): Uint8Array {
  return encodeModel(w, planOf(w), floatLowering, '', metadata);
}
