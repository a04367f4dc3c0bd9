/**
 * `sweep serve`'s JSON API, under /api/: what a page (or a script) asks of the database, answered
 * from a read-only connection. Pure of the network: a path and its query in, a status and a body
 * out (server.ts sends them). Nothing here takes SQL, a file path or anything that reaches the
 * file system: names and ids are looked up as values.
 *
 *   GET /api/sweeps                        every sweep: status, trials by status, best value, when, file
 *   GET /api/sweeps/NAME                   the sweep and its trials, ranked
 *   GET /api/sweeps/NAME/epochs?after=N    its epochs stored after cursor N (0: from the start; a
 *                                          place in the sweep's sequence of stored epochs),
 *                                          oldest first, at most EPOCH_PAGE; `cursor` continues
 *   GET /api/sweeps/NAME/live?after=N      what changed after cursor N, as the sweep's page shows it
 *                                          (live.ts; &color=PARAM &leader=ID &gone=1: what the page shows)
 *   GET /api/trials/ID                     a trial (id or unique prefix of 4 or more) with its epochs
 */
import type Database from 'better-sqlite3';
import { didYouMean } from '../config/suggest.js';
import { UserError } from '../config/errors.js';
import { liveUpdate } from './live.js';
import { epochsOf, findTrial, listSweeps, listTrials, sweepNames, type EpochRow } from '../store/queries.js';

/** The most epochs one answer carries: a page asks again with the cursor it got. */
export const EPOCH_PAGE = 5000;

export interface Answer {
  status: 200 | 400 | 404;
  body: unknown;
}

const notFound = (message: string): Answer => ({ status: 404, body: { error: message } });
const badRequest = (message: string): Answer => ({ status: 400, body: { error: message } });

/** A sweep the database lacks: 404 naming the nearest of those it has. */
function noSweep(db: Database.Database, name: string): Answer {
  return notFound(`no sweep named '${name}'${didYouMean(name, sweepNames(db))}`);
}

/** An epoch as the API gives it: its trial, its place in the store (the cursor), its figures. */
export interface ApiEpoch extends EpochRow {
  cursor: number;
  trial_id: string;
}

/** The sweep's epochs stored after `after` (a place in the sweep's sequence, which is never given out twice: store/schema.ts version 6), oldest first. */
function epochsAfter(db: Database.Database, sweep: string, after: number): { epochs: ApiEpoch[]; cursor: number; more: boolean } {
  const rows = db
    .prepare(
      `SELECT e.seq AS cursor, e.trial_id, e.epoch, e.train_loss, e.train_acc, e.val_loss, e.val_acc, e.lr, e.seconds, e.images_per_s
         FROM epoch_records e JOIN trial_records t ON t.id = e.trial_id JOIN sweeps s ON s.id = t.sweep_id
        WHERE s.name = ? AND e.seq > ? ORDER BY e.seq LIMIT ?`,
    )
    .all(sweep, after, EPOCH_PAGE + 1) as ApiEpoch[];
  const more = rows.length > EPOCH_PAGE;
  const epochs = more ? rows.slice(0, EPOCH_PAGE) : rows;
  return { epochs, cursor: epochs.length ? epochs[epochs.length - 1].cursor : after, more };
}

/** A cursor as a client sends it: digits only, within what SQLite's rowid holds. */
function cursorOf(text: string | null): number | undefined {
  if (text === null) return 0;
  if (!/^\d{1,15}$/.test(text)) return undefined;
  return Number(text);
}

/** Answers a GET of `segments` (the path after /api/, decoded) with `query`. */
export function answer(db: Database.Database, segments: string[], query: URLSearchParams): Answer {
  const [what, key, sub, ...rest] = segments;
  if (what === 'sweeps' && key === undefined) return { status: 200, body: listSweeps(db) };
  if (what === 'sweeps' && rest.length === 0) {
    if (sub === undefined) {
      const [summary] = listSweeps(db, key);
      return summary ? { status: 200, body: { sweep: summary, trials: listTrials(db, { sweep: key }) } } : noSweep(db, key);
    }
    if (sub === 'live' || sub === 'epochs') {
      // Both read what a sweep stored after a cursor.
      if (!sweepNames(db).includes(key)) return noSweep(db, key);
      const after = cursorOf(query.get('after'));
      if (after === undefined) return badRequest(`after: expected a cursor (a whole number that an earlier answer gave, 0 for the start), found '${query.get('after')}'`);
      if (sub === 'epochs') return { status: 200, body: epochsAfter(db, key, after) };
      const leader = query.get('leader');
      if (leader !== null && !/^[0-9a-f]{12}$/.test(leader)) return badRequest(`leader: expected a trial id (12 hex digits), found '${leader}'`);
      return { status: 200, body: liveUpdate(db, key, { after, colorBy: query.get('color'), leader, gone: query.get('gone') === '1' }) };
    }
  }
  if (what === 'trials' && key !== undefined && sub === undefined) {
    // An id, or a prefix of one naming a single trial, as `sweep runs show` takes them.
    let trial;
    try {
      trial = findTrial(db, key);
    } catch (err) {
      if (err instanceof UserError) return notFound(err.message);
      throw err;
    }
    return { status: 200, body: { trial, epochs: epochsOf(db, trial.id) } };
  }
  return notFound(`no such API: /api/${segments.join('/')}; see the README's "sweep serve" section`);
}
