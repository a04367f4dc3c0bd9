import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { io, loadLayersModel, oneHot, tensor1d, tensor4d, tidy, train, type Scalar, type Tensor, type Tensor2D } from '@tensorflow/tfjs';
import onnxProto from 'onnx-proto';
import * as ort from 'onnxruntime-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { initBackend } from '../src/backend/index.js';
import type { Experiment } from '../src/config/experiment.types.js';
import { gather, loadDataset, type Dataset } from '../src/data/dataset.js';
import { ensureEmbeddedMnist } from '../src/data/embedded.js';
import { toOnnx } from '../src/export/onnx.js';
import { toOnnxInt8 } from '../src/export/onnx-int8.js';
import { toTfjsLayers } from '../src/export/tfjs-layers.js';
import { weightsOf, type ModelWeights } from '../src/export/weights.js';
import { buildLeNet, type LeNet } from '../src/model/lenet.js';
import { crossEntropy } from '../src/train/cross-entropy.js';
import { evaluate } from '../src/train/evaluate.js';
import { Random } from '../src/util/random.js';
import { config } from './experiment-fixture.js';
import { tempDir } from './helpers.js';

const SIZE = 28;
const MEAN = 0.1307;
const STD = 0.3081;

beforeAll(async () => {
  await initBackend('wasm');
});

/** Images spread over the normalised pixel range, NHWC [n, 28, 28, 1] (with one channel, also NCHW). */
function randomImages(rng: Random, n: number): Float32Array {
  return Float32Array.from({ length: n * SIZE * SIZE }, () => rng.uniform(-MEAN / STD, (1 - MEAN) / STD));
}

const maxAbsDifference = (a: ArrayLike<number>, b: ArrayLike<number>): number => {
  expect(a.length).toBe(b.length);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
};

async function forward(net: LeNet, images: Float32Array, n: number): Promise<Float32Array> {
  const logits = tidy(() => net.forward(tensor4d(images, [n, SIZE, SIZE, 1]), false));
  try {
    return Float32Array.from(await logits.data());
  } finally {
    logits.dispose();
  }
}

async function onnxLogits(bytes: Uint8Array, images: Float32Array, n: number, options: ort.InferenceSession.SessionOptions = {}): Promise<Float32Array> {
  const session = await ort.InferenceSession.create(bytes, options);
  try {
    expect(session.inputNames).toEqual(['input']);
    expect(session.outputNames).toEqual(['logits']);
    const { logits } = await session.run({ input: new ort.Tensor('float32', images, [n, 1, SIZE, SIZE]) });
    expect(logits.dims).toEqual([n, 10]);
    return logits.data as Float32Array;
  } finally {
    await session.release();
  }
}

/** The export as a browser would fetch it: model.json as text, weights.bin as bytes. */
async function tfjsLogits(exported: Awaited<ReturnType<typeof toTfjsLayers>>, images: Float32Array, n: number): Promise<Float32Array> {
  const json = JSON.parse(JSON.stringify(exported.modelJson)) as io.ModelJSON;
  const model = await loadLayersModel(
    io.fromMemory({
      modelTopology: json.modelTopology,
      weightSpecs: json.weightsManifest[0].weights,
      weightData: exported.weightData.slice().buffer,
    }),
  );
  try {
    const logits = tidy(() => model.predict(tensor4d(images, [n, SIZE, SIZE, 1])) as Tensor);
    const values = Float32Array.from(await logits.data());
    logits.dispose();
    return values;
  } finally {
    model.dispose();
  }
}

/** Moves batchnorm off its identity start: random scales and shifts, then running statistics from a few training-mode passes. */
async function perturbNorms(net: LeNet, rng: Random): Promise<void> {
  for (const [name, v] of net.named) {
    const [low, high] = name.endsWith('.gamma') ? [0.5, 1.5] : name.endsWith('.beta') ? [-0.5, 0.5] : [0, 0];
    if (high > low) tidy(() => v.assign(tensor1d(Float32Array.from({ length: v.size }, () => rng.uniform(low, high)))));
  }
  for (let i = 0; i < 4; i++) tidy(() => net.forward(tensor4d(randomImages(rng, 16), [16, SIZE, SIZE, 1]), true, i));
}

const onnx = onnxProto.onnx;

const OPTIONS: Array<[string, Partial<Experiment['model']>]> = [
  ['avg + relu', {}],
  ['max + tanh', { pooling: 'max', activation: 'tanh' }],
  ['avg + sigmoid', { activation: 'sigmoid' }],
  ['max + sigmoid', { pooling: 'max', activation: 'sigmoid' }],
  ['widths 4/8/32/16', { conv1_filters: 4, conv2_filters: 8, fc1_units: 32, fc2_units: 16 }],
  ['batchnorm (conv)', { batchnorm: true }],
  ['batchnorm_fc', { batchnorm_fc: true, activation: 'tanh' }],
  ['batchnorm both + max + relu', { batchnorm: true, batchnorm_fc: true, pooling: 'max' }],
  ['batchnorm both + max + tanh', { batchnorm: true, batchnorm_fc: true, pooling: 'max', activation: 'tanh' }],
  ['dropout and dropout_conv', { dropout: 0.5, dropout_conv: 0.25 }],
];

