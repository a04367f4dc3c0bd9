/**
 * The SQLite schema of runs.db and its migrations. The version lives in PRAGMA user_version;
 * each entry of MIGRATIONS moves the database one version up, inside one transaction.
 */
import type { Database } from 'better-sqlite3';
import { UserError } from '../config/errors.js';

/**
 * The documented views. `trials`: one row per trial with its sweep's name and metric, the best
 * value, and aggregates of its epochs; `epochs`: per-epoch metrics with trial and sweep;
 * `leaderboard`: trials ranked within their sweep by the sweep's metric and goal. The epoch
 * aggregates are kept up to date by the writer in trial_records (in the transaction that adds
 * the epoch), so that reading them costs nothing however many trials and epochs there are: a
 * dashboard reads them every second. The trials view gains columns with the schema, so each
 * migration that adds one recreates the views.
 */
const views = (trialColumns: string) => `
  CREATE VIEW trials AS
  SELECT t.id, s.name AS sweep, t.status, t.params, t.config, t.metric, t.goal,
         t.best_value, t.best_epoch, t.val_acc, t.val_loss, t.test_acc, t.test_loss,
         t.epochs, t.epochs_planned, t.images_per_s, t.seconds,
         ${trialColumns}, t.param_count, t.attempt, t.started_at, t.finished_at, t.error,
         t.current_epoch, t.current_batch, t.batches_per_epoch
    FROM trial_records t JOIN sweeps s ON s.id = t.sweep_id;

  CREATE VIEW epochs AS
  SELECT e.trial_id, s.name AS sweep, e.epoch, e.train_loss, e.train_acc, e.val_loss, e.val_acc,
         e.lr, e.seconds, e.images_per_s
    FROM epoch_records e JOIN trial_records t ON t.id = e.trial_id JOIN sweeps s ON s.id = t.sweep_id;

  CREATE VIEW leaderboard AS
  WITH ranked AS (
    -- Partitioned by the sweep's name first, so that a query for one sweep ranks only its trials.
    -- Ranked: trials with a value of the sweep's current metric; the others (not started, or
    -- from a run of the file with another metric) have no rank.
    SELECT r.id, s.name AS sweep,
           CASE WHEN r.best_value IS NOT NULL AND r.metric = s.metric AND r.goal = s.goal THEN
             rank() OVER (
               PARTITION BY s.name, r.best_value IS NOT NULL AND r.metric = s.metric AND r.goal = s.goal
               ORDER BY CASE s.goal WHEN 'maximize' THEN -r.best_value ELSE r.best_value END
             )
           END AS rank
      FROM trial_records r JOIN sweeps s ON s.id = r.sweep_id
  )
  SELECT k.rank, k.sweep, v.id, v.params, v.metric, v.best_value, v.best_epoch, v.val_acc, v.test_acc, v.epochs,
         v.epochs_planned, v.images_per_s, v.status
    FROM ranked k JOIN trials v ON v.id = k.id;
`;

/**
 * The documented views of version 5: `checkpoints` (each kept checkpoint file, and whether it is
 * the trial's best epoch), `attempts` (every start of a trial) and `confusion` (the test
 * confusion matrix of every completed trial, one row per actual and predicted class).
 */
const MODEL_VIEWS = `
  CREATE VIEW checkpoints AS
  SELECT c.trial_id, s.name AS sweep, c.epoch, c.epoch = t.best_epoch AS best, c.path, c.bytes, c.sha256, c.created_at
    FROM checkpoint_records c JOIN trial_records t ON t.id = c.trial_id JOIN sweeps s ON s.id = t.sweep_id;

  CREATE VIEW attempts AS
  SELECT a.trial_id, s.name AS sweep, a.attempt, a.run, a.from_epoch, a.started_at, a.finished_at, a.status, a.error, a.provenance
    FROM attempt_records a JOIN trial_records t ON t.id = a.trial_id JOIN sweeps s ON s.id = t.sweep_id;

  CREATE VIEW confusion AS
  SELECT c.trial_id, s.name AS sweep, c.actual, c.predicted, c.count
    FROM confusion_records c JOIN trial_records t ON t.id = c.trial_id JOIN sweeps s ON s.id = t.sweep_id;
`;

