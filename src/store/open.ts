/**
 * Opening runs.db. The sweep process is its one writer (WAL mode, so readers never block it);
 * it also brings an older database up to the current schema. Every other command reads it and
 * never changes what it holds.
 *
 * Before SQLite sees a path, it is checked here: SQLite given a device (`--db /dev/null`) writes
 * a journal beside it, given a file of another kind reports only "file is not a database", and
 * given a folder it cannot write fails with "attempt to write a readonly database".
 */
import { accessSync, closeSync, constants, existsSync, lstatSync, openSync, readFileSync, readSync, rmSync, statSync } from 'node:fs';
import { dirname } from 'node:path';
import Database from 'better-sqlite3';
import { UserError } from '../config/errors.js';
import { diskFull, isDiskFull } from '../util/disk-full.js';
import { makeFolder, whyNotWritable } from '../util/make-folder.js';
import { pathProblem, statProblem } from '../util/path-problem.js';
import { isBusy, lockHolder } from './patience.js';
import { checkVersion, migrate, SCHEMA_VERSION } from './schema.js';

export { DEFAULT_DB } from './paths.js';

/** The first bytes of every SQLite database file. */
const SQLITE_MAGIC = 'SQLite format 3\0';

/** How long a statement waits for another connection's lock before SQLITE_BUSY (see store/patience.ts for longer waits). */
const BUSY_TIMEOUT_MS = 1000;
const READ_BUSY_TIMEOUT_MS = 10_000;

export function openForWriting(path: string): Database.Database {
  return open(path, { create: true }).db;
}

/** `sweep upgrade`: brings an existing lenet-sweep database to this version's schema. */
export function upgradeDatabase(path: string): { from: number; to: number } {
  checkPath(path);
  const upgradeProblem = statProblem(path, statSync);
  if (upgradeProblem) throw new UserError({ file: path, message: upgradeProblem === 'no such file' ? 'no such database, so nothing to upgrade; pass the one to upgrade with --db PATH' : upgradeProblem });
  let opened;
  try {
    opened = open(path, { create: false });
  } catch (err) {
    if (isBusy(err)) throw new Error(`${path}: database is locked by ${lockHolder(path)}; upgrade it once that is done`);
    throw err;
  }
  const { db, from } = opened;
  db.close();
  return { from, to: SCHEMA_VERSION };
}

/**
 * Refuses a path that cannot name a database file: an empty one, a directory, or something
 * that exists but is not a regular file (a device, a pipe, a socket).
 */
function checkPath(path: string): void {
  if (path === '') throw new UserError('--db: expected a path to the database file, found an empty string');
  const folderHint = 'pass the database file with --db PATH (e.g. --db runs/runs.db)';
  // A path ending in a separator names a folder, existing or not (a file made there could not be found again by that name).
  if (/[\\/]$/.test(path)) throw new UserError({ file: path, message: `is a directory, not a database file; ${folderHint}` });
  checkCompanions(path);
  let stats;
  try {
    stats = statSync(path);
  } catch (err) {
    // A loop of links exists (lstat) and cannot be opened: SQLite would only say "unable to open".
    if ((err as NodeJS.ErrnoException).code === 'ELOOP') throw new UserError({ file: path, message: pathProblem(err) });
    return; // Missing or unreadable: each caller says which.
  }
  if (stats.isDirectory()) throw new UserError({ file: path, message: `is a directory, not a database file; ${folderHint}` });
  if (!stats.isFile()) {
    const kind = stats.isCharacterDevice() || stats.isBlockDevice() ? 'a device' : stats.isFIFO() ? 'a pipe' : stats.isSocket() ? 'a socket' : 'not a regular file';
    throw new UserError({ file: path, message: `is ${kind}, not a database file; ${folderHint}` });
  }
}

/**
 * SQLite keeps its write-ahead log, shared memory and rollback journal beside the database, and
 * deletes whatever stands at those names: a FIFO or a folder the user put there would vanish.
 */
function checkCompanions(path: string): void {
  for (const suffix of ['-wal', '-shm', '-journal']) {
    let stats;
    try {
      stats = lstatSync(path + suffix);
    } catch {
      continue;
    }
    if (stats.isFile()) continue;
    const kind = stats.isDirectory() ? 'a folder' : stats.isSymbolicLink() ? 'a symbolic link' : stats.isFIFO() ? 'a pipe' : stats.isSocket() ? 'a socket' : 'a device';
    throw new UserError({ file: path + suffix, message: `is ${kind}, where SQLite keeps the database's ${suffix.slice(1)} file (and would delete it); move it away, or choose another --db PATH` });
  }
}

