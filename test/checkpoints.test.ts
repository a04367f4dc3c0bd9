import Database from 'better-sqlite3';
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { copyFileSync, existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { checkpointRoot } from '../src/checkpoint/files.js';
import { checkpointsToRemove } from '../src/checkpoint/retention.js';
import { cli, startCli } from './cli-helpers.js';
import { tempDir } from './helpers.js';

const ONE = (epochs: number) => `name: keep\ntraining: { epochs: ${epochs}, batch_size: 32, seed: 3, limit_train: 128 }\n`;

function query<T>(db: string, sql: string): T[] {
  const d = new Database(db, { readonly: true });
  try {
    return d.prepare(sql).all() as T[];
  } finally {
    d.close();
  }
}

/**
 * A sweep of ONE(1), trained once for the tests that only read it (or a copy of its database):
 * its experiment file and database.
 */
let oneEpoch: Promise<{ file: string; db: string }> | undefined;
function oneEpochSweep(): Promise<{ file: string; db: string }> {
  oneEpoch ??= (async () => {
    const dir = tempDir();
    const file = join(dir, 'keep.yaml');
    writeFileSync(file, ONE(1));
    const db = join(dir, 'runs.db');
    const r = await cli(file, '--db', db, '--no-tui');
    expect(r.code, r.stderr).toBe(0);
    return { file, db };
  })();
  return oneEpoch;
}

/** Checkpoint files on disk, by trial. */
function files(db: string): Record<string, string[]> {
  const root = checkpointRoot(db);
  return Object.fromEntries(readdirSync(root).map((t) => [t, readdirSync(join(root, t)).sort()]));
}

describe('which checkpoints a trial keeps', () => {
  it('while it can go on: the newest two and the best; once ended: by policy', () => {
    expect(checkpointsToRemove([1, 2, 3, 4, 5], 1, 'last', false)).toEqual([2, 3]);
    expect(checkpointsToRemove([1, 2, 3, 4, 5], 4, 'last', false)).toEqual([1, 2, 3]);
    expect(checkpointsToRemove([1, 2, 3, 4, 5], 2, 'last', true)).toEqual([1, 3, 4]);
    expect(checkpointsToRemove([1, 2, 3, 4, 5], 2, 'best', true)).toEqual([1, 3, 4, 5]);
    expect(checkpointsToRemove([1, 2, 3, 4, 5], 5, 'best', true)).toEqual([1, 2, 3, 4]);
    expect(checkpointsToRemove([1, 2, 3, 4, 5], 2, 'all', true)).toEqual([]);
    // No best (every value NaN): the last stands in for it.
    expect(checkpointsToRemove([1, 2, 3], null, 'best', true)).toEqual([1, 2]);
    expect(checkpointsToRemove([], null, 'last', true)).toEqual([]);
  });

  for (const keep of ['best', 'last', 'all'] as const) {
    it(`--keep ${keep}: the files on disk are the ones the checkpoints view lists`, async () => {
      const dir = tempDir();
      const file = join(dir, 'keep.yaml');
      writeFileSync(file, ONE(3));
      const db = join(dir, 'runs.db');
      const r = await cli(file, '--db', db, '--no-tui', '--keep', keep);
      expect(r.code, r.stderr).toBe(0);
      const [trial] = query<{ id: string; best_epoch: number }>(db, `SELECT id, best_epoch FROM trials`);
      const listed = query<{ epoch: number; best: number; path: string; bytes: number; sha256: string }>(db, `SELECT * FROM checkpoints ORDER BY epoch`);
      const expected = keep === 'all' ? [1, 2, 3] : keep === 'best' ? [trial.best_epoch] : [...new Set([trial.best_epoch, 3])].sort();
      expect(listed.map((c) => c.epoch)).toEqual(expected);
      expect(files(db)).toEqual({ [trial.id]: expected.map((e) => `epoch-000${e}.ckpt`) });
      for (const c of listed) {
        const bytes = readFileSync(join(dir, c.path));
        expect(bytes.length).toBe(c.bytes);
        expect(bytes.subarray(bytes.length - 32).toString('hex')).toBe(c.sha256);
        expect(c.best).toBe(c.epoch === trial.best_epoch ? 1 : 0);
      }
    });
  }

  it('bad --keep or --retries: one line, exit 2, no database', async () => {
    const dir = tempDir();
    const file = join(dir, 'keep.yaml');
    writeFileSync(file, ONE(1));
    const keep = await cli(file, '--db', join(dir, 'runs.db'), '--keep', 'first');
    expect([keep.code, keep.stderr]).toEqual([2, `--keep: expected one of best, last, all, found 'first'\n`]);
    const retries = await cli(file, '--db', join(dir, 'runs.db'), '--retries', 'two');
    expect([retries.code, retries.stderr]).toEqual([2, `--retries: expected a whole number (0 or more), found 'two'\n`]);
    expect(existsSync(join(dir, 'runs.db'))).toBe(false);
  });
});

describe('a damaged checkpoint', () => {
  it('is reported and passed over: the trial resumes from the one before, and still ends as an uninterrupted run', async () => {
    const dir = tempDir();
    const file = join(dir, 'damaged.yaml');
    writeFileSync(file, ONE(4).replace('name: keep', 'name: damaged'));
    const reference = join(dir, 'reference', 'runs.db');
    expect((await cli(file, '--db', reference, '--no-tui')).code).toBe(0);
    const db = join(dir, 'crashed', 'runs.db');
    const killed = await startCli([file, '--db', db, '--no-tui'], (out, child) => /epoch 3\/4/.test(out) && child.kill('SIGKILL'));
    expect(killed.signal).toBe('SIGKILL');
    const [trial] = Object.keys(files(db));
    const newest = files(db)[trial].at(-1)!;
    expect(['epoch-0003.ckpt', 'epoch-0004.ckpt']).toContain(newest);
    const path = join(checkpointRoot(db), trial, newest);
    const bytes = readFileSync(path);
    bytes[bytes.length >> 1] ^= 0xff;
    writeFileSync(path, bytes);
    const r = await cli(file, '--db', db, '--no-tui');
    expect(r.code, r.stderr).toBe(0);
    const epoch = Number(newest.slice(6, 10));
    expect(r.stdout).toContain(`note: trial ${trial}: the checkpoint of epoch ${epoch} cannot be used: its checksum does not match its content (set aside as ${newest}.damaged); it resumes from epoch ${epoch - 1}`);
    expect(r.stdout).toContain(`resumed after epoch ${epoch - 1} (its checkpoint)`);
    const numbers = (d: string) => query(d, `SELECT epoch, train_loss, train_acc, val_loss, val_acc, lr FROM epochs ORDER BY epoch`);
    expect(numbers(db)).toEqual(numbers(reference));
    const test = (d: string) => query(d, `SELECT test_loss, test_acc, best_epoch, best_value FROM trials`);
    expect(test(db)).toEqual(test(reference));
    // runs show tells the starts apart and names the kept checkpoints.
    const show = await cli('runs', 'show', trial, '--db', db);
    expect(show.stdout).toContain(`starts  1 from the start (interrupted); 2 from epoch ${epoch - 1} (completed)`);
    expect(show.stdout).toMatch(new RegExp(`model   checkpoints? of epochs? [^\\n]*4[^\\n]* MB( each)?, in runs.db.checkpoints/${trial}; sweep export ${trial} --format onnx --out model.onnx`));
    const json = JSON.parse((await cli('runs', 'show', trial, '--db', db, '--json')).stdout);
    expect(json.attempts.map((a: { from_epoch: number }) => a.from_epoch)).toEqual([0, epoch - 1]);
    expect(json.provenance.backend).toBe('wasm');
  });
});

describe('what a trial records', () => {
  it('its provenance: the file hash and git commit (dirty or not), dataset checksums, versions and backend', async () => {
    const dir = tempDir();
    const git = (...args: string[]) => execFileSync('git', ['-C', dir, ...args], { encoding: 'utf8' }).trim();
    git('init', '-q');
    git('config', 'user.email', 't@example.com');
    git('config', 'user.name', 't');
    const file = join(dir, 'prov.yaml');
    writeFileSync(file, ONE(1).replace('name: keep', 'name: prov'));
    git('add', 'prov.yaml');
    git('commit', '-qm', 'experiment');
    const db = join(dir, 'runs.db');
    expect((await cli(file, '--db', db, '--no-tui')).code).toBe(0);
    const [{ provenance }] = query<{ provenance: string }>(db, `SELECT provenance FROM trials`);
    const p = JSON.parse(provenance);
    expect(p.file.sha256).toBe(createHash('sha256').update(readFileSync(file)).digest('hex'));
    expect(p.file.git).toEqual({ commit: git('rev-parse', 'HEAD'), dirty: false, path: 'prov.yaml' });
    expect(p.dataset.name).toBe('mnist');
    expect(Object.keys(p.dataset.sha256).sort()).toEqual(['t10k-images-idx3-ubyte', 't10k-labels-idx1-ubyte', 'train-images-idx3-ubyte', 'train-labels-idx1-ubyte']);
    expect(p.dataset.sha256['train-labels-idx1-ubyte']).toBe(createHash('sha256').update(readFileSync(join(p.dataset.dir, 'train-labels-idx1-ubyte'))).digest('hex'));
    expect(p.versions).toEqual(expect.objectContaining({ node: process.versions.node, 'lenet-sweep': expect.any(String), tfjs: expect.any(String) }));
    expect(p.backend).toBe('wasm');

    // An edit not committed: the same trial again, now from a dirty tree.
    writeFileSync(file, `${ONE(1).replace('name: keep', 'name: prov')}# a comment\n`);
    expect((await cli(file, '--db', db, '--no-tui', '--rerun')).code).toBe(0);
    const [again] = query<{ provenance: string }>(db, `SELECT provenance FROM trials`);
    expect(JSON.parse(again.provenance).file.git.dirty).toBe(true);
  });

  it('its test confusion matrix (the confusion view): counts sum to the test images, the diagonal to test_acc', async () => {
    const { db } = await oneEpochSweep();
    const rows = query<{ actual: number; predicted: number; count: number }>(db, `SELECT actual, predicted, count FROM confusion`);
    const [{ test_acc }] = query<{ test_acc: number }>(db, `SELECT test_acc FROM trials`);
    const total = rows.reduce((n, r) => n + r.count, 0);
    expect(total).toBe(1002);
    expect(rows.filter((r) => r.actual === r.predicted).reduce((n, r) => n + r.count, 0) / total).toBe(test_acc);
    // Each actual class has as many images as the test split holds of it.
    expect(new Set(rows.map((r) => r.actual)).size).toBe(10);
  });
});

describe('a sweep with an early-termination rule', () => {
  it('killed after an epoch and started again: each resumed trial is judged at its checkpoint, and the sweep ends', async () => {
    const dir = tempDir();
    const file = join(dir, 'rule.yaml');
    writeFileSync(
      file,
      'name: rule\ntraining: { epochs: 8, batch_size: 64, seed: 1, limit_train: 256 }\nsweep:\n  parameters:\n    optimizer.lr: [0.003, 0.0001, 0.002, 0.00005]\n' +
        '  early_terminate: { type: asha, min_resource: 1, reduction_factor: 2 }\n',
    );
    const db = join(dir, 'runs.db');
    // Killed once each of two trials has stored epoch 2: the best resumes past a rung. Its epochs
    // take a fraction of a second, so it has 8: a kill that lands late (a loaded machine reads
    // the output late) still finds it training, with epochs left to resume.
    const killed = await startCli([file, '--db', db, '--no-tui', '--workers', '2'], (out, child) => (out.match(/epoch 2\/8/g) ?? []).length >= 2 && child.kill('SIGKILL'));
    expect(killed.signal).toBe('SIGKILL');
    const r = await cli(file, '--db', db, '--no-tui', '--workers', '2');
    expect(r.code, r.stdout + r.stderr).toBe(0);
    expect(r.stdout).toMatch(/resumed after epoch \d \(its checkpoint\)/);
    const trials = query<{ status: string; epochs: number }>(db, `SELECT status, epochs FROM trials`);
    expect(trials.every((t) => t.status === 'completed' || t.status === 'pruned')).toBe(true);
    const rows = query<{ n: number; d: number }>(db, `SELECT count(*) AS n, count(DISTINCT trial_id || ':' || epoch) AS d FROM epochs`);
    expect(rows[0].n).toBe(rows[0].d);
    expect(query(db, `SELECT * FROM attempts WHERE status = 'running'`)).toEqual([]);
  });
});


describe('a checkpoints folder that is something else', () => {
  it('a FIFO or a file where the checkpoints go is refused before the database is opened: one line, exit 2, the database as it was', async () => {
    const dir = tempDir();
    const file = join(dir, 'keep.yaml');
    writeFileSync(file, ONE(1));
    const message = (root: string, what: string) => `${root}: is ${what}, not a folder; the database keeps its trials' checkpoints in this folder: move it away, or choose another --db\n`;
    // A new database: none is made (before: made, the sweep marked running, and fs's "ENOTDIR ... unlink", exit 1).
    const fresh = join(dir, 'fresh.db');
    execFileSync('mkfifo', [checkpointRoot(fresh)]);
    const r = await cli(file, '--db', fresh, '--no-tui');
    expect([r.code, r.stdout, r.stderr]).toEqual([2, '', message(checkpointRoot(fresh), 'a FIFO')]);
    expect(readdirSync(dir).sort()).toEqual(['fresh.db.checkpoints', 'keep.yaml']);
    // A trained one (a copy of the database, without its checkpoints) whose folder is a file:
    // trained again and exported, each refused, the database unchanged.
    const db = join(dir, 'runs.db');
    copyFileSync((await oneEpochSweep()).db, db);
    const root = checkpointRoot(db);
    writeFileSync(root, 'notes\n');
    const before = readFileSync(db);
    const again = await cli(file, '--db', db, '--no-tui', '--rerun');
    expect([again.code, again.stdout, again.stderr]).toEqual([2, '', message(root, 'a file')]);
    expect(readFileSync(db).equals(before)).toBe(true);
    expect(query(db, `SELECT status FROM sweeps`)).toEqual([{ status: 'completed' }]);
    const exported = await cli('export', 'best', '--db', db, '--format', 'onnx', '--out', join(dir, 'model.onnx'));
    expect([exported.code, exported.stdout, exported.stderr]).toEqual([2, '', message(root, 'a file')]);
    expect(readFileSync(root, 'utf8')).toBe('notes\n');
  });
});
