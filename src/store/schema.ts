/**
 * The SQLite schema of runs.db and its migrations. The version lives in PRAGMA user_version;
 * each entry of MIGRATIONS moves the database one version up, inside one transaction.
 */
import type { Database } from 'better-sqlite3';
import { UserError } from '../config/errors.js';

const MIGRATIONS: string[] = [
  // 1: sweeps, trials and per-epoch metrics.
  `
  CREATE TABLE sweeps (
    id          INTEGER PRIMARY KEY,
    name        TEXT NOT NULL UNIQUE,           -- the experiment's name; re-running a file resumes its sweep
    file        TEXT NOT NULL,                  -- the experiment file it was last run from
    config      TEXT NOT NULL,                  -- the validated experiment, JSON
    status      TEXT NOT NULL CHECK (status IN ('running', 'completed', 'interrupted', 'failed')),
    created_at  TEXT NOT NULL,
    updated_at  TEXT NOT NULL,
    host        TEXT,
    versions    TEXT                            -- JSON: node, lenet-sweep, tfjs
  );
  CREATE TABLE trials (
    id           TEXT PRIMARY KEY,              -- 12 hex digits of the hash of the resolved config
    sweep_id     INTEGER NOT NULL REFERENCES sweeps(id),
    params       TEXT NOT NULL,                 -- JSON: the swept values by dotted path
    config       TEXT NOT NULL,                 -- JSON: the fully resolved config
    status       TEXT NOT NULL CHECK (status IN ('queued', 'running', 'completed', 'failed', 'diverged', 'interrupted')),
    attempt      INTEGER NOT NULL DEFAULT 0,    -- how many times training started
    worker       INTEGER,                       -- worker thread id of the last attempt
    backend      TEXT,                          -- TensorFlow.js backend the last attempt used
    param_count  INTEGER,
    started_at   TEXT,
    finished_at  TEXT,
    best_epoch   INTEGER,                       -- epoch with the best value of the sweep's metric
    best_value   REAL,
    test_loss    REAL,
    test_acc     REAL,                          -- 0..1, on the test set after the last epoch
    error        TEXT
  );
  CREATE INDEX trials_by_sweep ON trials (sweep_id);
  CREATE TABLE epochs (
    trial_id      TEXT NOT NULL REFERENCES trials(id) ON DELETE CASCADE,
    epoch         INTEGER NOT NULL,             -- 1-based
    train_loss    REAL,
    train_acc     REAL,
    val_loss      REAL,
    val_acc       REAL,
    lr            REAL,                         -- learning rate used in this epoch
    seconds       REAL,                         -- wall time, training and validation
    images_per_s  REAL,                         -- training throughput
    PRIMARY KEY (trial_id, epoch)
  );
  `,
];

export const SCHEMA_VERSION = MIGRATIONS.length;

/** Brings a writable database to the current schema version. */
export function migrate(db: Database, path: string): void {
  const version = checkVersion(db, path);
  for (let v = version; v < SCHEMA_VERSION; v++) {
    db.transaction(() => {
      db.exec(MIGRATIONS[v]);
      db.pragma(`user_version = ${v + 1}`);
    })();
  }
}

/** The database's schema version; refuses foreign databases and newer versions. */
export function checkVersion(db: Database, path: string): number {
  const version = db.pragma('user_version', { simple: true }) as number;
  if (version > SCHEMA_VERSION) {
    throw new UserError({ file: path, message: `database schema version ${version} is newer than this lenet-sweep understands (${SCHEMA_VERSION}); upgrade lenet-sweep` });
  }
  if (version === 0) {
    const tables = db.prepare(`SELECT count(*) AS n FROM sqlite_master WHERE type = 'table'`).get() as { n: number };
    if (tables.n > 0) throw new UserError({ file: path, message: 'not a lenet-sweep database (it has tables but no lenet-sweep schema version)' });
  }
  return version;
}
