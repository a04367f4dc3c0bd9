/**
 * Opening runs.db. The sweep process is its one writer (WAL mode, so readers never block it);
 * it also brings an older database up to the current schema. Every other command opens it
 * read-only and never changes it.
 */
import { accessSync, constants, existsSync, mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import Database from 'better-sqlite3';
import { UserError } from '../config/errors.js';
import { checkVersion, migrate, SCHEMA_VERSION } from './schema.js';

export const DEFAULT_DB = 'runs/runs.db';

export function openForWriting(path: string): Database.Database {
  return open(path).db;
}

/** `sweep upgrade`: brings an existing database to this version's schema. */
export function upgradeDatabase(path: string): { from: number; to: number } {
  if (!existsSync(path)) throw new UserError({ file: path, message: 'no such database; pass the one to upgrade with --db PATH' });
  const { db, from } = open(path);
  db.close();
  return { from, to: SCHEMA_VERSION };
}

/** Opens (or creates) a database for writing, migrated to the current schema; `from` is the version it had. */
function open(path: string): { db: Database.Database; from: number } {
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
    return { db, from: migrate(db, path) };
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
      // Readers never write: an older lenet-sweep may still be running a sweep on this file, and
      // renaming its tables under it would make it fail.
      throw new UserError({
        file: path,
        message: `written by an older lenet-sweep (database schema version ${version}, this one reads ${SCHEMA_VERSION}); upgrade it in place with: sweep upgrade --db ${path} (once no older sweep runs on it)`,
      });
    }
    return db;
  } catch (err) {
    db.close();
    if (err instanceof UserError) throw err;
    throw new UserError({ file: path, message: `not a lenet-sweep database (${(err as Error).message})` });
  }
}

/** Runs `use` on a read-only connection that is closed afterwards, whatever happens. */
export function withReadOnly<T>(path: string, use: (db: Database.Database) => T): T {
  const db = openForReading(path);
  try {
    return use(db);
  } finally {
    db.close();
  }
}
