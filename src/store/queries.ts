/**
 * Read-only questions about past runs, asked of the documented views (trials, epochs,
 * leaderboard) so that the CLI sees the database as its users' SQL does.
 */
import type { AdapterInfo } from '../backend/webgpu.js';
import { readFileSync } from 'node:fs';
import { hostname } from 'node:os';
import type Database from 'better-sqlite3';
import type { Experiment } from '../config/experiment.types.js';
import { UserError } from '../config/errors.js';
import { didYouMean } from '../config/suggest.js';
import { bestInDatabase, statusCounts } from './best.js';
import type { TrialStatus } from './status.js';

export type Goal = Experiment['metric']['goal'];

export interface TrialSummary {
  /** Place in its sweep's leaderboard (equal values share a rank); null for trials without a value of the sweep's metric. */
  rank: number | null;
  id: string;
  sweep: string;
  status: TrialStatus;
  /** The swept values by dotted config path. */
  params: Record<string, string | number | boolean>;
  /** The sweep's ranking metric, its goal, and the trial's best value of it (at best_epoch). */
  metric: string;
  goal: Goal;
  best_value: number | null;
  best_epoch: number | null;
  /** Best validation accuracy (0..1) and lowest validation loss over the epochs. */
  val_acc: number | null;
  val_loss: number | null;
  /** On the test set after the last epoch. */
  test_acc: number | null;
  test_loss: number | null;
  /** Completed and planned epochs. */
  epochs: number;
  epochs_planned: number;
  /** Mean training throughput over the epochs. */
  images_per_s: number | null;
  /** Wall time of the completed epochs. */
  seconds: number | null;
  backend: string | null;
  /** The WebGPU adapter the last attempt ran on (webgpu only). */
  adapter: AdapterInfo | null;
  param_count: number | null;
  started_at: string | null;
  finished_at: string | null;
  error: string | null;
  /** Why the sweep's early-termination rule stopped it (status pruned): the rule's figures. */
  prune_reason: string | null;
  /** Where the trial is (or stopped) within an epoch; null before it first started. */
  progress: { epoch: number; batch: number; batches: number } | null;
}

export interface EpochRow {
  epoch: number;
  train_loss: number | null;
  train_acc: number | null;
  val_loss: number | null;
  val_acc: number | null;
  lr: number | null;
  seconds: number | null;
  images_per_s: number | null;
}

export interface SweepSummary {
  name: string;
  status: 'running' | 'completed' | 'interrupted' | 'failed';
  file: string;
  metric: string;
  goal: Goal;
  trials: number;
  /** Trials per status. */
  counts: Partial<Record<TrialStatus, number>>;
  best_value: number | null;
  best_trial: string | null;
  workers: number | null;
  created_at: string;
  updated_at: string;
  run_started_at: string | null;
  /** Marked running, but the process that ran it is gone (killed before it could finish the sweep). */
  process_gone: boolean;
}

/** Clock ticks per second of /proc's times (USER_HZ): 100 on every Linux. */
const USER_HZ = 100;

/** When a process started (ms since the epoch), where the system tells (Linux's /proc); else null. */
function processStartedAt(pid: number): number | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Field 22, starttime, counted after the command name, which may hold spaces and parentheses.
    const ticks = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19]);
    const boot = Number(/^btime (\d+)$/m.exec(readFileSync('/proc/stat', 'utf8'))?.[1]);
    return Number.isFinite(ticks) && Number.isFinite(boot) ? (boot + ticks / USER_HZ) * 1000 : null;
  } catch {
    return null;
  }
}

/** The state letter of a process (R, S, D, Z…), from /proc; null where it cannot be read. */
function processStatus(pid: number): string | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[0] ?? null;
  } catch {
    return null;
  }
}

/**
 * Whether the process that ran a sweep is still there: only knowable on the host that ran it
 * ('unknown' elsewhere, or without a pid). A pid is reused once its process has ended, so a
 * process that started after the sweep's last write (`updatedAt`; a run writes only after its
 * process starts) is another one: the run is gone.
 */
export function processState(sweep: { host: string | null; pid: number | null; updated_at: string | null }): 'alive' | 'gone' | 'unknown' {
  const { host, pid } = sweep;
  if (pid === null || host !== hostname()) return 'unknown';
  try {
    process.kill(pid, 0);
  } catch (err) {
    // EPERM: it exists, under another user.
    if ((err as NodeJS.ErrnoException).code === 'ESRCH') return 'gone';
  }
  // A zombie (killed, not yet reaped by its parent) has ended too.
  if (processStatus(pid) === 'Z') return 'gone';
  const started = processStartedAt(pid);
  const lastWrite = sweep.updated_at ? Date.parse(sweep.updated_at) : NaN;
  // A second of slack: /proc's boot time is whole seconds.
  return started !== null && Number.isFinite(lastWrite) && started > lastWrite + 1000 ? 'gone' : 'alive';
}

