import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { trainImagesPerEpoch } from '../src/data/counts.js';
import { gather, IDX_FILES, loadDataset, trainingCount } from '../src/data/dataset.js';
import { splitOptions } from '../src/data/sources.js';
import { ensureEmbeddedMnist } from '../src/data/embedded.js';
import { readIdx, writeIdx } from '../src/data/idx.js';
import { config as experimentConfig } from './experiment-fixture.js';
import { tempDir } from './helpers.js';

const NORM = { mean: 0.1307, std: 0.3081 };

describe('embedded MNIST digits', () => {
  const dir = ensureEmbeddedMnist(join(tempDir(), 'mnist-embedded'));

  it('are cached as IDX files with the reference split (7,996 train / 2,004 held out)', () => {
    const train = readIdx(join(dir, IDX_FILES[0][0]));
    const labels = readIdx(join(dir, IDX_FILES[0][1]));
    expect(train.dims).toEqual([7996, 28, 28]);
    expect(labels.dims).toEqual([7996]);
    expect(readIdx(join(dir, IDX_FILES[1][0])).dims).toEqual([2004, 28, 28]);
    // Real digits: ink on a dark background, every class present.
    const counts = new Array(10).fill(0);
    labels.data.forEach((l) => counts[l]++);
    expect(Math.min(...counts)).toBeGreaterThan(600);
    const mean = train.data.reduce((a, b) => a + b, 0) / train.data.length / 255;
    expect(mean).toBeGreaterThan(0.1);
    expect(mean).toBeLessThan(0.16);
  });

  it('split into 7,996 / 1,002 / 1,002 with every digit in validation and test, normalised', () => {
    const data = loadDataset(dir, { validation: { from: 'test' }, limitTrain: 0, ...NORM });
    expect([data.train.count, data.validation.count, data.test.count]).toEqual([7996, 1002, 1002]);
    for (const split of [data.validation, data.test]) expect(new Set(split.labels).size).toBe(10);
    // Gathered batches are normalised: background -mean/std, ink up to (1 - mean)/std.
    const { images, labels } = gather(data, data.train, [5, 0], 0, 2);
    expect(Math.min(...images)).toBeCloseTo(-0.1307 / 0.3081, 5);
    expect(Math.max(...images)).toBeLessThanOrEqual((1 - 0.1307) / 0.3081 + 1e-5);
    expect(Math.max(...images)).toBeGreaterThan(2);
    expect(Array.from(labels)).toEqual([data.train.labels[5], data.train.labels[0]]);
    const raw = readIdx(join(dir, IDX_FILES[0][0])).data;
    expect(images[100]).toBeCloseTo((raw[data.train.indices[5] * 784 + 100] / 255 - 0.1307) / 0.3081, 5);
  });

  it('limit_train draws the same mixed sample of digits every time', () => {
    const a = loadDataset(dir, { validation: { from: 'test' }, limitTrain: 256, ...NORM });
    const b = loadDataset(dir, { validation: { from: 'test' }, limitTrain: 256, ...NORM });
    expect(a.train.count).toBe(256);
    expect(new Set(a.train.labels).size).toBe(10);
    expect(a.train.labels).toEqual(b.train.labels);
  });

  it('a validation fraction of the training images is seeded', () => {
    const a = loadDataset(dir, { validation: { from: 'train', fraction: 0.1, seed: 0 }, limitTrain: 0, ...NORM });
    const b = loadDataset(dir, { validation: { from: 'train', fraction: 0.1, seed: 1 }, limitTrain: 0, ...NORM });
    expect([a.train.count, a.validation.count, a.test.count]).toEqual([7196, 800, 2004]);
    expect(a.validation.labels).not.toEqual(b.validation.labels);
  });

  it("plan's count of training images (without loading them) is what loading gives", () => {
    // 7,996 × 0.25006253 = 1999.5 sits on a rounding edge.
    for (const fraction of [0.1, 0.25, 0.25006253, 0.0625, 0.5]) {
      for (const limitTrain of [0, 256, 7000]) {
        const options = { validation: { from: 'train' as const, fraction, seed: 0 }, limitTrain };
        expect(trainingCount(7996, options), `${fraction}, ${limitTrain}`).toBe(loadDataset(dir, { ...options, ...NORM }).train.count);
      }
    }
    const config = experimentConfig();
    config.data = { ...config.data, dataset: 'idx', dir, validation: 0.25006253 };
    expect(trainImagesPerEpoch(config)).toBe(loadDataset(dir, { ...splitOptions(config), ...NORM }).train.count);
  });
});

describe('IDX files', () => {
  it('round-trip, gzipped or not', () => {
    const dir = tempDir();
    const data = Uint8Array.from({ length: 2 * 3 * 4 }, (_, i) => i);
    writeIdx(join(dir, 'a'), [2, 3, 4], data);
    writeFileSync(join(dir, 'a.gz'), gzipSync(readFileSync(join(dir, 'a'))));
    for (const name of ['a', 'a.gz']) {
      const back = readIdx(join(dir, name));
      expect(back.dims).toEqual([2, 3, 4]);
      expect(Array.from(back.data)).toEqual(Array.from(data));
    }
  });

  it('gzipped files are decompressed once into a folder and read from there afterwards', () => {
    const dir = tempDir();
    const unpacked = join(dir, 'unpacked');
    const data = Uint8Array.from({ length: 64 }, (_, i) => i);
    writeIdx(join(dir, 'raw'), [4, 4, 4], data);
    writeFileSync(join(dir, 'f.gz'), gzipSync(readFileSync(join(dir, 'raw'))));
    expect(Array.from(readIdx(join(dir, 'f.gz'), unpacked).data)).toEqual(Array.from(data));
    const copies = readdirSync(unpacked);
    expect(copies).toHaveLength(1);
    // The copy is what is read now: change it, and the next read shows the change.
    const copy = readFileSync(join(unpacked, copies[0]));
    copy[copy.length - 1] = 99;
    writeFileSync(join(unpacked, copies[0]), copy);
    expect(readIdx(join(dir, 'f.gz'), unpacked).data[63]).toBe(99);
  });

  it('name the file and the fault when corrupt', () => {
    const dir = tempDir();
    writeFileSync(join(dir, 'bad'), Buffer.from([0, 0, 9, 3, 0, 0, 0, 1]));
    expect(() => readIdx(join(dir, 'bad'))).toThrow(`${join(dir, 'bad')}: bad magic number 0x00000903`);
    writeIdx(join(dir, 'short'), [5, 2, 2], new Uint8Array(20));
    writeFileSync(join(dir, 'short'), readFileSync(join(dir, 'short')).subarray(0, 30));
    expect(() => readIdx(join(dir, 'short'))).toThrow('truncated: dimensions 5x2x2 need 20 bytes of data, found 14');
  });
});
