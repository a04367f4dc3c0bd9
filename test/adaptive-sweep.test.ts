/**
 * Adaptive sweeps end to end, with the real CLI, pool and database on tiny budgets: each
 * early-termination rule prunes trials (kept with their epochs and the rule's figures, no test
 * evaluation, listed by runs list --status pruned and counted by sweeps list); tpe chooses trials
 * as results come in, the same ones every time with one worker, and a second run of the file
 * continues the same search; bad rules and methods are refused before anything trains.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import { cli } from './cli-helpers.js';
import { tempDir, writeExperiment } from './helpers.js';

interface Row {
  id: string;
  status: string;
  epochs: number;
  epochs_planned: number;
  test_acc: number | null;
  prune_reason: string | null;
  params: string;
}

function trialsOf(db: string): Row[] {
  const conn = new Database(db, { readonly: true });
  try {
    return conn.prepare('SELECT t.id, t.status, t.epochs, t.epochs_planned, t.test_acc, t.prune_reason, t.params FROM trials t JOIN trial_records r ON r.id = t.id ORDER BY r.rowid').all() as Row[];
  } finally {
    conn.close();
  }
}

/** Learning rates in an order that puts the weak trials (slow to learn) after strong ones: a rule has something to compare them with. */
const RATES = '[0.003, 0.005, 0.004, 0.0003, 0.0002, 0.0001]';

const ruleFile = (rule: string) =>
  writeExperiment(`name: rules\ntraining: { epochs: 3, batch_size: 64, seed: 1, limit_train: 256 }\nsweep:\n  parameters:\n    optimizer.lr: ${RATES}\n  early_terminate: ${rule}\n`);

describe('early termination end to end', () => {
  it.each([
    ['hyperband', '{ type: hyperband, min_iter: 1, eta: 3 }', /below the band cutoff/],
    ['median', '{ type: median, n_startup_trials: 2 }', /below the median/],
    ['asha', '{ type: asha, min_resource: 1, reduction_factor: 2 }', /not in the top 1\/2 of rung 0/],
  ])('%s prunes trials: pruned in runs list and sweeps list, with their epochs and the rule figures, no test evaluation', async (_name, rule, reason) => {
    const db = join(tempDir(), 'runs.db');
    const r = await cli(ruleFile(rule), '--db', db, '--no-tui', '--workers', '1');
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const trials = trialsOf(db);
    const pruned = trials.filter((t) => t.status === 'pruned');
    expect(pruned.length).toBeGreaterThan(0);
    for (const t of pruned) {
      expect(t.epochs).toBeGreaterThan(0);
      expect(t.epochs).toBeLessThan(t.epochs_planned);
      expect(t.test_acc).toBeNull();
      expect(t.prune_reason).toMatch(reason);
      expect(t.prune_reason).toMatch(/val_acc \d\.\d+ (at|by) epoch \d/);
    }
    // Never pruned after its last epoch: a trial that ran them all completed.
    for (const t of trials.filter((t) => t.epochs === t.epochs_planned)) expect(t.status).toBe('completed');
    expect(r.stdout).toMatch(/\] pruned: /);

    const listed = await cli('runs', 'list', '--db', db, '--status', 'pruned', '--csv');
    expect(listed.code).toBe(0);
    expect(listed.stdout.trim().split('\n')).toHaveLength(pruned.length + 1);
    const sweeps = await cli('sweeps', 'list', '--db', db, '--csv');
    const [header, row] = sweeps.stdout.trim().split('\n').map((l) => l.split(','));
    expect(row[header.indexOf('pruned')]).toBe(String(pruned.length));
    // The dashboard without a terminal prints the board: the pruned trials with their status.
    const board = await cli('dashboard', '--db', db);
    expect(board.stdout.split('\n').filter((l) => / pruned *$/.test(l))).toHaveLength(pruned.length);
    const shown = await cli('runs', 'show', pruned[0].id, '--db', db);
    expect(shown.stdout).toMatch(new RegExp(`: pruned by the rule: .*${reason.source}`));
  });
});

