/**
 * The kernels and gradients registered for wasm (src/backend/wasm-kernels.ts and
 * fast-gradients.ts) against the cpu backend's own kernels, on the same inputs.
 */
import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { initBackend } from '../src/backend/index.js';
import { buildLeNet, type ModelConfig } from '../src/model/lenet.js';
import { Random } from '../src/util/random.js';
import { config as fixture } from './experiment-fixture.js';

beforeAll(async () => {
  await initBackend('wasm');
});

function randomTensor(shape: number[], seed: number): tf.Tensor {
  const r = new Random(seed);
  return tf.tensor(Float32Array.from({ length: shape.reduce((a, b) => a * b, 1) }, () => r.uniform(-1, 1)), shape);
}

/** f(inputs) and the gradients of sum(f(inputs) * weights) on a backend, as plain arrays. */
async function gradsOn(backend: string, f: (...xs: tf.Tensor[]) => tf.Tensor, shapes: number[][]): Promise<Float32Array[]> {
  await tf.setBackend(backend);
  const inputs = shapes.map((s, i) => randomTensor(s, i + 1));
  const g = tf.grads((...xs: tf.Tensor[]) => {
    const y = f(...xs);
    return tf.sum(tf.mul(y, randomTensor(y.shape, 99)));
  });
  // The forward value first: a kernel replaced for speed must compute the same result too.
  return [f(...inputs).dataSync() as Float32Array, ...g(inputs).map((t) => t.dataSync() as Float32Array)];
}

async function expectSameGradients(f: (...xs: tf.Tensor[]) => tf.Tensor, shapes: number[][], tolerance = 1e-4) {
  const fast = await gradsOn('wasm', f, shapes);
  const reference = await gradsOn('cpu', f, shapes);
  fast.forEach((g, i) => {
    expect(g.length).toBe(reference[i].length);
    const scale = Math.max(...reference[i].map(Math.abs));
    const worst = Math.max(...g.map((v, j) => Math.abs(v - reference[i][j])));
    expect(worst / scale).toBeLessThan(tolerance);
  });
}

describe('wasm gradients equal the cpu kernels', () => {
  it('trains conv nets at all: wasm has no Conv2DBackpropFilter of its own', async () => {
    await expectSameGradients((x, w) => tf.conv2d(x as tf.Tensor4D, w as tf.Tensor4D, 1, 'valid'), [[2, 12, 12, 3], [5, 5, 3, 4]]);
  });

  it('conv2d with same padding (LeNet conv1)', async () => {
    await expectSameGradients((x, w) => tf.conv2d(x as tf.Tensor4D, w as tf.Tensor4D, 1, 'same'), [[3, 28, 28, 1], [5, 5, 1, 6]]);
  });

  it('conv2d with explicit asymmetric padding', async () => {
    const pad: [[0, 0], [number, number], [number, number], [0, 0]] = [[0, 0], [1, 2], [0, 3], [0, 0]];
    await expectSameGradients((x, w) => tf.conv2d(x as tf.Tensor4D, w as tf.Tensor4D, 1, pad), [[2, 9, 10, 2], [3, 4, 2, 3]]);
  });

  it('conv2d with stride 2 (filter gradient by dilation; input gradient by the shipped kernel)', async () => {
    await expectSameGradients((x, w) => tf.conv2d(x as tf.Tensor4D, w as tf.Tensor4D, 2, 'same'), [[2, 11, 11, 3], [3, 3, 3, 5]]);
    await expectSameGradients((x, w) => tf.conv2d(x as tf.Tensor4D, w as tf.Tensor4D, 2, 'valid'), [[2, 12, 12, 2], [4, 4, 2, 3]]);
  });

  it('matrix products with transposed operands, and their gradients', async () => {
    for (const [ta, tb] of [[false, true], [true, false], [true, true]]) {
      const shapes = [ta ? [40, 8] : [8, 40], tb ? [12, 40] : [40, 12]];
      await expectSameGradients((a, b) => tf.matMul(a as tf.Tensor2D, b as tf.Tensor2D, ta, tb), shapes);
    }
    await expectSameGradients((a, b) => tf.matMul(a, b, false, true), [[3, 5, 7], [3, 4, 7]]);
  });

  it('fused products with a bias (the dense layers)', async () => {
    await expectSameGradients((a, b, c) => tf.fused.matMul({ a: a as tf.Tensor2D, b: b as tf.Tensor2D, bias: c }), [[8, 40], [40, 12], [12]]);
  });

  it('average pooling, 2x2 stride 2, and an overlapping window (shipped kernel)', async () => {
    await expectSameGradients((x) => tf.avgPool(x as tf.Tensor4D, 2, 2, 'valid'), [[3, 28, 28, 6]]);
    await expectSameGradients((x) => tf.avgPool(x as tf.Tensor4D, 3, 1, 'valid'), [[2, 8, 8, 2]]);
  });

  it('max pooling, 2x2 stride 2', async () => {
    await expectSameGradients((x) => tf.maxPool(x as tf.Tensor4D, 2, 2, 'valid'), [[3, 10, 10, 16]]);
  });

  const variants: [string, Partial<ModelConfig>][] = [
    ['reference (avg pooling)', {}],
    ['max pooling', { pooling: 'max' }],
    ['batchnorm + tanh', { batchnorm: true, activation: 'tanh' }],
    ['batchnorm on fully connected layers, other widths', { batchnorm_fc: true, conv1_filters: 4, fc2_units: 32 }],
    ['sigmoid', { activation: 'sigmoid' }],
  ];
  it.each(variants)('whole LeNet-5 gradients: %s', async (_name, overrides) => {
    const config: ModelConfig = { ...fixture().model, ...overrides };
    const perBackend: Float32Array[][] = [];
    for (const backend of ['wasm', 'cpu']) {
      await tf.setBackend(backend);
      const model = buildLeNet(config, new Random(7));
      const x = randomTensor([32, 28, 28, 1], 3) as tf.Tensor4D;
      const y = tf.oneHot(tf.tensor1d(Array.from({ length: 32 }, (_, i) => i % 10), 'int32'), 10);
      const { grads } = tf.variableGrads(() => tf.losses.softmaxCrossEntropy(y, model.forward(x, true)) as tf.Scalar, model.trainable);
      perBackend.push(model.trainable.map((v) => grads[v.name].dataSync() as Float32Array));
      model.dispose();
    }
    perBackend[0].forEach((g, i) => {
      // Conv biases ahead of batchnorm have a true gradient of 0: compare those absolutely.
      const scale = Math.max(1e-2, ...perBackend[1][i].map(Math.abs));
      const worst = Math.max(...g.map((v, j) => Math.abs(v - perBackend[1][i][j])));
      expect(worst / scale, `variable ${i}`).toBeLessThan(1e-4);
    });
  });
});

describe('wasm clones share memory', () => {
  it('a clone outlives its source and a variable assigned from it; the memory goes with the last', async () => {
    await tf.setBackend('wasm');
    const before = tf.memory().numTensors;
    const a = tf.tensor([1, 2, 3]);
    const c = tf.clone(a);
    a.dispose();
    expect(Array.from(c.dataSync())).toEqual([1, 2, 3]);
    const v = tf.tidy(() => tf.variable(tf.zeros([3])));
    v.assign(c);
    c.dispose();
    expect(Array.from(v.dataSync())).toEqual([1, 2, 3]);
    const next = tf.tidy(() => tf.add(v, 1));
    v.assign(next);
    next.dispose();
    expect(Array.from(v.dataSync())).toEqual([2, 3, 4]);
    v.dispose();
    expect(tf.memory().numTensors).toBe(before);
  });
});
