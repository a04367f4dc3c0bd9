#!/usr/bin/env node
// The measurement that decides the next step of fused trials on webgpu (issue 24): one training
// step (forward and backward, no optimizer) of K reference-recipe trials written as ONE stacked
// computation, against K single steps, with the gradients of trial 0 compared to its own alone.
//
// Today's trainGroup (train/loop.ts) keeps each trial's forward graph its own and shares only
// the bookkeeping: on wasm that is all fusion can give (its kernels already run at the core's
// full rate), on lavapipe the kernels' compute dominates. This script tries the layout the
// design proposes, with weights stacked on a leading trial axis:
//   - conv1 (one input channel per trial) is one depthwise convolution over the trials' inputs
//     side by side as channels [B, 28, 28, K], with a channel multiplier of 6;
//   - conv2 is, per CONV2: 'slices' (default) each trial's own conv2d on its 6 channels, or
//     'depthwise' one depthwise convolution with multiplier 16 and a sum over each trial's 6;
//   - pooling and activations act on all K trials' channels at once;
//   - the dense layers are batched matMuls [K, B, in] x [K, in, out].
// Prints ms per step and total images/s for each K in KS, and the largest difference between
// trial 0's gradients stacked and alone (0 means a trial's numbers would not change by fusion).
// webgpu only: the wasm backend has no depthwise gradient kernels. Knobs: KS (default 1,4,16),
// CONV2, STEPS (timed steps, default 4, after 2 untimed).
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const tf = createRequire(join(root, 'package.json'))('@tensorflow/tfjs');
const { initBackend } = await import(join(root, 'dist/backend/index.js'));

const KS = (process.env.KS ?? '1,4,16').split(',').map(Number);
const CONV2 = process.env.CONV2 ?? 'slices';
const STEPS = Number(process.env.STEPS ?? 4);
const B = 64;

const active = await initBackend('webgpu');
console.log(`lenet-sweep bench, one stacked step of K trials against K single steps: webgpu${active.adapter ? ` on ${active.adapter.name}` : ''}, reference recipe, batch ${B}, conv2 as ${CONV2}; forward and backward, ${STEPS} steps`);

/** A trial's weights, as the reference recipe's LeNet-5 has them. */
function weights(seed) {
  const normal = (shape, i) => tf.variable(tf.randomNormal(shape, 0, 0.1, 'float32', seed * 100 + i));
  return { c1: normal([5, 5, 1, 6], 1), b1: normal([6], 2), c2: normal([5, 5, 6, 16], 3), b2: normal([16], 4), f1: normal([400, 120], 5), g1: normal([120], 6), f2: normal([120, 84], 7), g2: normal([84], 8), f3: normal([84, 10], 9), g3: normal([10], 10) };
}

/** One trial's loss, as the product computes it on webgpu (conv1 a depthwise convolution: model/convolution.ts). */
function aloneLoss(w, x, y) {
  let h = tf.avgPool(tf.depthwiseConv2d(x, w.c1, 1, 'same').add(w.b1).relu(), 2, 2, 'valid');
  h = tf.avgPool(tf.conv2d(h, w.c2, 1, 'valid').add(w.b2).relu(), 2, 2, 'valid').reshape([B, 400]);
  h = tf.matMul(h, w.f1).add(w.g1).relu();
  h = tf.matMul(h, w.f2).add(w.g2).relu();
  return tf.losses.softmaxCrossEntropy(y, tf.matMul(h, w.f3).add(w.g3));
}

