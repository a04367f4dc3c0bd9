import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { initBackend } from '../src/backend/index.js';
import { applyAffine, augmentBatch, type Affine } from '../src/data/augment.js';
import { Random } from '../src/util/random.js';
import { cli } from './cli-helpers.js';
import { tempDir, writeExperiment } from './helpers.js';

beforeAll(async () => {
  await initBackend('wasm');
});

/** A 28×28 image, background -1, with one bright pixel at (x, y). */
function dot(x: number, y: number): tf.Tensor4D {
  const pixels = new Float32Array(28 * 28).fill(-1);
  pixels[y * 28 + x] = 1;
  return tf.tensor4d(pixels, [1, 28, 28, 1]);
}

function brightest(t: tf.Tensor4D): [number, number] {
  const i = tf.argMax(tf.reshape(t, [-1])).dataSync()[0];
  return [i % 28, Math.floor(i / 28)];
}

const identity: Affine = { angle: 0, scale: 1, dx: 0, dy: 0 };

describe('affine augmentation', () => {
  it('leaves the image as it is with the identity transform', () => {
    const img = dot(5, 9);
    expect(Array.from(applyAffine(img, [identity], -1).dataSync())).toEqual(Array.from(img.dataSync()));
  });

  it('transforms every image of a batch by its own transform, on cpu as on wasm (tfjs cpu kernel fills all but the first)', async () => {
    const batch = tf.concat([dot(5, 9), dot(20, 3), dot(14, 14)]);
    const transforms = [identity, { ...identity, dx: 2 }, { ...identity, angle: 30, scale: 0.9 }];
    const wasm = applyAffine(batch, transforms, -1).dataSync();
    await tf.setBackend('cpu');
    try {
      const cpu = applyAffine(batch, transforms, -1).dataSync();
      expect(Math.max(...cpu.map((v, i) => Math.abs(v - wasm[i])))).toBeLessThan(1e-5);
    } finally {
      await tf.setBackend('wasm');
    }
  });

  it('shifts by whole pixels, right and down for positive shifts', () => {
    expect(brightest(applyAffine(dot(10, 10), [{ ...identity, dx: 2, dy: -3 }], -1))).toEqual([12, 7]);
  });

  it('rotates counter-clockwise about the centre, and scales about it', () => {
    // (13.5, 13.5) is the centre: a dot 5.5 px right of it goes 5.5 px above it.
    expect(brightest(applyAffine(dot(19, 13), [{ ...identity, angle: 90 }], -1))).toEqual([13, 8]);
    expect(brightest(applyAffine(dot(19, 13), [{ ...identity, angle: -90 }], -1))).toEqual([14, 19]);
    // A centred 4×4 block scaled by 2 covers about 8×8 pixels.
    const block = new Float32Array(28 * 28).fill(-1);
    for (let y = 12; y < 16; y++) for (let x = 12; x < 16; x++) block[y * 28 + x] = 1;
    const covered = (scale: number) =>
      applyAffine(tf.tensor4d(block, [1, 28, 28, 1]), [{ ...identity, scale }], -1).dataSync().filter((v) => v > 0).length;
    expect(covered(1)).toBe(16);
    expect(covered(2)).toBeGreaterThanOrEqual(49);
    expect(covered(2)).toBeLessThanOrEqual(81);
    expect(covered(0.5)).toBeLessThanOrEqual(9);
  });

  it('fills what comes from outside with the background value', () => {
    const shifted = applyAffine(tf.fill([1, 28, 28, 1], 0.5) as tf.Tensor4D, [{ ...identity, dx: 3 }], -0.42).dataSync();
    expect(shifted[0]).toBeCloseTo(-0.42, 5);
    expect(shifted[27]).toBeCloseTo(0.5, 5);
  });

  it('draws one transform per image from the seed', () => {
    const batch = tf.concat([dot(14, 14), dot(14, 14), dot(14, 14)]) as tf.Tensor4D;
    const settings = { rotate: 10, scale: 0.1, translate: 2 };
    const a = augmentBatch(batch, settings, new Random(1), -1).dataSync();
    const b = augmentBatch(batch, settings, new Random(1), -1).dataSync();
    expect(Array.from(a)).toEqual(Array.from(b));
    expect(Array.from(a.subarray(0, 784))).not.toEqual(Array.from(a.subarray(784, 1568)));
    expect(Array.from(a.subarray(0, 784))).not.toEqual(Array.from(batch.dataSync().subarray(0, 784)));
  });
});

describe('sweep augment-preview', () => {
  it('writes a PNG grid of augmented training digits', async () => {
    const out = join(tempDir(), 'grid.png');
    const file = writeExperiment('name: a\naugment: { rotate: 15, translate: 2 }\n');
    const r = await cli('augment-preview', file, '--out', out, '--rows', '3');
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const png = readFileSync(out);
    expect(png.subarray(1, 4).toString()).toBe('PNG');
    // 8 columns of 28·3 px + 2 px gaps, 3 rows.
    expect([png.readUInt32BE(16), png.readUInt32BE(20)]).toEqual([8 * 86 + 2, 3 * 86 + 2]);
  });

  it('draws the same grid for a file on webgpu, without a GPU in the process (no Dawn warnings, no synchronous read)', async () => {
    const dir = tempDir();
    const grids = [];
    for (const backend of ['wasm', 'webgpu']) {
      const out = join(dir, `${backend}.png`);
      const r = await cli('augment-preview', writeExperiment(`name: a\nbackend: ${backend}\naugment: { rotate: 15, translate: 2 }\n`), '--out', out, '--rows', '2');
      expect(r.stderr).toBe('');
      expect(r.code).toBe(0);
      grids.push(readFileSync(out));
    }
    expect(grids[1].equals(grids[0])).toBe(true);
  });

  it('needs --out', async () => {
    const r = await cli('augment-preview', writeExperiment('name: a\n'));
    expect(r.code).toBe(2);
    expect(r.stderr).toBe('sweep augment-preview: --out FILE.png is required\n');
  });
});