/**
 * Whether a sweep marked running was left so by a process that no longer exists (SIGKILL, a
 * crash of the machine); elsewhere than on the host that ran it, assumed alive.
 */
export function processGone(sweep: { status: string; host: string | null; pid: number | null; updated_at: string | null }): boolean {
  return sweep.status === 'running' && processState(sweep) === 'gone';
}

export interface TrialRecord extends TrialSummary {
  /** The fully resolved config the trial trained with. */
  config: Experiment;
}

/** A trial's row without its params and config: what changes while it runs. */
export interface LiveTrialRow extends Omit<TrialRecord, 'params' | 'config' | 'progress' | 'adapter'> {
  /** JSON of an AdapterInfo. */
  adapter: string | null;
  current_epoch: number | null;
  current_batch: number | null;
  batches_per_epoch: number | null;
  /** Position in the order the trials were recorded (the experiment file's). */
  seq: number;
}

interface TrialRow extends LiveTrialRow {
  params: string;
  config: string;
}

const LIVE_COLUMNS = `l.rank, v.id, v.sweep, v.status, v.metric, v.goal, v.best_value, v.best_epoch, v.val_acc,
  v.val_loss, v.test_acc, v.test_loss, v.epochs, v.epochs_planned, v.images_per_s, v.seconds, v.backend, v.adapter, v.param_count,
  v.started_at, v.finished_at, v.error, v.prune_reason, v.current_epoch, v.current_batch, v.batches_per_epoch, r.rowid AS seq`;

export interface TrialFilter {
  sweep?: string;
  statuses?: string[];
  ids?: string[];
  /** Only the trials of each sweep's latest run (the last expansion of its file). */
  latestRun?: boolean;
}

/**
 * Trials ranked best first within each sweep, as the leaderboard view ranks them; ties and
 * unranked trials in file order. Only the filters given become conditions: a condition on the
 * sweep's name lets SQLite rank that sweep's trials alone (see the view).
 */
function selectTrials<T>(db: Database.Database, columns: string, filter: TrialFilter): T[] {
  return trialsStatement(db, columns, filter).all(trialsParameters(filter)) as T[];
}

function trialsParameters(filter: TrialFilter): Record<string, string> {
  return {
    ...(filter.sweep !== undefined ? { sweep: filter.sweep } : {}),
    ...(filter.statuses ? { statuses: JSON.stringify(filter.statuses) } : {}),
    ...(filter.ids ? { ids: JSON.stringify(filter.ids) } : {}),
  };
}

function trialsStatement(db: Database.Database, columns: string, filter: TrialFilter): Database.Statement {
  const conditions = [
    ...(filter.sweep !== undefined ? ['l.sweep = @sweep'] : []),
    ...(filter.statuses ? ['v.status IN (SELECT value FROM json_each(@statuses))'] : []),
    ...(filter.ids ? ['v.id IN (SELECT value FROM json_each(@ids))'] : []),
    ...(filter.latestRun ? ['r.run = (SELECT s.run FROM sweeps s WHERE s.id = r.sweep_id)'] : []),
  ];
  return db.prepare(
      `SELECT ${columns} FROM leaderboard l JOIN trials v ON v.id = l.id JOIN trial_records r ON r.id = v.id
        ${conditions.length ? `WHERE ${conditions.join(' AND ')}` : ''}
        ORDER BY v.sweep, l.rank IS NULL, l.rank, r.rowid`,
    );
}

/** The live columns of trials, for readers that keep each trial's params and config from an earlier read. */
export function liveTrialRows(db: Database.Database, filter: TrialFilter): LiveTrialRow[] {
  return selectTrials<LiveTrialRow>(db, LIVE_COLUMNS, filter);
}

/** Params and config of some trials, parsed. */
export function trialConfigs(db: Database.Database, ids: string[]): Map<string, Pick<TrialRecord, 'params' | 'config'>> {
  const rows = db.prepare(`SELECT id, params, config FROM trial_records WHERE id IN (SELECT value FROM json_each(?))`).all(JSON.stringify(ids)) as { id: string; params: string; config: string }[];
  return new Map(rows.map((r) => [r.id, { params: JSON.parse(r.params), config: JSON.parse(r.config) }]));
}

/**
 * Ranks among the given trials only (in ranked order, as listTrials returns them), for views of
 * part of a sweep such as its latest run: 1, 2, 2, 4 for equal values, null stays null.
 */
