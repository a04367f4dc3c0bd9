/**
 * A trained LeNet as a statically quantised ONNX model in QDQ form: the float graph of onnx.ts
 * with QuantizeLinear/DequantizeLinear pairs, which ONNX Runtime fuses into integer kernels
 * (QLinearConv, QGemm, uint8 pooling) and any other runtime can still run as written.
 *
 * - Weights: 8 bits per output channel, symmetric (±127), stored as uint8 with zero point 128.
 *   ONNX Runtime's x86 kernels for uint8 activations × int8 weights multiply-add pairs into int16
 *   with saturation on AVX2 CPUs without VNNI, which corrupts static QDQ models; uint8 × uint8
 *   takes another path and does not overflow. One zero point for every channel, as its
 *   QLinearConv requires.
 * - Biases: int32 at the scale input scale × weight scale, as the integer kernels accumulate.
 * - Activations: uint8, asymmetric, each range calibrated (min/max) by running the plan in JS
 *   over the given images. Pooling and flatten keep their input's parameters: max pooling and a
 *   reshape are then exact in integers, average pooling stays in range.
 * - The logits stay float: the last Gemm is dequantised.
 */
import { encodeModel, planOf, outputAxis, type Graph, type LinearStage, type Lowering, type Stage } from './onnx.js';
import { KERNEL, type ModelWeights } from './weights.js';

export interface Calibration {
  /** Normalised images, NHWC [count, H, W, 1] (with one channel the same bytes as NCHW). */
  images: Float32Array;
  count: number;
}

interface Quantization {
  scale: number;
  zeroPoint: number;
}

/** A float tensor in NCHW or [n, features], as the plan's JS forward pass carries it. */
interface Activations {
  data: Float32Array;
  /** [n, c, h, w] or [n, features]. */
  shape: number[];
}

function conv(x: Activations, s: LinearStage): Activations {
  const [n, inputs, size] = x.shape;
  const outputs = s.dims[0];
  const out = size + 2 * s.pads - KERNEL + 1;
  const y = new Float32Array(n * outputs * out * out);
  for (let b = 0; b < n; b++)
    for (let o = 0; o < outputs; o++)
      for (let r = 0; r < out; r++)
        for (let c = 0; c < out; c++) {
          let sum = s.bias[o];
          for (let i = 0; i < inputs; i++)
            for (let ky = 0; ky < KERNEL; ky++) {
              const yy = r + ky - s.pads;
              if (yy < 0 || yy >= size) continue;
              const row = ((b * inputs + i) * size + yy) * size;
              const wRow = ((o * inputs + i) * KERNEL + ky) * KERNEL;
              for (let kx = 0; kx < KERNEL; kx++) {
                const xx = c + kx - s.pads;
                if (xx >= 0 && xx < size) sum += x.data[row + xx] * s.weight[wRow + kx];
              }
            }
          y[((b * outputs + o) * out + r) * out + c] = sum;
        }
  return { data: y, shape: [n, outputs, out, out] };
}

function gemm(x: Activations, s: LinearStage): Activations {
  const [n, inputs] = x.shape;
  const outputs = s.dims[1];
  const y = new Float32Array(n * outputs);
  for (let b = 0; b < n; b++) {
    const row = y.subarray(b * outputs, (b + 1) * outputs);
    row.set(s.bias);
    for (let i = 0; i < inputs; i++) {
      const v = x.data[b * inputs + i];
      for (let o = 0; o < outputs; o++) row[o] += v * s.weight[i * outputs + o];
    }
  }
  return { data: y, shape: [n, outputs] };
}

function pool(x: Activations, fn: 'max' | 'avg'): Activations {
  const [n, channels, size] = x.shape;
  const out = Math.floor(size / 2);
  const y = new Float32Array(n * channels * out * out);
  for (let p = 0; p < n * channels; p++)
    for (let r = 0; r < out; r++)
      for (let c = 0; c < out; c++) {
        const at = (dy: number, dx: number) => x.data[(p * size + 2 * r + dy) * size + 2 * c + dx];
        const v = [at(0, 0), at(0, 1), at(1, 0), at(1, 1)];
        y[(p * out + r) * out + c] = fn === 'max' ? Math.max(...v) : (v[0] + v[1] + v[2] + v[3]) / 4;
      }
  return { data: y, shape: [n, channels, out, out] };
}

/** One stage of the plan on float data, as the ONNX graph computes it. */
function run(s: Stage, x: Activations): Activations {
  switch (s.kind) {
    case 'linear': {
      const y = s.op === 'Conv' ? conv(x, s) : gemm(x, s);
      if (s.relu) y.data.forEach((v, i) => (y.data[i] = Math.max(0, v)));
      return y;
    }
    case 'activation':
      return { data: x.data.map((v) => (s.fn === 'tanh' ? Math.tanh(v) : 1 / (1 + Math.exp(-v)))), shape: x.shape };
    case 'pool':
      return pool(x, s.fn);
    case 'flatten':
      return { data: x.data, shape: [x.shape[0], x.data.length / x.shape[0]] };
  }
}

