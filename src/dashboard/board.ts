/**
 * What the dashboard shows, read from the database: one snapshot of a sweep and its trials.
 * The dashboard of a running sweep and `sweep dashboard` in another process read the same way,
 * through a read-only connection, so both show exactly what is stored.
 */
import type Database from 'better-sqlite3';
import { UserError } from '../config/errors.js';
import { epochsOf, liveTrialRows, processGone, processState, rankAmong, requireSweep, trialConfigs, trialRecord, type EpochRow, type Goal, type TrialRecord } from '../store/queries.js';

export interface BoardSweep {
  name: string;
  status: 'running' | 'completed' | 'interrupted' | 'failed';
  metric: string;
  goal: Goal;
  workers: number | null;
  /** When the latest run of the sweep started (ISO time). */
  runStartedAt: string | null;
  /** When the latest run ended; null while it runs, or if its process was killed. */
  runFinishedAt: string | null;
  /** Marked running, but the process that ran it is gone (killed). */
  processGone: boolean;
  /** The most trials of an adaptive search (tpe, bayes: count, run_cap), which proposes them as it goes; null otherwise. */
  plannedTrials: number | null;
}

export interface BoardTrial extends TrialRecord {
  /** Position in the sweep's trial order (the order of the experiment file). */
  seq: number;
  /** Completed epochs in order. */
  history: EpochRow[];
}

export interface Board {
  sweep: BoardSweep;
  /** Ranked by the sweep's metric, as the leaderboard view ranks them. */
  trials: BoardTrial[];
}

interface SweepRow {
  name: string;
  status: BoardSweep['status'];
  metric: string;
  goal: Goal;
  workers: number | null;
  run: number;
  run_started_at: string | null;
  run_finished_at: string | null;
  host: string | null;
  pid: number | null;
  updated_at: string | null;
  method: string | null;
  count: number | null;
  run_cap: number | null;
}

/**
 * The sweep to show: the named one; else one that is running (the most recently updated, if
 * several) by a live process on this host, since that is what a person attaching wants to
 * watch; else the most recently updated.
 */
export function chooseSweep(db: Database.Database, name?: string): string {
  if (name !== undefined) {
    requireSweep(db, name);
    return name;
  }
  const sweeps = db.prepare(`SELECT name, status, host, pid, updated_at FROM sweeps ORDER BY updated_at DESC`).all() as {
    name: string;
    status: string;
    host: string | null;
    pid: number | null;
    updated_at: string | null;
  }[];
  if (!sweeps.length) throw new UserError('the database has no sweeps yet; start one with sweep FILE');
  // Only a run known to be alive: one marked running elsewhere (or killed) may be stale for good.
  return (sweeps.find((s) => s.status === 'running' && processState(s) === 'alive') ?? sweeps[0]).name;
}

/**
 * Snapshots of the latest run of one sweep (the trials of the last expansion of its file), read
 * again and again: the dashboard reads once a second. Each trial's params and config are read
 * and parsed once per run, and its epochs again only when their count or the attempt changes,
 * so a read costs little however large the sweep.
 */
export class BoardLoader {
  private known = new Map<string, Pick<TrialRecord, 'params' | 'config'> & { attempt: string; history: EpochRow[] }>();
  private knownRun = 0;
  private readonly sweepRow: Database.Statement;

  constructor(
    private readonly db: Database.Database,
    private readonly sweep: string,
  ) {
    this.sweepRow = db.prepare(
      `SELECT name, status, metric, goal, workers, run, run_started_at, run_finished_at, host, pid, updated_at,
              json_extract(config, '$.sweep.method') AS method, json_extract(config, '$.sweep.count') AS count,
              json_extract(config, '$.sweep.run_cap') AS run_cap
         FROM sweeps WHERE name = ?`,
    );
  }

  load(): Board {
    // One read transaction: the sweep, its trials and their epochs as of one moment.
    return this.db.transaction(() => {
      const row = this.sweepRow.get(this.sweep) as SweepRow | undefined;
      if (!row) throw new UserError(`--sweep: no sweep named '${this.sweep}'`);
      // A new run of the file may sweep other parameters: read params again.
      if (row.run !== this.knownRun) [this.known, this.knownRun] = [new Map(), row.run];
      const rows = liveTrialRows(this.db, { sweep: this.sweep, latestRun: true });
      const fresh = trialConfigs(this.db, rows.filter((r) => !this.known.has(r.id)).map((r) => r.id));
      const trials = rows.map((r): BoardTrial => {
        let known = this.known.get(r.id);
        if (!known) {
          known = { ...fresh.get(r.id)!, attempt: '', history: [] };
          this.known.set(r.id, known);
        }
        // A new attempt drops the earlier epochs; a new epoch adds one.
        const attempt = `${r.started_at}/${r.epochs}`;
        if (known.attempt !== attempt) {
          known.history = r.epochs ? epochsOf(this.db, r.id) : [];
          known.attempt = attempt;
        }
        // A best value of another metric (the file named another one when the trial ran) is not shown as this one's.
        const sameMetric = r.metric === row.metric && r.goal === row.goal;
        return { ...trialRecord({ ...r, best_value: sameMetric ? r.best_value : null, best_epoch: sameMetric ? r.best_epoch : null }, known), seq: r.seq, history: known.history };
      });
      return {
        sweep: {
          name: row.name,
          status: row.status,
          metric: row.metric,
          goal: row.goal,
          workers: row.workers,
          runStartedAt: row.run_started_at,
          runFinishedAt: row.run_finished_at,
          processGone: processGone(row),
          plannedTrials: row.method === 'tpe' || row.method === 'bayes' ? Math.min(row.count ?? Infinity, row.run_cap ?? Infinity) : null,
        },
        // Ranked within the run: the board's # column counts the trials it shows.
        trials: rankAmong(trials),
      };
    })();
  }
}

/** One snapshot of the latest run of one sweep. */
export function loadBoard(db: Database.Database, sweep: string): Board {
  return new BoardLoader(db, sweep).load();
}