export function rankAmong<T extends { rank: number | null; best_value: number | null }>(trials: T[]): T[] {
  let place = 0;
  let previous: T | undefined;
  return trials.map((t) => {
    if (t.rank === null) return t;
    place++;
    const rank = previous && previous.best_value === t.best_value ? previous.rank : place;
    previous = { ...t, rank };
    return previous;
  });
}

/** A trial record from its live row and its params and config. */
export function trialRecord(row: LiveTrialRow, { params, config }: Pick<TrialRecord, 'params' | 'config'>): TrialRecord {
  const { current_epoch, current_batch, batches_per_epoch, seq: _seq, adapter, ...rest } = row;
  return {
    ...rest,
    adapter: adapter === null ? null : (JSON.parse(adapter) as AdapterInfo),
    params,
    config,
    progress: current_epoch !== null && batches_per_epoch !== null ? { epoch: current_epoch, batch: current_batch ?? 0, batches: batches_per_epoch } : null,
  };
}

export function sweepNames(db: Database.Database): string[] {
  return (db.prepare(`SELECT name FROM sweeps ORDER BY name`).all() as { name: string }[]).map((r) => r.name);
}

/**
 * Where a sweep's sequence of changes stands (schema versions 6 and 7: each stored epoch, and
 * each change of a trial or of the sweep's status a page shows, takes the next place, never
 * given out twice), or undefined for a sweep the database lacks.
 */
export function changeCursor(db: Database.Database, sweep: string): number | undefined {
  return (db.prepare(`SELECT epoch_seq FROM sweeps WHERE name = ?`).get(sweep) as { epoch_seq: number } | undefined)?.epoch_seq;
}

/** The trials of a sweep whose last change a page shows took a place after `after` in its sequence. */
export function trialsChangedAfter(db: Database.Database, sweep: string, after: number): string[] {
  return db
    .prepare(`SELECT t.id FROM trial_records t JOIN sweeps s ON s.id = t.sweep_id WHERE s.name = ? AND t.change_seq > ?`)
    .pluck()
    .all(sweep, after) as string[];
}

/** Refuses a sweep name the database does not have, naming the ones it has. */
export function requireSweep(db: Database.Database, name: string): void {
  if (db.prepare(`SELECT 1 FROM sweeps WHERE name = ?`).get(name) !== undefined) return;
  const names = sweepNames(db);
  throw new UserError(
    `--sweep: no sweep named '${name}'${didYouMean(name, names)}` + (names.length ? `; sweeps: ${names.join(', ')}` : ' (the database has none yet)'),
  );
}

/** Trials with their configs, ranked; optionally of one sweep, some statuses, or some ids. */
export function listTrials(db: Database.Database, filter: TrialFilter = {}): TrialRecord[] {
  return [...iterateTrials(db, filter)];
}

/**
 * Trials as listTrials gives them, read one at a time from a cursor: a database of a million
 * trials is listed without holding them all. The connection is busy until the pass ends.
 */
export function* iterateTrials(db: Database.Database, filter: TrialFilter = {}): Generator<TrialRecord> {
  if (filter.sweep !== undefined) requireSweep(db, filter.sweep);
  const rows = trialsStatement(db, `${LIVE_COLUMNS}, v.params, v.config`, filter).iterate(trialsParameters(filter)) as IterableIterator<TrialRow>;
  for (const { params, config, ...row } of rows) yield trialRecord(row, { params: JSON.parse(params), config: JSON.parse(config) });
}

/**
 * Trials by id (in no order), read without ranking them, so that a read of a few costs little
 * however many trials there are: the leaderboard view ranks all of a sweep's trials at every
 * read. Their rank is null; a caller that shows it knows it from an earlier, ranked pass.
 */
export function trialsById(db: Database.Database, ids: string[]): Map<string, TrialRecord> {
  const rows = db
    .prepare(`SELECT ${LIVE_COLUMNS.replace('l.rank,', 'NULL AS rank,')}, v.params, v.config FROM trials v JOIN trial_records r ON r.id = v.id WHERE v.id IN (SELECT value FROM json_each(?))`)
    .all(JSON.stringify(ids)) as TrialRow[];
  return new Map(rows.map(({ params, config, ...row }) => [row.id, trialRecord(row, { params: JSON.parse(params), config: JSON.parse(config) })]));
}

/** One trial by its id or an unambiguous prefix of it (at least 4 characters). */
/** What a trial recorded to reproduce it (sweep/provenance.ts), parsed; null where it recorded none (or there is no such trial). */
export function trialProvenance(db: Database.Database, id: string): unknown {
  const row = db.prepare(`SELECT provenance FROM trial_records WHERE id = ?`).get(id) as { provenance: string | null } | undefined;
  return row?.provenance ? JSON.parse(row.provenance) : null;
}