/** Whether the file at `path` (a regular file) is empty, an SQLite file, or something else. */
function fileKind(path: string): 'empty' | 'sqlite' | 'other' {
  const fd = openSync(path, 'r');
  try {
    const head = Buffer.alloc(SQLITE_MAGIC.length);
    const n = readSync(fd, head, 0, head.length, 0);
    return n === 0 ? 'empty' : n === head.length && head.toString('latin1') === SQLITE_MAGIC ? 'sqlite' : 'other';
  } finally {
    closeSync(fd);
  }
}

const notSqlite = (path: string) => new UserError({ file: path, message: 'not a lenet-sweep database (not an SQLite file)' });

/**
 * A full disk is no mistake in the command: a runtime failure (exit 1) that says so, not
 * SQLite's "database or disk is full" as a refusal of the --db given.
 */
const diskFullAt = (path: string) => diskFull({ path, holding: 'the database', fix: 'free some space there, or choose another with --db PATH' });

const writable = (path: string) => {
  try {
    accessSync(path, constants.W_OK);
    return true;
  } catch {
    return false;
  }
};

/**
 * Opens a database for writing, migrated to the current schema; `from` is the version it had.
 * `create`: an empty or missing file becomes a new database (a sweep); otherwise it is refused
 * (`sweep upgrade` has nothing to upgrade). The file is checked to be ours (or empty) before
 * anything is written to it, WAL mode included: a refused file is left as it was, and a file
 * this call created is removed again when it fails.
 */
function open(path: string, { create }: { create: boolean }): { db: Database.Database; from: number } {
  checkPath(path);
  const unwritable = (why: string) => new UserError({ file: path, message: `cannot open the database for writing (${why}); choose another with --db PATH` });
  const existed = existsSync(path);
  if (existed) {
    try {
      accessSync(path, constants.R_OK | constants.W_OK);
    } catch (err) {
      throw unwritable((err as NodeJS.ErrnoException).code === 'EACCES' ? 'permission denied' : (err as Error).message);
    }
    if (fileKind(path) === 'other') throw notSqlite(path);
  }
  try {
    makeFolder(dirname(path));
  } catch (err) {
    if (isDiskFull(err)) throw diskFullAt(path);
    throw unwritable(whyNotWritable(err) ?? (err as Error).message);
  }
  // SQLite keeps its journal (-wal, -shm) beside the database: the folder must take new files.
  if (!writable(dirname(path))) {
    throw unwritable(`its folder ${dirname(path)} is not writable, and SQLite keeps its journal beside the database${existed ? '; read commands can still read it' : ''}`);
  }
  let db: Database.Database | undefined;
  try {
    db = new Database(path, { fileMustExist: !create });
  } catch (err) {
    if (isDiskFull(err)) throw diskFullAt(path);
    throw unwritable((err as Error).message);
  }
  try {
    db.pragma(`busy_timeout = ${BUSY_TIMEOUT_MS}`);
    // Only reads until the file is known to be a lenet-sweep database, or an empty one.
    const version = checkVersion(db, path);
    if (version === 0 && !create) {
      throw new UserError({ file: path, message: 'not a lenet-sweep database (it is empty), so nothing to upgrade; a sweep run with --db PATH creates one' });
    }
    try {
      db.pragma('journal_mode = WAL');
    } catch (err) {
      throw isDiskFull(err) ? err : unwritable((err as Error).message);
    }
    db.pragma('synchronous = NORMAL');
    db.pragma('foreign_keys = ON');
    return { db, from: migrate(db, path) };
  } catch (err) {
    db.close();
    // Nothing of a failed open stays behind where there was nothing.
    if (!existed) for (const suffix of ['', '-journal', '-wal', '-shm']) rmSync(`${path}${suffix}`, { force: true });
    // Another program's lock: the caller may wait it out (store/patience.ts).
    if (err instanceof UserError || isBusy(err)) throw err;
    if (isDiskFull(err)) throw diskFullAt(path);
    throw new UserError({ file: path, message: `not a usable lenet-sweep database (${(err as Error).message})` });
  }
}

/**
 * A connection for reading that leaves no trace. SQLite creates -wal and -shm files beside a
 * WAL database for any reader, and only a connection that may write removes them when it is the
 * last to close: so where this user may write, the connection is opened read-write and made
 * query-only (it can change nothing the database holds). Where it may not (a read-only folder,
 * a file of another user), a read-only connection; if SQLite cannot read the WAL database that
 * way (it needs a -shm file it cannot create), it reads a copy of the file in memory.
 */
function readingConnection(path: string): Database.Database {
  if (writable(path) && writable(dirname(path))) {
    const db = new Database(path, { fileMustExist: true });
    db.pragma('query_only = ON');
    return db;
  }
  const db = new Database(path, { readonly: true, fileMustExist: true });
  try {
    db.prepare('SELECT count(*) FROM sqlite_master').get();
    return db;
  } catch (err) {
    db.close();
    // SQLITE_CANTOPEN, SQLITE_READONLY_CANTINIT…: no -shm file, and none can be made.
    if (!/^SQLITE_(CANTOPEN|READONLY)/.test((err as { code?: string }).code ?? '')) throw err;
  }
  // A WAL database in a folder nobody may write to has no writer: its file holds everything.
  // Bytes 18 and 19 say WAL (2); an image in memory must say rollback journal (1).
  const image = readFileSync(path);
  if (image.length >= 20) image[18] = image[19] = 1;
  return new Database(image, { readonly: true });
}

