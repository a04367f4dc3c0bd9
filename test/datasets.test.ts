/** Datasets in IDX folders (dataset: idx and fashion-mnist), through the real CLI. */
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import Database from 'better-sqlite3';
import { beforeAll, describe, expect, it } from 'vitest';
import { IDX_FILES } from '../src/data/dataset.js';
import { ensureEmbeddedMnist } from '../src/data/embedded.js';
import { readIdx, writeIdx } from '../src/data/idx.js';
import { CACHE, CLI, cli, startCli } from './cli-helpers.js';
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
      ['test labels beyond the training labels', (d) => writeIdx(join(d, 't10k-labels-idx1-ubyte'), [200], new Uint8Array(200).fill(25)),
        /t10k-labels-idx1-ubyte: label 25 found, but the training labels go to 9: the network would be tested on classes it never trained on; give training images of every class/],
      ['a broken gzip file', (d) => writeFileSync(join(d, 'train-images-idx3-ubyte.gz'), readFileSync(join(folder, 'train-images-idx3-ubyte.gz')).fill(0xff, 100, 200)),
        /train-images-idx3-ubyte\.gz: not a valid gzip file/],
      // Refused from its header: no gzip file of 300 bytes unpacks to that much.
      ['a cut-short gzip file', (d) => writeFileSync(join(d, 'train-images-idx3-ubyte.gz'), readFileSync(join(folder, 'train-images-idx3-ubyte.gz')).subarray(0, 300)),
        /train-images-idx3-ubyte\.gz: truncated: dimensions 600x28x28 need 470400 bytes of data, more than a gzip file of 300 bytes can hold/],
    ];
    for (const [what, damage, message] of cases) {
      const dir = join(tempDir(), 'd');
      mkdirSync(dir);
      for (const [a, b] of IDX_FILES) for (const n of [a, b]) writeFileSync(join(dir, n), readFileSync(join(folder, n)));
      damage(dir);
      // A damaged .gz must be the only copy of its file, or the plain one would be read first.
      if (what.endsWith('gzip file')) rmSync(join(dir, 'train-images-idx3-ubyte'));
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
  it('a gzip file whose header claims billions of images or huge ones is refused from its header: nothing unpacked, nothing cached', async () => {
    for (const dims of [[0xffffffff, 28, 28], [1, 60000, 60000]]) {
      const dir = join(tempDir(), 'd');
      mkdirSync(dir);
      for (const [a, b] of IDX_FILES) for (const n of [a, b]) writeFileSync(join(dir, n), readFileSync(join(folder, n)));
      rmSync(join(dir, 'train-images-idx3-ubyte'));
      // 64 MB of zeros in 64 KB: unpacked in full, the claim is only found out afterwards.
      const header = Buffer.alloc(16);
      header.writeUInt32BE(0x803, 0);
      dims.forEach((d, i) => header.writeUInt32BE(d, 4 + 4 * i));
      const gz = gzipSync(Buffer.concat([header, Buffer.alloc(64 << 20)]), { level: 9 });
      writeFileSync(join(dir, 'train-images-idx3-ubyte.gz'), gz);
      const cache = tempDir();
      const r = await startCli([writeExperiment(`name: bomb\ndata: { dataset: idx, dir: ${dir} }\n`), '--db', join(tempDir(), 'runs.db')], undefined, { LENET_SWEEP_CACHE: cache });
      const need = dims.reduce((a, b) => a * b, 1);
      expect([r.code, r.stdout, r.stderr]).toEqual([2, '', `${join(dir, 'train-images-idx3-ubyte.gz')}: truncated: dimensions ${dims.join('x')} need ${need} bytes of data, more than a gzip file of ${gz.length} bytes can hold\n`]);
      expect(existsSync(join(cache, 'unpacked')) ? readdirSync(join(cache, 'unpacked')) : []).toEqual([]);
    }
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

/** The CLI in `cwd` with `env`, killed after 30 s: before the fix, a FIFO's open blocked it for good. */
function run(args: string[], env: Record<string, string> = {}, cwd = process.cwd()) {
  const r = spawnSync(process.execPath, [CLI, ...args], { cwd, env: { ...process.env, NO_COLOR: '1', LENET_SWEEP_CACHE: CACHE, ...env }, encoding: 'utf8', timeout: 30_000, killSignal: 'SIGKILL' });
  return { code: r.status, signal: r.signal, stdout: r.stdout, stderr: r.stderr };
}

/** A copy of the test folder's plain IDX files, changed by `change`. */
function idxCopy(change: (dir: string) => void = () => {}): string {
  const dir = join(tempDir(), 'd');
  mkdirSync(dir);
  for (const [a, b] of IDX_FILES) for (const n of [a, b]) writeFileSync(join(dir, n), readFileSync(join(folder, n)));
  change(dir);
  return dir;
}

describe('files that are not what a dataset or an experiment needs', () => {
  it('a FIFO as the experiment file, as what it extends, or as an IDX file is refused at once, never opened', () => {
    const dir = tempDir();
    const fifo = join(dir, 'pipe.yaml');
    execFileSync('mkfifo', [fifo]);
    expect(run([fifo, '--db', join(dir, 'a.db')])).toEqual({ code: 2, signal: null, stdout: '', stderr: `${fifo}: is a FIFO, not a regular file; give an experiment file (YAML)\n` });
    const child = join(dir, 'child.yaml');
    writeFileSync(child, 'extends: pipe.yaml\nname: child\n');
    expect(run([child, '--db', join(dir, 'b.db')])).toEqual({ code: 2, signal: null, stdout: '', stderr: `${child}:1:10: extends: 'pipe.yaml' is a FIFO, not a regular file; extend an experiment file (YAML)\n` });
    const data = idxCopy((d) => {
      rmSync(join(d, 't10k-labels-idx1-ubyte'));
      execFileSync('mkfifo', [join(d, 't10k-labels-idx1-ubyte')]);
    });
    const idx = writeExperiment(`name: fifo\ndata: { dataset: idx, dir: ${data} }\n`);
    expect(run([idx, '--db', join(dir, 'c.db')])).toEqual({
      code: 2,
      signal: null,
      stdout: '',
      stderr: `${join(data, 't10k-labels-idx1-ubyte')}: is a FIFO, not a regular file; the dataset's IDX files must be regular files (or links to them)\n`,
    });
    expect(readdirSync(dir).sort()).toEqual(['child.yaml', 'pipe.yaml']);
  });

  it('a folder as the experiment file is refused with what to give instead', () => {
    const dir = tempDir();
    // Before: "is a directory, not an experiment file", with no fix.
    for (const args of [[`${dir}/`, '--db', join(dir, 'a.db')], ['validate', dir]]) {
      expect(run(args)).toEqual({ code: 2, signal: null, stdout: '', stderr: `${args[0] === 'validate' ? dir : `${dir}/`}: is a directory, not an experiment file; give an experiment file (YAML)\n` });
    }
    expect(readdirSync(dir)).toEqual([]);
  });

  it('a data.dir that is a FIFO or a file is said as what it is, before anything is downloaded or written', () => {
    const dir = tempDir();
    const fifo = join(dir, 'pipe');
    execFileSync('mkfifo', [fifo]);
    const file = join(dir, 'notes.txt');
    writeFileSync(file, 'notes\n');
    // Before: "no such folder (dataset idx)" of both, and for mnist-full "cannot save the dataset's files there (… is a file, not a folder)" of the FIFO too.
    for (const [dataset, path, what] of [['idx', fifo, 'a FIFO'], ['idx', file, 'a file'], ['fashion-mnist', file, 'a file'], ['mnist-full', fifo, 'a FIFO']]) {
      const experiment = writeExperiment(`name: d\ndata: { dataset: ${dataset}, dir: ${path} }\n`);
      expect(run([experiment, '--db', join(dir, 'runs.db')]), `${dataset} ${what}`).toEqual({
        code: 2,
        signal: null,
        stdout: '',
        stderr: `${path}: is ${what}, not a folder (data.dir of dataset ${dataset}); give data.dir the folder of the dataset's IDX files\n`,
      });
    }
    expect(readdirSync(dir).sort()).toEqual(['notes.txt', 'pipe']);
    expect(readFileSync(file, 'utf8')).toBe('notes\n');
  });

  it('a loop of symbolic links, as the experiment file, what it extends, the database or an IDX file, is said as one', () => {
    const dir = tempDir();
    const LOOP = 'a loop of symbolic links (a link that leads back to itself); point the link at a file';
    const loop = (name: string, inside = dir) => {
      symlinkSync(name, join(inside, name));
      return join(inside, name);
    };
    // Before: "cannot read (ELOOP)", "no such file", "no such database", SQLite's "unable to open database file".
    const yaml = loop('loop.yaml');
    expect(run([yaml, '--db', join(dir, 'a.db')])).toMatchObject({ code: 2, stdout: '', stderr: `${yaml}: ${LOOP}\n` });
    writeFileSync(join(dir, 'child.yaml'), 'extends: loop.yaml\nname: child\n');
    expect(run(['plan', join(dir, 'child.yaml')], {}, dir)).toMatchObject({ code: 2, stderr: `${join(dir, 'child.yaml')}:1:10: extends: 'loop.yaml': ${LOOP} (loop.yaml)\n` });
    const db = loop('loop.db');
    expect(run(['runs', 'list', '--db', db])).toMatchObject({ code: 2, stderr: `${db}: ${LOOP}\n` });
    expect(run([writeExperiment('name: a\ntraining: { limit_train: 64 }\n'), '--db', db, '--no-tui'])).toMatchObject({ code: 2, stdout: '', stderr: `${db}: ${LOOP}\n` });
    const data = idxCopy((d) => {
      rmSync(join(d, 't10k-images-idx3-ubyte'));
      loop('t10k-images-idx3-ubyte', d);
    });
    expect(run([writeExperiment(`name: loop\ndata: { dataset: idx, dir: ${data} }\n`), '--db', join(dir, 'b.db')])).toMatchObject({ code: 2, stderr: `${join(data, 't10k-images-idx3-ubyte')}: ${LOOP}\n` });
  });

  it('label and image counts that disagree are refused from the headers, before a gzip file is unpacked', () => {
    // 20,000 blank images in a small gzip file, and the 600 labels of the test folder.
    const data = idxCopy((d) => {
      rmSync(join(d, 'train-images-idx3-ubyte'));
      const header = Buffer.alloc(16);
      [0x803, 20_000, 28, 28].forEach((v, i) => header.writeUInt32BE(v, 4 * i));
      writeFileSync(join(d, 'train-images-idx3-ubyte.gz'), gzipSync(Buffer.concat([header, Buffer.alloc(20_000 * 784)]), { level: 9 }));
    });
    const cache = tempDir();
    const r = run([writeExperiment(`name: counts\ndata: { dataset: idx, dir: ${data} }\n`), '--db', join(tempDir(), 'runs.db')], { LENET_SWEEP_CACHE: cache });
    expect(r).toEqual({ code: 2, signal: null, stdout: '', stderr: `${join(data, 'train-labels-idx1-ubyte')}: 600 labels for 20000 images in ${join(data, 'train-images-idx3-ubyte.gz')}\n` });
    // Nothing unpacked: before, the images were unpacked (and cached) to find out.
    expect(existsSync(join(cache, 'unpacked')) ? readdirSync(join(cache, 'unpacked')) : []).toEqual([]);
  });

  it('a file of no images, or a validation share that leaves a split empty, is refused before training (it trained to NaN)', () => {
    const empty = idxCopy((d) => {
      writeIdx(join(d, 't10k-images-idx3-ubyte'), [0, 28, 28], new Uint8Array(0));
      writeIdx(join(d, 't10k-labels-idx1-ubyte'), [0], new Uint8Array(0));
    });
    expect(run([writeExperiment(`name: empty\ndata: { dataset: idx, dir: ${empty} }\n`), '--db', join(tempDir(), 'runs.db')])).toEqual({
      code: 2,
      signal: null,
      stdout: '',
      stderr: `${join(empty, 't10k-images-idx3-ubyte')}: holds no images (its header states 0x28x28); a dataset needs training and test images\n`,
    });
    const few = idxCopy((d) => {
      const images = readIdx(join(d, 'train-images-idx3-ubyte'));
      writeIdx(join(d, 'train-images-idx3-ubyte'), [4, 28, 28], images.data.subarray(0, 4 * 784));
      // One class, so that no draw of the first trial's validation takes a class's every image.
      writeIdx(join(d, 'train-labels-idx1-ubyte'), [4], new Uint8Array([9, 9, 9, 9]));
    });
    const db = join(tempDir(), 'runs.db');
    const file = writeExperiment(`name: few\ndata: { dataset: idx, dir: ${few} }\ntraining: { epochs: 1 }\nsweep: { parameters: { data.validation: [0.5, 0.1] } }\n`);
    // The first trial splits 4 images 2 and 2; the second's 0.1 of 4 rounds to no validation image.
    expect(run([file, '--db', db])).toEqual({
      code: 2,
      signal: null,
      stdout: '',
      stderr: `${join(few, 'train-images-idx3-ubyte')}: the validation split holds no images: data.validation 0.1 of its 4 images rounds to none; raise data.validation, or give more training images\n`,
    });
    expect(existsSync(db)).toBe(false);
  });
});
