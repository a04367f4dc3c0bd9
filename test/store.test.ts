/**
 * The database as the writer leaves it: the epoch aggregates kept in trial_records agree with
 * the epochs; a run re-queues the trials it will train; ranks belong to the sweep's current
 * metric; upgrades happen only through writers.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import { loadExperiment } from '../src/config/experiment.js';
import { openForReading, openForWriting, upgradeDatabase } from '../src/store/open.js';
import { confusionOf } from '../src/report/data.js';
import { listTrials } from '../src/store/queries.js';
import { migrate, SCHEMA_VERSION } from '../src/store/schema.js';
import { RunWriter } from '../src/store/writer.js';
import { problemsOf, tempDir, writeExperiment } from './helpers.js';
import { writeRuns } from './runs-fixture.js';

const YAML = 'name: st\nsweep: { parameters: { model.pooling: [avg, max] } }\n';

describe('the writer', () => {
  it('keeps the trials view aggregates equal to what the epochs give', () => {
    const { db } = writeRuns(YAML, (_t, i) => (i === 0 ? { status: 'completed', valAcc: [0.5, 0.9, 0.7], testAcc: 0.8 } : { status: 'running', valAcc: [0.6] }));
    const conn = new Database(db, { readonly: true });
    const fromViews = conn.prepare('SELECT id, epochs, val_acc, val_loss, images_per_s, seconds FROM trials ORDER BY id').all();
    const fromEpochs = conn
      .prepare(
        `SELECT t.id, count(e.epoch) AS epochs, max(e.val_acc) AS val_acc, min(e.val_loss) AS val_loss, avg(e.images_per_s) AS images_per_s, sum(e.seconds) AS seconds
           FROM trial_records t LEFT JOIN epoch_records e ON e.trial_id = t.id GROUP BY t.id ORDER BY t.id`,
      )
      .all();
    conn.close();
    expect(fromViews).toEqual(fromEpochs);
    expect(fromViews.map((r) => (r as { epochs: number }).epochs).sort()).toEqual([1, 3]);
  });

  it('re-queues the trials a run will train, dropping their earlier results', () => {
    const { db, experiment, trials } = writeRuns(YAML, () => ({ status: 'completed', valAcc: [0.9], testAcc: 0.9 }));
    const conn = openForWriting(db);
    const writer = RunWriter.begin(conn, 'st.yaml', experiment, trials, { host: 'test', versions: {} });
    writer.requeue([trials[1].id]);
    conn.close();
    const reader = openForReading(db);
    const rows = listTrials(reader, { sweep: 'st' });
    const epochs = reader.prepare('SELECT trial_id FROM epochs').all() as { trial_id: string }[];
    reader.close();
    expect(rows.map((t) => [t.id, t.status, t.rank, t.epochs, t.best_value])).toEqual([
      [trials[0].id, 'completed', 1, 1, 0.9],
      [trials[1].id, 'queued', null, 0, null],
    ]);
    expect(epochs.map((e) => e.trial_id)).toEqual([trials[0].id]);
  });

  it('ranks only trials of the sweep\'s current metric; others have no rank', () => {
    const { db, trials: before } = writeRuns(YAML, (_t, i) => ({ status: 'completed', valAcc: [0.9 + i / 100], testAcc: 0.9 }));
    // The same file run again, ranked by validation loss now: new trial ids, the old trials stay.
    const { trials: after } = writeRuns(`${YAML}metric: { name: val_loss, goal: minimize }\n`, (_t, i) => ({ status: 'completed', valAcc: [0.95 - i / 100] }), { db });
    const reader = openForReading(db);
    const rows = listTrials(reader, { sweep: 'st' });
    reader.close();
    expect(rows.map((t) => [t.id, t.rank, t.metric])).toEqual([
      [after[0].id, 1, 'val_loss'], // val_loss = 1 - val_acc = 0.05
      [after[1].id, 2, 'val_loss'],
      [before[0].id, null, 'val_acc'],
      [before[1].id, null, 'val_acc'],
    ]);
  });
});

describe('runs of a file', () => {
  it('each run numbers the trials it includes and gives them its swept params; a run that trains nothing keeps the last run\'s times', () => {
    const { db, experiment, trials } = writeRuns(YAML, () => ({ status: 'completed', valAcc: [0.9], testAcc: 0.9 }));
    const read = () => {
      const c = new Database(db, { readonly: true });
      const sweep = c.prepare('SELECT run, run_started_at, run_finished_at FROM sweeps').get();
      const rows = c.prepare('SELECT id, run, params FROM trial_records ORDER BY rowid').all();
      c.close();
      return { sweep, rows };
    };
    const before = read();
    // The same trials, now listed as if swept under another name: a second run that trains nothing.
    const conn = openForWriting(db);
    const writer = RunWriter.begin(conn, 'st.yaml', experiment, trials.map((t) => ({ ...t, params: { 'model.pooling': t.config.model.pooling, extra: 1 } })), { host: 'test', versions: {} });
    writer.finish('completed');
    conn.close();
    const after = read();
    expect(after.sweep).toEqual({ ...(before.sweep as object), run: 2 });
    expect(after.rows.map((r) => (r as { run: number }).run)).toEqual([2, 2]);
    expect(JSON.parse((after.rows[0] as { params: string }).params)).toEqual({ 'model.pooling': 'avg', extra: 1 });
  });
});

describe('schema versions', () => {
  function v1Database(): string {
    const path = join(tempDir(), 'v1.db');
    const old = new Database(path);
    migrate(old, path, 1);
    old.exec(`INSERT INTO sweeps (name, file, config, status, created_at, updated_at) VALUES ('old', 'old.yaml', '{"metric":{"name":"val_acc","goal":"maximize"}}', 'completed', '2026-01-01', '2026-01-01');
      INSERT INTO trials (id, sweep_id, params, config, status, best_epoch, best_value, test_acc) VALUES ('0123456789ab', 1, '{}', '{"training":{"epochs":2},"metric":{"name":"val_acc","goal":"maximize"}}', 'completed', 2, 0.97, 0.96);
      INSERT INTO epochs (trial_id, epoch, val_acc, images_per_s, seconds) VALUES ('0123456789ab', 1, 0.95, 1500, 2), ('0123456789ab', 2, 0.97, 1700, 2);`);
    old.close();
    return path;
  }

  it('readers refuse an older database without changing it; sweep upgrade brings it up, nothing lost', () => {
    const path = v1Database();
    expect(problemsOf(() => openForReading(path), path)).toEqual([
      `FILE: written by an older lenet-sweep (database schema version 1, this one reads ${SCHEMA_VERSION}); upgrade it in place with: sweep upgrade --db FILE (once no older sweep runs on it)`,
    ]);
    const check = new Database(path, { readonly: true });
    expect(check.pragma('user_version', { simple: true })).toBe(1);
    check.close();
    expect(upgradeDatabase(path)).toEqual({ from: 1, to: SCHEMA_VERSION });
    expect(upgradeDatabase(path)).toEqual({ from: SCHEMA_VERSION, to: SCHEMA_VERSION });
    const reader = openForReading(path);
    const [row] = listTrials(reader);
    reader.close();
    expect(row).toMatchObject({ id: '0123456789ab', sweep: 'old', rank: 1, best_value: 0.97, test_acc: 0.96, epochs: 2, epochs_planned: 2, val_acc: 0.97, images_per_s: 1600, seconds: 4 });
    // Version 4 rebuilt trial_records (a trial may be pruned): the epochs still belong to it, by a
    // foreign key that still holds, and its place in the order is kept.
    const w = new Database(path);
    // Version 6 gave each stored epoch its place in its sweep's sequence (its rowid, which only grew), and the sweep the last one.
    expect(w.prepare(`SELECT epoch, seq FROM epoch_records ORDER BY epoch`).all()).toEqual([{ epoch: 1, seq: 1 }, { epoch: 2, seq: 2 }]);
    expect(w.prepare(`SELECT epoch_seq FROM sweeps`).get()).toEqual({ epoch_seq: 2 });
    w.pragma('foreign_keys = ON');
    w.prepare(`UPDATE trial_records SET status = 'pruned', prune_reason = 'val_acc 0.95 at epoch 1 below the median 0.96' WHERE id = ?`).run('0123456789ab');
    expect(w.prepare(`SELECT status, prune_reason FROM trials`).get()).toEqual({ status: 'pruned', prune_reason: 'val_acc 0.95 at epoch 1 below the median 0.96' });
    // Version 7: a change a page shows takes the sweep's next place; progress within an epoch, or a write that changes nothing, does not.
    expect(w.prepare(`SELECT t.change_seq, s.epoch_seq FROM trial_records t JOIN sweeps s ON s.id = t.sweep_id`).get()).toEqual({ change_seq: 3, epoch_seq: 3 });
    w.prepare(`UPDATE trial_records SET current_batch = 7, status = 'pruned'`).run();
    expect(w.prepare(`SELECT t.change_seq, s.epoch_seq FROM trial_records t JOIN sweeps s ON s.id = t.sweep_id`).get()).toEqual({ change_seq: 3, epoch_seq: 3 });
    w.prepare(`UPDATE sweeps SET status = 'running'`).run();
    expect(w.prepare(`SELECT t.change_seq, s.epoch_seq FROM trial_records t JOIN sweeps s ON s.id = t.sweep_id`).get()).toEqual({ change_seq: 3, epoch_seq: 4 });
    expect(() => w.prepare(`INSERT INTO epoch_records (trial_id, epoch) VALUES ('nope', 1)`).run()).toThrow(/FOREIGN KEY/);
    expect((w.pragma('foreign_key_list(epoch_records)') as { table: string }[]).map((k) => k.table)).toEqual(['trial_records']);
    expect(w.prepare(`SELECT rowid FROM trial_records`).get()).toEqual({ rowid: 1 });
    w.prepare(`DELETE FROM trial_records`).run();
    expect(w.prepare(`SELECT count(*) AS n FROM epoch_records`).get()).toEqual({ n: 0 });
    w.close();
  });

  it('writers check a database is theirs before writing anything to it, WAL mode included', () => {
    const dir = tempDir();
    const foreign = join(dir, 'foreign.db');
    const f = new Database(foreign);
    f.exec('CREATE TABLE notes (x); INSERT INTO notes VALUES (1);');
    f.close();
    const empty = join(dir, 'empty.db');
    writeFileSync(empty, '');
    const before = readFileSync(foreign);
    expect(problemsOf(() => openForWriting(foreign), foreign)).toEqual(['FILE: not a lenet-sweep database (it has tables but no lenet-sweep schema version)']);
    expect(problemsOf(() => upgradeDatabase(foreign), foreign)).toEqual(['FILE: not a lenet-sweep database (it has tables but no lenet-sweep schema version)']);
    expect(problemsOf(() => upgradeDatabase(empty), empty)).toEqual(['FILE: not a lenet-sweep database (it is empty), so nothing to upgrade; a sweep run with --db PATH creates one']);
    expect(problemsOf(() => upgradeDatabase(dir), dir)).toEqual(['FILE: is a directory, not a database file; pass the database file with --db PATH (e.g. --db runs/runs.db)']);
    expect(readFileSync(foreign).equals(before)).toBe(true);
    expect(readFileSync(empty).length).toBe(0);
    // A writer (a sweep) makes an empty file a database, in WAL mode.
    const conn = openForWriting(empty);
    expect(conn.pragma('journal_mode', { simple: true })).toBe('wal');
    conn.close();
    expect(upgradeDatabase(empty)).toEqual({ from: SCHEMA_VERSION, to: SCHEMA_VERSION });
  });

  it('a sweep on an older database upgrades it', () => {
    const path = v1Database();
    const { experiment, trials } = loadExperiment(writeExperiment(YAML));
    const conn = openForWriting(path);
    RunWriter.begin(conn, 'st.yaml', experiment, trials, { host: 'test', versions: {} });
    conn.close();
    const reader = openForReading(path);
    expect(listTrials(reader).map((t) => t.sweep)).toEqual(['old', 'st', 'st']);
    reader.close();
  });
});

describe('confusion matrices', () => {
  it('keep their size: the last class\'s diagonal is stored even when no test image had that class', () => {
    // 12 classes, the last two with no image and never predicted.
    const matrix = Array.from({ length: 12 }, (_, a) => Array.from({ length: 12 }, (_, p) => (a < 10 && p < 10 ? (a === p ? 9 : a === (p + 1) % 10 ? 1 : 0) : 0)));
    const { db } = writeRuns(YAML, () => ({ status: 'completed', valAcc: [0.9], testAcc: 0.9, confusion: matrix }));
    const reader = openForReading(db);
    const id = (reader.prepare('SELECT id FROM trials ORDER BY id LIMIT 1').get() as { id: string }).id;
    const stored = confusionOf(reader, id)!;
    reader.close();
    expect(stored.matrix).toEqual(matrix);
  });
});