/** The K trials' summed losses, computed as one stacked model (each trial's loss keeps its own mean). */
function stackedLoss(ws, xs, ys) {
  const K = ws.length;
  const stacked = (name) => tf.stack(ws.map((w) => w[name]));
  const c1 = stacked('c1').reshape([K, 5, 5, 6]).transpose([1, 2, 0, 3]); // [5, 5, K, 6]
  let h = tf.depthwiseConv2d(tf.concat(xs, 3), c1, 1, 'same').add(stacked('b1').reshape([K * 6])).relu();
  h = tf.avgPool(h, 2, 2, 'valid'); // [B, 14, 14, K·6], trial k's channels at 6k…6k+5
  if (CONV2 === 'depthwise') {
    const c2 = stacked('c2').transpose([1, 2, 0, 3, 4]).reshape([5, 5, K * 6, 16]);
    h = tf.depthwiseConv2d(h, c2, 1, 'valid').reshape([B, 10, 10, K, 6, 16]).sum(4);
  } else {
    h = tf.stack(ws.map((w, k) => tf.conv2d(h.slice([0, 0, 0, 6 * k], [B, 14, 14, 6]), w.c2, 1, 'valid')), 3);
  }
  h = h.add(stacked('b2')).relu().reshape([B, 10, 10, K * 16]); // [B, 10, 10, K, 16] as channels
  h = tf.avgPool(h, 2, 2, 'valid').reshape([B, 5, 5, K, 16]).transpose([3, 0, 1, 2, 4]).reshape([K, B, 400]);
  h = tf.matMul(h, stacked('f1')).add(stacked('g1').reshape([K, 1, 120])).relu();
  h = tf.matMul(h, stacked('f2')).add(stacked('g2').reshape([K, 1, 84])).relu();
  const logits = tf.matMul(h, stacked('f3')).add(stacked('g3').reshape([K, 1, 10]));
  return tf.losses.softmaxCrossEntropy(tf.stack(ys).reshape([K * B, 10]), logits.reshape([K * B, 10])).mul(K);
}

/** A step's gradients reduced to one number, read back, so each step waits for its work. */
const drained = (value, grads) => Object.values(grads).reduce((s, g) => s.add(g.sum()), value);

async function msPerStep(step) {
  for (let i = 0; i < 2; i++) await tf.tidy(step).data();
  const start = performance.now();
  for (let i = 0; i < STEPS; i++) {
    const t = tf.tidy(step);
    await t.data();
    t.dispose();
  }
  return (performance.now() - start) / STEPS;
}

for (const K of KS) {
  const ws = Array.from({ length: K }, (_, k) => weights(k + 1));
  const xs = ws.map((_, k) => tf.randomNormal([B, 28, 28, 1], 0, 1, 'float32', 1000 + k));
  const ys = ws.map((_, k) => tf.oneHot(tf.randomUniform([B], 0, 10, 'int32', 2000 + k), 10).toFloat());
  const stackedStep = () => {
    const { value, grads } = tf.variableGrads(() => stackedLoss(ws, xs, ys), ws.flatMap((w) => Object.values(w)));
    return drained(value, grads);
  };
  const aloneSteps = () => ws.map((w, k) => {
    const { value, grads } = tf.variableGrads(() => aloneLoss(w, xs[k], ys[k]), Object.values(w));
    return drained(value, grads);
  }).reduce((s, t) => s.add(t));
  const gap = tf.tidy(() => {
    const stacked = tf.variableGrads(() => stackedLoss(ws, xs, ys), Object.values(ws[0])).grads;
    const alone = tf.variableGrads(() => aloneLoss(ws[0], xs[0], ys[0]), Object.values(ws[0])).grads;
    return tf.stack(Object.keys(alone).map((name) => tf.sub(stacked[name], alone[name]).abs().max())).max();
  });
  const [diff] = await gap.data();
  gap.dispose();
  const fused = await msPerStep(stackedStep);
  const separate = await msPerStep(aloneSteps);
  const rate = (ms) => ((K * B * 1000) / ms).toFixed(0).padStart(7);
  console.log(`  K=${String(K).padStart(2)}: stacked ${fused.toFixed(1).padStart(8)} ms/step ${rate(fused)} images/s, separate ${separate.toFixed(1).padStart(8)} ms ${rate(separate)} images/s, ${(separate / fused).toFixed(2)}x; trial 0's gradients stacked vs alone differ by at most ${diff.toExponential(2)}`);
  tf.dispose([...ws.flatMap((w) => Object.values(w)), ...xs, ...ys]);
}
process.exit(0);