/** An SQLite file that cannot be read through (cut short, overwritten in part), said in one line: SQLite's words and what to do. */
export const damagedDatabase = (path: string, message: string) => new UserError({ file: path, message: `a damaged database, cut short or overwritten in part (${message}); restore it from a copy` });

export function openForReading(path: string): Database.Database {
  checkPath(path);
  const problem = statProblem(path, statSync);
  if (problem) throw new UserError({ file: path, message: problem === 'no such file' ? 'no such database; run a sweep first or pass --db PATH' : problem });
  let kind;
  try {
    kind = fileKind(path);
  } catch (err) {
    throw new UserError({ file: path, message: `cannot open the database (${(err as NodeJS.ErrnoException).code === 'EACCES' ? 'permission denied' : (err as Error).message})` });
  }
  if (kind === 'empty') throw new UserError({ file: path, message: 'not a lenet-sweep database (empty)' });
  if (kind === 'other') throw notSqlite(path);
  let db: Database.Database;
  try {
    db = readingConnection(path);
    db.pragma(`busy_timeout = ${READ_BUSY_TIMEOUT_MS}`);
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
    const message = (err as Error).message;
    // An SQLite file that cannot be read through: cut short, or damaged.
    if (/malformed/.test(message)) throw damagedDatabase(path, message);
    throw new UserError({ file: path, message: `not a lenet-sweep database (${message})` });
  }
}

/** Runs `use` on a read-only connection that is closed afterwards (once its promise settles, if it returns one), whatever happens. */
export function withReadOnly<T>(path: string, use: (db: Database.Database) => T): T {
  const db = openForReading(path);
  const keep = closeOnExit(db);
  const close = () => {
    keep();
    db.close();
  };
  let result: T;
  try {
    result = use(db);
  } catch (err) {
    close();
    throw err;
  }
  if (result instanceof Promise) return result.finally(close) as T;
  close();
  return result;
}

/**
 * The database file a sweep writes, and a check that the file at its path is still that one.
 * SQLite goes on writing to a file that was deleted (or whose folder was removed) or replaced,
 * and the results would be lost without a word: the writer calls check() before each result it
 * stores, and it throws. A replaced file must not get this run's journal: SQLite leaves its
 * -wal beside a file that moved, and the next open would replay it into the new file, so the
 * -wal and -shm are removed, where they are still the ones this run made.
 */
export class DatabaseFile {
  private readonly identity: { dev: number; ino: number };
  private journal: { suffix: string; dev: number; ino: number }[] = [];

  constructor(readonly path: string) {
    const { dev, ino } = statSync(path);
    this.identity = { dev, ino };
  }

  /** Notes which -wal and -shm files are this run's (call once the first write made them). */
  recordJournal(): void {
    this.journal = [];
    for (const suffix of ['-wal', '-shm']) {
      try {
        const { dev, ino } = statSync(`${this.path}${suffix}`);
        this.journal.push({ suffix, dev, ino });
      } catch {
        // Not made (yet): nothing of it to remove later.
      }
    }
  }

  /** Throws (and removes this run's journal from beside a replacement) when the file at the path is not the one open. */
  check(): void {
    let now;
    try {
      now = statSync(this.path);
    } catch {
      now = undefined;
    }
    if (now?.dev === this.identity.dev && now.ino === this.identity.ino) return;
    for (const { suffix, dev, ino } of this.journal) {
      try {
        const there = statSync(`${this.path}${suffix}`);
        if (there.dev === dev && there.ino === ino) rmSync(`${this.path}${suffix}`);
      } catch {
        // Gone with its folder.
      }
    }
    this.journal = [];
    throw new Error(
      `${this.path}: the database file was ${now ? 'replaced by another file' : 'deleted (or its folder removed)'} while the sweep ran; ` +
        `the results of this run are gone with it, so the sweep stopped${now ? ' (the file now there was left as it is)' : ''}; run it again`,
    );
  }
}

/**
 * Closes a connection if the process exits while it is open (a reader that went away, a
 * signal): the last connection to close removes the -wal and -shm files. Returns the undo.
 */
export function closeOnExit(db: Database.Database): () => void {
  const close = () => {
    try {
      if (db.open) db.close();
    } catch {
      // Still reading (a cursor open): SQLite cleans up at its next open.
    }
  };
  process.once('exit', close);
  return () => process.off('exit', close);
}