/** The columns of trial_records at version 3 after those of version 1, as migration 4 rebuilds them. */
const TRIAL_COLUMNS_V3 = `current_epoch INTEGER, current_batch INTEGER, batches_per_epoch INTEGER, epochs INTEGER NOT NULL DEFAULT 0,
    epochs_planned INTEGER, val_acc REAL, val_loss REAL, images_per_s REAL, seconds REAL, metric TEXT, goal TEXT,
    run INTEGER NOT NULL DEFAULT 1, adapter TEXT`;
const TRIAL_NAMES_V3 = `id, sweep_id, params, config, status, attempt, worker, backend, param_count, started_at, finished_at,
    best_epoch, best_value, test_loss, test_acc, error, current_epoch, current_batch, batches_per_epoch, epochs,
    epochs_planned, val_acc, val_loss, images_per_s, seconds, metric, goal, run, adapter`;

const DROP_VIEWS = 'DROP VIEW leaderboard; DROP VIEW epochs; DROP VIEW trials;';

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
  // 2: the base tables make way for the documented views (trials, epochs, leaderboard), which
  // are what people query with `sweep runs sql` or the sqlite3 shell; trials record their live
  // progress and sweeps their current run, so a dashboard in another process can follow them.
  `
  ALTER TABLE trials RENAME TO trial_records;
  ALTER TABLE epochs RENAME TO epoch_records;
  ALTER TABLE trial_records ADD COLUMN current_epoch INTEGER;      -- epoch in progress (1-based) or last reached
  ALTER TABLE trial_records ADD COLUMN current_batch INTEGER;      -- batches done in that epoch
  ALTER TABLE trial_records ADD COLUMN batches_per_epoch INTEGER;
  ALTER TABLE trial_records ADD COLUMN epochs INTEGER NOT NULL DEFAULT 0; -- completed epochs of the last attempt
  ALTER TABLE trial_records ADD COLUMN epochs_planned INTEGER;
  ALTER TABLE trial_records ADD COLUMN val_acc REAL;               -- best over the epochs
  ALTER TABLE trial_records ADD COLUMN val_loss REAL;              -- lowest over the epochs
  ALTER TABLE trial_records ADD COLUMN images_per_s REAL;          -- mean training throughput over the epochs
  ALTER TABLE trial_records ADD COLUMN seconds REAL;               -- wall time of the epochs
  ALTER TABLE trial_records ADD COLUMN metric TEXT;                -- the metric best_value is of (the trial's config's)
  ALTER TABLE trial_records ADD COLUMN goal TEXT;
  UPDATE trial_records SET
    epochs = (SELECT count(*) FROM epoch_records e WHERE e.trial_id = trial_records.id),
    epochs_planned = json_extract(config, '$.training.epochs'),
    metric = json_extract(config, '$.metric.name'),
    goal = json_extract(config, '$.metric.goal'),
    val_acc = (SELECT max(val_acc) FROM epoch_records e WHERE e.trial_id = trial_records.id),
    val_loss = (SELECT min(val_loss) FROM epoch_records e WHERE e.trial_id = trial_records.id),
    images_per_s = (SELECT avg(images_per_s) FROM epoch_records e WHERE e.trial_id = trial_records.id),
    seconds = (SELECT sum(seconds) FROM epoch_records e WHERE e.trial_id = trial_records.id);
  ALTER TABLE sweeps ADD COLUMN workers INTEGER;                   -- parallel trials of the latest run
  ALTER TABLE sweeps ADD COLUMN pid INTEGER;                       -- its process on host: tells a killed run from a live one
  ALTER TABLE sweeps ADD COLUMN run_started_at TEXT;               -- when the latest run started
  ALTER TABLE sweeps ADD COLUMN run_finished_at TEXT;              -- and ended (NULL while it runs, or if it was killed)
  ALTER TABLE sweeps ADD COLUMN run INTEGER NOT NULL DEFAULT 1;    -- how many times the file has been run
  ALTER TABLE trial_records ADD COLUMN run INTEGER NOT NULL DEFAULT 1; -- the sweep's latest run whose trials include it
  ALTER TABLE sweeps ADD COLUMN metric TEXT;                       -- the ranking metric (also in config), for cheap ranking
  ALTER TABLE sweeps ADD COLUMN goal TEXT CHECK (goal IN ('maximize', 'minimize'));
  UPDATE sweeps SET metric = json_extract(config, '$.metric.name'), goal = json_extract(config, '$.metric.goal');
  ${views('t.backend')}
  `,
  // 3: the WebGPU adapter a trial ran on, beside its backend.
  `
  ALTER TABLE trial_records ADD COLUMN adapter TEXT;               -- JSON: vendor, name, description, api, cpu (webgpu only)
  ${DROP_VIEWS}
  ${views('t.backend, t.adapter')}
  `,
  // 4: a trial may end pruned (stopped by the sweep's early-termination rule), with the rule's
  // figures, and keeps the rule's bookkeeping (ASHA's rungs). SQLite cannot change a CHECK
  // constraint in place: the table is rebuilt (foreign keys are off while migrating, see
  // migrate), keeping each row's rowid, the order trials were added in.
  `
  ${DROP_VIEWS}
  CREATE TABLE trial_records_v4 (
    id           TEXT PRIMARY KEY,              -- 12 hex digits of the hash of the resolved config
    sweep_id     INTEGER NOT NULL REFERENCES sweeps(id),
    params       TEXT NOT NULL,                 -- JSON: the swept values by dotted path
    config       TEXT NOT NULL,                 -- JSON: the fully resolved config
    status       TEXT NOT NULL CHECK (status IN ('queued', 'running', 'completed', 'failed', 'diverged', 'interrupted', 'pruned')),
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
    error        TEXT,
    ${TRIAL_COLUMNS_V3},
    prune_reason TEXT,                          -- why the early-termination rule stopped it: the rule's figures
    rungs        TEXT                           -- JSON: asha's bookkeeping, the value judged at each rung reached
  );
  INSERT INTO trial_records_v4 (rowid, ${TRIAL_NAMES_V3}) SELECT rowid, ${TRIAL_NAMES_V3} FROM trial_records;
  DROP TABLE trial_records;
  ALTER TABLE trial_records_v4 RENAME TO trial_records;
  CREATE INDEX trials_by_sweep ON trial_records (sweep_id);
  ${views('t.backend, t.adapter, t.prune_reason')}
  `,
  // 5: trained models survive. Each trial's checkpoints (files beside the database, see
  // checkpoint/files.ts) are recorded with their checksum; each attempt at a trial (a run, a
  // retry after a worker died, a resume after a crash) is kept; a trial records what it takes to
  // reproduce it, and its test confusion matrix.
  `
  ${DROP_VIEWS}
  ALTER TABLE trial_records ADD COLUMN provenance TEXT;            -- JSON: file hash, git, dataset checksums, versions (of its first attempt)
  ALTER TABLE trial_records ADD COLUMN resumed_from INTEGER;       -- the checkpoint's epoch the last attempt started from (0: the start)
  CREATE TABLE checkpoint_records (
    trial_id    TEXT NOT NULL REFERENCES trial_records(id) ON DELETE CASCADE,
    epoch       INTEGER NOT NULL,               -- the epoch whose end it holds
    path        TEXT NOT NULL,                  -- relative to the database's folder
    bytes       INTEGER NOT NULL,
    sha256      TEXT NOT NULL,                  -- of the file but its last 32 bytes, which hold the same digest
    created_at  TEXT NOT NULL,
    PRIMARY KEY (trial_id, epoch)
  );
  CREATE TABLE attempt_records (
    trial_id     TEXT NOT NULL REFERENCES trial_records(id) ON DELETE CASCADE,
    attempt      INTEGER NOT NULL,              -- trial_records.attempt when it started
    run          INTEGER NOT NULL,              -- the sweep's run it belonged to
    from_epoch   INTEGER NOT NULL,              -- the checkpoint it resumed from (0: the start)
    started_at   TEXT NOT NULL,
    finished_at  TEXT,
    status       TEXT NOT NULL,                 -- running, or how it ended
    error        TEXT,
    provenance   TEXT,                          -- JSON: what this attempt ran from (the trial's records its first attempt's)
    PRIMARY KEY (trial_id, attempt)
  );
  CREATE TABLE confusion_records (
    trial_id    TEXT NOT NULL REFERENCES trial_records(id) ON DELETE CASCADE,
    actual      INTEGER NOT NULL,               -- the test image's class
    predicted   INTEGER NOT NULL,               -- the class the trial's final model gave it
    count       INTEGER NOT NULL,
    PRIMARY KEY (trial_id, actual, predicted)
  );
  ${views('t.backend, t.adapter, t.prune_reason, t.resumed_from, t.provenance')}
  ${MODEL_VIEWS}
  `,
  // 6: each epoch row has a place in its sweep's sequence that is never given out again
  // (sweep serve's cursors: SQLite reuses the rowids of the newest rows once they are deleted,
  // as a trial trained again from the start deletes its epochs). Rows stored before keep their
  // rowid as their place, which only grew.
  `
  ALTER TABLE sweeps ADD COLUMN epoch_seq INTEGER NOT NULL DEFAULT 0;  -- the last place given to an epoch of the sweep
  ALTER TABLE epoch_records ADD COLUMN seq INTEGER;                    -- its place in its sweep's sequence
  UPDATE epoch_records SET seq = rowid;
  UPDATE sweeps SET epoch_seq = coalesce((SELECT max(e.rowid) FROM epoch_records e JOIN trial_records t ON t.id = e.trial_id WHERE t.sweep_id = sweeps.id), 0);
  CREATE INDEX epochs_by_seq ON epoch_records (seq);
  `,
  // 7: a trial's changes that a page shows (added, its status, epochs, best value, test figures,
  // why it ended) take a place in the same sequence as its sweep's epochs, so "what changed after
  // place N" is one index lookup however large the sweep (sweep serve's live pages); so does a
  // change of the sweep's own status or run, with no row of its own. Triggers give the place, so that no write path of the writer can forget it; they fire inside the
  // writer's own transactions. The sequence's counter keeps its name, epoch_seq.
  `
  ALTER TABLE trial_records ADD COLUMN change_seq INTEGER NOT NULL DEFAULT 0;  -- the place of its last change a page shows
  CREATE INDEX trials_by_change ON trial_records (sweep_id, change_seq);
  CREATE TRIGGER trial_added AFTER INSERT ON trial_records BEGIN
    UPDATE sweeps SET epoch_seq = epoch_seq + 1 WHERE id = NEW.sweep_id;
    UPDATE trial_records SET change_seq = (SELECT epoch_seq FROM sweeps WHERE id = NEW.sweep_id) WHERE id = NEW.id;
  END;
  CREATE TRIGGER trial_changed AFTER UPDATE OF status, best_value, best_epoch, test_acc, test_loss, started_at, finished_at, error, prune_reason, backend, run, epochs ON trial_records
    WHEN OLD.status IS NOT NEW.status OR OLD.epochs IS NOT NEW.epochs OR OLD.best_value IS NOT NEW.best_value OR OLD.best_epoch IS NOT NEW.best_epoch
      OR OLD.test_acc IS NOT NEW.test_acc OR OLD.test_loss IS NOT NEW.test_loss OR OLD.started_at IS NOT NEW.started_at
      OR OLD.finished_at IS NOT NEW.finished_at OR OLD.error IS NOT NEW.error OR OLD.prune_reason IS NOT NEW.prune_reason
      OR OLD.backend IS NOT NEW.backend OR OLD.run IS NOT NEW.run
  BEGIN
    UPDATE sweeps SET epoch_seq = epoch_seq + 1 WHERE id = NEW.sweep_id;
    UPDATE trial_records SET change_seq = (SELECT epoch_seq FROM sweeps WHERE id = NEW.sweep_id) WHERE id = NEW.id;
  END;
  CREATE TRIGGER sweep_changed AFTER UPDATE OF status, run ON sweeps
    WHEN OLD.status IS NOT NEW.status OR OLD.run IS NOT NEW.run
  BEGIN
    UPDATE sweeps SET epoch_seq = epoch_seq + 1 WHERE id = NEW.id;
  END;
  `,
];

export const SCHEMA_VERSION = MIGRATIONS.length;

/** Brings a writable database to the current schema version (or to `target`, for tests of upgrades); returns the version it had. */
export function migrate(db: Database, path: string, target = SCHEMA_VERSION): number {
  // Checked again inside a write transaction: two processes upgrading the same file at once
  // must not both apply a migration.
  // Rebuilding a table that others reference (migration 4) needs foreign keys off, which SQLite
  // allows only outside a transaction; they are checked before the transaction commits.
  const enforced = db.pragma('foreign_keys', { simple: true }) as number;
  db.pragma('foreign_keys = OFF');
  try {
    return db.transaction(() => {
      const version = checkVersion(db, path);
      for (let v = version; v < target; v++) db.exec(MIGRATIONS[v]);
      if (version < target) {
        const broken = db.pragma('foreign_key_check') as unknown[];
        if (broken.length) throw new Error(`migration to schema version ${target} left ${broken.length} rows without their parent`);
        db.pragma(`user_version = ${target}`);
      }
      return version;
    }).immediate();
  } finally {
    if (enforced) db.pragma('foreign_keys = ON');
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
