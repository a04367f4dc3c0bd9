import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { initBackend } from '../src/backend/index.js';
import { batchNorm, BN_EPSILON, type BatchNormParams } from '../src/model/batchnorm.js';
import { Random } from '../src/util/random.js';

beforeAll(async () => {
  await initBackend('wasm');
});

const values = (shape: number[], seed: number, lo = -1, hi = 1) => {
  const r = new Random(seed);
  return tf.tensor(Float32Array.from({ length: shape.reduce((a, b) => a * b, 1) }, () => r.uniform(lo, hi)), shape);
};

function params(c: number): BatchNormParams {
  return {
    gamma: tf.variable(values([c], 1, 0.5, 1.5)),
    beta: tf.variable(values([c], 2)),
    runningMean: tf.variable(tf.zeros([c]), false),
    runningVar: tf.variable(tf.ones([c]), false),
  };
}

/** Batch normalisation written plainly with tfjs ops, differentiated by tfjs. */
function plain(x: tf.Tensor4D, gamma: tf.Tensor, beta: tf.Tensor): tf.Tensor {
  const { mean, variance } = tf.moments(x, x.shape.slice(0, -1).map((_, i) => i));
  return tf.add(tf.mul(tf.div(tf.sub(x, mean), tf.sqrt(tf.add(variance, BN_EPSILON))), gamma), beta);
}

describe.each(['wasm', 'cpu'])('batch normalisation on %s', (backend) => {
  it.each([[[4, 5, 5, 3]], [[16, 5]]])('has the gradients of the plain formula, for input, scale and shift: %j', async (shape) => {
    await tf.setBackend(backend);
    const c = shape[shape.length - 1];
    const bn = params(c);
    const x = values(shape, 3, -2, 3) as tf.Tensor4D;
    const weights = values(shape, 4);
    const loss = (f: (x: tf.Tensor4D, g: tf.Tensor, b: tf.Tensor) => tf.Tensor) => (xx: tf.Tensor, g: tf.Tensor, b: tf.Tensor) =>
      tf.sum(tf.mul(f(xx as tf.Tensor4D, g, b), weights));
    const custom = tf.grads(loss((xx, g, b) => batchNorm(xx, { ...bn, gamma: g as tf.Variable, beta: b as tf.Variable }, true)))([x, bn.gamma, bn.beta]);
    const reference = tf.grads(loss(plain))([x, bn.gamma, bn.beta]);
    custom.forEach((g, i) => {
      const ref = reference[i].dataSync();
      const scale = Math.max(...ref.map(Math.abs));
      g.dataSync().forEach((v, j) => expect(Math.abs(v - ref[j]) / scale).toBeLessThan(1e-4));
    });
  });

  it('normalises each channel to mean 0, variance 1, then moves the running statistics like PyTorch', async () => {
    await tf.setBackend(backend);
    const bn = { ...params(2), gamma: tf.variable(tf.ones([2])), beta: tf.variable(tf.zeros([2])) };
    const x = values([8, 3, 3, 2], 5, 1, 5) as tf.Tensor4D;
    const y = batchNorm(x, bn, true);
    const { mean, variance } = tf.moments(y, [0, 1, 2]);
    mean.dataSync().forEach((v) => expect(Math.abs(v)).toBeLessThan(1e-5));
    variance.dataSync().forEach((v) => expect(v).toBeCloseTo(1, 3));
    const batch = tf.moments(x, [0, 1, 2]);
    const m = 8 * 3 * 3;
    const expectedMean = tf.mul(batch.mean, 0.1).dataSync();
    const expectedVar = tf.add(0.9, tf.mul(tf.mul(batch.variance, m / (m - 1)), 0.1)).dataSync();
    bn.runningMean.dataSync().forEach((v, i) => expect(v).toBeCloseTo(expectedMean[i], 5));
    bn.runningVar.dataSync().forEach((v, i) => expect(v).toBeCloseTo(expectedVar[i], 5));
    // Inference uses the running statistics, not the batch's.
    const inference = batchNorm(x, bn, false).dataSync();
    const manual = tf.div(tf.sub(x, bn.runningMean), tf.sqrt(tf.add(bn.runningVar, BN_EPSILON))).dataSync();
    inference.forEach((v, i) => expect(v).toBeCloseTo(manual[i], 4));
  });
});
