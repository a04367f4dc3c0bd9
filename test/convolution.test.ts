/**
 * The convolution op (src/model/convolution.ts) against tfjs's automatic differentiation of
 * the same layer written with plain ops, on wasm (with its registered kernels) and on cpu.
 */
import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { initBackend } from '../src/backend/index.js';
import { convolve, type ConvolutionOptions } from '../src/model/convolution.js';
import { Random } from '../src/util/random.js';

beforeAll(async () => {
  await initBackend('wasm');
});

function randomTensor(shape: number[], seed: number): tf.Tensor {
  const r = new Random(seed);
  return tf.tensor(Float32Array.from({ length: shape.reduce((a, b) => a * b, 1) }, () => r.uniform(-1, 1)), shape);
}

/** Output and gradients (filter, bias if any, input if asked) of sum(layer(x) · w), read as arrays. */
function gradients(layer: (x: tf.Tensor4D, f: tf.Tensor4D, b?: tf.Tensor1D) => tf.Tensor4D, xShape: number[], fShape: number[], withBias: boolean, withInput: boolean): Float32Array[] {
  return tf.tidy(() => {
    const x = randomTensor(xShape, 1) as tf.Tensor4D;
    const f = randomTensor(fShape, 2) as tf.Tensor4D;
    const b = withBias ? (randomTensor([fShape[3]], 3) as tf.Tensor1D) : undefined;
    const y = layer(x, f, b);
    const w = randomTensor(y.shape, 4);
    const inputs = [f, ...(b ? [b] : []), ...(withInput ? [x] : [])];
    const g = tf.grads((...ts: tf.Tensor[]) => tf.sum(tf.mul(layer(withInput ? (ts[ts.length - 1] as tf.Tensor4D) : x, ts[0] as tf.Tensor4D, b ? (ts[1] as tf.Tensor1D) : undefined), w)));
    return [y, ...g(inputs)].map((t) => t.dataSync() as Float32Array);
  });
}

function expectClose(actual: Float32Array[], expected: Float32Array[]) {
  expect(actual).toHaveLength(expected.length);
  for (let i = 0; i < expected.length; i++) {
    const scale = Math.max(1e-6, ...expected[i].map(Math.abs));
    const worst = Math.max(...actual[i].map((v, j) => Math.abs(v - expected[i][j])));
    expect(worst / scale, `output ${i}`).toBeLessThan(1e-5);
  }
}

const plain = (o: ConvolutionOptions) => (x: tf.Tensor4D, f: tf.Tensor4D, b?: tf.Tensor1D) => {
  const z = tf.conv2d(x, f, 1, o.pad);
  const biased = b ? tf.add(z, b) : z;
  return (o.relu ? tf.relu(biased) : biased) as tf.Tensor4D;
};

const cases: [string, ConvolutionOptions, number[], number[], boolean][] = [
  ['LeNet conv1: same padding, bias and relu, no input gradient', { pad: 'same', relu: true, inputGradient: false }, [3, 12, 12, 1], [5, 5, 1, 6], true],
  ['LeNet conv2: valid padding, bias and relu, input gradient', { pad: 'valid', relu: true, inputGradient: true }, [3, 10, 10, 6], [5, 5, 6, 16], true],
  ['before batch normalisation: no bias, no relu', { pad: 'valid', relu: false, inputGradient: true }, [2, 9, 9, 3], [5, 5, 3, 4], false],
  ['tanh or sigmoid after it: bias only', { pad: 'same', relu: false, inputGradient: true }, [2, 8, 8, 2], [5, 5, 2, 3], true],
];

describe('the convolution op computes what plain ops and autodiff compute', () => {
  for (const backend of ['wasm', 'cpu']) {
    it.each(cases)(`${backend}: %s`, async (_name, options, xShape, fShape, withBias) => {
      await tf.setBackend(backend);
      try {
        const ours = gradients((x, f, b) => convolve(x, f, b, options), xShape, fShape, withBias, options.inputGradient);
        const reference = gradients(plain(options), xShape, fShape, withBias, options.inputGradient);
        expectClose(ours, reference);
      } finally {
        await tf.setBackend('wasm');
      }
    });
  }
});