export function findTrial(db: Database.Database, idOrPrefix: string): TrialRecord {
  // Ids are lower-case hex; a prefix copied in upper case (18EC) names the same trial.
  const prefix = idOrPrefix.toLowerCase();
  const matches = /^[0-9a-f]{4,12}$/.test(prefix)
    ? (db.prepare(`SELECT id FROM trial_records WHERE id LIKE ? ORDER BY id LIMIT 6`).all(`${prefix}%`) as { id: string }[])
    : [];
  if (matches.length === 0) {
    const why = /^[0-9a-f]+$/.test(prefix) && prefix.length < 4 ? ' (give at least 4 characters of the id)' : '';
    throw new UserError(`no trial with id '${idOrPrefix}'${why}; sweep runs list shows the ids`);
  }
  if (matches.length > 1) {
    throw new UserError(`trial id '${idOrPrefix}' is ambiguous: ${matches.slice(0, 5).map((m) => m.id).join(', ')}${matches.length > 5 ? ', …' : ''}; give more characters`);
  }
  return listTrials(db, { ids: [matches[0].id] })[0];
}

export function epochsOf(db: Database.Database, trialId: string): EpochRow[] {
  return db
    .prepare(`SELECT epoch, train_loss, train_acc, val_loss, val_acc, lr, seconds, images_per_s FROM epoch_records WHERE trial_id = ? ORDER BY epoch`)
    .all(trialId) as EpochRow[];
}

/** Every sweep (or the one named) with its trial counts and its best trial (store/best.ts), most recently updated first. */
export function listSweeps(db: Database.Database, name?: string): SweepSummary[] {
  const sweeps = db
    .prepare(
      `SELECT name, status, file, metric, goal, workers, created_at, updated_at, run_started_at, host, pid
         FROM sweeps WHERE @name IS NULL OR name = @name ORDER BY updated_at DESC, name`,
    )
    .all({ name: name ?? null }) as (Omit<SweepSummary, 'trials' | 'counts' | 'best_value' | 'best_trial' | 'process_gone'> & { host: string | null; pid: number | null })[];
  return sweeps.map(({ host, pid, ...s }) => {
    const byStatus = statusCounts(db, s.name);
    const best = bestInDatabase(db, s.name);
    return {
      ...s,
      trials: Object.values(byStatus).reduce((a, b) => a + b, 0),
      counts: byStatus,
      best_value: best?.best_value ?? null,
      best_trial: best?.id ?? null,
      process_gone: processGone({ status: s.status, host, pid, updated_at: s.updated_at }),
    };
  });
}

/** A stored trial as the sweep's search and early-termination rule see it. */
export interface SearchRecord {
  id: string;
  params: Record<string, string | number | boolean>;
  /** The resolved config as stored (JSON text): parsed only for the trials a run trains again. */
  config: string;
  status: string;
  /** The metric after each epoch of the last attempt: epoch e at index e − 1 (NaN where not finite). */
  values: number[];
  rungs: Record<string, number> | null;
}

/**
 * Every trial of a sweep in the order it was recorded, with the named metric's values per epoch:
 * what the runner starts from when a file is run again.
 */
export function searchRecords(db: Database.Database, sweepId: number, metric: string): SearchRecord[] {
  const rows = db.prepare(`SELECT id, params, config, status, rungs FROM trial_records WHERE sweep_id = ? ORDER BY rowid`).all(sweepId) as {
    id: string; params: string; config: string; status: string; rungs: string | null;
  }[];
  // The metric is one of the epochs table's columns (the schema's enum), never user text in SQL.
  if (!/^[a-z_]+$/.test(metric)) throw new Error(`not a metric column: ${metric}`);
  const values = new Map<string, number[]>();
  const epochs = db
    .prepare(`SELECT e.trial_id, e.epoch, e.${metric} AS value FROM epoch_records e JOIN trial_records t ON t.id = e.trial_id WHERE t.sweep_id = ? ORDER BY e.trial_id, e.epoch`)
    .all(sweepId) as { trial_id: string; epoch: number; value: number | null }[];
  for (const e of epochs) {
    const list = values.get(e.trial_id) ?? [];
    list[e.epoch - 1] = e.value ?? Number.NaN;
    values.set(e.trial_id, list);
  }
  return rows.map((r) => ({
    id: r.id,
    params: JSON.parse(r.params),
    config: r.config,
    status: r.status,
    values: Array.from(values.get(r.id) ?? [], (v) => v ?? Number.NaN),
    rungs: r.rungs === null ? null : JSON.parse(r.rungs),
  }));
}
