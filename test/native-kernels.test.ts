/**
 * The compiled kernels (native/, src/backend/native-kernels.ts) against the wasm path they
 * replace: the same bits, kernel by kernel and for whole trainings, and bad arguments refused
 * without touching memory. CI installs a C++ compiler (scripts/install-build-tools.sh),
 * so there the kernels must have built: a build that failed quietly would leave these tests
 * comparing wasm with itself.
 */
import { execFileSync } from 'node:child_process';
import { createRequire } from 'node:module';
import * as tf from '@tensorflow/tfjs';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { initBackend } from '../src/backend/index.js';
import { nativeKernelsText } from '../src/backend/native-addon.js';
import { useNativeKernels } from '../src/backend/native-kernels.js';
import { loadExperiment } from '../src/config/experiment.js';
import { loadDataset } from '../src/data/dataset.js';
import { trainModel } from '../src/train/loop.js';
import { Random } from '../src/util/random.js';
import { startCli } from './cli-helpers.js';
import { smallDigits } from './small-digits.js';

beforeAll(async () => {
  await initBackend('wasm');
});

afterEach(() => {
  useNativeKernels(true);
});

/** Values from a seed, with `special` values (NaN, ±0, ±Infinity) at every 23rd place. */
function values(shape: number[], seed: number, special: number[] = []): tf.Tensor {
  const r = new Random(seed);
  const data = Float32Array.from({ length: shape.reduce((a, b) => a * b, 1) }, () => r.uniform(-2, 2));
  if (special.length) for (let i = 0; i < data.length; i += 23) data[i] = special[(i / 23) % special.length];
  return tf.tensor(data, shape);
}

/**
 * The places where the compiled kernels' result differs from wasm's in any bit, but for one case:
 * ours NaN where wasm gives NaN, 0 or -Infinity. XNNPACK's kernels disagree among themselves
 * there (relu gives NaN or 0, a linear 1×1 convolution -Infinity, by the kernel a shape picks),
 * and ours keep the NaN; a NaN's sign follows the instructions.
 */
function differences(native: Float32Array, wasm: Float32Array): string[] {
  const x = new Uint32Array(native.buffer, native.byteOffset, native.length);
  const y = new Uint32Array(wasm.buffer, wasm.byteOffset, wasm.length);
  expect(x.length).toBe(y.length);
  const at: string[] = [];
  for (let i = 0; i < x.length && at.length < 5; i++) {
    const nanForXnnpack = Number.isNaN(native[i]) && (Number.isNaN(wasm[i]) || wasm[i] === 0 || wasm[i] === -Infinity);
    if (x[i] !== y[i] && !nanForXnnpack) at.push(`${i}: ${native[i]} against ${wasm[i]}`);
  }
  return at;
}

/** f's result with the compiled kernels and with wasm's own. */
function bothWays(f: () => tf.Tensor): [Float32Array, Float32Array] {
  useNativeKernels(true);
  const native = f().dataSync() as Float32Array;
  useNativeKernels(false);
  const wasm = f().dataSync() as Float32Array;
  useNativeKernels(true);
  return [native, wasm];
}

interface Case {
  x: [number, number, number, number];
  filter: [number, number, number, number];
  stride: number | [number, number];
  pad: 'same' | 'valid';
  dilation: number;
}

const CASES: Case[] = [
  { x: [64, 28, 28, 1], filter: [5, 5, 1, 6], stride: 1, pad: 'same', dilation: 1 }, // conv1
  { x: [64, 14, 14, 6], filter: [5, 5, 6, 16], stride: 1, pad: 'valid', dilation: 1 }, // conv2
  { x: [3, 13, 13, 3], filter: [3, 3, 3, 20], stride: 2, pad: 'same', dilation: 1 }, // two blocks of channels, one partial
  { x: [2, 12, 12, 16], filter: [5, 5, 16, 40], stride: 1, pad: 'valid', dilation: 1 },
  { x: [2, 11, 11, 5], filter: [3, 3, 5, 7], stride: 1, pad: 'same', dilation: 2 },
  { x: [2, 9, 9, 2], filter: [3, 3, 2, 9], stride: 3, pad: 'valid', dilation: 1 }, // a stride that leaves a margin
  { x: [5, 10, 10, 17], filter: [1, 1, 17, 33], stride: 1, pad: 'valid', dilation: 1 },
  { x: [1, 7, 9, 4], filter: [2, 4, 4, 16], stride: 1, pad: 'same', dilation: 1 }, // not square, even filter
  { x: [1, 9, 9, 3], filter: [3, 3, 3, 4], stride: [2, 1], pad: 'valid', dilation: 1 }, // strides that differ, few channels
  { x: [2, 9, 11, 3], filter: [3, 3, 3, 4], stride: [1, 2], pad: 'same', dilation: 1 },
  { x: [2, 10, 9, 2], filter: [3, 2, 2, 20], stride: [2, 1], pad: 'same', dilation: 1 },
];

