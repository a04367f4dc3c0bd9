/**
 * `sweep runs list`: the trials of the database or of a sweep, filtered by --status and --where,
 * ordered by their rank or by --sort, at most --limit of them.
 */
import type Database from 'better-sqlite3';
import { UserError } from '../config/errors.js';
import { didYouMean } from '../config/suggest.js';
import { parseWhere, type Value } from '../query/where.js';
import { iterateTrials, requireSweep, trialsById, type TrialRecord } from '../store/queries.js';
import { withReadOnly } from '../store/open.js';
import { TRIAL_STATUSES } from '../store/status.js';
import { parse, positiveInt } from './args.js';
import { RUNS_LIST } from './commands.js';
import { formatOf, paced, printLines } from './output.js';
import { FIELDS, KNOWN_NAMES, lookup } from './runs-fields.js';
import { trialsLines } from './runs-trial-lines.js';

const STATUSES: readonly string[] = TRIAL_STATUSES;

/** What --sort orders a trial by: its value of the key, and which way that key sorts for it; and its rank, to show. */
interface SortKey {
  id: string;
  rank: number | null;
  value: Value;
  highFirst: boolean;
}

/** `KEY`, `KEY:asc` or `KEY:desc`; by default accuracies and throughput sort high first, the metric by its goal. */
function sorter(spec: string): { key: (t: TrialRecord) => SortKey; compare: (a: SortKey, b: SortKey) => number } {
  const [name, direction, extra] = spec.split(':');
  if (extra !== undefined || (direction !== undefined && direction !== 'asc' && direction !== 'desc')) {
    throw new UserError(`--sort: expected KEY, KEY:asc or KEY:desc, found '${spec}'`);
  }
  if (!KNOWN_NAMES.includes(name)) {
    throw new UserError(`--sort: unknown key '${name}'${didYouMean(name, KNOWN_NAMES)}; keys are trial fields (${FIELDS.join(', ')}) and config paths (model.pooling, …)`);
  }
  const highFirst = (t: TrialRecord) =>
    direction ? direction === 'desc' : name === 'best_value' ? t.goal === 'maximize' : name.endsWith('_acc') || name === 'images_per_s';
  return {
    key: (t) => ({ id: t.id, rank: t.rank, value: lookup(t, name), highFirst: highFirst(t) }),
    compare: (a, b) => {
      const [x, y] = [a.value, b.value];
      if (x === null || y === null) return (x === null ? 1 : 0) - (y === null ? 1 : 0);
      const order = typeof x === 'number' && typeof y === 'number' ? x - y : String(x) < String(y) ? -1 : String(x) > String(y) ? 1 : 0;
      return a.highFirst ? -order : order;
    },
  };
}

function statusesOption(value: string | undefined): string[] | undefined {
  if (value === undefined) return undefined;
  const list = value.split(',').map((s) => s.trim());
  for (const s of list) {
    if (!STATUSES.includes(s)) throw new UserError(`--status: unknown status '${s}'${didYouMean(s, STATUSES)}; expected one or more of ${STATUSES.join(', ')}`);
  }
  return list;
}

/**
 * Trials in the order of their sort keys, read a thousand at a time by id (each read a few
 * milliseconds, a few MB), with the rank the keys carry from the ranked pass.
 */
function* trialsInOrder(db: Database.Database, keys: SortKey[]): Generator<TrialRecord> {
  for (let start = 0; start < keys.length; start += 1000) {
    const chunk = keys.slice(start, start + 1000);
    const byId = trialsById(db, chunk.map((k) => k.id));
    for (const k of chunk) yield { ...byId.get(k.id)!, rank: k.rank };
  }
}

export function runsList(args: string[]): Promise<number> {
  const { values, positionals } = parse(args, RUNS_LIST);
  if (positionals.length) throw new UserError(`sweep runs list: unexpected argument '${positionals[0]}'`);
  // Options are checked before the database is opened: a typo should not depend on the data.
  const format = formatOf(values);
  const statuses = statusesOption(values.status);
  const where = values.where === undefined ? undefined : parseWhere(values.where, KNOWN_NAMES);
  const sort = values.sort === undefined ? undefined : sorter(values.sort);
  const limit = positiveInt(values.limit, 'limit') ?? Infinity;
  return withReadOnly(values.db!, async (db) => {
    // Before any output: an unknown sweep is one clean line.
    if (values.sweep !== undefined) requireSweep(db, values.sweep);
    // Every pass over the trials is paced: one over 150,000 of them takes seconds, and a stop
    // signal must be heard meanwhile (output.paced).
    async function* matching() {
      let n = 0;
      for await (const t of paced(iterateTrials(db, { sweep: values.sweep, statuses }))) {
        if (n >= limit && !sort) return;
        if (where && !where.test((name) => lookup(t, name))) continue;
        n++;
        yield t;
      }
    }
    // Sorting holds a small key per trial, not the trials: then they are read again in order.
    let sorted: SortKey[] | undefined;
    if (sort) {
      const keys: SortKey[] = [];
      for await (const t of matching()) keys.push(sort.key(t));
      sorted = keys.sort(sort.compare).slice(0, limit);
    }
    await printLines(trialsLines(sorted ? () => paced(trialsInOrder(db, sorted)) : matching, format));
    return 0;
  });
}
