/**
 * What a served sweep page asks each second to keep itself up to date
 * (GET /api/sweeps/NAME/live?after=CURSOR, assets/report/live.js): whether anything changed
 * after its cursor (one number read: the sweep's sequence of changes, store/schema.ts version
 * 7), and when something did, the parts of the page that changed, made by the report's own code
 * (report/html.ts, spec-datasets.ts, sweep-charts.ts), so a live page and `sweep report` show the
 * same thing the same way.
 *
 * A change is sent as what the page replaces: the changed trials' leaderboard rows and their
 * rows of the charts' tables (the page removes that trial's rows and inserts these, so a
 * change sent twice is harmless), the summary, every trial's rank and place, and the charts'
 * specs (the page draws again only a chart whose spec changed). Where the section's structure
 * changed (report/html.ts sweepStructure), the page takes the section again whole.
 */
import type Database from 'better-sqlite3';
import { readReportSweep } from '../report/data.js';
import { summaryHtml, sweepStructure, trialRows } from '../report/html.js';
import type { Spec } from '../report/spec-base.js';
import { datasets, type Datasets } from '../report/spec-datasets.js';
import { sweepCharts } from '../report/sweep-charts.js';
import { changeCursor, processGone, trialsChangedAfter } from '../store/queries.js';

/** What the page sends besides its cursor: what it shows now, so that the answer fits it. */
export interface LiveAsk {
  after: number;
  /** The parameter the page's curves were first coloured by (its specs were made with it). */
  colorBy: string | null;
  /** The trial the page shows as the leader: its rows change too when another one leads. */
  leader: string | null;
  /** The page shows the sweep's run as killed (its process gone without a word: nothing in the database changes then). */
  gone: boolean;
}

/** The changed parts of a sweep's page. */
export interface LiveChanges {
  /** The section's structure now (report/html.ts sweepStructure): another than the page's, and the page takes the section again whole. */
  structure: string;
  /** The sweep's run was killed (its process is gone; the report says so). */
  gone: boolean;
  summary: string;
  leader: string | null;
  /** Every trial in the leaderboard's order: its id and rank (null: not ranked). A trial the page shows that is not here (of an earlier run of the file) leaves it. */
  order: [string, number | null][];
  /** The changed trials (and the leaders, the page's and the new one). */
  trials: string[];
  /** Their leaderboard rows, each with its detail row (report/html.ts trialRows). */
  rows: string;
  /** Their rows of the charts' tables. */
  tables: Datasets;
  /** Every chart's spec (the page draws again the ones that differ from what it drew). */
  charts: Record<string, Spec>;
}

export interface LiveUpdate {
  /** Where the page is now: the cursor to send next. */
  cursor: number;
  /** Absent when nothing changed after the page's cursor. */
  changes?: LiveChanges;
  /** The page's cursor is past the sweep's sequence (the database was replaced by an older copy): it takes the section again whole. */
  retake?: true;
}

/** Whether the sweep's run was killed: marked running by a process that is gone (store/queries.ts processGone). */
function sweepGone(db: Database.Database, sweep: string): boolean {
  return processGone(db.prepare(`SELECT status, host, pid, updated_at FROM sweeps WHERE name = ?`).get(sweep) as Parameters<typeof processGone>[0]);
}

/** The answer to a live page of `sweep` (which the database has) that has seen the changes up to `ask.after`. */
export function liveUpdate(db: Database.Database, sweep: string, ask: LiveAsk): LiveUpdate {
  // One read transaction: the cursor, the changed trials and the sweep as of one moment.
  return db.transaction((): LiveUpdate => {
    const cursor = changeCursor(db, sweep)!;
    if (ask.after > cursor) return { cursor, retake: true };
    // A run killed with SIGKILL writes nothing: that its process is gone is seen now, not stored.
    if (cursor === ask.after && sweepGone(db, sweep) === ask.gone) return { cursor };
    const changed = new Set(trialsChangedAfter(db, sweep, ask.after));
    const report = readReportSweep(db, sweep);
    if (ask.colorBy !== null && report.params.some((p) => p.name === ask.colorBy)) report.colorBy = ask.colorBy;
    // Another leader: the rows of the one the page shows and of the new one change (their leader flag).
    if (ask.leader !== report.leader) for (const leader of [ask.leader, report.leader]) if (leader !== null && report.trials.some((t) => t.id === leader)) changed.add(leader);
    const charts = sweepCharts(report);
    const tables = datasets({ ...report, trials: report.trials.filter((t) => changed.has(t.id)) });
    const row = trialRows(report);
    return {
      cursor,
      changes: {
        structure: sweepStructure(report, charts),
        gone: report.status === 'killed',
        summary: summaryHtml(report),
        leader: report.leader,
        order: report.trials.map((t) => [t.id, t.rank]),
        trials: [...changed],
        rows: report.trials.flatMap((t, place) => (changed.has(t.id) ? [row(t, place)] : [])).join('\n'),
        tables,
        charts: Object.fromEntries(Object.entries(charts).filter((entry): entry is [string, Spec] => entry[1] !== null)),
      },
    };
  })();
}
