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
  /**
   * The agent (another machine, `sweep agent --queue URL`) that trains the trial, or trained it:
   * its latest attempt's (trial_records.provenance is its first attempt's). Null for a trial
   * trained on the sweep's own machine, and for a queued one (no one's yet).
   */
  agent: string | null;
}

/**
 * How an attempt ends when its agent says so (a 'finished' event); the coordinator itself may
 * end one as lost (a takeover), interrupted (a stop) or failed (the queue gave up on it).
 */
export const REPORTED_ENDS = ['completed', 'pruned', 'diverged'];

/**
 * An attempt an agent made at a trial of the latest run, as the footer's line per agent counts
 * it. Every time is the coordinator's clock, when it stored what the agent sent.
 */
export interface AgentAttempt {
  trialId: string;
  attempt: number;
  agent: string;
  /** running, or how it ended (completed, pruned, diverged, failed, interrupted, lost). */
  status: string;
  /** The checkpoint's epoch it started from (0: the start): the epochs up to it are an earlier attempt's. */
  fromEpoch: number;
  startedAt: string;
  finishedAt: string | null;
  /**
   * When the newest checkpoint it uploaded was stored, i.e. its latest epoch (an agent sends each
   * epoch with its checkpoint, and a trial keeps its newest ones while it runs); null before its
   * first epoch, and for an attempt whose end the agent reported (completed, pruned, diverged:
   * its end is later). epoch_records keep no time of their own.
   */
  storedAt: string | null;
}

export interface Board {
  sweep: BoardSweep;
  /** Ranked by the sweep's metric, as the leaderboard view ranks them. */
  trials: BoardTrial[];
  /** The agents' attempts at the latest run's trials in that run; none when the sweep trains on its own machine. */
  agentAttempts: AgentAttempt[];
}

interface SweepRow {
  id: number;
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

interface AgentRow {
  trial_id: string;
  attempt: number;
  /** 1: an attempt of the sweep's latest run; 0: an earlier run's (the trial's latest, a trial that joined this run). */
  this_run: number;
  /** 1: the trial's latest attempt. */
  latest: number;
  status: string;
  from_epoch: number;
  started_at: string;
  finished_at: string | null;
  agent: string;
  stored_at: string | null;
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
 * so a read costs little however large the sweep. One more query reads who trains what (the
 * agents' attempts, see AgentAttempt): about a tenth of the read (~15 ms of 2,000 trials).
 */
export class BoardLoader {
  private known = new Map<string, Pick<TrialRecord, 'params' | 'config'> & { attempt: string; history: EpochRow[] }>();
  private knownRun = 0;
  private readonly sweepRow: Database.Statement;
  private readonly agentRows: Database.Statement;

  constructor(
    private readonly db: Database.Database,
    private readonly sweep: string,
  ) {
    this.sweepRow = db.prepare(
      `SELECT id, name, status, metric, goal, workers, run, run_started_at, run_finished_at, host, pid, updated_at,
              json_extract(config, '$.sweep.method') AS method, json_extract(config, '$.sweep.count') AS count,
              json_extract(config, '$.sweep.run_cap') AS run_cap
         FROM sweeps WHERE name = ?`,
    );
    // The agents' attempts: each trial's latest (whose agent is the trial's now) and those of
    // this run (the footer's lines). One pass over the run's attempts, by the index of trials per
    // sweep and attempt_records' key; checkpoint times only for this run's agent attempts that
    // did not report their end (running ones, mostly: a running trial keeps its newest two
    // checkpoints, found by the key's trial_id). A checkpoint counts for the attempt it was
    // stored during, but not in the last second before the attempt's end: a takeover re-records
    // the trial's checkpoints in the transaction that ends the lost attempt (and a retry does
    // just after a failure), which is no word from its agent.
    this.agentRows = db.prepare(
      `WITH attempts AS (
         SELECT a.trial_id, a.attempt, a.run = t.run AS this_run, a.attempt = t.attempt AS latest, a.status, a.from_epoch,
                a.started_at, a.finished_at, json_extract(a.provenance, '$.agent') AS agent
           FROM trial_records t JOIN attempt_records a ON a.trial_id = t.id
          WHERE t.sweep_id = @sweep AND t.run = @run AND (a.run = t.run OR a.attempt = t.attempt)
       )
       SELECT trial_id, attempt, this_run, latest, status, from_epoch, started_at, finished_at, agent,
              CASE WHEN this_run AND status NOT IN (${REPORTED_ENDS.map((s) => `'${s}'`).join(', ')}) THEN
                (SELECT max(c.created_at) FROM checkpoint_records c
                  WHERE c.trial_id = x.trial_id AND c.created_at >= x.started_at
                    AND (x.finished_at IS NULL OR c.created_at < strftime('%Y-%m-%dT%H:%M:%fZ', x.finished_at, '-1 seconds')))
              END AS stored_at
         FROM attempts x WHERE agent IS NOT NULL`,
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
      const attempts = this.agentRows.all({ sweep: row.id, run: row.run }) as AgentRow[];
      const agentOf = new Map(attempts.filter((a) => a.latest).map((a) => [a.trial_id, a.agent]));
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
        return {
          ...trialRecord({ ...r, best_value: sameMetric ? r.best_value : null, best_epoch: sameMetric ? r.best_epoch : null }, known),
          seq: r.seq,
          history: known.history,
          agent: r.status === 'queued' ? null : (agentOf.get(r.id) ?? null),
        };
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
        agentAttempts: attempts
          .filter((a) => a.this_run)
          .map((a) => ({
            trialId: a.trial_id,
            attempt: a.attempt,
            agent: a.agent,
            status: a.status,
            fromEpoch: a.from_epoch,
            startedAt: a.started_at,
            finishedAt: a.finished_at,
            storedAt: a.stored_at,
          })),
      };
    })();
  }
}

/** One snapshot of the latest run of one sweep. */
export function loadBoard(db: Database.Database, sweep: string): Board {
  return new BoardLoader(db, sweep).load();
}
