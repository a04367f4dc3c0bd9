/**
 * Opening runs.db. The sweep process is its one writer (WAL mode, so readers never block it);
 * it also brings an older database up to the current schema. Every other command opens it
 * read-only and never changes it.
 */
import { accessSync, constants, existsSync, mkdirSync, statSync } from 'node:fs';
import { dirname } from 'node:path';
import Database from 'better-sqlite3';
import { UserError } from '../config/errors.js';
import { checkVersion, migrate, SCHEMA_VERSION } from './schema.js';

export const DEFAULT_DB = 'runs/runs.db';

export function openForWriting(path: string): Database.Database {
  return open(path, { create: true }).db;
}

/** `sweep upgrade`: brings an existing lenet-sweep database to this version's schema. */
export function upgradeDatabase(path: string): { from: number; to: number } {
  checkPath(path);
  if (!existsSync(path)) throw new UserError({ file: path, message: 'no such database, so nothing to upgrade; pass the one to upgrade with --db PATH' });
  const { db, from } = open(path, { create: false });
  db.close();
  return { from, to: SCHEMA_VERSION };
}

/** Refuses a path that cannot name a database file: an empty one, or a directory. */
function checkPath(path: string): void {
  if (path === '') throw new UserError('--db: expected a path to the database file, found an empty string');
  // A path ending in a separator names a folder, existing or not (a file made there could not be found again by that name).
  let isDirectory = /[\\/]$/.test(path);
  try {
    isDirectory ||= statSync(path).isDirectory();
  } catch {
    // Missing or unreadable: each caller says which.
  }
  if (isDirectory) throw new UserError({ file: path, message: 'is a directory, not a database file; pass the database file with --db PATH (e.g. --db runs/runs.db)' });
}

/**
 * Opens a database for writing, migrated to the current schema; `from` is the version it had.
 * `create`: an empty or missing file becomes a new database (a sweep); otherwise it is refused
 * (`sweep upgrade` has nothing to upgrade). The file is checked to be ours (or empty) before
 * anything is written to it, WAL mode included: a refused file is left as it was.
 */
function open(path: string, { create }: { create: boolean }): { db: Database.Database; from: number } {
  checkPath(path);
  const unwritable = (err: unknown) =>
    new UserError({ file: path, message: `cannot open the database for writing (${(err as Error).message}); choose another with --db PATH` });
  let db: Database.Database | undefined;
  try {
    mkdirSync(dirname(path), { recursive: true });
    if (existsSync(path)) accessSync(path, constants.R_OK | constants.W_OK);
    db = new Database(path, { fileMustExist: !create });
  } catch (err) {
    db?.close();
    throw unwritable(err);
  }
  try {
    // A reader holding a lock during a checkpoint makes the writer wait, not fail.
    db.pragma('busy_timeout = 10000');
    // Only reads until the file is known to be a lenet-sweep database, or an empty one.
    const version = checkVersion(db, path);
    if (version === 0 && !create) {
      throw new UserError({ file: path, message: 'not a lenet-sweep database (it is empty), so nothing to upgrade; a sweep run with --db PATH creates one' });
    }
    try {
      db.pragma('journal_mode = WAL');
    } catch (err) {
      throw unwritable(err);
    }
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
  checkPath(path);
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

/** Runs `use` on a read-only connection that is closed afterwards (once its promise settles, if it returns one), whatever happens. */
export function withReadOnly<T>(path: string, use: (db: Database.Database) => T): T {
  const db = openForReading(path);
  let result: T;
  try {
    result = use(db);
  } catch (err) {
    db.close();
    throw err;
  }
  if (result instanceof Promise) return result.finally(() => db.close()) as T;
  db.close();
  return result;
}
