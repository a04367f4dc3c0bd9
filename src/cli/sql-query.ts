/**
 * The statement of `sweep runs sql`, run and printed as its rows are read. It runs in a process
 * of its own (sql-process.ts): SQLite computes a row without returning to JavaScript, so a
 * statement that runs long (a recursive query without end, a join of millions) would leave this
 * process deaf to Ctrl-C; the command's own process stays free to end it.
 */
import type Database from 'better-sqlite3';
import { UserError } from '../config/errors.js';
import { withReadOnly } from '../store/open.js';
import { printLines, renderLines, type Format } from './output.js';

/** What the command's process hands the query's process. */
export interface SqlQuery {
  db: string;
  statement: string;
  format: Format;
}

export function printQuery({ db: path, statement: text, format }: SqlQuery): Promise<number> {
  return withReadOnly(path, async (db) => {
    let statement: Database.Statement;
    try {
      statement = db.prepare(text);
    } catch (err) {
      throw new UserError(`sweep runs sql: ${(err as Error).message}; the views are trials, epochs, leaderboard, checkpoints, attempts and confusion (see README)`);
    }
    if (!statement.readonly) throw new UserError('sweep runs sql: only statements that read are allowed (SELECT, WITH …); this one would change the database');
    if (!statement.reader) throw new UserError('sweep runs sql: the statement returns no rows; use SELECT');
    function* rows() {
      try {
        for (const r of statement.raw(true).safeIntegers(true).iterate() as IterableIterator<unknown[]>) yield r.map(plainValue);
      } catch (err) {
        throw new UserError(`sweep runs sql: ${(err as Error).message}`);
      }
    }
    // Rows are printed as they are read: a query of millions of rows needs no more memory than one.
    await printLines(renderLines({ headers: statement.columns().map((c) => c.name), rows: rows() }, format, '(no rows)'));
    return 0;
  });
}

/** SQLite values as JSON can hold them: integers beyond 2^53 as exact text, blobs as hex literals. */
function plainValue(v: unknown): unknown {
  if (typeof v === 'bigint') return Number.isSafeInteger(Number(v)) ? Number(v) : v.toString();
  if (Buffer.isBuffer(v)) return `x'${v.toString('hex')}'`;
  return v;
}
