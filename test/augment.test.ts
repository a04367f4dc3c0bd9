import { spawnSync } from 'node:child_process';
import { existsSync, lstatSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { PNG } from 'pngjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { initBackend } from '../src/backend/index.js';
import { applyAffine, augmentBatch, type Affine } from '../src/data/augment.js';
import { Random } from '../src/util/random.js';
import { CACHE, cli, CLI, ROOT } from './cli-helpers.js';
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

  it('replaces an existing --out only with --force, and a FIFO never', async () => {
    const dir = tempDir();
    const file = writeExperiment('name: a\naugment: { rotate: 15 }\n');
    const important = join(dir, 'important.png');
    writeFileSync(important, 'hi\n');
    const r = await cli('augment-preview', file, '--out', important, '--rows', '1');
    expect([r.code, r.stdout, r.stderr]).toEqual([2, '', `${important}: --out: already exists; give another path, or --force to replace it\n`]);
    expect(readFileSync(important, 'utf8')).toBe('hi\n');
    const forced = await cli('augment-preview', file, '--out', important, '--rows', '1', '--force');
    expect(forced.code, forced.stderr).toBe(0);
    expect(readFileSync(important).subarray(1, 4).toString()).toBe('PNG');
    const fifo = join(dir, 'fifo.png');
    spawnSync('mkfifo', [fifo]);
    const pipe = await cli('augment-preview', file, '--out', fifo, '--rows', '1', '--force');
    expect([pipe.code, pipe.stdout, pipe.stderr]).toEqual([2, '', `${fifo}: --out: is a FIFO (named pipe), not a file; give another path (--force replaces only a file)\n`]);
    expect(lstatSync(fifo).isFIFO()).toBe(true);
  });

  it('draws a distribution at its upper bound, says each value as plan does, and writes only a .png', async () => {
    const dir = tempDir();
    const file = writeExperiment('name: r\nsweep:\n  method: random\n  count: 3\n  parameters:\n    augment.rotate: { min: 0, max: 20 }\n    augment.scale: { min: 0.0, max: 0.2 }\n');
    const out = join(dir, 'r.png');
    const r = await cli('augment-preview', file, '--out', out, '--rows', '1');
    // Three draws fall short of 20° and 0.2; later trials of the search may reach them.
    expect([r.code, r.stderr]).toEqual([0, '']);
    expect(r.stdout).toContain('rotate ±20°, scale ±0.2, translate ±0px; swept, so drawn at the largest value a trial can take: augment.rotate, augment.scale;');
    const one = await cli('augment-preview', file, '--out', out, '--rows', '1', '--trial', '1', '--force');
    // A drawn scale, to 6 significant digits as `sweep plan` shows it (it printed 0.14340970660559835).
    expect(one.stdout).toMatch(/scale ±0\.\d{1,6}, translate/);
    // A q_uniform draw is rounded to a multiple of q: 0-20 by 7 reaches 21.
    const stepped = writeExperiment('name: q\nsweep:\n  method: random\n  count: 3\n  parameters:\n    augment.rotate: { distribution: q_uniform, min: 0, max: 20, q: 7 }\n');
    expect((await cli('augment-preview', stepped, '--out', join(dir, 'q.png'), '--rows', '1')).stdout).toContain('rotate ±21°');
    const jpg = await cli('augment-preview', file, '--out', join(dir, 'r.jpg'), '--rows', '1');
    expect([jpg.code, jpg.stdout, jpg.stderr]).toEqual([2, '', `--out: the preview is a PNG image; give a file name ending in .png, found '${join(dir, 'r.jpg')}'\n`]);
    expect(existsSync(join(dir, 'r.jpg'))).toBe(false);
  });

  it('refuses more rows than it draws (100) or than the training set has, at once, nothing written', () => {
    const dir = tempDir();
    const file = writeExperiment('name: a\naugment: { rotate: 15 }\ntraining: { limit_train: 64 }\n');
    // Bounded: before the limit, 100000 rows ran for ~40 s into gigabytes and crashed.
    const run = (...args: string[]) => spawnSync(process.execPath, [CLI, 'augment-preview', file, ...args], { cwd: ROOT, env: { ...process.env, LENET_SWEEP_CACHE: CACHE }, encoding: 'utf8', timeout: 20_000, killSignal: 'SIGKILL' });
    const many = run('--out', join(dir, 'many.png'), '--rows', '100000');
    expect([many.status, many.signal, many.stdout, many.stderr]).toEqual([2, null, '', '--rows: at most 100 digits are drawn, found 100000; a few dozen show what the settings do\n']);
    const more = run('--out', join(dir, 'more.png'), '--rows', '65');
    expect([more.status, more.stdout, more.stderr]).toEqual([2, '', '--rows: the training set has 64 images; give at most that many rows\n']);
    expect(readdirSync(dir)).toEqual([]);
  });

  it("draws the README's example augmented: a sweep of augment settings at its largest values, --trial for one trial's", async () => {
    const dir = tempDir();
    const example = join(ROOT, 'experiments', 'augmentation.yaml');
    /** Per row, whether each augmented cell differs from the digit as it is (the first cell). */
    const changed = (path: string) => {
      const png = PNG.sync.read(readFileSync(path));
      const cell = 28 * 3;
      const pixels = (row: number, column: number) => {
        const values: number[] = [];
        for (let y = 0; y < cell; y++) for (let x = 0; x < cell; x++) values.push(png.data[((2 + row * (cell + 2) + y) * png.width + 2 + column * (cell + 2) + x) * 4]);
        return values.join();
      };
      const rows = (png.height - 2) / (cell + 2);
      return Array.from({ length: rows }, (_, r) => Array.from({ length: 7 }, (_, c) => pixels(r, c + 1) !== pixels(r, 0)));
    };
    const grid = join(dir, 'grid.png');
    const r = await cli('augment-preview', example, '--out', grid, '--rows', '3');
    expect([r.code, r.stderr]).toEqual([0, '']);
    expect(r.stdout).toBe(
      `${grid}: 3 training digits × 8 (first column as is, then augmented: rotate ±10°, scale ±0.1, translate ±2px; swept, so drawn at the largest value a trial can take: augment.rotate, augment.scale, augment.translate; --trial N draws one trial's)\n`,
    );
    expect(changed(grid)).toEqual(Array.from({ length: 3 }, () => Array(7).fill(true)));
    // Trial 1 of `sweep plan` is the one without augmentation: every column the same.
    const first = join(dir, 'first.png');
    const one = await cli('augment-preview', example, '--out', first, '--rows', '3', '--trial', '1');
    expect(one.stdout).toMatch(/rotate ±0°, scale ±0, translate ±0px, trial 1's \(\w{12}\)\); note: trial 1 turns augmentation off, so all columns are the same\n$/);
    expect(changed(first)).toEqual(Array.from({ length: 3 }, () => Array(7).fill(false)));
    const bad = await cli('augment-preview', example, '--out', join(dir, 'no.png'), '--trial', '9');
    expect([bad.code, bad.stderr]).toEqual([2, `--trial: ${example} has 8 trials, found 9; sweep plan ${example} lists them\n`]);
    expect(existsSync(join(dir, 'no.png'))).toBe(false);
  });
});
