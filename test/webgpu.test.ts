/**
 * The webgpu backend (Dawn, through the optional package `webgpu`) against the cpu backend's
 * kernels: every model option's forward values and gradients, and augmentation's transform.
 * On a machine without a GPU this runs on a CPU implementation of Vulkan (Mesa's lavapipe, from
 * scripts/install-webgpu-cpu-driver.sh, which .ci/run calls): slow, so the batches are tiny.
 */
import * as tf from '@tensorflow/tfjs';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mayHaveGpu } from '../src/backend/choice.js';
import { initBackend } from '../src/backend/index.js';
import { releaseWebgpu } from '../src/backend/webgpu-backend.js';
import { findAdapter, isCpuAdapter, pickAdapters } from '../src/backend/webgpu.js';
import { applyAffine, drawAffine } from '../src/data/augment.js';
import { asDepthwise, convolve } from '../src/model/convolution.js';
import { buildLeNet, type ModelConfig } from '../src/model/lenet.js';
import { Random } from '../src/util/random.js';
import { tempDir } from './helpers.js';
import { config as fixture } from './experiment-fixture.js';

const BATCH = 6;

beforeAll(async () => {
  const { found, tried } = await findAdapter();
  if (!found) throw new Error(`no WebGPU adapter (${tried.join('; ')}): these tests need one; run scripts/install-webgpu-cpu-driver.sh`);
  await initBackend('webgpu');
});

afterAll(() => releaseWebgpu());

function images(n: number, seed: number): Float32Array {
  const r = new Random(seed);
  return Float32Array.from({ length: n * 28 * 28 }, () => r.uniform(-0.5, 2.5));
}

/** The model's logits and the gradients of its loss for every trainable variable, on one backend. */
async function lenetOn(backend: string, model: ModelConfig): Promise<Float32Array[]> {
  await tf.setBackend(backend);
  const net = buildLeNet(model, new Random(3));
  try {
    const x = tf.tensor4d(images(BATCH, 5), [BATCH, 28, 28, 1]);
    const y = tf.oneHot(tf.tensor1d([0, 3, 9, 1, 7, 3], 'int32'), 10);
    let logits: tf.Tensor | undefined;
    const { value, grads } = tf.variableGrads(() => {
      logits = tf.keep(net.forward(x, true, 11));
      return tf.losses.softmaxCrossEntropy(y, logits) as tf.Scalar;
    }, net.trainable);
    const out = [logits!, value, ...net.trainable.map((v) => grads[v.name])];
    const arrays = await Promise.all(out.map(async (t) => (await t.data()) as Float32Array));
    tf.dispose([x, y, ...out]);
    return arrays;
  } finally {
    net.dispose();
  }
}

/** Largest difference relative to the reference's largest magnitude. */
function worst(actual: Float32Array, reference: Float32Array): number {
  expect(actual.length).toBe(reference.length);
  const scale = Math.max(1e-6, ...reference.map(Math.abs));
  return Math.max(...actual.map((v, j) => Math.abs(v - reference[j]))) / scale;
}

async function expectSameAsCpu(model: Partial<ModelConfig>) {
  const options = fixture({ model }).model;
  const gpu = await lenetOn('webgpu', options);
  const cpu = await lenetOn('cpu', options);
  gpu.forEach((values, i) => expect(worst(values, cpu[i]), `output ${i} (0 logits, 1 loss, then gradients)`).toBeLessThan(1e-4));
}