const name = (c: Case) => `x ${c.x.join('×')}, filter ${c.filter.join('×')}, stride ${[c.stride].flat().join('×')}, ${c.pad}, dilation ${c.dilation}`;

describe('the compiled kernels', () => {
  it('are built and loaded here', () => {
    expect(useNativeKernels(true)).toBe(true);
    expect(nativeKernelsText()).toMatch(/^(AVX-512|AVX2|x86-64 baseline|portable C\+\+) kernels compiled for this CPU$/);
  });

  for (const special of [[], [NaN, -0, 0], [Infinity, -Infinity, -0], [NaN, Infinity, -Infinity]]) {
    describe(special.length ? `with ${special.join(', ')} among the values` : 'on finite values', () => {
      for (const c of CASES) {
        it(`give wasm's bits: ${name(c)}`, () => {
          const x = values(c.x, 1, special);
          const filter = values(c.filter, 2);
          const bias = values([c.filter[3]], 3);
          const y = tf.conv2d(x as tf.Tensor4D, filter as tf.Tensor4D, c.stride, c.pad, 'NHWC', c.dilation);
          const dy = values(y.shape, 4, special);
          for (const activation of ['linear', 'relu']) {
            for (const withBias of [true, false]) {
              const forward = () => tf.engine().runKernel('FusedConv2D', withBias ? { x, filter, bias } : { x, filter }, {
                strides: c.stride, pad: c.pad, dataFormat: 'NHWC', dilations: c.dilation, activation,
              }) as tf.Tensor;
              expect(differences(...bothWays(forward)), `${activation}, bias ${withBias}`).toEqual([]);
            }
          }
          expect(differences(...bothWays(() => tf.conv2d(x as tf.Tensor4D, filter as tf.Tensor4D, c.stride, c.pad, 'NHWC', c.dilation))), 'conv2d').toEqual([]);
          if (c.dilation === 1) {
            const filterGradient = () => tf.engine().runKernel('Conv2DBackpropFilter', { x, dy }, { strides: c.stride, pad: c.pad, dataFormat: 'NHWC', filterShape: c.filter }) as tf.Tensor;
            expect(differences(...bothWays(filterGradient)), 'filter gradient').toEqual([]);
          }
          const inputGradient = () => tf.conv2dTranspose(dy as tf.Tensor4D, filter as tf.Tensor4D, c.x, c.stride, c.pad);
          expect(differences(...bothWays(inputGradient)), 'input gradient').toEqual([]);
        });
      }
    });
  }

  describe("give wasm's bits for matrix products", () => {
    // The dense layers and their gradients, batch normalisation's diagonal products, odd sizes.
    // (A batch of several matrices is left to wasm, which sums it in another order.)
    for (const [m, k, n] of [[64, 400, 120], [64, 120, 84], [64, 84, 10], [3136, 16, 16], [12544, 6, 6], [3, 5, 7], [17, 33, 40], [1, 1, 1]]) {
      it(`${m}×${k} by ${k}×${n}`, () => {
        for (const special of [[], [NaN, -0], [Infinity, -Infinity, -0]]) {
          for (const [ta, tb] of [[false, false], [true, false], [false, true], [true, true]]) {
            const a = values(ta ? [1, k, m] : [1, m, k], 7, special);
            const b = values(tb ? [1, n, k] : [1, k, n], 8);
            const bias = values([n], 9);
            const what = `transposed ${ta}/${tb}, with ${special.join(', ') || 'finite values'}`;
            expect(differences(...bothWays(() => tf.engine().runKernel('BatchMatMul', { a, b }, { transposeA: ta, transposeB: tb }) as tf.Tensor)), what).toEqual([]);
            for (const activation of ['linear', 'relu']) {
              const fused = () => tf.engine().runKernel('_FusedMatMul', { a, b, bias }, { transposeA: ta, transposeB: tb, activation }) as tf.Tensor;
              expect(differences(...bothWays(fused)), `fused, ${activation}, ${what}`).toEqual([]);
            }
          }
        }
      });
    }
  });

  it("give wasm's bits for the pooling gradients' upsampling, and leave other resizes to wasm", () => {
    const images = values([3, 5, 7, 6], 10, [NaN, -0, Infinity]);
    for (const size of [[10, 14], [20, 7], [5, 28], [40, 56], [15, 21], [6, 9], [10, 21]] as [number, number][]) {
      for (const [alignCorners, halfPixelCenters] of [[false, false], [true, false], [false, true]]) {
        const resize = () => tf.engine().runKernel('ResizeNearestNeighbor', { images }, { alignCorners, halfPixelCenters, size }) as tf.Tensor;
        const [native, wasm] = bothWays(resize);
        const x = new Uint32Array(native.buffer, native.byteOffset, native.length);
        const y = new Uint32Array(wasm.buffer, wasm.byteOffset, wasm.length);
        expect(x.every((v, i) => v === y[i]), `${size}, ${alignCorners}, ${halfPixelCenters}`).toBe(true);
      }
    }
  });

  it('leave to wasm what they do not compute as it does: empty tensors, and sizes beyond their reach', () => {
    const empty = tf.conv2d(tf.zeros([0, 9, 9, 3]) as tf.Tensor4D, tf.ones([3, 3, 3, 4]) as tf.Tensor4D, 1, 'valid');
    expect(empty.shape).toEqual([0, 7, 7, 4]);
    expect(tf.image.resizeNearestNeighbor(tf.zeros([0, 2, 2, 1]) as tf.Tensor4D, [4, 4]).shape).toEqual([0, 4, 4, 1]);
    // A dilation of 2^30 (the addon refuses extents past 2^24 instead of overflowing): wasm computes it.
    const [native, wasm] = bothWays(() => tf.conv2d(tf.ones([1, 1, 1, 2]) as tf.Tensor4D, tf.ones([3, 1, 2, 16]) as tf.Tensor4D, 1, [[0, 0], [0, 2 ** 31], [0, 0], [0, 0]], 'NHWC', [2 ** 30, 1]));
    expect(differences(native, wasm)).toEqual([]);
    // A conv2dTranspose whose outputShape does not fit dy (5×5 from a 3×3 'same' convolution):
    // not read as if it did.
    const dy = values([1, 5, 5, 4], 11);
    const filter = values([3, 3, 3, 4], 12);
    const [nativeDx, wasmDx] = bothWays(() => tf.conv2dTranspose(dy as tf.Tensor4D, filter as tf.Tensor4D, [1, 3, 3, 3], 1, 'same'));
    expect(differences(nativeDx, wasmDx)).toEqual([]);
  });

  it('apply relu as max(x, 0): -0 becomes +0, and a NaN stays NaN (the trial diverges, as it should)', () => {
    const negativeNaN = new Float32Array(new Uint32Array([0xffc00000]).buffer)[0];
    const x = tf.tensor4d([NaN, negativeNaN, -0, -1, 2, 0], [1, 1, 6, 1]);
    const filter = tf.ones([1, 1, 1, 1]);
    const [native] = bothWays(() => tf.engine().runKernel('FusedConv2D', { x, filter }, { strides: 1, pad: 'valid', dataFormat: 'NHWC', dilations: 1, activation: 'relu' }) as tf.Tensor);
    expect(Array.from(native.slice(0, 2), Number.isNaN)).toEqual([true, true]);
    expect(Array.from(new Uint32Array(native.buffer, native.byteOffset + 8, 4), (b) => b.toString(16))).toEqual(['0', '0', '40000000', '0']);
  });

  it('train a trial to the same numbers as wasm, for each kind of layer', async () => {
    const data = loadDataset(smallDigits(256, 64), { validation: { from: 'test' }, limitTrain: 0, mean: 0.1307, std: 0.3081 });
    for (const model of [
      { pooling: 'avg' },
      { pooling: 'max', batchnorm: true, dropout: 0.5 },
      { pooling: 'max', activation: 'tanh', conv1_filters: 8, conv2_filters: 20, fc1_units: 64, dropout_conv: 0.2, batchnorm_fc: true },
      { pooling: 'avg', activation: 'relu', conv1_filters: 24, conv2_filters: 40 },
    ]) {
      const [trial] = loadExperiment({ label: 'native', value: { name: 'native', model, training: { epochs: 2, batch_size: 32, seed: 3 } } }).trials;
      const run = async (on: boolean) => {
        useNativeKernels(on);
        const epochs: unknown[] = [];
        const result = await trainModel(trial.config, data, { onEpoch: (m) => void epochs.push({ ...m, images_per_s: 0, epoch_seconds: 0, seconds: 0 }) });
        return { epochs, test: [result.testLoss, result.testAcc] };
      };
      const native = await run(true);
      const wasm = await run(false);
      expect(native.epochs.length).toBe(2);
      expect(native, JSON.stringify(model)).toEqual(wasm);
    }
  });

  it('give the same bits in each instruction-set build (AVX-512, AVX2, the x86-64 baseline)', () => {
    // Each build in a process of its own (the addon picks its build when it loads), on the same
    // made-up tensors: a digest of every kernel's output, NaN and infinities among the inputs.
    const script = `
      const { createHash } = await import('node:crypto');
      const addon = (await import('node:module')).createRequire(process.cwd() + '/')('./native/build/Release/lenet_native.node');
      let seed = 1;
      const data = (n) => Float32Array.from({ length: n }, (_, i) => i % 41 === 0 ? [NaN, Infinity, -0][i % 3] : ((seed = (seed * 1103515245 + 12345) % 2147483648) / 2147483648) * 4 - 2);
      const hash = createHash('sha256');
      // Every NaN as one NaN: its sign and payload follow the instructions chosen (see differences()).
      const add = (a) => hash.update(new Uint8Array(Float32Array.from(a, (v) => (Number.isNaN(v) ? NaN : v)).buffer));
      for (const [n, h, ci, k, co, pad] of [[8, 28, 1, 5, 6, 2], [8, 14, 6, 5, 16, 0], [3, 9, 3, 3, 20, 1]]) {
        const o = h + 2 * pad - k + 1;
        const shape = Int32Array.from([n, h, h, ci, k, k, co, 1, 1, 1, 1, pad, pad, o, o]);
        const x = data(n * h * h * ci), w = data(k * k * ci * co), b = data(co), dy = data(n * o * o * co);
        for (const relu of [false, true]) { const out = new Float32Array(n * o * o * co); addon.forward(x, w, b, out, shape, relu); add(out); }
        const dw = new Float32Array(k * k * ci * co); addon.filterGradient(x, dy, dw, shape); add(dw);
        const dx = new Float32Array(n * h * h * ci); addon.inputGradient(dy, w, dx, shape); add(dx);
      }
      for (const [m, kk, nn] of [[64, 400, 120], [784, 6, 6], [5, 7, 3]]) {
        const c = new Float32Array(m * nn);
        addon.matMul(data(m * kk), data(kk * nn), data(nn), c, Int32Array.from([1, m, kk, nn, 0, 0, 1])); add(c);
      }
      console.log(addon.instructions() + ' ' + hash.digest('hex'));
    `;
    const builds = ['', 'avx2', 'baseline'].map((isa) => execFileSync(process.execPath, ['--input-type=module', '-e', script], { env: { ...process.env, LENET_SWEEP_NATIVE_ISA: isa }, encoding: 'utf8' }).trim());
    const digests = builds.map((line) => line.split(' ').pop());
    expect(builds.at(-1)).toMatch(/^x86-64 baseline /);
    // This machine runs more than the baseline (CI's does: AVX-512), so at least two builds ran.
    expect(new Set(builds.map((line) => line.slice(0, line.lastIndexOf(' ')))).size, builds.join('\n')).toBeGreaterThan(1);
    expect(new Set(digests).size, builds.join('\n')).toBe(1);
  });

  it('are named by `sweep backends`, and LENET_SWEEP_NATIVE=0 turns them off', async () => {
    const on = await startCli(['backends']);
    expect(on.stdout).toMatch(/^\* wasm +installed, with (AVX-512|AVX2|x86-64 baseline) kernels compiled for this CPU$/m);
    const off = await startCli(['backends'], undefined, { LENET_SWEEP_NATIVE: '0' });
    expect(off.stdout).toMatch(/^\* wasm +installed, with wasm's own kernels \(the compiled ones are turned off by LENET_SWEEP_NATIVE=0\)$/m);
    expect(JSON.parse((await startCli(['backends', '--json'])).stdout).backends.find((b: { name: string }) => b.name === 'wasm').note).toMatch(/kernels compiled for this CPU/);
  });

  it('refuse arrays shorter than the shape says, and shapes that make no sense, with an error (not a crash)', () => {
    const addon = createRequire(import.meta.url)('../native/build/Release/lenet_native.node');
    expect(() => addon.matMul(new Float32Array(6), new Float32Array(6), null, new Float32Array(3), Int32Array.from([1, 3, 2, 3, 0, 0, 0]))).toThrow(/c holds 3 floats, the shape needs 9/);
    expect(() => addon.matMul(new Float32Array(6), new Float32Array(6), null, new Float32Array(9), Int32Array.from([1, 3, 0, 3, 0, 0, 0]))).toThrow(/must be positive/);
    expect(() => addon.upsample(new Float32Array(4), new Float32Array(15), Int32Array.from([1, 2, 2, 1, 2, 2]))).toThrow(/out holds 15 floats, the shape needs 16/);
    const shape = Int32Array.from([1, 4, 4, 1, 3, 3, 2, 1, 1, 1, 1, 0, 0, 2, 2]);
    const ok = () => [new Float32Array(16), new Float32Array(18), null, new Float32Array(8)];
    expect(() => addon.forward(...ok(), shape, false)).not.toThrow();
    const [x, w, , out] = ok();
    expect(() => addon.forward(new Float32Array(15), w, null, out, shape, false)).toThrow(/x holds 15 floats, the shape needs 16/);
    expect(() => addon.forward(x, w, new Float32Array(1), out, shape, false)).toThrow(/bias holds 1 floats, the shape needs 2/);
    expect(() => addon.forward(x, w, null, new Float32Array(7), shape, false)).toThrow(/out holds 7 floats/);
    expect(() => addon.forward(x, w, null, out, Int32Array.from([1, 4, 4]), false)).toThrow(/Int32Array of 15/);
    expect(() => addon.forward(x, w, null, out, Int32Array.from([1, 4, 4, 1, 3, 3, 2, 0, 1, 1, 1, 0, 0, 2, 2]), false)).toThrow(/must be positive/);
    expect(() => addon.filterGradient(x, new Float32Array(3), new Float32Array(18), shape)).toThrow(/dy holds 3 floats/);
    expect(() => addon.inputGradient(new Float32Array(8), w, x, Int32Array.from([1, 4, 4, 1, 3, 3, 2, 2, 2, 1, 1, 0, 0, 1, 1]))).toThrow(/stride 1 only/);
    expect(() => addon.forward(x, w, null, out, shape)).toThrow(/expected 6 arguments/);
    expect(() => addon.forward(x, w, null, out, shape, 1)).toThrow(/relu must be true or false/);
    // Sizes whose products would wrap around, and extents past what the kernels index.
    const huge = Int32Array.from([65536, 65536, 65536, 65536, 1, 1, 9, 1, 1, 1, 1, 0, 0, 1, 1]);
    expect(() => addon.forward(x, w, null, out, huge, false)).toThrow(/not computed here/);
    expect(() => addon.forward(x, w, null, out, Int32Array.from([1, 1, 1, 2, 3, 1, 16, 1, 1, 2 ** 30, 1, 0, 0, 2, 1]), false)).toThrow(/not computed here/);
    expect(() => addon.forward(x, w, null, out, Int32Array.from([-1, 4, 4, 1, 3, 3, 2, 1, 1, 1, 1, 0, 0, 2, 2]), false)).toThrow(/sizes, strides and dilations must be positive/);
    expect(() => addon.matMul(new Float32Array(6), new Float32Array(6), null, new Float32Array(9), Int32Array.from([1, 3, 2, 3, 0, 0, 2]))).toThrow(/flags 0 or 1/);
    // A shape in shared memory is copied before it is checked: another thread cannot change it in between.
    const shared = new Int32Array(new SharedArrayBuffer(24));
    shared.set([1, 2, 2, 1, 2, 2]);
    expect(() => addon.upsample(new Float32Array(4), new Float32Array(16), shared)).not.toThrow();
  });
});
