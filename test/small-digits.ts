import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { IDX_FILES } from '../src/data/dataset.js';
import { ensureEmbeddedMnist } from '../src/data/embedded.js';
import { readIdx, writeIdx } from '../src/data/idx.js';
import { CACHE } from './cli-helpers.js';
import { tempDir } from './helpers.js';

/**
 * A folder of the four IDX files (for `dataset: idx`) holding `train` and `test` images drawn
 * evenly from the embedded digits (which are sorted by digit: every class is in both). For tests
 * whose point is not the amount of data but that pay for every image: on a software GPU a
 * trial's validation and test passes over the embedded split's 2,004 images cost more than its
 * training; here they cost what the test asks for.
 */
export function smallDigits(train: number, test: number): string {
  const from = ensureEmbeddedMnist(join(CACHE, 'mnist-embedded'));
  const dir = join(tempDir('lenet-sweep-digits-'), 'digits');
  mkdirSync(dir);
  IDX_FILES.forEach(([images, labels], split) => {
    const want = split === 0 ? train : test;
    const pixels = readIdx(join(from, images));
    const classes = readIdx(join(from, labels));
    const count = pixels.dims[0];
    if (want > count) throw new Error(`smallDigits: ${want} images asked of a split of ${count}`);
    const picked = Array.from({ length: want }, (_, i) => Math.floor((i * count) / want));
    const out = new Uint8Array(want * 784);
    picked.forEach((at, i) => out.set(pixels.data.subarray(at * 784, (at + 1) * 784), i * 784));
    writeIdx(join(dir, images), [want, 28, 28], out);
    writeIdx(join(dir, labels), [want], Uint8Array.from(picked, (at) => classes.data[at]));
  });
  return dir;
}