describe('webgpu computes what cpu computes', () => {
  it('finds an adapter and says whether it is a CPU implementation', async () => {
    const { found } = await findAdapter();
    const adapter = found!.adapter;
    expect(adapter.cpu).toBe(isCpuAdapter({ vendor: adapter.vendor, architecture: '', device: adapter.name, description: adapter.description }));
  });

  it('a product with a long inner dimension gives the same bits every time (no split-K, whose atomics add in any order)', async () => {
    // fc3's weight gradient at batch 4,096 ([84, B] x [B, 10]): tfjs-backend-webgpu's own choice
    // would be its split-K program, which gave six different results in six runs here.
    await tf.setBackend('webgpu');
    const r = new Random(9);
    const a = tf.tensor2d(Float32Array.from({ length: 84 * 4096 }, () => r.uniform(-1, 1)), [84, 4096]);
    const b = tf.tensor2d(Float32Array.from({ length: 4096 * 10 }, () => r.uniform(-1, 1)), [4096, 10]);
    const runs: string[] = [];
    for (let i = 0; i < 4; i++) {
      const c = tf.matMul(a, b);
      runs.push(Buffer.from(((await c.data()) as Float32Array).buffer).toString('hex'));
      c.dispose();
    }
    tf.dispose([a, b]);
    expect(new Set(runs).size).toBe(1);
  });

  it('conv1 runs as a depthwise convolution (7x faster on lavapipe), giving the bits conv2d gives: with bias and relu, bias alone, neither', async () => {
    await tf.setBackend('webgpu');
    const r = new Random(4);
    const x = tf.tensor4d(Float32Array.from({ length: 64 * 28 * 28 }, () => r.uniform(-0.5, 2.5)), [64, 28, 28, 1]);
    const filter = tf.tensor4d(Float32Array.from({ length: 5 * 5 * 6 }, () => r.uniform(-0.4, 0.4)), [5, 5, 1, 6]);
    const bias = tf.tensor1d(Float32Array.from({ length: 6 }, () => r.uniform(-0.5, 0.5)));
    expect(asDepthwise(x, 'webgpu')).toBe(true);
    expect(asDepthwise(x, 'wasm')).toBe(false);
    for (const [withBias, relu] of [[true, true], [true, false], [false, false]] as const) {
      const ours = convolve(x, filter, withBias ? bias : undefined, { pad: 'same', relu, inputGradient: false });
      const plain = tf.conv2d(x, filter, 1, 'same');
      const biased = withBias ? tf.add(plain, bias) : plain;
      const expected = relu ? tf.relu(biased) : biased;
      const [a, b] = [(await ours.data()) as Float32Array, (await expected.data()) as Float32Array];
      expect(Buffer.from(a.buffer).equals(Buffer.from(b.buffer)), `bias ${withBias}, relu ${relu}`).toBe(true);
      tf.dispose([ours, plain, biased, expected]);
    }
    tf.dispose([x, filter, bias]);
  });

  it('the reference LeNet-5: average pooling, relu', async () => {
    await expectSameAsCpu({});
  });

  it('max pooling with tanh, and sigmoid', async () => {
    await expectSameAsCpu({ pooling: 'max', activation: 'tanh' });
    await expectSameAsCpu({ activation: 'sigmoid' });
  });

  it('batch normalisation of the conv and dense layers, in training mode', async () => {
    await expectSameAsCpu({ batchnorm: true, batchnorm_fc: true, pooling: 'max' });
  });

  it('dropout after the conv blocks and the dense layers (the same seeded masks)', async () => {
    await expectSameAsCpu({ dropout: 0.5, dropout_conv: 0.25 });
  });

  it('other widths', async () => {
    await expectSameAsCpu({ conv1_filters: 4, conv2_filters: 10, fc1_units: 32, fc2_units: 16 });
  });

  it("augmentation's affine transform (rotation, scale, translation; bilinear, constant fill)", async () => {
    const augment = { rotate: 15, scale: 0.1, translate: 3 };
    const on = async (backend: string) => {
      await tf.setBackend(backend);
      const rng = new Random(8);
      const transforms = Array.from({ length: BATCH }, () => drawAffine(augment, rng));
      const out = tf.tidy(() => applyAffine(tf.tensor4d(images(BATCH, 6), [BATCH, 28, 28, 1]), transforms, -0.42));
      const values = (await out.data()) as Float32Array;
      out.dispose();
      return values;
    };
    expect(worst(await on('webgpu'), await on('cpu'))).toBeLessThan(1e-4);
  });
});