const tpeFile = (count: number, seed = 5) =>
  writeExperiment(
    `name: tpe\ntraining: { epochs: 2, batch_size: 64, seed: 1, limit_train: 256 }\n` +
      `sweep:\n  method: tpe\n  count: ${count}\n  seed: ${seed}\n  startup_trials: 2\n  parameters:\n` +
      `    optimizer.lr: { distribution: log_uniform_values, min: 0.0001, max: 0.01 }\n    model.pooling: { values: [avg, max] }\n` +
      `  early_terminate: { type: asha, min_resource: 1, reduction_factor: 2 }\n`,
  );

describe('tpe end to end', () => {
  it('with one worker the same file gives the same trials and decisions; a second run with a larger count continues the search', async () => {
    const dir = tempDir();
    const runs = await Promise.all([1, 2].map(async (k) => {
      const db = join(dir, `runs${k}.db`);
      const r = await cli(tpeFile(4), '--db', db, '--no-tui', '--workers', '1');
      expect(r.stderr).toBe('');
      expect(r.code).toBe(0);
      expect(r.stdout).toMatch(/sweep tpe: at most 4 trials \(tpe\)/);
      return { db, trials: trialsOf(db) };
    }));
    const [a, b] = runs;
    expect(a.trials).toHaveLength(4);
    expect(b.trials.map((t) => [t.id, t.status, t.epochs])).toEqual(a.trials.map((t) => [t.id, t.status, t.epochs]));

    // The file asks for 6 now: the 4 stored trials stay as they are and 2 more are chosen from them.
    const more = await cli(tpeFile(6), '--db', a.db, '--no-tui', '--workers', '1');
    expect(more.code).toBe(0);
    expect(more.stdout).toMatch(/at most 6 trials \(tpe\), \d already completed(, \d pruned)?; running up to 2 on 1 worker/);
    const after = trialsOf(a.db);
    expect(after).toHaveLength(6);
    expect(after.slice(0, 4)).toEqual(a.trials);
    // Nothing left to run: the search is complete and says so.
    const again = await cli(tpeFile(6), '--db', a.db, '--no-tui');
    expect(again.code).toBe(0);
    expect(again.stdout).toMatch(/at most 6 trials \(tpe\), \d already completed(, \d pruned)? →/);
    expect(trialsOf(a.db)).toEqual(after);
    // Another seed would draw other start-up trials: the search still holds its 6, and runs none.
    const reseeded = await cli(tpeFile(6, 9), '--db', a.db, '--no-tui');
    expect(reseeded.code).toBe(0);
    expect(trialsOf(a.db)).toEqual(after);
    // The dashboard shows the whole search, the trials of its earlier runs too.
    const board = await cli('dashboard', '--db', a.db);
    expect(board.stdout.split('\n').filter((l) => /^\d+ .* (completed|pruned) *$/.test(l))).toHaveLength(6);
  });

  it('a proposal the wasm heap cannot hold is skipped with what to lower; workers are not bounded by the start-up trials', async () => {
    const db = join(tempDir(), 'runs.db');
    // The start-up trial (seed 1) is the light one; the other point of the space needs 44 GB a step.
    const file = writeExperiment(
      'name: heavy\ntraining: { epochs: 1, batch_size: 4096, limit_train: 4096 }\n' +
        'sweep:\n  method: tpe\n  count: 2\n  seed: 1\n  startup_trials: 1\n  parameters:\n    model.conv1_filters: [6, 400]\n',
    );
    const r = await cli(file, '--db', db, '--no-tui', '--workers', '2');
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/running up to 2 on 2 workers/);
    expect(r.stdout).toMatch(/note: skipped the values model\.conv1_filters=400: a training step of batch 4096 .* needs about \d+ GB, more than the wasm backend's 4 GB; lower training\.batch_size/);
    expect(trialsOf(db).map((t) => [JSON.parse(t.params)['model.conv1_filters'], t.status])).toEqual([[6, 'completed']]);
  });

  it('metric.target: no new trial starts once one reaches it', async () => {
    const db = join(tempDir(), 'runs.db');
    const file = writeExperiment(
      `name: target\nmetric: { name: val_acc, goal: maximize, target: 0.05 }\ntraining: { epochs: 1, batch_size: 64, seed: 1, limit_train: 256 }\n` +
        `sweep:\n  method: tpe\n  count: 5\n  parameters:\n    optimizer.lr: { distribution: log_uniform_values, min: 0.001, max: 0.01 }\n`,
    );
    const r = await cli(file, '--db', db, '--no-tui', '--workers', '1');
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/reached the target val_acc/);
    // The first trial reaches it in its only epoch: no other is proposed.
    expect(trialsOf(db).map((t) => t.status)).toEqual(['completed']);
    const again = await cli(file, '--db', db, '--no-tui');
    expect(again.stdout).toMatch(/at most 5 trials \(tpe\), 1 already completed →/);
  });
});

