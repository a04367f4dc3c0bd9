/**
 * People's own data (issue 26's first parts): images in Kaggle's CSV layout and in folders of
 * PNG and JPEG files (torchvision's ImageFolder), written here from the embedded digits and
 * trained through the real CLI. The CSV and folder forms of a set of images train exactly as its
 * IDX form; the conversion is made once into the cache; every mistake is one line naming the
 * file (and its line), exit 2, with nothing left in the cache.
 */
import { cpSync, existsSync, mkdirSync, rmSync, readdirSync, readFileSync, renameSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import jpeg from 'jpeg-js';
import onnxProto from 'onnx-proto';
import * as ort from 'onnxruntime-node';
import { describe, expect, it } from 'vitest';
import { dataProblem } from '../src/agent/job-checks.js';
import type { Experiment } from '../src/config/experiment.types.js';
import { IDX_FILES, validationDraw } from '../src/data/dataset.js';
import { linesOf } from '../src/data/csv.js';
import { pixelStats } from '../src/data/pixel-stats.js';
import { readIdx, writeIdx } from '../src/data/idx.js';
import { stratifiedSplit } from '../src/data/stratified-split.js';
import { encodeGrayPng } from '../src/util/png.js';
import { CACHE, cli } from './cli-helpers.js';
import { tempDir } from './helpers.js';
import { smallDigits } from './small-digits.js';

const DIGITS = smallDigits(256, 64);

/**
 * The images of one IDX pair as a CSV text: `label` first, then pixel0…pixelN (`labelLast`: the
 * label last, named `digit`; `labelSecond`: the label after pixel0, its label quoted as a writer
 * that quotes every value writes it).
 */
function csvOf(split: 0 | 1, { labelLast = false, labelSecond = false } = {}): string {
  const images = readIdx(join(DIGITS, IDX_FILES[split][0]));
  const labels = readIdx(join(DIGITS, IDX_FILES[split][1]));
  const size = images.dims[1] * images.dims[2];
  const pixels = Array.from({ length: size }, (_, i) => `pixel${i}`);
  const place = <T>(row: T[], label: T) => (labelLast ? [...row, label] : labelSecond ? [row[0], label, ...row.slice(1)] : [label, ...row]);
  const rows = [place(pixels, labelLast ? 'digit' : 'label').join(',')];
  for (let n = 0; n < images.dims[0]; n++) {
    const row: (number | string)[] = Array.from(images.data.subarray(n * size, (n + 1) * size));
    rows.push(place(row, labelSecond ? `"${labels.data[n]}"` : labels.data[n]).join(','));
  }
  return `${rows.join('\r\n')}\r\n`;
}

const TRAINING = 'training: { epochs: 1, batch_size: 32, seed: 3 }\nsweep:\n  parameters:\n    optimizer.lr: [0.001, 0.003]\n';

/** The stored epochs of a database's trials, in the order of their learning rate. */
function epochs(db: string): unknown[] {
  const conn = new Database(db, { readonly: true });
  try {
    return conn.prepare(`SELECT json_extract(t.params, '$."optimizer.lr"') AS lr, e.epoch, e.train_loss, e.train_acc, e.val_loss, e.val_acc, t.test_acc FROM epochs e JOIN trials t ON t.id = e.trial_id ORDER BY lr, e.epoch`).all();
  } finally {
    conn.close();
  }
}

const cacheFolders = (kind: 'csv' | 'folder') => (existsSync(join(CACHE, kind)) ? readdirSync(join(CACHE, kind)) : []);
const csvFolders = () => cacheFolders('csv');

/** Pearson's correlation of two images' pixels. */
function correlation(a: Uint8Array, b: Uint8Array): number {
  const mean = (x: Uint8Array) => x.reduce((s, v) => s + v, 0) / x.length;
  const [ma, mb] = [mean(a), mean(b)];
  let ab = 0, aa = 0, bb = 0;
  for (let i = 0; i < a.length; i++) {
    ab += (a[i] - ma) * (b[i] - mb);
    aa += (a[i] - ma) ** 2;
    bb += (b[i] - mb) ** 2;
  }
  return ab / Math.sqrt(aa * bb);
}

/** EMNIST balanced's 47 classes, as its mapping file names them. */
const EMNIST_BALANCED = [...'0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabdefghnqrt'];

const CLASS_NAMES = ['zero', 'one', 'two', 'three', 'four', 'five', 'six', 'seven', 'eight', 'nine'];

/**
 * The images of the IDX digits as a folder dataset under `root`: train/<class>/NNNN.png and
 * test/<class>/… The class folders are named so that their sorted order is the digits' (a_zero,
 * b_one…). `other`: the images as JPEGs twice the size, dark ink on light paper, as a phone
 * would take them.
 */
function folderOf(root: string, { other = false } = {}): void {
  IDX_FILES.forEach(([imagesName, labelsName], split) => {
    const images = readIdx(join(DIGITS, imagesName));
    const labels = readIdx(join(DIGITS, labelsName));
    const side = images.dims[1];
    for (let n = 0; n < images.dims[0]; n++) {
      const folder = join(root, split === 0 ? 'train' : 'test', `${String.fromCharCode(97 + labels.data[n])}_${CLASS_NAMES[labels.data[n]]}`);
      mkdirSync(folder, { recursive: true });
      const digit = images.data.subarray(n * side * side, (n + 1) * side * side);
      const name = join(folder, String(n).padStart(4, '0'));
      if (!other) {
        writeFileSync(`${name}.png`, encodeGrayPng(digit, side, side));
        continue;
      }
      const rgba = Buffer.alloc(4 * side * side * 4);
      for (let y = 0; y < 2 * side; y++) {
        for (let x = 0; x < 2 * side; x++) {
          const v = 255 - digit[Math.floor(y / 2) * side + Math.floor(x / 2)];
          rgba.set([v, v, v, 255], 4 * (y * 2 * side + x));
        }
      }
      writeFileSync(`${name}.jpg`, jpeg.encode({ data: rgba, width: 2 * side, height: 2 * side }, 95).data);
    }
  });
}

/**
 * The images of the IDX digits as one tree of class folders under `root` (no train/ and test/):
 * <class>/train-NNNN.png and <class>/test-NNNN.png, for data.test to split.
 */
function treeOf(root: string): void {
  IDX_FILES.forEach(([imagesName, labelsName], split) => {
    const images = readIdx(join(DIGITS, imagesName));
    const labels = readIdx(join(DIGITS, labelsName));
    const side = images.dims[1];
    for (let n = 0; n < images.dims[0]; n++) {
      const folder = join(root, `${String.fromCharCode(97 + labels.data[n])}_${CLASS_NAMES[labels.data[n]]}`);
      mkdirSync(folder, { recursive: true });
      writeFileSync(join(folder, `${split === 0 ? 'train' : 'test'}-${String(n).padStart(4, '0')}.png`), encodeGrayPng(images.data.subarray(n * side * side, (n + 1) * side * side), side, side));
    }
  });
}

/** How many images of each digit the IDX digits hold, both splits together. */
function digitCounts(): number[] {
  const counts = new Array<number>(10).fill(0);
  for (const [, labelsName] of IDX_FILES) for (const label of readIdx(join(DIGITS, labelsName)).data) counts[label]++;
  return counts;
}

describe('dataset: csv', () => {
  it('trains exactly as the same images in IDX files, the label column first or named; converted once into the cache', async () => {
    const dir = tempDir();
    writeFileSync(join(dir, 'train.csv'), csvOf(0));
    writeFileSync(join(dir, 'test.csv'), csvOf(1));
    writeFileSync(join(dir, 'named-train.csv'), csvOf(0, { labelLast: true }));
    writeFileSync(join(dir, 'named-test.csv'), csvOf(1, { labelLast: true }));
    writeFileSync(join(dir, 'second-train.csv'), csvOf(0, { labelSecond: true }));
    writeFileSync(join(dir, 'second-test.csv'), csvOf(1, { labelSecond: true }));
    writeFileSync(join(dir, 'second.yaml'), `name: digits\ndata: { dataset: csv, train: second-train.csv, test: second-test.csv, validation: 0.25 }\n${TRAINING}`);
    writeFileSync(join(dir, 'idx.yaml'), `name: digits\ndata: { dataset: idx, dir: ${DIGITS}, validation: 0.25 }\n${TRAINING}`);
    writeFileSync(join(dir, 'csv.yaml'), `name: digits\ndata: { dataset: csv, train: train.csv, test: test.csv, validation: 0.25 }\n${TRAINING}`);
    writeFileSync(join(dir, 'named.yaml'), `name: digits\ndata: { dataset: csv, train: named-train.csv, test: named-test.csv, label: digit, validation: 0.25 }\n${TRAINING}`);
    const before = new Set(csvFolders());
    const runs = [];
    for (const file of ['idx', 'csv', 'named', 'second']) {
      const db = join(dir, `${file}.db`);
      const r = await cli(join(dir, `${file}.yaml`), '--db', db, '--no-tui');
      expect(r.code, r.stderr).toBe(0);
      runs.push(epochs(db));
    }
    expect(runs[0]).toHaveLength(2);
    // The label column: first; named by data.label; found by its name, label, without it.
    expect(runs[1]).toEqual(runs[0]);
    expect(runs[2]).toEqual(runs[0]);
    expect(runs[3]).toEqual(runs[0]);
    // One folder per content and label column: the three CSV forms, each made once.
    const made = csvFolders().filter((f) => !before.has(f));
    expect(made).toHaveLength(3);
    const stamp = (f: string) => IDX_FILES.flat().map((name) => statSync(join(CACHE, 'csv', f, name)).mtimeMs);
    const stamps = made.map(stamp);
    const again = await cli(join(dir, 'csv.yaml'), '--db', join(dir, 'again.db'), '--no-tui');
    expect(again.code, again.stderr).toBe(0);
    expect(made.map(stamp)).toEqual(stamps);
    // The report says where the data came from, not only where its converted copy is.
    const report = await cli('report', '--db', join(dir, 'csv.db'), '--out', join(dir, 'report.html'));
    expect(report.code, report.stderr).toBe(0);
    const html = readFileSync(join(dir, 'report.html'), 'utf8');
    expect(html).toContain(`<dd>csv from ${join(dir, 'train.csv')} and ${join(dir, 'test.csv')}, as IDX files in ${join(CACHE, 'csv')}`);
    const conn = new Database(join(dir, 'csv.db'), { readonly: true });
    const { id } = conn.prepare('SELECT id FROM trials LIMIT 1').get() as { id: string };
    conn.close();
    const shown = await cli('runs', 'show', id, '--db', join(dir, 'csv.db'));
    expect(shown.stdout).toContain(`; csv from ${join(dir, 'train.csv')} and ${join(dir, 'test.csv')} (4 files checked); `);
  }, 120_000);

  it('refuses a faulty file in one line naming it and its line, exit 2, and caches nothing', async () => {
    const dir = tempDir();
    const good = csvOf(1).split('\r\n');
    const header = good[0];
    const row = good[1].split(',');
    const cases: [string, string, RegExp][] = [
      ['a short row', [header, good[1], row.slice(0, -1).join(',')].join('\n'), /train\.csv:3: 784 values; the header has 785 columns \(a label and 784 pixels\)$/],
      ['a label beyond the class numbers among class numbers', [header, good[1], ['300', ...row.slice(1)].join(',')].join('\n'), /train\.csv:3: label '300', where other labels are class numbers \(0 to 255\); correct it, or list every class in data\.classes$/],
      ['a pixel out of range', [header, [...row.slice(0, 6), '300', ...row.slice(7)].join(',')].join('\n'), /train\.csv:2: pixel5 is '300': expected a whole number from 0 to 255$/],
      ['no header', good.slice(1).join('\n'), /train\.csv:1: expected a header row naming the columns \(label,pixel0,\.\.\.\), found 785 numbers; add one$/],
      ['not square', [header.split(',').slice(0, 101).join(','), row.slice(0, 101).join(',')].join('\n'), /train\.csv:1: 100 pixel columns are not a square image of at least 12x12/],
      ['no rows', `${header}\n`, /train\.csv:1: holds no images/],
      ["Kaggle's test.csv, without labels", [header.split(',').slice(1).join(','), row.slice(1).join(',')].join('\n'), /train\.csv:1: no label column: its 784 columns are the pixels of a 28x28 image; a file to train or test on needs each image's label \(Kaggle's test\.csv has none\)$/],
      ["pandas' index column", [`,${header}`, `0,${good[1]}`].join('\n'), /train\.csv:1: its first column has no name: an index, as pandas' to_csv writes one; write the file with index=False$/],
      ['a comma at the end of each line', [`${header},`, `${good[1]},`].join('\n'), /train\.csv:1: its header ends with an empty column/],
      ['semicolons', [header.replace(/,/g, ';'), good[1].replace(/,/g, ';')].join('\n'), /train\.csv:1: its values are separated by ';'; write it with commas/],
      ['test labels beyond the training labels', [header, ['0', ...row.slice(1)].join(','), ['1', ...row.slice(1)].join(',')].join('\n'), /test\.csv:\d+: label [2-9] found, but the training labels go to 1: the network would be tested on classes it never trained on/],
      ['one label for all', [header, good[1], good[1]].join('\n'), /train\.csv: every one of its 2 images has label \d: a classifier needs two or more classes; is that the label column\? data\.label names it$/],
    ];
    writeFileSync(join(dir, 'test.csv'), csvOf(1));
    const before = new Set(csvFolders());
    for (const [what, text, message] of cases) {
      writeFileSync(join(dir, 'train.csv'), text);
      writeFileSync(join(dir, 'exp.yaml'), `name: bad\ndata: { dataset: csv, train: train.csv, test: test.csv }\n${TRAINING}`);
      const r = await cli(join(dir, 'exp.yaml'), '--db', join(dir, 'runs.db'), '--no-tui');
      expect([what, r.code]).toEqual([what, 2]);
      expect(r.stderr.trim().split('\n'), what).toHaveLength(1);
      expect(r.stderr.trim(), what).toMatch(message);
    }
    expect(csvFolders().filter((f) => !before.has(f))).toEqual([]);
    expect(existsSync(join(dir, 'runs.db'))).toBe(false);
    // Two images, whole and right, are too few to split: said of the file they are in, not of the cache's copy.
    writeFileSync(join(dir, 'train.csv'), [header, good[1], [row[0] === '9' ? '8' : '9', ...row.slice(1)].join(',')].join('\n'));
    const few = await cli(join(dir, 'exp.yaml'), '--db', join(dir, 'runs.db'), '--no-tui');
    expect([few.code, few.stderr.trim()]).toEqual([2, `${join(dir, 'train.csv')}: the validation split holds no images: data.validation 0.1 of its 2 images rounds to none; raise data.validation, or give more training images`]);
  }, 120_000);

  it('says what the data section lacks or has too much of at its place in the file', async () => {
    const dir = tempDir();
    writeFileSync(join(dir, 'test.csv'), csvOf(1));
    const cases: [string, RegExp][] = [
      ['data: { dataset: csv, train: train.csv }', /exp\.yaml:2:\d+: data\.test: required with dataset: csv/],
      ['data: { dataset: csv, train: missing.csv, test: test.csv }', /missing\.csv: no such file \(data\.train of dataset csv\); check the path, relative to the experiment file$/],
      ['data: { dataset: csv, train: test.csv, test: test.csv, label: digit }', /test\.csv:1: no column named 'digit' \(the header has label, pixel0, pixel1, pixel2, \.\.\.\); set data\.label to the label column's name$/],
      [`data: { dataset: idx, dir: ${DIGITS}, train: test.csv }`, /exp\.yaml:2:\d+: data\.train: only dataset: csv reads CSV files; remove it, or set dataset: csv/],
      // data.test is a file for csv, a fraction for folder; each said as the other kind, at its place.
      ['data: { dataset: csv, train: test.csv, test: 0.2 }', /^[^\n]*exp\.yaml:2:\d+: data\.test: dataset: csv reads its test images from a CSV file; give that file's path \(a fraction such as 0\.2 splits only a folder dataset\)$/],
      ['data: { dataset: folder, dir: ., test: test.csv }', /^[^\n]*exp\.yaml:2:\d+: data\.test: dataset: folder takes the fraction of images held out for testing \(0\.01 to 0\.5, e\.g\. 0\.2\) when dir holds the class folders directly, not a file/],
      ['data: { dataset: folder, dir: ., test: 0.9 }', /^[^\n]*exp\.yaml:2:\d+: data\.test: must be <= 0\.5, found 0\.9$/],
      [`data: { dataset: idx, dir: ${DIGITS}, size: 32 }`, /exp\.yaml:2:\d+: data\.size: IDX images are used at their own size \(dataset idx\); remove it, or give the images as a folder or CSV dataset to have them made 32x32$/],
      ['data: { dataset: folder, dir: ., size: 200 }', /exp\.yaml:2:\d+: data\.size: must be <= 128, found 200$/],
      [`data: { dataset: idx, dir: ${DIGITS}, test: 0.2 }`, /exp\.yaml:2:\d+: data\.test: only dataset: csv \(a CSV file\) and folder \(a fraction held out of one tree of class folders\) read it; remove it$/],
      // data.classes and the normalisation, each in one line (ajv says some of these in three, or in its own words).
      ['data: { classes: [a] }', /^[^\n]*exp\.yaml:2:\d+: data\.classes: give at least 2 values, found 1$/],
      ['data: { classes: [a, 10] }', /^[^\n]*exp\.yaml:2:\d+: data\.classes\.1: expected a string, found 10; write it in quotes \('10'\) for a name$/],
      ['data: { classes: [a, b, a] }', /^[^\n]*exp\.yaml:2:\d+: data\.classes: 'a' is listed twice; list each value once$/],
      ["data: { classes: [a, '  '] }", /^[^\n]*exp\.yaml:2:\d+: data\.classes\.1: is blank; give a name$/],
      ['data: { std: 0 }', /^[^\n]*exp\.yaml:2:\d+: data\.std: must be > 0, found 0$/],
      ['data: { mean: average }', /^[^\n]*exp\.yaml:2:\d+: data\.mean: expected a number or 'auto', found 'average'$/],
      ['data: { mean: "0.5" }', /^[^\n]*exp\.yaml:2:\d+: data\.mean: expected a number or 'auto', found '0\.5'; write the number without quotes \(0\.5\)$/],
      // Files the user did not give: the list is what to fix; labels 1 to N want a name for 0 too.
      ['data: { classes: [a, b, c] }', /^data\.classes: label 9 found, but the dataset's class names are 3 \(labels 0 to 2\); give data\.classes a name for every class$/],
      [`data: { dataset: idx, dir: ${DIGITS}, classes: [a, b, c, d, e, f, g, h, i] }`, /train-labels-idx1-ubyte: label 9 found, but the dataset's class names are 9 \(labels 0 to 8\); give data\.classes a name for every class; labels count from 0, so labels 1 to N need a first name for 0 too$/],
    ];
    for (const [data, message] of cases) {
      writeFileSync(join(dir, 'exp.yaml'), `name: bad\n${data}\n${TRAINING}`);
      const r = await cli(join(dir, 'exp.yaml'), '--db', join(dir, 'runs.db'), '--no-tui');
      expect([data, r.code]).toEqual([data, 2]);
      expect(r.stderr.trim(), data).toMatch(message);
    }
    // Planning reads no image: a dataset not (yet) there plans, without an estimate of its epochs.
    writeFileSync(join(dir, 'exp.yaml'), `name: later\ndata: { dataset: csv, train: missing.csv, test: test.csv }\n${TRAINING}`);
    const plan = await cli('plan', join(dir, 'exp.yaml'), '--db', join(dir, 'runs.db'));
    expect(plan.code, plan.stderr).toBe(0);
  }, 60_000);

  it('an agent reads a CSV dataset only from its data folders, as it reads data.dir', () => {
    const inside = tempDir();
    const outside = tempDir();
    for (const dir of [inside, outside]) writeFileSync(join(dir, 'a.csv'), 'label,p\n');
    const config = (train: string, test: string) => ({ data: { dataset: 'csv', train, test } }) as unknown as Experiment;
    expect(dataProblem(config(join(inside, 'a.csv'), join(inside, 'a.csv')), [inside])).toBeNull();
    expect(dataProblem(config(join(inside, 'a.csv'), join(outside, 'a.csv')), [inside])).toBe(`data.test ${join(outside, 'a.csv')} is not in this agent's data folders; start the agent with --data ${outside} (or a folder above it)`);
    expect(dataProblem(config(join(inside, 'gone.csv'), join(inside, 'a.csv')), [inside])).toBe(`data.train ${join(inside, 'gone.csv')} does not exist on this agent`);
    // A folder dataset's data.test is a fraction, no path to look for.
    expect(dataProblem({ data: { dataset: 'folder', dir: inside, test: 0.2 } } as unknown as Experiment, [inside])).toBeNull();
  });

  it('a folder of PNGs trains exactly as the same images in IDX files; JPEGs of another size and polarity train too; each converted once', async () => {
    const dir = tempDir();
    folderOf(join(dir, 'png'));
    // What notebooks and Finder leave behind is no class and no image.
    mkdirSync(join(dir, 'png', 'train', '.ipynb_checkpoints'));
    writeFileSync(join(dir, 'png', 'train', 'a_zero', '.DS_Store'), 'x');
    writeFileSync(join(dir, 'png', 'train', 'a_zero', '._0000.png'), 'AppleDouble');
    folderOf(join(dir, 'photos'), { other: true });
    // A class's images in a folder under its own are its too (torchvision walks into them); a blank page is an image of nothing.
    const nine = join(dir, 'photos', 'train', 'j_nine');
    mkdirSync(join(nine, 'more'));
    for (const name of readdirSync(nine).filter((n) => n.endsWith('.jpg'))) renameSync(join(nine, name), join(nine, 'more', name));
    writeFileSync(join(dir, 'photos', 'test', 'j_nine', 'blank.jpg'), jpeg.encode({ data: Buffer.alloc(56 * 56 * 4, 255), width: 56, height: 56 }, 95).data);
    writeFileSync(join(dir, 'idx.yaml'), `name: digits\ndata: { dataset: idx, dir: ${DIGITS}, validation: 0.25 }\n${TRAINING}`);
    writeFileSync(join(dir, 'png.yaml'), `name: digits\ndata: { dataset: folder, dir: png, validation: 0.25 }\n${TRAINING}`);
    writeFileSync(join(dir, 'photos.yaml'), `name: digits\ndata: { dataset: folder, dir: photos, validation: 0.25 }\n${TRAINING}`);
    const before = new Set(cacheFolders('folder'));
    const runs = [];
    for (const file of ['idx', 'png', 'photos']) {
      const r = await cli(join(dir, `${file}.yaml`), '--db', join(dir, `${file}.db`), '--no-tui');
      expect(r.code, r.stderr).toBe(0);
      runs.push(epochs(join(dir, `${file}.db`)));
    }
    expect(runs[1]).toEqual(runs[0]);
    expect(runs[2]).toHaveLength(2);
    const made = cacheFolders('folder').filter((f) => !before.has(f));
    expect(made).toHaveLength(2);
    // The photos are made into digits as sweep predict makes them: light ink on black again, at 28×28, each like its digit.
    const original = readIdx(join(DIGITS, IDX_FILES[0][0])).data;
    const photos = made.map((f) => readIdx(join(CACHE, 'folder', f, IDX_FILES[0][0])).data).find((d) => Buffer.compare(Buffer.from(d), Buffer.from(original)) !== 0)!;
    expect(photos.length).toBe(original.length);
    const photoTests = made.map((f) => readIdx(join(CACHE, 'folder', f, IDX_FILES[1][1])).data.length);
    expect(photoTests.sort()).toEqual([64, 65]);
    const alike = Array.from({ length: 40 }, (_, n) => correlation(photos.subarray(n * 784, (n + 1) * 784), original.subarray(n * 784, (n + 1) * 784)));
    // Refitted and re-centred, a digit may move by a pixel (0.47 at worst here); inverted, it would anticorrelate.
    expect(Math.min(...alike)).toBeGreaterThan(0.3);
    expect(alike.reduce((a, b) => a + b, 0) / alike.length).toBeGreaterThan(0.7);
    const stamp = (f: string) => IDX_FILES.flat().map((name) => statSync(join(CACHE, 'folder', f, name)).mtimeMs);
    const stamps = made.map(stamp);
    const again = await cli(join(dir, 'photos.yaml'), '--db', join(dir, 'again.db'), '--no-tui');
    expect(again.code, again.stderr).toBe(0);
    expect(made.map(stamp)).toEqual(stamps);
  }, 180_000);

  it('refuses a folder dataset it cannot read as classes of images in one line naming the place, exit 2, and caches nothing', async () => {
    const cases: [string, (root: string) => void, RegExp, string?][] = [
      ['no train folder', (root) => mkdirSync(join(root, 'test', 'a'), { recursive: true }), /data[/]train: no train\/ folder: give dir\/train\/<class>\/… and dir\/test\/<class>\/…, or put the class folders in dir and set data\.test to the fraction held out for testing, e\.g\. 0\.2$/],
      ['class folders in dir, no data.test', (root) => treeOf(root), /data[/]train: no train\/ folder: give dir\/train\/<class>\/… and dir\/test\/<class>\/…, or put the class folders in dir and set data\.test/],
      ['train/ and test/ with data.test', (root) => folderOf(root), /data[/]train: dir holds train\/, so its test images are test\/'s: data\.test 0\.2 holds out a fraction only of class folders that lie in dir itself; remove data\.test$/, ', test: 0.2'],
      ['test/ alone with data.test', (root) => {
        treeOf(root);
        mkdirSync(join(root, 'test', 'a'), { recursive: true });
      }, /data[/]test: a test\/ folder without train\/ beside it: give train\/ too \(and remove data\.test\), or put every class folder in dir, with no test\/, for data\.test 0\.2 to hold out$/, ', test: 0.2'],
      ['one class in a tree', (root) => {
        mkdirSync(join(root, 'only'), { recursive: true });
        writeFileSync(join(root, 'only', 'a.png'), encodeGrayPng(new Uint8Array(784).fill(200), 28, 28));
      }, /data: holds one class \(only\); a classifier needs two or more class folders$/, ', test: 0.2'],
      ['a tree too small to hold any out', (root) => {
        for (const name of ['a', 'b']) {
          mkdirSync(join(root, name), { recursive: true });
          writeFileSync(join(root, name, '1.png'), encodeGrayPng(new Uint8Array(784).fill(200), 28, 28));
        }
      }, /data: data\.test 0\.2 of each class's images holds out none of the 2 images of its 2 classes \(each class keeps one to train on\); raise data\.test, or add images$/, ', test: 0.2'],
      ['one class', (root) => {
        for (const split of ['train', 'test']) mkdirSync(join(root, split, 'only'), { recursive: true });
        for (const split of ['train', 'test']) writeFileSync(join(root, split, 'only', 'a.png'), encodeGrayPng(new Uint8Array(784).fill(200), 28, 28));
      }, /data[/]train: holds one class \(only\); a classifier needs two or more class folders$/],
      ['an empty class', (root) => {
        folderOf(root);
        mkdirSync(join(root, 'train', 'k_empty'));
      }, /data[/]train[/]k_empty: holds no images \(\.png, \.jpg or \.jpeg\); add some, or remove the folder$/],
      ['a test class not trained', (root) => {
        folderOf(root);
        mkdirSync(join(root, 'test', 'z_other'));
        writeFileSync(join(root, 'test', 'z_other', 'a.png'), encodeGrayPng(new Uint8Array(784).fill(200), 28, 28));
      }, /data[/]test[/]z_other: a class the training folder has not \(its classes: a_zero, b_one/],
      ['an image that does not decode', (root) => {
        folderOf(root);
        writeFileSync(join(root, 'train', 'c_two', 'broken.png'), 'not a png at all');
      }, /data[/]train[/]c_two[/]broken\.png: not a PNG or JPEG image; replace or remove it, or give --skip-bad to leave out the images that do not decode$/],
    ];
    const before = new Set(cacheFolders('folder'));
    for (const [what, make, message, more = ''] of cases) {
      const dir = tempDir();
      make(join(dir, 'data'));
      writeFileSync(join(dir, 'exp.yaml'), `name: bad\ndata: { dataset: folder, dir: data${more} }\n${TRAINING}`);
      const r = await cli(join(dir, 'exp.yaml'), '--db', join(dir, 'runs.db'), '--no-tui');
      expect([what, r.code]).toEqual([what, 2]);
      expect(r.stderr.trim().split('\n'), what).toHaveLength(1);
      expect(r.stderr.trim(), what).toMatch(message);
      expect(existsSync(join(dir, 'runs.db'))).toBe(false);
    }
    expect(cacheFolders('folder').filter((f) => !before.has(f))).toEqual([]);
  }, 120_000);

  it('one tree of class folders is split by data.test: per class, seeded by data.split_seed, each split cached once; it trains through the CLI', async () => {
    const dir = tempDir();
    treeOf(join(dir, 'tree'));
    const yaml = (seed: number) => `name: tree\ndata: { dataset: folder, dir: tree, test: 0.2, validation: 0.25, split_seed: ${seed} }\n${TRAINING}`;
    writeFileSync(join(dir, 'tree.yaml'), yaml(0));
    writeFileSync(join(dir, 'other.yaml'), yaml(1));
    const before = new Set(cacheFolders('folder'));
    const r = await cli('data', 'inspect', join(dir, 'tree.yaml'));
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain(`dataset folder (${join(dir, 'tree')}, data.test 0.2 of each class held out for testing)`);
    // Each class holds out round(n × 0.2) of its n images for testing; the rest train and validate.
    const counts = digitCounts();
    const rows = CLASS_NAMES.map((name, c) => r.stdout.split('\n').find((l) => l.startsWith(`${c} ${String.fromCharCode(97 + c)}_${name}`))!.trim().split(/\s+/).slice(2).map(Number));
    expect(rows.map(([train, validation, test]) => [train + validation, test])).toEqual(counts.map((n) => [n - Math.round(n * 0.2), Math.round(n * 0.2)]));
    const [first] = cacheFolders('folder').filter((f) => !before.has(f));
    const testImages = (folder: string) => Buffer.from(readIdx(join(CACHE, 'folder', folder, IDX_FILES[1][0])).data);
    // The same seed takes the same images (the cache folder is used again); another seed, others (a folder of its own).
    const trained = await cli(join(dir, 'tree.yaml'), '--db', join(dir, 'runs.db'), '--no-tui');
    expect(trained.code, trained.stderr).toBe(0);
    expect(epochs(join(dir, 'runs.db'))).toHaveLength(2);
    expect(cacheFolders('folder').filter((f) => !before.has(f))).toEqual([first]);
    // evaluate on the tree itself splits it as the trial did: its stored test accuracy.
    const evaluated = await cli('evaluate', 'best', '--db', join(dir, 'runs.db'), '--data', join(dir, 'tree'), '--json');
    expect(evaluated.code, evaluated.stderr).toBe(0);
    const stored = new Database(join(dir, 'runs.db'), { readonly: true }).prepare('SELECT max(test_acc) AS acc FROM trials').get() as { acc: number };
    expect(JSON.parse(evaluated.stdout).accuracy).toBe(stored.acc);
    const other = await cli('data', 'inspect', join(dir, 'other.yaml'));
    expect(other.code, other.stderr).toBe(0);
    const second = cacheFolders('folder').filter((f) => !before.has(f) && f !== first);
    expect(second).toHaveLength(1);
    expect(testImages(second[0]).length).toBe(testImages(first).length);
    expect(testImages(second[0]).equals(testImages(first))).toBe(false);
  }, 120_000);

  it('--skip-bad leaves out the images that do not decode and says which; the dataset so prepared is cached apart, and a run without the flag refuses them again', async () => {
    const dir = tempDir();
    folderOf(join(dir, 'data'));
    const bad = ['train/c_two/broken.png', 'train/c_two/empty.png', 'test/d_three/text.jpg', 'train/e_four/cut.png', 'train/f_five/zz.png'];
    for (const [n, path] of bad.entries()) writeFileSync(join(dir, 'data', path), ['not a png at all', '', 'hello', '\x89PNG\r\n\x1a\n', 'GIF89a'][n]);
    writeFileSync(join(dir, 'exp.yaml'), `name: skip\ndata: { dataset: folder, dir: data, validation: 0.25 }\n${TRAINING}`);
    const before = new Set(cacheFolders('folder'));
    const note = `note: ${join(dir, 'data')}: skipped 5 images that do not decode (--skip-bad): train/c_two/broken.png, train/c_two/empty.png, train/e_four/cut.png, and 2 more`;
    const run = await cli(join(dir, 'exp.yaml'), '--db', join(dir, 'runs.db'), '--no-tui', '--skip-bad');
    expect(run.code, run.stderr).toBe(0);
    expect(run.stdout.split('\n')).toContain(note);
    expect(epochs(join(dir, 'runs.db'))).toHaveLength(2);
    const made = cacheFolders('folder').filter((f) => !before.has(f));
    expect(made).toHaveLength(1);
    // The good images, all of them: 256 training and 64 test, as the folder held before.
    expect(IDX_FILES.map(([, labels]) => readIdx(join(CACHE, 'folder', made[0], labels)).dims[0])).toEqual([256, 64]);
    // The trial's readers prepare its data as it trained on it (recorded with it): left out again, not refused.
    const exported = await cli('export', 'best', '--db', join(dir, 'runs.db'), '--format', 'onnx-int8', '--out', join(dir, 'm.onnx'));
    expect(exported.code, exported.stderr).toBe(0);
    const report = await cli('report', '--db', join(dir, 'runs.db'), '--out', join(dir, 'r.html'));
    expect(report.code, report.stderr).toBe(0);
    expect(readFileSync(join(dir, 'r.html'), 'utf8')).toContain('<b>Misclassified test digits</b>');
    // Said again from the cache, by data inspect too.
    const inspect = await cli('data', 'inspect', join(dir, 'exp.yaml'), '--skip-bad');
    expect(inspect.code, inspect.stderr).toBe(0);
    expect(inspect.stdout.split('\n')).toContain(note);
    expect(cacheFolders('folder').filter((f) => !before.has(f))).toEqual(made);
    // Without the flag, the first bad image is refused again (not the cache of the run that left it out).
    const refused = await cli(join(dir, 'exp.yaml'), '--db', join(dir, 'other.db'), '--no-tui');
    expect([refused.code, refused.stderr.trim()]).toEqual([2, `${join(dir, 'data', 'train', 'c_two', 'broken.png')}: not a PNG or JPEG image; replace or remove it, or give --skip-bad to leave out the images that do not decode`]);
    expect(existsSync(join(dir, 'other.db'))).toBe(false);
    // A class whose every image is left out is refused, as an empty class folder is.
    for (const file of readdirSync(join(dir, 'data', 'train', 'j_nine'))) writeFileSync(join(dir, 'data', 'train', 'j_nine', file), 'not an image');
    const emptied = await cli(join(dir, 'exp.yaml'), '--db', join(dir, 'emptied.db'), '--no-tui', '--skip-bad');
    expect([emptied.code, emptied.stderr.trim()]).toEqual([2, `${join(dir, 'data', 'train', 'j_nine')}: holds no image that decodes (its ${readdirSync(join(dir, 'data', 'train', 'j_nine')).length} were left out by --skip-bad); add some, or remove the folder`]);
    const queued = await cli(join(dir, 'exp.yaml'), '--queue', 'redis://127.0.0.1:1', '--skip-bad');
    expect([queued.code, queued.stderr.trim()]).toEqual([2, '--skip-bad: with --queue the agents prepare the data, and refuse images that do not decode; remove those from the folder instead']);
  }, 120_000);

  it('data.size: a folder dataset made into 32×32 digits trains through the CLI and its trial predicts; CSV images are resized to it', async () => {
    const dir = tempDir();
    folderOf(join(dir, 'png'));
    writeFileSync(join(dir, 'train.csv'), csvOf(0));
    writeFileSync(join(dir, 'test.csv'), csvOf(1));
    writeFileSync(join(dir, 'png.yaml'), `name: big\ndata: { dataset: folder, dir: png, validation: 0.25, size: 32 }\ntraining: { epochs: 1, batch_size: 32, seed: 3 }\n`);
    writeFileSync(join(dir, 'csv.yaml'), `name: big\ndata: { dataset: csv, train: train.csv, test: test.csv, validation: 0.25, size: 32 }\n`);
    const inspected = await cli('data', 'inspect', join(dir, 'png.yaml'));
    expect(inspected.code, inspected.stderr).toBe(0);
    expect(inspected.stdout).toMatch(/32×32 images: 192 training, 64 validation, 64 test/);
    const db = join(dir, 'runs.db');
    const trained = await cli(join(dir, 'png.yaml'), '--db', db, '--no-tui');
    expect(trained.code, trained.stderr).toBe(0);
    // A digit of the dataset's own, as a 28×28 file: predict makes it into the trial's 32×32 input.
    const image = join(dir, 'digit.png');
    writeFileSync(image, encodeGrayPng(readIdx(join(DIGITS, IDX_FILES[1][0])).data.subarray(0, 784), 28, 28));
    const predicted = await cli('predict', 'best', image, '--db', db, '--json');
    expect(predicted.code, predicted.stderr).toBe(0);
    const [prediction] = JSON.parse(predicted.stdout) as { top: { class: number; probability: number }[] }[];
    expect(prediction.top[0].class).toBeLessThan(10);
    // The CSV's 28×28 images resized by area to 32×32: each still its digit.
    const csv = await cli('data', 'inspect', join(dir, 'csv.yaml'));
    expect(csv.code, csv.stderr).toBe(0);
    expect(csv.stdout).toMatch(/32×32 images: 192 training, 64 validation, 64 test/);
    const folder = /as IDX files in (\S+)/.exec(csv.stdout)![1];
    const big = readIdx(join(folder, IDX_FILES[0][0]));
    expect(big.dims).toEqual([256, 32, 32]);
    const small = readIdx(join(DIGITS, IDX_FILES[0][0])).data;
    // Shrunk back by averaging, a resized digit correlates with its original.
    const shrunk = (n: number) => Uint8Array.from({ length: 784 }, (_, p) => big.data[n * 1024 + Math.floor(((p / 28) | 0) * 32 / 28) * 32 + Math.floor((p % 28) * 32 / 28)]);
    for (const n of [0, 1, 2]) expect(correlation(shrunk(n), small.subarray(n * 784, (n + 1) * 784))).toBeGreaterThan(0.8);
  }, 120_000);

  it('sweep data inspect: the classes (by their folder names) with their images per split, the pixels\' mean and std, and a contact sheet of each class', async () => {
    const dir = tempDir();
    folderOf(join(dir, 'png'));
    writeFileSync(join(dir, 'png.yaml'), `name: digits\ndata: { dataset: folder, dir: png, validation: 0.25 }\n${TRAINING}`);
    const r = await cli('data', 'inspect', join(dir, 'png.yaml'), '--out', join(dir, 'sheet.png'), '--per-class', '4');
    expect(r.code, r.stderr).toBe(0);
    // The digits per class, from the IDX files the folder was written from: 256 training (of which a quarter validate) and 64 test images.
    const count = (split: 0 | 1) => Array.from(readIdx(join(DIGITS, IDX_FILES[split][1])).data).reduce((n, label) => (label === 0 ? n + 1 : n), 0);
    expect(r.stdout).toMatch(/28×28 images: 192 training, 64 validation, 64 test; 10 classes with images, 10 outputs of the network/);
    const zero = r.stdout.split('\n').find((l) => l.startsWith('0 a_zero'))!;
    const [train, validation, test] = zero.trim().split(/\s+/).slice(2).map(Number);
    expect([train + validation, test]).toEqual([count(0), count(1)]);
    // The training file's statistics: its 256 images, the validation quarter included.
    const own = pixelStats(readIdx(join(CACHE, 'folder', r.stdout.match(/folder\/([0-9a-f]{16})/)![1], IDX_FILES[0][0])).data);
    expect(r.stdout).toContain(`pixels of the training file's images: mean ${own.mean.toFixed(4)}, std ${own.std.toFixed(4)} (0..1); the file normalises with data.mean 0.1307, data.std 0.3081`);
    // A row of 4 images of 28×28 drawn twice as large, 2-pixel gaps: 4 × 58 + 2 wide, 10 × 58 + 2 high.
    const png = readFileSync(join(dir, 'sheet.png'));
    expect([png.readUInt32BE(16), png.readUInt32BE(20)]).toEqual([4 * 58 + 2, 10 * 58 + 2]);
    for (const [args, message] of [[['--per-class', '40'], /^--per-class: at most 32 images per class are drawn, found 40$/], [['--out', join(dir, 'sheet.jpg')], /^--out: the contact sheet is a PNG image/]] as const) {
      const bad = await cli('data', 'inspect', join(dir, 'png.yaml'), ...args);
      expect([bad.code, bad.stderr.trim()]).toEqual([2, expect.stringMatching(message)]);
    }
  }, 60_000);

  it('reads a CSV file a piece at a time: lines and characters cut between pieces come whole', () => {
    const dir = tempDir();
    const text = 'label,pïxel0\r\n1,2\n\n3,é4\n5,6';
    writeFileSync(join(dir, 'a.csv'), text);
    for (const piece of [1, 2, 3, 7, 64]) expect([piece, [...linesOf(join(dir, 'a.csv'), piece)]]).toEqual([piece, text.split('\n')]);
  });

  it('CSV word labels: quoted as pandas writes them (commas and quotes inside), sorted into classes; a stray number among words is said at its own line', async () => {
    const dir = tempDir();
    const [header, ...rows] = csvOf(0).trim().split('\r\n');
    const words = ['"Null, nil"', '"""two"""', 'three'];
    const labelled = rows.map((row, n) => `${words[n % 3]},${row.slice(row.indexOf(',') + 1)}`);
    writeFileSync(join(dir, 'train.csv'), [header, ...labelled].join('\n'));
    writeFileSync(join(dir, 'test.csv'), [header, ...labelled.slice(0, 30)].join('\n'));
    writeFileSync(join(dir, 'w.yaml'), `name: words\ndata: { dataset: csv, train: train.csv, test: test.csv }\n${TRAINING}`);
    const r = await cli('data', 'inspect', join(dir, 'w.yaml'));
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/\n0 "two" +\d+ +\d+ +\d+\n1 Null, nil +\d+ +\d+ +\d+\n2 three /);
    labelled[5] = `7,${labelled[5].slice(labelled[5].indexOf(',', labelled[5].lastIndexOf('"') + 1) + 1)}`;
    writeFileSync(join(dir, 'train.csv'), [header, ...labelled].join('\n'));
    const stray = await cli('data', 'inspect', join(dir, 'w.yaml'));
    expect([stray.code, stray.stderr.trim()]).toEqual([2, `${join(dir, 'train.csv')}:7: label '7', a number, where other labels are words; correct it, or list every class in data.classes`]);
  }, 60_000);

  it('a class whose every training image the validation draw takes is refused, naming the class and what to change', async () => {
    const dir = tempDir();
    folderOf(join(dir, 'png'));
    const nine = join(dir, 'png', 'train', 'j_nine');
    for (const file of readdirSync(nine).slice(1)) rmSync(join(nine, file));
    // The training file holds the classes in order: the one nine is its last image. A seed whose draw takes it:
    const n = readdirSync(join(dir, 'png', 'train')).reduce((sum, c) => sum + readdirSync(join(dir, 'png', 'train', c)).length, 0);
    const seed = Array.from({ length: 100 }, (_, s) => s).find((s) => validationDraw(n, { fraction: 0.25, seed: s }).validation.includes(n - 1))!;
    writeFileSync(join(dir, 'exp.yaml'), `name: lost\ndata: { dataset: folder, dir: png, validation: 0.25, split_seed: ${seed} }\n${TRAINING}`);
    const r = await cli(join(dir, 'exp.yaml'), '--db', join(dir, 'runs.db'), '--no-tui');
    expect([r.code, r.stderr.trim()]).toEqual([2, `${join(dir, 'png', 'train')}: class j_nine: data.validation 0.25 takes its one image to validate, leaving none to train on; give it more images, or change data.validation or data.split_seed`]);
    expect(existsSync(join(dir, 'runs.db'))).toBe(false);
  }, 60_000);

  it('images of more than one size are each fitted into a digit, and said once, when the folder is prepared', async () => {
    const dir = tempDir();
    folderOf(join(dir, 'png'));
    const zeros = join(dir, 'png', 'train', 'a_zero');
    const [first, second] = readdirSync(zeros);
    // Two of the digits twice as large (each pixel 2x2), as a scan among the others might be.
    for (const file of [first, second]) {
      const digit = readIdx(join(DIGITS, IDX_FILES[0][0])).data.subarray(0, 784);
      writeFileSync(join(zeros, file), encodeGrayPng(Uint8Array.from({ length: 56 * 56 }, (_, p) => digit[Math.floor(Math.floor(p / 56) / 2) * 28 + Math.floor((p % 56) / 2)]), 56, 56));
    }
    writeFileSync(join(dir, 'exp.yaml'), `name: sizes\ndata: { dataset: folder, dir: png }\n${TRAINING}`);
    const note = `note: ${join(dir, 'png')}: its images come in 2 sizes, 28x28 (318), 56x56 (2); each was made into a 28x28 digit as sweep predict makes one`;
    const prepared = await cli('data', 'inspect', join(dir, 'exp.yaml'));
    expect(prepared.code, prepared.stderr).toBe(0);
    expect(prepared.stdout.split('\n')).toContain(note);
    const again = await cli('data', 'inspect', join(dir, 'exp.yaml'));
    expect(again.stdout).not.toContain('sizes');
  }, 60_000);

  it('data.classes chooses and orders a folder\'s classes and names a CSV\'s or IDX files\' labels; a label or folder it does not cover is one line naming the place, exit 2', async () => {
    const dir = tempDir();
    folderOf(join(dir, 'png'));
    // Three of the ten class folders, in the list's order: three outputs, named so.
    writeFileSync(join(dir, 'three.yaml'), `name: three\ndata: { dataset: folder, dir: png, validation: 0.25, classes: [c_two, a_zero, b_one] }\n${TRAINING}`);
    const db = join(dir, 'three.db');
    const r = await cli(join(dir, 'three.yaml'), '--db', db, '--no-tui');
    expect(r.code, r.stderr).toBe(0);
    const conn = new Database(db, { readonly: true });
    const trials = conn.prepare('SELECT param_count, provenance FROM trials').all() as { param_count: number; provenance: string }[];
    const confused = conn.prepare('SELECT max(actual) AS top FROM confusion').get() as { top: number };
    conn.close();
    expect(trials.map((t) => [t.param_count, JSON.parse(t.provenance).dataset.classes])).toEqual([0, 1].map(() => [61_706 - 7 * 85, ['c_two', 'a_zero', 'b_one']]));
    expect(confused.top).toBe(2);
    const inspect = await cli('data', 'inspect', join(dir, 'three.yaml'));
    expect(inspect.stdout).toMatch(/\n0 c_two +\d+ +\d+ +\d+\n1 a_zero /);
    // Its model is read with the files it trained on while they are there, whatever became of the images since.
    const firstZero = readdirSync(join(dir, 'png', 'train', 'a_zero'))[0];
    writeFileSync(join(dir, 'png', 'train', 'a_zero', 'added.png'), readFileSync(join(dir, 'png', 'train', 'a_zero', firstZero)));
    renameSync(join(dir, 'png'), join(dir, 'moved'));
    const exported = await cli('export', 'best', '--db', db, '--format', 'onnx', '--out', join(dir, 'three.onnx'));
    expect([exported.code, exported.stderr]).toEqual([0, '']);
    const card = JSON.parse(readFileSync(join(dir, 'three.card.json'), 'utf8'));
    const best = new Database(db, { readonly: true }).prepare('SELECT test_acc FROM trials WHERE id = ?').get(card.trial.id) as { test_acc: number };
    expect(card.metrics.test_acc).toBe(best.test_acc);
    renameSync(join(dir, 'moved'), join(dir, 'png'));
    // evaluate takes a folder of class folders too, by the trial's names: its own three classes of the ten.
    const evaluated = await cli('evaluate', 'best', '--db', db, '--data', join(dir, 'png'), '--json');
    expect(evaluated.code, evaluated.stderr).toBe(0);
    expect(JSON.parse(evaluated.stdout)).toMatchObject({ classes: ['c_two', 'a_zero', 'b_one'], data_classes: ['c_two', 'a_zero', 'b_one'], data: join(dir, 'png') });
    // A dataset naming its classes otherwise is said: its label n is the trial's class n.
    const mixed = join(dir, 'mixed');
    for (const [from, to] of [['c_two', 'two'], ['a_zero', 'zero'], ['b_one', 'one']]) {
      for (const split of ['train', 'test']) cpSync(join(dir, 'png', split, from), join(mixed, split, to), { recursive: true });
    }
    const renamed = await cli('evaluate', 'best', '--db', db, '--data', mixed);
    expect(renamed.code, renamed.stderr).toBe(0);
    expect(renamed.stderr).toContain(`note: the trial's classes are c_two, a_zero, b_one; the labels of ${mixed} name one, two, zero: each label n is counted as the trial's class n`);
    // CSV labels given as numbers are named by place; the labels of IDX files too.
    writeFileSync(join(dir, 'train.csv'), csvOf(0));
    writeFileSync(join(dir, 'test.csv'), csvOf(1));
    const cases: [string, string, RegExp][] = [
      ['a folder data.classes names but the tree lacks', `dataset: folder, dir: png, classes: [a_zero, k_ten]`, /png\/train: has no class folder 'k_ten' that data\.classes names \(its classes: a_zero, b_one, .*\); name the folders as they are, or add it$/],
      ['a CSV label beyond the names by place', `dataset: csv, train: train.csv, test: test.csv, classes: [zero, one, two]`, /train\.csv:\d+: label [3-9], but data\.classes \(zero, one, two\) names 3 classes, labels 0 to 2; give a name for every class$/],
      ['a CSV word label not among the names', `dataset: csv, train: words.csv, test: words.csv, classes: [cat, dog]`, /words\.csv:3: label 'bird' is not among data\.classes \(cat, dog\); add it to the list, or remove its images$/],
      ['an IDX label beyond the names', `dataset: idx, dir: ${DIGITS}, classes: [zero, one]`, /train-labels-idx1-ubyte: label 9 found, but the dataset's class names are 2 \(labels 0 to 1\); give data\.classes a name for every class$/],
    ];
    const row = csvOf(1).split('\r\n')[1].split(',').slice(1).join(',');
    writeFileSync(join(dir, 'words.csv'), [csvOf(1).split('\r\n')[0], `cat,${row}`, `bird,${row}`, `dog,${row}`].join('\n'));
    for (const [what, data, message] of cases) {
      writeFileSync(join(dir, 'bad.yaml'), `name: bad\ndata: { ${data} }\n${TRAINING}`);
      const bad = await cli(join(dir, 'bad.yaml'), '--db', join(dir, 'bad.db'), '--no-tui');
      expect([what, bad.code]).toEqual([what, 2]);
      expect(bad.stderr.trim().split('\n'), what).toHaveLength(1);
      expect(bad.stderr.trim(), what).toMatch(message);
    }
    expect(existsSync(join(dir, 'bad.db'))).toBe(false);
  }, 120_000);

  it('15 classes named in Chinese (digits, and five of them mirrored) as a folder and as a CSV of word labels train to the same numbers, with data.mean/std: auto; their names reach the confusion matrix, predict and the model card', async () => {
    const dir = tempDir();
    // Chinese MNIST's fifteen characters: the digits 0 to 9, and the digits 0 to 4 mirrored as five more classes.
    const names = ['零', '一', '二', '三', '四', '五', '六', '七', '八', '九', '十', '百', '千', '万', '亿'];
    const sorted = [...names].sort();
    const header = ['label', ...Array.from({ length: 784 }, (_, i) => `pixel${i}`)].join(',');
    const csv = IDX_FILES.map(([imagesName, labelsName], split) => {
      const images = readIdx(join(DIGITS, imagesName)).data;
      const labels = readIdx(join(DIGITS, labelsName)).data;
      const rows = Array.from(labels, (digit, n) => {
        const original = images.subarray(n * 784, (n + 1) * 784);
        const mirrored = digit < 5 && n % 2 === 1;
        const pixels = mirrored ? Uint8Array.from(original, (_, p) => original[p - (p % 28) + 27 - (p % 28)]) : original;
        const name = names[mirrored ? 10 + digit : digit];
        const folder = join(dir, 'chinese', split === 0 ? 'train' : 'test', name);
        mkdirSync(folder, { recursive: true });
        writeFileSync(join(folder, `${String(n).padStart(4, '0')}.png`), encodeGrayPng(pixels, 28, 28));
        return { name, n, line: [name, ...pixels].join(',') };
      });
      // In the order the folder is read in (class by class, files by name), so that both split their images alike.
      rows.sort((a, b) => sorted.indexOf(a.name) - sorted.indexOf(b.name) || a.n - b.n);
      return [header, ...rows.map((r) => r.line)];
    });
    writeFileSync(join(dir, 'train.csv'), `${csv[0].join('\n')}\n`);
    writeFileSync(join(dir, 'test.csv'), `${csv[1].join('\n')}\n`);
    const common = `validation: 0.25, mean: auto, std: auto }\n${TRAINING}`;
    writeFileSync(join(dir, 'folder.yaml'), `name: chinese\ndata: { dataset: folder, dir: chinese, ${common}`);
    writeFileSync(join(dir, 'csv.yaml'), `name: chinese\ndata: { dataset: csv, train: train.csv, test: test.csv, ${common}`);
    const runs = [];
    for (const file of ['folder', 'csv']) {
      const r = await cli(join(dir, `${file}.yaml`), '--db', join(dir, `${file}.db`), '--no-tui');
      expect(r.code, r.stderr).toBe(0);
      runs.push(epochs(join(dir, `${file}.db`)));
    }
    expect(runs[0]).toHaveLength(2);
    expect(runs[1]).toEqual(runs[0]);
    // Classes in sorted order, as torchvision sorts a folder's; the normalisation the training file's own, kept with the trial.
    const db = join(dir, 'csv.db');
    const conn = new Database(db, { readonly: true });
    const [trial] = conn.prepare('SELECT id, param_count, provenance FROM trials').all() as { id: string; param_count: number; provenance: string }[];
    conn.close();
    const kept = JSON.parse(trial.provenance).dataset;
    const trainFile = join(kept.dir, IDX_FILES[0][0]);
    expect(kept).toMatchObject({ classes: sorted, normalisation: pixelStats(readIdx(trainFile).data) });
    // Trained with those numbers: given as numbers, they train the same; MNIST's defaults do not.
    const given = (mean: number, std: number) => `validation: 0.25, mean: ${mean}, std: ${std} }\n${TRAINING}`;
    for (const [file, mean, std] of [['given', kept.normalisation.mean, kept.normalisation.std], ['default', 0.1307, 0.3081]] as const) {
      writeFileSync(join(dir, `${file}.yaml`), `name: chinese\ndata: { dataset: csv, train: train.csv, test: test.csv, ${given(mean, std)}`);
      const r = await cli(join(dir, `${file}.yaml`), '--db', join(dir, `${file}.db`), '--no-tui');
      expect(r.code, r.stderr).toBe(0);
      if (file === 'given') expect(epochs(join(dir, `${file}.db`))).toEqual(runs[0]);
      else expect(epochs(join(dir, `${file}.db`))).not.toEqual(runs[0]);
    }
    expect(trial.param_count).toBe(61_706 + 5 * 85);
    // predict names the fifteen classes of a mirrored 0 (class 十), normalised as training was.
    const image = join(dir, 'mirrored.png');
    writeFileSync(image, readFileSync(join(dir, 'chinese', 'test', '十', readdirSync(join(dir, 'chinese', 'test', '十'))[0])));
    const predicted = await cli('predict', 'best', image, '--db', db, '--json', '--top', '15');
    expect(predicted.code, predicted.stderr).toBe(0);
    const [prediction] = JSON.parse(predicted.stdout) as { top: { name: string }[] }[];
    expect(prediction.top.map((t) => t.name).sort()).toEqual(sorted);
    const exported = await cli('export', 'best', '--db', db, '--format', 'onnx', '--out', join(dir, 'm.onnx'));
    expect(exported.code, exported.stderr).toBe(0);
    const card = JSON.parse(readFileSync(join(dir, 'm.card.json'), 'utf8'));
    expect([card.output.class_names, card.input.preprocessing.mean, card.input.preprocessing.std]).toEqual([sorted, kept.normalisation.mean, kept.normalisation.std]);
    const shown = await cli('runs', 'show', trial.id, '--db', db);
    expect(shown.stdout).toMatch(/\ndata    15 classes: 一, 七, 万, 三, 九, 二, 五, 亿, 八, 六, … 零; normalised with mean 0\.\d+ \(auto\), std 0\.\d+ \(auto\)\n/);
    // A model of 15 classes is not asked about the ten digits' labels, which name none of them.
    const digits = await cli('evaluate', 'best', '--db', db, '--data', DIGITS);
    expect([digits.code, digits.stderr.trim()]).toEqual([2, `--data: the trial's model tells 15 classes apart, the labels of ${DIGITS} make 10; evaluate it on a dataset of its own classes`]);
  }, 120_000);

  it('an IDX dataset of 47 classes (as EMNIST balanced) trains with 47 outputs, named by data.classes: its confusion matrix, report, evaluation, predictions and exports have 47 classes with their names', async () => {
    const dir = tempDir();
    const idx = join(dir, 'emnist-like');
    mkdirSync(idx);
    // The digits relabelled into 47 classes: every class has images in both splits.
    IDX_FILES.forEach(([imagesName, labelsName]) => {
      const images = readIdx(join(DIGITS, imagesName));
      const labels = readIdx(join(DIGITS, labelsName)).data;
      writeIdx(join(idx, imagesName), images.dims, images.data);
      writeIdx(join(idx, labelsName), [labels.length], Uint8Array.from(labels, (label, n) => (label * 5 + (n % 5)) % 47));
    });
    writeFileSync(join(dir, 'e.yaml'), `name: classes47\ndata: { dataset: idx, dir: emnist-like, validation: 0.25, classes: ${JSON.stringify(EMNIST_BALANCED)} }\ntraining: { epochs: 1, batch_size: 32, seed: 3 }\n`);
    const db = join(dir, 'runs.db');
    const r = await cli(join(dir, 'e.yaml'), '--db', db, '--no-tui');
    expect(r.code, r.stderr).toBe(0);
    const conn = new Database(db, { readonly: true });
    const matrix = conn.prepare('SELECT max(actual) AS actual, max(predicted) AS predicted, sum(count) AS images FROM confusion').get() as { actual: number; predicted: number; images: number };
    const [trial] = conn.prepare('SELECT id, param_count, provenance FROM trials').all() as { id: string; param_count: number; provenance: string }[];
    conn.close();
    // The trial's record keeps the names (and the normalisation it trained with), for readers without the data.
    expect(JSON.parse(trial.provenance).dataset).toMatchObject({ classes: EMNIST_BALANCED, normalisation: { mean: 0.1307, std: 0.3081 } });
    expect(matrix.actual).toBe(46);
    expect(matrix.predicted).toBeLessThanOrEqual(46);
    // 37 more outputs than the reference's 61,706 parameters: 84 weights and a bias each.
    expect(trial.param_count).toBe(61_706 + 37 * 85);
    const report = await cli('report', '--db', db, '--out', join(dir, 'r.html'));
    expect(report.code, report.stderr).toBe(0);
    const html = readFileSync(join(dir, 'r.html'), 'utf8');
    const confusion = JSON.parse(/id="report-data">([\s\S]*?)<\/script>/.exec(html)![1]).sweeps[0].charts.confusion;
    expect(Math.max(...confusion.data.values.map((v: { actual: number }) => v.actual))).toBe(46);
    // Its axes and tooltips speak of the classes by name; so do the most confused pairs.
    const cell = confusion.data.values.find((v: { actual: number; predicted: number }) => v.actual === 46 && v.predicted === 10);
    expect([cell.actualName, cell.predictedName]).toEqual(['t', 'A']);
    expect(confusion.layer[0].encoding.x.axis.labelExpr).toContain(JSON.stringify(EMNIST_BALANCED));
    const pairs = /<b>Most confused<\/b><ul>([\s\S]*?)<\/ul>/.exec(html)![1];
    expect(pairs).toMatch(/^<li>[0-9A-Za-z] read as [0-9A-Za-z]: \d+ test images?<\/li>/);
    // 47 classes in cells of 14 pixels (700 / 47), too small for their counts: those are in the tooltips.
    expect([confusion.width, confusion.layer.length]).toEqual([{ step: 14 }, 1]);
    const evaluated = await cli('evaluate', 'best', '--db', db, '--data', idx, '--json');
    expect(evaluated.code, evaluated.stderr).toBe(0);
    const evaluation = JSON.parse(evaluated.stdout) as { confusion: number[][]; classes: string[] };
    expect([evaluation.confusion.length, evaluation.classes]).toEqual([47, EMNIST_BALANCED]);
    const table = await cli('evaluate', 'best', '--db', db, '--data', idx);
    expect(table.stdout.split('\n').find((l) => l.trim().startsWith('46 t'))).toBeDefined();
    // A model of 47 classes is not asked about the ten digits' labels (IDX files: classes of their own).
    const digits = await cli('evaluate', 'best', '--db', db, '--data', DIGITS);
    expect([digits.code, digits.stderr.trim()]).toEqual([2, `--data: the trial's model tells 47 classes apart, the labels of ${DIGITS} make 10; evaluate it on a dataset of its own classes`]);
    const image = join(dir, 'digit.png');
    writeFileSync(image, encodeGrayPng(readIdx(join(idx, IDX_FILES[1][0])).data.subarray(0, 784), 28, 28));
    const predicted = await cli('predict', 'best', image, '--db', db, '--json');
    expect(predicted.code, predicted.stderr).toBe(0);
    const [prediction] = JSON.parse(predicted.stdout) as { name: string; top: { class: number; name: string; probability: number }[] }[];
    expect(prediction.top).toHaveLength(3);
    for (const t of prediction.top) expect([t.class < 47, t.name]).toEqual([true, EMNIST_BALANCED[t.class]]);
    expect(prediction.name).toBe(prediction.top[0].name);
    // --top K: the K most likely, by name, with their probabilities.
    const five = await cli('predict', 'best', image, '--db', db, '--top', '5');
    expect(five.code, five.stderr).toBe(0);
    const line = new RegExp(`^${image.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}  ${prediction.name}\\s+\\d+\\.\\d%   \\(then ([0-9A-Za-z] \\d+\\.\\d%, ){3}[0-9A-Za-z] \\d+\\.\\d%\\)$`);
    expect(five.stdout.trim()).toMatch(line);
    // At most every class: --top 48 of 47 classes gives the 47.
    const every = await cli('predict', 'best', image, '--db', db, '--top', '48', '--json');
    expect(every.code, every.stderr).toBe(0);
    expect((JSON.parse(every.stdout) as { top: unknown[] }[])[0].top).toHaveLength(47);
    const exported = await cli('export', 'best', '--db', db, '--format', 'onnx', '--out', join(dir, 'm.onnx'));
    expect(exported.code, exported.stderr).toBe(0);
    const session = await ort.InferenceSession.create(readFileSync(join(dir, 'm.onnx')));
    const out = await session.run({ input: new ort.Tensor('float32', new Float32Array(2 * 784), [2, 1, 28, 28]) });
    expect(out.logits.dims).toEqual([2, 47]);
    expect(JSON.parse(readFileSync(join(dir, 'm.card.json'), 'utf8')).output).toMatchObject({ shape: [null, 47], classes: 47, class_names: EMNIST_BALANCED });
    const metadata = Object.fromEntries(onnxProto.onnx.ModelProto.decode(readFileSync(join(dir, 'm.onnx'))).metadataProps.map((p) => [p.key, p.value]));
    expect(JSON.parse(metadata['lenet-sweep.classes'])).toEqual(EMNIST_BALANCED);
    const tfjs = await cli('export', 'best', '--db', db, '--format', 'tfjs', '--out', join(dir, 'tfjs'));
    expect(tfjs.code, tfjs.stderr).toBe(0);
    expect(JSON.parse(readFileSync(join(dir, 'tfjs', 'model.json'), 'utf8')).userDefinedMetadata['lenet-sweep']).toMatchObject({ classes: EMNIST_BALANCED, mean: 0.1307, std: 0.3081 });
  }, 120_000);
});

describe('stratifiedSplit (a folder dataset of one tree, split by data.test)', () => {
  const range = (n: number) => Array.from({ length: n }, (_, i) => i);
  it("holds out round(n × fraction) of each class's items, each part in the items' order; every class keeps one to train on", () => {
    const { train, test } = stratifiedSplit([{ name: 'a', items: range(10) }, { name: 'b', items: [0] }, { name: 'c', items: [0, 1] }, { name: 'd', items: range(3) }], 0.5, 7);
    expect(test.map((c) => c.items.length)).toEqual([5, 0, 1, 2]);
    expect(train.map((c) => c.items.length)).toEqual([5, 1, 1, 1]);
    for (const c of [...train, ...test]) expect(c.items).toEqual([...c.items].sort((x, y) => x - y));
    expect([...train[0].items, ...test[0].items].sort((x, y) => x - y)).toEqual(range(10));
  });

  it("is the seed's: the same seed splits alike, another seed otherwise; a class's split stays when another class changes", () => {
    const a = { name: 'a', items: range(20) };
    const first = stratifiedSplit([a, { name: 'b', items: range(5) }], 0.3, 7);
    expect(stratifiedSplit([a, { name: 'b', items: range(5) }], 0.3, 7)).toEqual(first);
    expect(stratifiedSplit([a, { name: 'b', items: range(50) }, { name: 'c', items: range(4) }], 0.3, 7).test[0]).toEqual(first.test[0]);
    expect(stratifiedSplit([a], 0.3, 8).test[0].items).not.toEqual(first.test[0].items);
  });
});
