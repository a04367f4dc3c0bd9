/** Datasets in IDX folders (dataset: idx and fashion-mnist), through the real CLI. */
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import Database from 'better-sqlite3';
import { beforeAll, describe, expect, it } from 'vitest';
import { IDX_FILES } from '../src/data/dataset.js';
import { ensureEmbeddedMnist } from '../src/data/embedded.js';
import { readIdx, writeIdx } from '../src/data/idx.js';
import { CACHE, cli } from './cli-helpers.js';
import { problemsOf, tempDir, writeExperiment } from './helpers.js';
import { loadExperiment } from '../src/config/experiment.js';

/** A small MNIST-format folder (600 training, 200 test images), gzipped like the real ones. */
function makeIdxFolder(): string {
  const source = ensureEmbeddedMnist(join(CACHE, 'mnist-embedded'));
  const dir = join(tempDir(), 'digits');
  mkdirSync(dir);
  IDX_FILES.forEach(([imagesName, labelsName], i) => {
    const count = i === 0 ? 600 : 200;
    const images = readIdx(join(source, imagesName));
    const labels = readIdx(join(source, labelsName));
    // Spread over the (digit-sorted) files, so that every digit appears.
    const step = Math.floor(images.dims[0] / count);
    const pick = Array.from({ length: count }, (_, k) => k * step);
    writeIdx(join(dir, imagesName), [count, 28, 28], Uint8Array.from(pick.flatMap((k) => [...images.data.subarray(k * 784, (k + 1) * 784)])));
    writeIdx(join(dir, labelsName), [count], Uint8Array.from(pick.map((k) => labels.data[k])));
    for (const name of [imagesName, labelsName]) writeFileSync(join(dir, `${name}.gz`), gzipSync(readFileSync(join(dir, name))));
  });
  return dir;
}

let folder: string;
beforeAll(() => {
  folder = makeIdxFolder();
});

describe('dataset: idx', () => {
  it('trains on the files of a folder, relative to the experiment file, with a seeded validation split', async () => {
    const expDir = join(folder, '..');
    const file = join(expDir, 'idx.yaml');
    writeFileSync(file, 'name: idx\ndata: { dataset: idx, dir: digits, validation: 0.25 }\ntraining: { epochs: 1 }\n');
    const db = join(expDir, 'runs.db');
    const r = await cli(file, '--db', db, '--workers', '1');
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const conn = new Database(db, { readonly: true });
    const config = JSON.parse((conn.prepare('SELECT config FROM trials').get() as { config: string }).config);
    conn.close();
    expect(config.data.dir).toBe(folder);
    expect(r.stdout).toMatch(/epoch 1\/1 .*val_acc/);
  });

  it('reports faulty files by name, exit 2, before training', async () => {
    const cases: [string, (dir: string) => void, RegExp][] = [
      ['truncated images', (d) => writeFileSync(join(d, 'train-images-idx3-ubyte'), readFileSync(join(d, 'train-images-idx3-ubyte')).subarray(0, 5000)),
        /train-images-idx3-ubyte: truncated: dimensions 600x28x28 need 470400 bytes of data, found 4984/],
      ['a wrong magic number', (d) => writeFileSync(join(d, 't10k-labels-idx1-ubyte'), Buffer.from([0, 0, 7, 1, 0, 0, 0, 0])),
        /t10k-labels-idx1-ubyte: bad magic number 0x00000701/],
      ['a label count that does not match', (d) => writeIdx(join(d, 'train-labels-idx1-ubyte'), [599], new Uint8Array(599)),
        /train-labels-idx1-ubyte: 599 labels for 600 images/],
      ['labels beyond the ten classes', (d) => writeIdx(join(d, 't10k-labels-idx1-ubyte'), [200], new Uint8Array(200).fill(25)),
        /t10k-labels-idx1-ubyte: label 25 found; LeNet-5 here classifies 10 classes \(labels 0 to 9\)/],
      ['a broken gzip file', (d) => writeFileSync(join(d, 'train-images-idx3-ubyte.gz'), readFileSync(join(folder, 'train-images-idx3-ubyte.gz')).subarray(0, 300)),
        /train-images-idx3-ubyte\.gz: not a valid gzip file/],
    ];
    for (const [what, damage, message] of cases) {
      const dir = join(tempDir(), 'd');
      mkdirSync(dir);
      for (const [a, b] of IDX_FILES) for (const n of [a, b]) writeFileSync(join(dir, n), readFileSync(join(folder, n)));
      damage(dir);
      // A damaged .gz must be the only copy of its file, or the plain one would be read first.
      if (what === 'a broken gzip file') rmSync(join(dir, 'train-images-idx3-ubyte'));
      const file = writeExperiment(`name: bad\ndata: { dataset: idx, dir: ${dir} }\n`);
      const db = join(tempDir(), 'runs.db');
      const r = await cli(file, '--db', db);
      expect(r.code, what).toBe(2);
      expect(r.stderr, what).toMatch(message);
      expect(r.stdout, what).toBe('');
    }
    const missing = await cli(writeExperiment('name: bad\ndata: { dataset: idx, dir: /nonexistent/digits }\n'), '--db', join(tempDir(), 'x.db'));
    expect(missing.code).toBe(2);
    expect(missing.stderr).toBe('/nonexistent/digits: no such folder (dataset idx); check data.dir\n');
  });
});

describe('dataset: fashion-mnist', () => {
  it('reads a given folder, with its own normalisation', async () => {
    const ok = await cli(writeExperiment(`name: f\ndata: { dataset: fashion-mnist, dir: ${folder}, mean: 0.286, std: 0.353 }\ntraining: { epochs: 1, limit_train: 64 }\n`), '--db', join(tempDir(), 'f.db'));
    expect(ok.stderr).toBe('');
    expect(ok.code).toBe(0);
  });
});

describe('data rules', () => {
  it('idx needs a dir; the embedded digits take neither dir nor validation', () => {
    const a = writeExperiment('name: a\ndata: { dataset: idx }\n');
    expect(problemsOf(() => loadExperiment(a), a)).toEqual(['FILE:2:18: data.dir: required with dataset: idx (the folder of the four IDX files)']);
    const b = writeExperiment('name: b\ndata:\n  validation: 0.2\n');
    expect(problemsOf(() => loadExperiment(b), b)).toEqual([
      'FILE:3:15: data.validation: the embedded mnist digits have a fixed split and no folder; remove it, or use dataset: idx with the files in data.dir',
    ]);
  });
});
