/**
 * Opening runs.db. The sweep process is its one writer (WAL mode, so readers never block it);
 * `sweep runs …` and `sweep plan` open it read-only.
 */
import { accessSync, constants, existsSync, mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import Database from 'better-sqlite3';
import { UserError } from '../config/errors.js';
import { checkVersion, migrate, SCHEMA_VERSION } from './schema.js';

export const DEFAULT_DB = 'runs/runs.db';

export function openForWriting(path: string): Database.Database {
  let db: Database.Database | undefined;
  try {
    mkdirSync(dirname(path), { recursive: true });
    if (existsSync(path)) accessSync(path, constants.R_OK | constants.W_OK);
    db = new Database(path);
    db.pragma('journal_mode = WAL');
  } catch (err) {
    db?.close();
    throw new UserError({ file: path, message: `cannot open the database for writing (${(err as Error).message}); choose another with --db PATH` });
  }
  try {
    // A reader holding a lock during a checkpoint makes the writer wait, not fail.
    db.pragma('busy_timeout = 10000');
    db.pragma('synchronous = NORMAL');
    db.pragma('foreign_keys = ON');
    migrate(db, path);
    return db;
  } catch (err) {
    db.close();
    if (err instanceof UserError) throw err;
    throw new UserError({ file: path, message: `not a usable lenet-sweep database (${(err as Error).message})` });
  }
}

export function openForReading(path: string): Database.Database {
  if (!existsSync(path)) throw new UserError({ file: path, message: 'no such database; run a sweep first or pass --db PATH' });
  let db: Database.Database;
  try {
    db = new Database(path, { readonly: true, fileMustExist: true });
    db.pragma('busy_timeout = 10000');
  } catch (err) {
    throw new UserError({ file: path, message: `cannot open the database (${(err as Error).message})` });
  }
  try {
    const version = checkVersion(db, path);
    if (version === 0) throw new UserError({ file: path, message: 'not a lenet-sweep database (empty)' });
    if (version < SCHEMA_VERSION) {
      // Written by an older lenet-sweep: upgrade it in place once (nothing is lost), then read.
      db.close();
      openForWriting(path).close();
      return openForReading(path);
    }
    return db;
  } catch (err) {
    db.close();
    if (err instanceof UserError) throw err;
    throw new UserError({ file: path, message: `not a lenet-sweep database (${(err as Error).message})` });
  }
}
