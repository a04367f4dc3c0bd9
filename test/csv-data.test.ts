/**
 * dataset: csv (issue 26's first part): images in Kaggle's CSV layout, written here from the
 * embedded digits, trained through the real CLI. The CSV form of a set of images trains exactly
 * as its IDX form; the conversion is made once per content into the cache; every mistake in a
 * file is one line naming the file and its line, exit 2, with nothing left in the cache.
 */
import { existsSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import { dataProblem } from '../src/agent/job-checks.js';
import type { Experiment } from '../src/config/experiment.types.js';
import { IDX_FILES } from '../src/data/dataset.js';
import { readIdx } from '../src/data/idx.js';
import { CACHE, cli } from './cli-helpers.js';
import { tempDir } from './helpers.js';
import { smallDigits } from './small-digits.js';

const DIGITS = smallDigits(256, 64);

/** The images of one IDX pair as a CSV text: `label` first (or last, named `digit`), then pixel0…pixelN. */
function csvOf(split: 0 | 1, { labelLast = false } = {}): string {
  const images = readIdx(join(DIGITS, IDX_FILES[split][0]));
  const labels = readIdx(join(DIGITS, IDX_FILES[split][1]));
  const size = images.dims[1] * images.dims[2];
  const pixels = Array.from({ length: size }, (_, i) => `pixel${i}`);
  const rows = [labelLast ? [...pixels, 'digit'].join(',') : ['label', ...pixels].join(',')];
  for (let n = 0; n < images.dims[0]; n++) {
    const row = Array.from(images.data.subarray(n * size, (n + 1) * size));
    rows.push((labelLast ? [...row, labels.data[n]] : [labels.data[n], ...row]).join(','));
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

const csvFolders = () => (existsSync(join(CACHE, 'csv')) ? readdirSync(join(CACHE, 'csv')) : []);

describe('dataset: csv', () => {
  it('trains exactly as the same images in IDX files, the label column first or named; converted once into the cache', async () => {
    const dir = tempDir();
    writeFileSync(join(dir, 'train.csv'), csvOf(0));
    writeFileSync(join(dir, 'test.csv'), csvOf(1));
    writeFileSync(join(dir, 'named-train.csv'), csvOf(0, { labelLast: true }));
    writeFileSync(join(dir, 'named-test.csv'), csvOf(1, { labelLast: true }));
    writeFileSync(join(dir, 'idx.yaml'), `name: digits\ndata: { dataset: idx, dir: ${DIGITS}, validation: 0.25 }\n${TRAINING}`);
    writeFileSync(join(dir, 'csv.yaml'), `name: digits\ndata: { dataset: csv, train: train.csv, test: test.csv, validation: 0.25 }\n${TRAINING}`);
    writeFileSync(join(dir, 'named.yaml'), `name: digits\ndata: { dataset: csv, train: named-train.csv, test: named-test.csv, label: digit, validation: 0.25 }\n${TRAINING}`);
    const before = new Set(csvFolders());
    const runs = [];
    for (const file of ['idx', 'csv', 'named']) {
      const db = join(dir, `${file}.db`);
      const r = await cli(join(dir, `${file}.yaml`), '--db', db, '--no-tui');
      expect(r.code, r.stderr).toBe(0);
      runs.push(epochs(db));
    }
    expect(runs[0]).toHaveLength(2);
    expect(runs[1]).toEqual(runs[0]);
    expect(runs[2]).toEqual(runs[0]);
    // One folder per content and label column: the two CSV forms, each made once.
    const made = csvFolders().filter((f) => !before.has(f));
    expect(made).toHaveLength(2);
    const stamp = (f: string) => IDX_FILES.flat().map((name) => statSync(join(CACHE, 'csv', f, name)).mtimeMs);
    const stamps = made.map(stamp);
    const again = await cli(join(dir, 'csv.yaml'), '--db', join(dir, 'again.db'), '--no-tui');
    expect(again.code, again.stderr).toBe(0);
    expect(made.map(stamp)).toEqual(stamps);
  }, 120_000);

  it('refuses a faulty file in one line naming it and its line, exit 2, and caches nothing', async () => {
    const dir = tempDir();
    const good = csvOf(1).split('\r\n');
    const header = good[0];
    const row = good[1].split(',');
    const cases: [string, string, RegExp][] = [
      ['a short row', [header, good[1], row.slice(0, -1).join(',')].join('\n'), /train\.csv:3: 784 values; the header has 785 columns \(a label and 784 pixels\)$/],
      ['a label out of range', [header, ['12', ...row.slice(1)].join(',')].join('\n'), /train\.csv:2: label '12' is not a class number from 0 to 9/],
      ['a pixel out of range', [header, [...row.slice(0, 6), '300', ...row.slice(7)].join(',')].join('\n'), /train\.csv:2: pixel5 is '300': expected a whole number from 0 to 255$/],
      ['no header', good.slice(1).join('\n'), /train\.csv:1: expected a header row naming the columns \(label,pixel0,\.\.\.\), found 785 numbers; add one$/],
      ['not square', [header.split(',').slice(0, 101).join(','), row.slice(0, 101).join(',')].join('\n'), /train\.csv:1: 100 pixel columns are not a square image of at least 12x12/],
      ['no rows', `${header}\n`, /train\.csv:1: holds no images/],
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
  }, 120_000);

  it('says what the data section lacks or has too much of at its place in the file', async () => {
    const dir = tempDir();
    writeFileSync(join(dir, 'test.csv'), csvOf(1));
    const cases: [string, RegExp][] = [
      ['data: { dataset: csv, train: train.csv }', /exp\.yaml:2:\d+: data\.test: required with dataset: csv/],
      ['data: { dataset: csv, train: missing.csv, test: test.csv }', /missing\.csv: no such file \(data\.train of dataset csv\); check the path, relative to the experiment file$/],
      ['data: { dataset: csv, train: test.csv, test: test.csv, label: digit }', /test\.csv:1: no column named 'digit' \(the header has label, pixel0, pixel1, pixel2, \.\.\.\); set data\.label to the label column's name$/],
      [`data: { dataset: idx, dir: ${DIGITS}, train: test.csv }`, /exp\.yaml:2:\d+: data\.train: only dataset: csv reads CSV files; remove it, or set dataset: csv/],
    ];
    for (const [data, message] of cases) {
      writeFileSync(join(dir, 'exp.yaml'), `name: bad\n${data}\n${TRAINING}`);
      const r = await cli(join(dir, 'exp.yaml'), '--db', join(dir, 'runs.db'), '--no-tui');
      expect([data, r.code]).toEqual([data, 2]);
      expect(r.stderr.trim(), data).toMatch(message);
    }
  }, 60_000);

  it('an agent reads a CSV dataset only from its data folders, as it reads data.dir', () => {
    const inside = tempDir();
    const outside = tempDir();
    for (const dir of [inside, outside]) writeFileSync(join(dir, 'a.csv'), 'label,p\n');
    const config = (train: string, test: string) => ({ data: { dataset: 'csv', train, test } }) as unknown as Experiment;
    expect(dataProblem(config(join(inside, 'a.csv'), join(inside, 'a.csv')), [inside])).toBeNull();
    expect(dataProblem(config(join(inside, 'a.csv'), join(outside, 'a.csv')), [inside])).toBe(`data.test ${join(outside, 'a.csv')} is not in this agent's data folders; start the agent with --data ${outside} (or a folder above it)`);
    expect(dataProblem(config(join(inside, 'gone.csv'), join(inside, 'a.csv')), [inside])).toBe(`data.train ${join(inside, 'gone.csv')} does not exist on this agent`);
  });
});