describe('exported models compute our forward pass', () => {
  const figures: Record<string, { onnx: number; tfjs: number }> = {};
  afterAll(() => console.log('max |logit difference|:', JSON.stringify(figures)));

  it.each(OPTIONS)('%s: ONNX Runtime and tfjs LayersModel within 1e-4 of LeNet.forward', async (label, options) => {
    const model = config({ model: options }).model;
    const rng = new Random(7);
    const net = buildLeNet(model, new Random(OPTIONS.findIndex(([l]) => l === label) + 1), SIZE);
    try {
      await perturbNorms(net, rng);
      const n = 24;
      const images = randomImages(rng, n);
      const ours = await forward(net, images, n);
      const weights = await weightsOf(net, model, SIZE);

      const bytes = toOnnx(weights);
      const onnxDifference = maxAbsDifference(await onnxLogits(bytes, images, n), ours);
      const exported = await toTfjsLayers(weights);
      const tfjsDifference = maxAbsDifference(await tfjsLogits(exported, images, n), ours);
      figures[label] = { onnx: onnxDifference, tfjs: tfjsDifference };
      expect(onnxDifference).toBeLessThanOrEqual(1e-4);
      expect(tfjsDifference).toBeLessThanOrEqual(1e-4);

      // Inference only: batchnorm folded, dropout gone.
      const decoded = onnx.ModelProto.decode(bytes);
      const ops = decoded.graph!.node!.map((node) => node.opType);
      expect(ops).not.toContain('BatchNormalization');
      expect(ops).not.toContain('Dropout');
      expect(ops.filter((op) => op === 'Conv')).toHaveLength(2);
      expect(ops.filter((op) => op === 'Gemm')).toHaveLength(3);
      expect(ops).toContain(model.pooling === 'max' ? 'MaxPool' : 'AveragePool');
    } finally {
      net.dispose();
    }
  });

  it('writes ONNX IR 8, opset 13, with producer and the model config as metadata', async () => {
    const model = config().model;
    const net = buildLeNet(model, new Random(1), SIZE);
    const decoded = onnx.ModelProto.decode(toOnnx(await weightsOf(net, model, SIZE)));
    net.dispose();
    expect(Number(decoded.irVersion)).toBe(8);
    expect(decoded.opsetImport.map((o) => [o.domain, Number(o.version)])).toEqual([['', 13]]);
    expect(decoded.producerName).toBe('lenet-sweep');
    expect(decoded.docString).toMatch(/normalised/);
    const metadata = Object.fromEntries(decoded.metadataProps.map((p) => [p.key, p.value]));
    expect(JSON.parse(metadata['lenet-sweep.model'])).toEqual(model);
    const dims = decoded.graph!.input![0].type!.tensorType!.shape!.dim!.map((d) => d.dimParam || Number(d.dimValue));
    expect(dims).toEqual(['N', 1, 28, 28]);
  });

  it('refuses weights that do not fit the config, naming the tensor', async () => {
    const model = config().model;
    const net = buildLeNet(model, new Random(1), SIZE);
    const weights = await weightsOf(net, model, SIZE);
    net.dispose();
    const wider: ModelWeights = { ...weights, model: { ...model, fc1_units: 100 } };
    expect(() => toOnnx(wider)).toThrow(/fc1\.weight has shape \[400,120\], the model config implies \[400,100\]/);
    const normalized: ModelWeights = { ...weights, model: { ...model, batchnorm: true } };
    await expect(toTfjsLayers(normalized)).rejects.toThrow(/no tensor conv1\.gamma/);
  });

  it('saves a LayersModel that tf.loadLayersModel reads over http, weights.bin next to model.json', async () => {
    const model = config({ model: { batchnorm: true, pooling: 'max' } }).model;
    const rng = new Random(3);
    const net = buildLeNet(model, new Random(3), SIZE);
    await perturbNorms(net, rng);
    const images = randomImages(rng, 8);
    const ours = await forward(net, images, 8);
    const exported = await toTfjsLayers(await weightsOf(net, model, SIZE));
    net.dispose();
    expect(exported.modelJson.format).toBe('layers-model');
    expect(exported.modelJson.weightsManifest).toHaveLength(1);
    expect(exported.modelJson.weightsManifest[0].paths).toEqual(['weights.bin']);
    const specs = exported.modelJson.weightsManifest[0].weights;
    expect(exported.weightData.byteLength).toBe(specs.reduce((n, s) => n + 4 * s.shape.reduce((a, b) => a * b, 1), 0));

    const files: Record<string, Uint8Array | string> = { '/models/lenet/model.json': JSON.stringify(exported.modelJson), '/models/lenet/weights.bin': exported.weightData };
    const server = createServer((req, res) => {
      const body = files[req.url ?? ''];
      res.writeHead(body === undefined ? 404 : 200).end(body);
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    try {
      const { port } = server.address() as AddressInfo;
      const loaded = await loadLayersModel(`http://127.0.0.1:${port}/models/lenet/model.json`);
      const logits = tidy(() => loaded.predict(tensor4d(images, [8, SIZE, SIZE, 1])) as Tensor);
      expect(maxAbsDifference(await logits.data(), ours)).toBeLessThanOrEqual(1e-4);
      logits.dispose();
      loaded.dispose();
    } finally {
      server.close();
    }
  });
});

describe('int8 ONNX export', () => {
  let data: Dataset;
  beforeAll(() => {
    const dir = ensureEmbeddedMnist(join(tempDir(), 'mnist-embedded'));
    data = loadDataset(dir, { validation: { from: 'test' }, limitTrain: 3000, mean: MEAN, std: STD });
  });

  /** A briefly trained reference LeNet: one epoch on 3,000 digits. */
  async function trained(model: Experiment['model']): Promise<LeNet> {
    const net = buildLeNet(model, new Random(1), SIZE);
    const optimizer = train.adam(0.002);
    const rng = new Random(1);
    const order = rng.shuffle(Uint32Array.from({ length: data.train.count }, (_, i) => i));
    const batch = 32;
    for (let start = 0; start < data.train.count; start += batch) {
      const n = Math.min(batch, data.train.count - start);
      const { images, labels } = gather(data, data.train, order, start, n);
      tidy(() => {
        const x = tensor4d(images, [n, SIZE, SIZE, 1]);
        const y = oneHot(tensor1d(labels, 'int32'), 10) as Tensor2D;
        optimizer.minimize(() => crossEntropy(y, net.forward(x, true, start)) as Scalar, false, net.trainable);
      });
    }
    optimizer.dispose();
    return net;
  }

  async function accuracy(bytes: Uint8Array, options: ort.InferenceSession.SessionOptions = {}): Promise<{ acc: number; logits: Float32Array }> {
    const { images, labels } = gather(data, data.test, null, 0, data.test.count);
    const logits = await onnxLogits(bytes, images, data.test.count, options);
    let correct = 0;
    labels.forEach((label, i) => {
      const row = logits.subarray(i * 10, i * 10 + 10);
      if (row.indexOf(Math.max(...row)) === label) correct++;
    });
    return { acc: correct / labels.length, logits };
  }

  it.each([
    ['avg + relu', {}],
    ['max + tanh + batchnorm both', { pooling: 'max', activation: 'tanh', batchnorm: true, batchnorm_fc: true }],
  ] as Array<[string, Partial<Experiment['model']>]>)('%s: at least 3.5× smaller than float, test accuracy within 0.5 points', async (label, options) => {
    const started = performance.now();
    const model = config({ model: options }).model;
    const net = await trained(model);
    try {
      const weights = await weightsOf(net, model, SIZE);
      const ours = await evaluate(net, data, data.test);
      const calibrationCount = 256;
      const calibration = { images: gather(data, data.train, null, 0, calibrationCount).images, count: calibrationCount };

      const float = toOnnx(weights);
      const int8 = toOnnxInt8(weights, calibration);
      const floatResult = await accuracy(float);
      const int8Result = await accuracy(int8);
      // Without graph optimisations ONNX Runtime computes the QDQ graph as written (float ops
      // between Q/DQ pairs); with them, its integer kernels. Those must agree (no overflow).
      const asWritten = await accuracy(int8, { graphOptimizationLevel: 'disabled' });
      const fusedDifference = maxAbsDifference(int8Result.logits, asWritten.logits);
      const { images } = gather(data, data.test, null, 0, data.test.count);
      const floatDifference = maxAbsDifference(floatResult.logits, await forward(net, images, data.test.count));
      console.log(
        `int8 ${label}:`,
        JSON.stringify({
          floatBytes: float.length,
          int8Bytes: int8.length,
          ratio: +(float.length / int8.length).toFixed(2),
          tfjsAcc: ours.acc,
          floatOnnxAcc: floatResult.acc,
          int8OnnxAcc: int8Result.acc,
          floatOnnxMaxAbs: floatDifference,
          int8MaxAbs: maxAbsDifference(int8Result.logits, floatResult.logits),
          int8AsWrittenAcc: asWritten.acc,
          fusedVsAsWrittenMaxAbs: fusedDifference,
          seconds: +((performance.now() - started) / 1000).toFixed(1),
        }),
      );
      expect(ours.acc).toBeGreaterThan(0.8);
      expect(floatDifference).toBeLessThanOrEqual(1e-4);
      expect(floatResult.acc).toBeCloseTo(ours.acc, 10);
      expect(float.length / int8.length).toBeGreaterThanOrEqual(3.5);
      expect(Math.abs(int8Result.acc - floatResult.acc)).toBeLessThanOrEqual(0.005);
      expect(fusedDifference).toBeLessThan(0.5);
    } finally {
      net.dispose();
    }
  });

  it('names the calibration problem when the images do not match the count', async () => {
    const model = config().model;
    const net = buildLeNet(model, new Random(1), SIZE);
    const weights = await weightsOf(net, model, SIZE);
    net.dispose();
    expect(() => toOnnxInt8(weights, { images: new Float32Array(784 * 3), count: 4 })).toThrow(/calibration needs/);
  });
});
