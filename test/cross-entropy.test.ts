/**
 * The cross-entropy op (src/train/cross-entropy.ts) against tfjs's losses.softmaxCrossEntropy:
 * value and gradient, mean and sum, on wasm and cpu.
 */
import * as tf from '@tensorflow/tfjs';
import { beforeAll, expect, it } from 'vitest';
import { initBackend } from '../src/backend/index.js';
import { crossEntropy } from '../src/train/cross-entropy.js';
import { Random } from '../src/util/random.js';

beforeAll(async () => {
  await initBackend('wasm');
});

it.each(['wasm', 'cpu'])('on %s: the value and the gradient tfjs gives, for the mean and the sum', async (backend) => {
  await tf.setBackend(backend);
  try {
    const r = new Random(4);
    // Logits large enough that a naive softmax would overflow in float32.
    const logits = tf.tensor2d(Float32Array.from({ length: 7 * 10 }, () => r.uniform(-60, 60)), [7, 10]);
    const labels = tf.oneHot(tf.tensor1d([3, 0, 9, 9, 2, 5, 1], 'int32'), 10) as tf.Tensor2D;
    for (const reduction of ['mean', 'sum'] as const) {
      const theirs = (z: tf.Tensor) => tf.losses.softmaxCrossEntropy(labels, z, undefined, undefined, reduction === 'sum' ? tf.Reduction.SUM : tf.Reduction.SUM_BY_NONZERO_WEIGHTS) as tf.Scalar;
      const ours = (z: tf.Tensor) => crossEntropy(labels, z as tf.Tensor2D, reduction);
      const [a, b] = [ours, theirs].map((f) => tf.valueAndGrad(f)(logits));
      expect(a.value.dataSync()[0]).toBeCloseTo(b.value.dataSync()[0], 3);
      const ga = a.grad.dataSync();
      const gb = b.grad.dataSync();
      ga.forEach((v, i) => expect(v, `${reduction}, gradient ${i}`).toBeCloseTo(gb[i], 5));
    }
  } finally {
    await tf.setBackend('wasm');
  }
});