/** Min and max of the graph input (−1) and of each stage's output, over the calibration images. */
function calibrate(plan: Stage[], inputSize: number, calibration: Calibration): Array<[number, number]> {
  const pixels = inputSize * inputSize;
  if (calibration.count < 1 || calibration.images.length !== calibration.count * pixels) {
    throw new Error(`export: calibration needs at least one image of ${inputSize}×${inputSize}; got ${calibration.images.length} values for ${calibration.count} images`);
  }
  const ranges: Array<[number, number]> = Array.from({ length: plan.length + 1 }, () => [Infinity, -Infinity]);
  const observe = (point: number, data: Float32Array) => {
    const r = ranges[point + 1];
    for (const v of data) {
      if (v < r[0]) r[0] = v;
      if (v > r[1]) r[1] = v;
    }
  };
  const chunk = 64; // bounds the memory of the widest activations
  for (let start = 0; start < calibration.count; start += chunk) {
    const n = Math.min(chunk, calibration.count - start);
    let x: Activations = { data: calibration.images.subarray(start * pixels, (start + n) * pixels), shape: [n, 1, inputSize, inputSize] };
    observe(-1, x.data);
    plan.forEach((s, i) => {
      x = run(s, x);
      observe(i, x.data);
    });
  }
  return ranges;
}

/** uint8 parameters for a range; zero is always exactly representable (padding, relu). */
function quantizationOf([min, max]: [number, number]): Quantization {
  const lo = Math.min(0, min);
  const hi = Math.max(0, max);
  const scale = hi > lo ? (hi - lo) / 255 : 1;
  return { scale, zeroPoint: Math.min(255, Math.max(0, Math.round(-lo / scale))) };
}

/** Symmetric 8-bit per output channel, stored as uint8 around 128. */
function quantizeWeight(s: LinearStage): { values: Uint8Array; scales: Float32Array } {
  const axis = outputAxis(s);
  const channels = s.dims[axis];
  const inner = s.dims.slice(axis + 1).reduce((a, b) => a * b, 1);
  const channel = (i: number) => Math.floor(i / inner) % channels;
  const scales = new Float32Array(channels);
  s.weight.forEach((v, i) => (scales[channel(i)] = Math.max(scales[channel(i)], Math.abs(v))));
  scales.forEach((m, c) => (scales[c] = m > 0 ? m / 127 : 1));
  const values = Uint8Array.from(s.weight, (v, i) => 128 + Math.max(-127, Math.min(127, Math.round(v / scales[channel(i)]))));
  return { values, scales };
}

function quantizedLowering(plan: Stage[], ranges: Array<[number, number]>): Lowering {
  /** Each Q/DQ'd tensor's parameters, by the name of its dequantised output. */
  const params = new Map<string, Quantization>();
  /** Each stage's output parameters and their initializers (index + 1; 0 the graph input). */
  const byPoint: Array<Quantization & { names: [scale: string, zeroPoint: string] }> = [];
  return {
    tensor(g: Graph, name: string, stage: number): string {
      const s = plan[stage] as Stage | undefined;
      // Pooling and flatten keep their input's parameters (see the header), initializers included.
      const kept = s && (s.kind === 'pool' || s.kind === 'flatten');
      const q = kept ? byPoint[stage] : { ...quantizationOf(ranges[stage + 1]), names: [`${name}_s`, `${name}_zp`] as [string, string] };
      if (!kept) {
        g.constant(q.names[0], [], new Float32Array([q.scale]));
        g.constant(q.names[1], [], new Uint8Array([q.zeroPoint]));
      }
      byPoint[stage + 1] = q;
      // Short suffixes (_q, _dq, _s, _zp, and .weight_q…): names are a visible part of a 70 kB file.
      const [scale, zeroPoint] = q.names;
      const quantized = g.node('QuantizeLinear', [name, scale, zeroPoint], `${name}_q`);
      const out = g.node('DequantizeLinear', [quantized, scale, zeroPoint], `${name}_dq`);
      params.set(out, q);
      return out;
    },
    parameters(g: Graph, s: LinearStage, input: string): [string, string] {
      const x = params.get(input);
      if (!x) throw new Error(`export: ${s.name} reads ${input}, which is not quantised`);
      const { values, scales } = quantizeWeight(s);
      const channels = scales.length;
      const weight = g.node(
        'DequantizeLinear',
        [g.constant(`${s.name}.weight_q`, s.dims, values), g.constant(`${s.name}.weight_s`, [channels], scales), g.constant(`${s.name}.weight_zp`, [channels], new Uint8Array(channels).fill(128))],
        `${s.name}.weight`,
        { axis: outputAxis(s) },
      );
      const biasScales = scales.map((w) => w * x.scale);
      const bias = Int32Array.from(s.bias, (b, c) => Math.max(-(2 ** 31), Math.min(2 ** 31 - 1, Math.round(b / biasScales[c]))));
      // No zero point: it defaults to 0, the only one int32 allows.
      const biasName = g.node(
        'DequantizeLinear',
        [g.constant(`${s.name}.bias_q`, [channels], bias), g.constant(`${s.name}.bias_s`, [channels], biasScales)],
        `${s.name}.bias`,
        { axis: 0 },
      );
      return [weight, biasName];
    },
  };
}

export function toOnnxInt8(w: ModelWeights, calibration: Calibration, metadata: Record<string, string> = {}): Uint8Array {
  const plan = planOf(w);
  const ranges = calibrate(plan, w.inputSize, calibration);
  const description = `static QDQ quantisation: uint8 weights per output channel, uint8 activations calibrated on ${calibration.count} images`;
  return encodeModel(w, plan, quantizedLowering(plan, ranges), description, {
    'lenet-sweep.quantization': 'qdq-uint8',
    'lenet-sweep.calibration_images': String(calibration.count),
    ...metadata,
  });
}