describe('which adapters count as a GPU', () => {
  it('CPU implementations of Vulkan and GL are not, whatever Dawn calls them', () => {
    const info = (device: string, description = '', isFallbackAdapter = false, architecture = '') => ({ vendor: '', architecture, device, description, isFallbackAdapter });
    expect(isCpuAdapter(info('llvmpipe (LLVM 15.0.6, 256 bits)', 'OpenGL version OpenGL ES 3.2 Mesa 22.3.6'))).toBe(true);
    expect(isCpuAdapter(info('SwiftShader Device (Subzero)'))).toBe(true);
    expect(isCpuAdapter(info('some device', '', true))).toBe(true);
    expect(isCpuAdapter(info('some device', '', false, 'software'))).toBe(true);
    expect(isCpuAdapter(info('NVIDIA H200', 'NVIDIA: 570.124.06'))).toBe(false);
    expect(isCpuAdapter(info('AMD Radeon RX 7900 XTX (RADV NAVI31)', 'radv Mesa 25.0.7'))).toBe(false);
    expect(isCpuAdapter(info('Apple M2 Max'))).toBe(false);
  });

  it('on Linux, only a machine with a GPU device node may have one: auto asks Dawn only there', () => {
    const dev = (...nodes: string[]) => {
      const dir = tempDir();
      for (const node of nodes) node.endsWith('/') ? mkdirSync(join(dir, node)) : writeFileSync(join(dir, node), '');
      return dir;
    };
    expect(mayHaveGpu('linux', dev('null', 'tty0', 'shm/'))).toBe(false);
    expect(mayHaveGpu('linux', dev('null', 'dri/'))).toBe(true);
    expect(mayHaveGpu('linux', dev('null', 'nvidia0', 'nvidiactl'))).toBe(true);
    expect(mayHaveGpu('linux', dev('dxg'))).toBe(true);
    expect(mayHaveGpu('linux', dev('mali0'))).toBe(true);
    expect(mayHaveGpu('linux', dev('kgsl-3d0'))).toBe(true);
    // Elsewhere (and where /dev cannot be read) only the probe can tell.
    expect(mayHaveGpu('darwin', dev())).toBe(true);
    expect(mayHaveGpu('linux', join(dev(), 'missing'))).toBe(true);
  });
});

describe('--gpus names adapters as Dawn lists them', () => {
  const listed = ['NVIDIA H200', 'AMD Radeon RX 7900 XTX (RADV NAVI31)', 'llvmpipe (LLVM 15.0.6, 256 bits)'];

  it('by number, by part of the name, or by the name as a trial records it', () => {
    expect(pickAdapters('0,2', listed)).toEqual(['NVIDIA H200', 'llvmpipe (LLVM 15.0.6, 256 bits)']);
    expect(pickAdapters('h200, radeon', listed)).toEqual(['NVIDIA H200', 'AMD Radeon RX 7900 XTX (RADV NAVI31)']);
    expect(pickAdapters('llvmpipe-llvm-15-0-6-256-bits-', listed)).toEqual(['llvmpipe (LLVM 15.0.6, 256 bits)']);
  });

  it('refuses a number or name that is not there, one that names several, one named twice, and twins Dawn cannot tell apart', () => {
    expect(() => pickAdapters('3', listed)).toThrow("no adapter 3 (adapters: 0: NVIDIA H200; 1: AMD Radeon RX 7900 XTX (RADV NAVI31); 2: llvmpipe (LLVM 15.0.6, 256 bits))");
    expect(() => pickAdapters('intel', listed)).toThrow("no adapter named 'intel'");
    expect(() => pickAdapters('a', listed)).toThrow("'a' names several adapters");
    expect(() => pickAdapters('0,h200', listed)).toThrow("adapter 'NVIDIA H200' is named twice");
    expect(() => pickAdapters('1', ['NVIDIA H200', 'NVIDIA H200'])).toThrow('adapter 1 has the same name as adapter 0');
  });
});
