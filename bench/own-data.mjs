#!/usr/bin/env node
// npm run bench:data: preparing people's own data (issue 26). Fashion-MNIST's 70,000 images
// (Debian's dataset-fashion-mnist; else the 10,000 embedded digits repeated to 70,000) are written
// as PNG files in torchvision's ImageFolder layout (train/<class>/, test/<class>/) and as two CSV
// files in Kaggle's layout (the training file cut to Kaggle's 42,000 rows), then prepared by the
// real CLI (`sweep data inspect`, its "ready in" line) into a fresh cache: once cold, once warm.
// Goals: 60,000 28x28 PNGs prepared in under 60 s, and again in under 1 s.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ensureEmbeddedMnist } from '../dist/data/embedded.js';
import { readIdx } from '../dist/data/idx.js';
import { encodeGrayPng } from '../dist/util/png.js';

const root = fileURLToPath(new URL('..', import.meta.url));
const work = mkdtempSync(join(tmpdir(), 'lenet-sweep-bench-data-'));
const cache = join(work, 'cache');
const FASHION = '/usr/share/datasets/fashion-mnist';
const NAMES = ['T-shirt', 'Trouser', 'Pullover', 'Dress', 'Coat', 'Sandal', 'Shirt', 'Sneaker', 'Bag', 'Ankle boot'];

/** [images, labels] of each split: Fashion-MNIST's, or the embedded digits' repeated to its sizes. */
function source() {
  const files = [['train-images-idx3-ubyte', 'train-labels-idx1-ubyte', 60_000], ['t10k-images-idx3-ubyte', 't10k-labels-idx1-ubyte', 10_000]];
  const fashion = existsSync(join(FASHION, 'train-images-idx3-ubyte.gz'));
  const dir = fashion ? FASHION : ensureEmbeddedMnist(join(cache, 'mnist-embedded'));
  const read = (name) => readIdx(join(dir, fashion ? `${name}.gz` : name)).data;
  return {
    what: fashion ? 'Fashion-MNIST' : 'the embedded digits, repeated',
    splits: files.map(([images, labels, n]) => {
      const [pixels, classes] = [read(images), read(labels)];
      const have = classes.length;
      return Array.from({ length: n }, (_, i) => ({ pixels: pixels.subarray((i % have) * 784, (i % have + 1) * 784), label: classes[i % have] }));
    }),
  };
}

const { what, splits } = source();
let started = performance.now();
splits.forEach((items, s) => {
  items.forEach(({ pixels, label }, i) => {
    const folder = join(work, 'png', s ? 'test' : 'train', NAMES[label]);
    mkdirSync(folder, { recursive: true });
    writeFileSync(join(folder, `${String(i).padStart(5, '0')}.png`), encodeGrayPng(pixels, 28, 28));
  });
});
const header = ['label', ...Array.from({ length: 784 }, (_, p) => `pixel${p}`)].join(',');
splits.forEach((items, s) => {
  const rows = (s ? items : items.slice(0, 42_000)).map(({ pixels, label }) => `${label},${pixels.join(',')}`);
  writeFileSync(join(work, s ? 'test.csv' : 'train.csv'), `${header}\n${rows.join('\n')}\n`);
});
console.log(`${what}: ${splits[0].length} + ${splits[1].length} PNGs and CSVs written in ${((performance.now() - started) / 1000).toFixed(1)} s`);
writeFileSync(join(work, 'png.yaml'), 'name: png\ndata: { dataset: folder, dir: png }\n');
writeFileSync(join(work, 'csv.yaml'), 'name: csv\ndata: { dataset: csv, train: train.csv, test: test.csv }\n');

/** The seconds `sweep data inspect FILE` says the dataset took to be ready, and the wall time of the command. */
function inspect(file) {
  started = performance.now();
  const r = spawnSync(process.execPath, [join(root, 'dist/cli/main.js'), 'data', 'inspect', join(work, file)], { env: { ...process.env, LENET_SWEEP_CACHE: cache }, encoding: 'utf8' });
  const wall = (performance.now() - started) / 1000;
  if (r.status !== 0) throw new Error(`data inspect ${file}: ${r.stderr}`);
  return { ready: Number(/ready in ([\d.]+) s/.exec(r.stdout)[1]), wall };
}

for (const [file, what] of [['png.yaml', '70,000 PNGs (60,000 training)'], ['csv.yaml', 'CSV, 42,000 training and 10,000 test rows']]) {
  const [cold, warm] = [inspect(file), inspect(file)];
  console.log(`${what}: prepared in ${cold.ready.toFixed(1)} s (command ${cold.wall.toFixed(1)} s), again in ${warm.ready.toFixed(1)} s (command ${warm.wall.toFixed(1)} s)`);
}
rmSync(work, { recursive: true, force: true });