describe('bad adaptive input', () => {
  const cases: [string, string, RegExp][] = [
    ['unknown rule', '  early_terminate: { type: hyperbnd, min_iter: 1 }\n', /:9:\d+: sweep\.early_terminate\.type: expected one of hyperband, median, asha, found 'hyperbnd' \(did you mean 'hyperband'\?\)/],
    ['a key of another rule', '  early_terminate: { type: median, eta: 3 }\n', /:9:\d+: sweep\.early_terminate: 'eta' belongs to type hyperband, not median/],
    ['min_iter beyond the epochs', '  early_terminate: { type: hyperband, min_iter: 5 }\n', /:9:\d+: sweep\.early_terminate\.min_iter: 5 is beyond the epochs/],
    ['eta of 1', '  early_terminate: { type: hyperband, min_iter: 1, eta: 1 }\n', /:9:\d+: sweep\.early_terminate\.eta: must be greater than 1/],
    ['reduction_factor of 1', '  early_terminate: { type: asha, reduction_factor: 1 }\n', /:9:\d+: sweep\.early_terminate\.reduction_factor: must be 2 or more/],
    ['a min_resource that is not a number or auto', '  early_terminate: { type: asha, min_resource: automatic }\n', /:9:\d+: sweep\.early_terminate\.min_resource: expected a number of epochs \(1 or more\) or auto, found 'automatic'/],
    ['asha whose first rung is past the epochs (auto)', '  early_terminate: { type: asha, min_early_stopping_rate: 5 }\n', /:9:\d+: sweep\.early_terminate\.min_early_stopping_rate: the first rung is at epoch 1024, beyond the epochs/],
  ];
  it.each(cases)('%s: one line with file:line:col, exit 2, no database', async (_name, rule, message) => {
    const db = join(tempDir(), 'runs.db');
    const file = writeExperiment(
      `name: bad\ntraining: { epochs: 3, limit_train: 256 }\nsweep:\n  method: random\n  count: 2\n  parameters:\n    optimizer.lr: { distribution: uniform, min: 0.001, max: 0.01 }\n    model.pooling: [avg, max]\n${rule}`,
    );
    const r = await cli(file, '--db', db);
    expect(r.code).toBe(2);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stderr).toMatch(message);
    expect(existsSync(db)).toBe(false);
  });

  it.each([
    ['an unknown method', 'method: tpx\n  count: 3', /sweep\.method: expected one of grid, random, tpe, bayes, found 'tpx' \(did you mean 'tpe'\?\)/],
    ['bayes with nothing to search', 'method: bayes\n  count: 3\n  parameters: { model.pooling: { value: max } }', /method bayes has nothing to search/],
    ['tpe without count', 'method: tpe', /sweep\.count: method tpe needs count/],
    ['no start-up trial', 'method: tpe\n  count: 3\n  startup_trials: 0', /sweep\.startup_trials: .*(>= 1|at least 1|1 or more)/],
    ['grid with a continuous distribution', 'method: grid\n  parameters: { optimizer.lr: { distribution: uniform, min: 0.001, max: 0.01 } }', /method grid needs values to list/],
  ])('%s: one line, exit 2', async (_name, sweep, message) => {
    const parameters = sweep.includes('parameters') ? '' : '\n  parameters: { optimizer.lr: { distribution: uniform, min: 0.001, max: 0.01 } }';
    const file = writeExperiment(`name: bad\nsweep:\n  ${sweep}${parameters}\n`);
    const r = await cli(file, '--db', join(tempDir(), 'runs.db'));
    expect(r.code).toBe(2);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stderr).toMatch(/exp\.yaml:\d+:\d+: /);
    expect(r.stderr).toMatch(message);
  });
});
