/**
 * `sweep report` of a sweep of 200,000 trials: it crashed with "Maximum call stack size exceeded"
 * (the charts took the extremes of every trial's value as Math.min(...values)), and its page is
 * more text than one string can hold. The database is written by SQL alone, in the schema a
 * sweep makes (store/schema.ts): a random search over the learning rate and pooling, each trial
 * completed after one epoch. And a report that takes a while is stopped by a signal at once,
 * writing nothing.
 */
import { spawn } from 'node:child_process';
import { closeSync, openSync, readdirSync, readSync, rmSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadExperiment } from '../src/config/experiment.js';
import { openForWriting } from '../src/store/open.js';
import { CLI, cli } from './cli-helpers.js';
import { tempDir, writeExperiment } from './helpers.js';

const TRIALS = 200_000;

/** A database of one sweep of `trials` completed trials, made in a few seconds. */
function sweepOf(trials: number): string {
  const file = writeExperiment(`
name: huge
metric: { name: val_acc, goal: maximize }
training: { epochs: 1 }
sweep:
  method: random
  count: 1
  parameters:
    optimizer.lr: { distribution: log_uniform_values, min: 0.0001, max: 0.1 }
    model.pooling: [avg, max]
`);
  // The file's config with its count, and one trial's: each trial's own lr and pooling are set in it by SQL.
  const { experiment: loaded, trials: [first] } = loadExperiment(file);
  const experiment = { ...loaded, sweep: { ...loaded.sweep, count: trials } };
  const path = join(tempDir(), 'runs.db');
  const db = openForWriting(path);
  try {
    db.transaction(() => {
      const at = '2024-01-01T00:00:00Z';
      const { id } = db
        .prepare(`INSERT INTO sweeps (name, file, config, status, created_at, updated_at, host, versions, metric, goal, run, run_started_at, run_finished_at)
                  VALUES ('huge', ?, ?, 'completed', ?, ?, 'test', '{}', 'val_acc', 'maximize', 1, ?, ?) RETURNING id`)
        .get(file, JSON.stringify(experiment), at, at, at, at) as { id: number };
      // Values spread over the trials (a multiplicative hash of the row number), so that ranks differ.
      db.prepare(
        `WITH RECURSIVE n(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM n LIMIT ${trials}),
              v AS (SELECT x, pow(10, -4 + 3 * ((x * 7919) % 1000) / 1000.0) AS lr, iif(x % 2, 'max', 'avg') AS pooling,
                           0.9 + ((x * 104729) % 10000) / 200000.0 AS acc FROM n)
         INSERT INTO trial_records (id, sweep_id, params, config, status, attempt, backend, param_count, started_at, finished_at,
                                    best_epoch, best_value, test_loss, test_acc, epochs, epochs_planned, val_acc, val_loss, images_per_s, seconds, metric, goal, run)
         SELECT printf('%012x', x), @sweep, json_object('optimizer.lr', lr, 'model.pooling', pooling),
                json_set(@config, '$.optimizer.lr', lr, '$.model.pooling', pooling), 'completed', 1, 'wasm', 61706,
                '2024-01-01T00:00:00Z', '2024-01-01T00:00:05Z', 1, acc, 0.1, acc - 0.01, 1, 1, acc, 0.2, 2000, 5, 'val_acc', 'maximize', 1
           FROM v`,
      ).run({ sweep: id, config: JSON.stringify({ ...first.config, sweep: experiment.sweep }) });
      db.exec(`INSERT INTO epoch_records (trial_id, epoch, train_loss, train_acc, val_loss, val_acc, lr, seconds, images_per_s)
               SELECT id, 1, 0.3, best_value - 0.02, 0.2, best_value, json_extract(params, '$."optimizer.lr"'), 5, 2000 FROM trial_records`);
    })();
  } finally {
    db.close();
  }
  return path;
}

/** The last bytes of a file. */
function tail(path: string, bytes: number): string {
  const fd = openSync(path, 'r');
  try {
    const buffer = Buffer.alloc(bytes);
    const n = readSync(fd, buffer, 0, bytes, Math.max(0, statSync(path).size - bytes));
    return buffer.subarray(0, n).toString();
  } finally {
    closeSync(fd);
  }
}

describe('a report of a very large sweep', () => {
  it(`is written for ${TRIALS.toLocaleString('en')} trials, a page larger than one string can hold`, async () => {
    const db = sweepOf(TRIALS);
    const out = join(tempDir(), 'huge.html');
    try {
      const r = await cli('report', '--db', db, '--out', out);
      expect([r.code, r.stderr]).toEqual([0, '']);
      expect(r.stdout).toMatch(new RegExp(`^wrote ${out} \\(\\d+\\.\\d\\d MB\\): sweep huge, ${TRIALS} trials\\n$`));
      // More than 512 MB: before, it was one string, which cannot be longer.
      expect(statSync(out).size).toBeGreaterThan(2 ** 29);
      expect(tail(out, 32)).toMatch(/<\/script>\n<\/body>\n<\/html>\n$/);
    } finally {
      // A gigabyte between them.
      for (const file of [db, out]) rmSync(dirname(file), { recursive: true, force: true });
    }
  }, 900_000);
});

describe('a report stopped by a signal', () => {
  it('ends within a second of Ctrl-C, SIGTERM or SIGHUP while it reads and draws 20,000 trials, and writes nothing', async () => {
    const db = sweepOf(20_000);
    const folder = tempDir();
    for (const [signal, code] of [['SIGINT', 130], ['SIGTERM', 143], ['SIGHUP', 129]] as const) {
      const out = join(folder, `${signal}.html`);
      const child = spawn(process.execPath, [CLI, 'report', '--db', db, '--out', out], { stdio: ['ignore', 'pipe', 'pipe'] });
      let output = '';
      child.stdout.on('data', (d: Buffer) => (output += d.toString()));
      child.stderr.on('data', (d: Buffer) => (output += d.toString()));
      const ended = new Promise<number | null>((resolve) => child.on('close', resolve));
      // Well into reading the trials and making the page (which takes some 20 s here).
      await new Promise((resolve) => setTimeout(resolve, 3000));
      const sent = performance.now();
      child.kill(signal);
      // Before the fix the report went on to the end and was written: the test ends it itself.
      const killer = setTimeout(() => child.kill('SIGKILL'), 10_000);
      const exit = await ended;
      clearTimeout(killer);
      expect([signal, exit, output]).toEqual([signal, code, '']);
      expect((performance.now() - sent) / 1000).toBeLessThan(1);
    }
    // No page, not even part of one; the database closed (no -wal or -shm beside it).
    expect(readdirSync(folder)).toEqual([]);
    expect(readdirSync(dirname(db))).toEqual(['runs.db']);
  }, 60_000);
});

