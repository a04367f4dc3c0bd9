/**
 * Readers never hurt a running sweep: another process holding read transactions for seconds
 * at a time (as a sqlite3 shell or a dashboard might) while the sweep writes every epoch.
 * WAL mode lets the writer go on; no epoch may be lost and the sweep must not fail.
 */
import { spawn } from 'node:child_process';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { expect, it } from 'vitest';
import { startCli } from './cli-helpers.js';
import { tempDir, writeExperiment } from './helpers.js';

const BETTER_SQLITE3 = createRequire(import.meta.url).resolve('better-sqlite3');

/** Holds a read transaction for HOLD_MS, lets go for a moment, and again, until killed; prints each hold. */
const READER = `
const Database = require(${JSON.stringify(BETTER_SQLITE3)});
const [path, holdMs] = [process.argv[1], Number(process.argv[2])];
const sleep = (ms) => Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
let db;
while (!db) {
  try { db = new Database(path, { readonly: true, fileMustExist: true }); db.prepare('SELECT count(*) FROM epochs').get(); }
  catch { db?.close(); db = undefined; sleep(50); }
}
for (;;) {
  db.prepare('BEGIN').run();
  const { n } = db.prepare('SELECT count(*) AS n FROM epochs').get();
  const start = Date.now();
  sleep(holdMs);
  const end = Date.now();
  db.prepare('COMMIT').run();
  console.log('held ' + start + ' ' + end + ' with ' + n + ' epochs');
  sleep(5);
}
`;

it('a reader holding read transactions for seconds never makes the sweep fail or lose an epoch', async () => {
  const db = join(tempDir(), 'runs.db');
  const file = writeExperiment('name: busy\ntraining: { epochs: 6, limit_train: 2000 }\nsweep: { parameters: { model.pooling: [avg, max] } }\n');
  let readerOut = '';
  let reader: ReturnType<typeof spawn> | undefined;
  // When each epoch line appeared: it is printed after the epoch is in the database.
  const epochTimes: number[] = [];
  const sweep = startCli([file, '--db', db, '--no-tui'], (out) => {
    while (epochTimes.length < (out.match(/ epoch \d\/6 /g)?.length ?? 0)) epochTimes.push(Date.now());
    // Start reading as soon as the database exists, while the trials train.
    if (!reader && /started on/.test(out)) {
      reader = spawn(process.execPath, ['-e', READER, db, '1200'], { stdio: ['ignore', 'pipe', 'inherit'] });
      reader.stdout!.on('data', (d: Buffer) => (readerOut += d.toString()));
    }
  });
  const result = await sweep;
  reader?.kill();
  expect(result.stderr).toBe('');
  expect(result.code).toBe(0);
  // The reader really did hold transactions during the sweep, more than once, and epochs were
  // written while it held them (a rollback journal would have made the writer wait instead).
  const holds = [...readerOut.matchAll(/held (\d+) (\d+)/g)].map((m) => [Number(m[1]), Number(m[2])]);
  expect(holds.length).toBeGreaterThanOrEqual(2);
  const writtenDuringHolds = epochTimes.filter((t) => holds.some(([start, end]) => t > start + 50 && t < end - 50));
  expect(writtenDuringHolds.length).toBeGreaterThanOrEqual(1);
  const conn = new Database(db, { readonly: true });
  const trials = conn.prepare('SELECT status, epochs FROM trials').all();
  const epochs = conn.prepare('SELECT trial_id, epoch FROM epochs ORDER BY trial_id, epoch').all() as { epoch: number }[];
  conn.close();
  expect(trials).toEqual([{ status: 'completed', epochs: 6 }, { status: 'completed', epochs: 6 }]);
  expect(epochs.map((e) => e.epoch)).toEqual([1, 2, 3, 4, 5, 6, 1, 2, 3, 4, 5, 6]);
});
