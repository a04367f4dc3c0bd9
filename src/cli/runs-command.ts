/**
 * `sweep runs list|show|best|compare|sql`: questions about past runs, read-only. Every
 * subcommand opens the database read-only, so none of them can change it.
 */
import { adapterText } from '../backend/webgpu.js';
import type Database from 'better-sqlite3';
import { stringify as toYaml } from 'yaml';
import { UserError } from '../config/errors.js';
import { configPaths, differingPaths } from '../config/load.js';
import { didYouMean } from '../config/suggest.js';
import { trialIdentity } from '../sweep/trial-id.js';
import type { Provenance } from '../sweep/provenance.js';
import { whyNone } from '../model/no-checkpoint.js';
import { dirname } from 'node:path';
import { parseWhere, type Value } from '../query/where.js';
import { bestOf, noBestText, statusCounts } from '../store/best.js';
import { epochsOf, findTrial, iterateTrials, listSweeps, requireSweep, trialsById, type EpochRow, type TrialRecord, type TrialSummary } from '../store/queries.js';
import { withReadOnly } from '../store/open.js';
import { TRIAL_STATUSES } from '../store/status.js';
import { valueAt } from '../util/mapping.js';
import { lineChart } from '../view/charts.js';
import { spawn } from 'node:child_process';
import { constants as osConstants } from 'node:os';
import { fileURLToPath } from 'node:url';
import { parse, positiveInt } from './args.js';
import type { SqlQuery } from './sql-query.js';
import { releaseTerminal } from './stop-signals.js';
import { STOP_SIGNALS, type StopSignal } from '../util/signals.js';
import { RUNS_BEST, RUNS_COMPARE, RUNS_LIST, RUNS_SHOW, RUNS_SQL } from './commands.js';
import { metricValue, num, pct, rate, table } from '../view/format.js';
import { jsonText } from './json-text.js';
import { leaderboardLines, type TrialPasses } from './leaderboard.js';
import { checkOutputFile } from '../util/output-path.js';
import { cellText, formatOf, jsonLines, paced, print, printLines, render, renderLines, type Format, type Grid } from './output.js';

const SQL_PROCESS = new URL('./sql-process.js', import.meta.url);

const SUBCOMMANDS = ['list', 'show', 'best', 'compare', 'sql'] as const;

/** The trial fields that --where, --sort and CSV know by name, besides config paths. */
const FIELDS = [
  'rank', 'id', 'sweep', 'status', 'metric', 'goal', 'best_value', 'best_epoch', 'val_acc', 'val_loss', 'test_acc', 'test_loss',
  'epochs', 'epochs_planned', 'images_per_s', 'seconds', 'backend', 'param_count', 'started_at', 'finished_at', 'error', 'prune_reason',
] as const satisfies readonly (keyof TrialSummary)[];
type Field = (typeof FIELDS)[number];

const STATUSES: readonly string[] = TRIAL_STATUSES;

export async function runsCommand(args: string[]): Promise<number> {
  const [sub, ...rest] = args;
  switch (sub as (typeof SUBCOMMANDS)[number]) {
    case 'list':
      return list(rest);
    case 'show':
      return show(rest);
    case 'best':
      return best(rest);
    case 'compare':
      return compare(rest);
    case 'sql':
      return sql(rest);
  }
  throw new UserError(
    `sweep runs: ${sub === undefined ? 'no subcommand given' : `unknown subcommand '${sub}'${didYouMean(sub, SUBCOMMANDS)}`}; expected one of: ${SUBCOMMANDS.join(', ')}`,
  );
}

/** A trial's value for a --where or --sort name: a field, else a config path. */
function lookup(t: TrialRecord, name: string): Value {
  if ((FIELDS as readonly string[]).includes(name)) return t[name as Field] as Value;
  const v = valueAt(t.config, name.split('.'));
  return v === undefined ? null : typeof v === 'object' && v !== null ? JSON.stringify(v) : (v as Value);
}

const KNOWN_NAMES: readonly string[] = [...FIELDS, ...configPaths()];

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

const withoutConfig = ({ config: _config, ...summary }: TrialRecord): TrialSummary => summary;

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

/**
 * The lines of a list of trials in a format. Every format streams: JSON an object at a time;
 * CSV (a column per swept parameter) and the table (columns from the trials' settings) after a
 * first pass that finds the columns.
 */
async function* trialsLines(trials: TrialPasses, format: Format): AsyncGenerator<string> {
  if (format === 'table') return yield* leaderboardLines(trials);
  if (format === 'json') {
    async function* summaries() {
      for await (const t of trials()) yield withoutConfig(t);
    }
    return yield* jsonLines(summaries());
  }
  const paramKeys = new Set<string>();
  for await (const t of trials()) for (const key of Object.keys(t.params)) paramKeys.add(key);
  const keys = [...paramKeys];
  async function* rows() {
    for await (const t of trials()) yield [...FIELDS.slice(0, 4).map((f) => t[f]), ...keys.map((k) => t.params[k] ?? null), ...FIELDS.slice(4).map((f) => t[f])];
  }
  yield* renderLines({ headers: [...FIELDS.slice(0, 4), ...keys, ...FIELDS.slice(4)], rows: rows() }, 'csv');
}

function list(args: string[]): Promise<number> {
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

function best(args: string[]): Promise<number> {
  const { values, positionals } = parse(args, RUNS_BEST);
  if (positionals.length) throw new UserError(`sweep runs best: unexpected argument '${positionals[0]}'`);
  const format = formatOf(values);
  return withReadOnly(values.db!, async (db) => {
    if (values.sweep !== undefined) requireSweep(db, values.sweep);
    // Each sweep's best trial (store/best.ts), in the order sweeps list has them.
    const sweeps = values.sweep !== undefined ? [values.sweep] : listSweeps(db).map((s) => s.name);
    const leaders: TrialRecord[] = [];
    const without: string[] = [];
    for (const sweep of sweeps) {
      const best = bestOf(iterateTrials(db, { sweep, statuses: ['completed'] }));
      if (best) leaders.push(best);
      else without.push(noBestText(sweep, statusCounts(db, sweep)));
    }
    // With no best at all there is no answer to give; beside others, each sweep without one is said.
    if (!leaders.length && without.length) throw new UserError(without.map((line) => ({ message: `sweep runs best: ${line}` })));
    for (const line of without) console.error(`note: ${line}`);
    await printLines(trialsLines(() => leaders.values(), format));
    return 0;
  });
}

function idsOf(positionals: string[], command: string, atLeast: number): string[] {
  if (positionals.length < atLeast) throw new UserError(`${command}: expected ${atLeast === 1 ? 'a trial id' : `at least ${atLeast} trial ids`}; sweep runs list shows them`);
  return positionals;
}

function checkPlot(values: { plot?: string; force?: boolean }): void {
  if (values.plot === undefined) return;
  if (!/\.png$/i.test(values.plot)) throw new UserError(`--plot: writes a PNG image; give a file name ending in .png, found '${values.plot}'`);
  checkOutputFile(values.plot, '--plot', values.force ?? false);
}

/** The trials' curves as a PNG (report/trial-plot.ts), loaded only when asked for: it brings Vega and resvg. */
async function plotTrials(path: string, trials: { id: string; history: EpochRow[] }[]): Promise<void> {
  const { writeTrialPlot } = await import('../report/trial-plot.js');
  await writeTrialPlot(path, trials);
  console.error(`wrote ${path}`);
}

async function show(args: string[]): Promise<number> {
  const { values, positionals } = parse(args, RUNS_SHOW);
  const [id, extra] = idsOf(positionals, 'sweep runs show', 1);
  if (extra !== undefined) throw new UserError(`sweep runs show: one trial id at a time; to put trials side by side use sweep runs compare ${positionals.join(' ')}`);
  checkPlot(values);
  const plot = withReadOnly(values.db!, (db) => {
    const trial = findTrial(db, id);
    const epochs = epochsOf(db, trial.id);
    if (values.plot !== undefined && epochs.length === 0) throw new UserError(`--plot: trial ${trial.id} has no finished epoch to plot (${trial.status})`);
    const model = modelRecords(db, trial.id);
    if (values.json) {
      // `epochs` stays the count, as in runs list --json; the per-epoch rows are `history`.
      print(jsonText({ ...trial, history: epochs, ...model }));
      return { id: trial.id, history: epochs };
    }
    const width = Math.max(40, Math.min(process.stdout.columns ?? 80, 100));
    const lines = [
      `trial ${trial.id} of sweep ${trial.sweep}: ${trial.status}${trial.error ? ` (${trial.error})` : ''}${trial.prune_reason ? ` by the rule: ${trial.prune_reason}` : ''}`,
      `params  ${Object.entries(trial.params).map(([k, v]) => `${k}=${v}`).join('  ') || '(none swept)'}`,
      `best    ${trial.metric} ${metricValue(trial.metric, trial.best_value)}${trial.best_epoch ? ` at epoch ${trial.best_epoch}` : ''}` +
        `  test_acc ${pct(trial.test_acc)}  epochs ${trial.epochs}/${trial.epochs_planned}  ${rate(trial.images_per_s)} img/s` +
        `  ${trial.backend ?? '—'}${trial.adapter ? ` on ${adapterText(trial.adapter)}` : ''}  ${trial.param_count?.toLocaleString('en') ?? '—'} parameters`,
      `time    started ${trial.started_at ?? '—'}  finished ${trial.finished_at ?? '—'}`,
      ...modelLines(db, trial, model),
      '',
      'config',
      // The trial's own settings: an experiment file of them alone trains this trial. The sweep
      // block is the same for every trial of the sweep (--json keeps it) and its values for this
      // trial are the params line.
      ...toYaml(trialIdentity(trial.config)).trimEnd().split('\n').map((l) => `  ${l}`),
      '',
      'epochs',
      epochs.length
        ? table(
            ['epoch', 'train_loss', 'train_acc', 'val_loss', 'val_acc', 'lr', 'seconds', 'img/s'],
            epochs.map((e) => [String(e.epoch), num(e.train_loss), pct(e.train_acc), num(e.val_loss), pct(e.val_acc), String(e.lr ?? '—'), e.seconds?.toFixed(1) ?? '—', rate(e.images_per_s)]),
            new Set([0, 1, 2, 3, 4, 5, 6, 7]),
          ).replace(/^/gm, '  ')
        : '  (no epoch finished)',
    ];
    if (epochs.length) {
      const charts = [
        ['loss', { label: 'train_loss', values: epochs.map((e) => e.train_loss) }, { label: 'val_loss', values: epochs.map((e) => e.val_loss) }],
        ['accuracy', { label: 'train_acc', values: epochs.map((e) => e.train_acc) }, { label: 'val_acc', values: epochs.map((e) => e.val_acc) }],
      ] as const;
      for (const [title, ...series] of charts) {
        lines.push('', title, ...lineChart([...series], { width: width - 2, height: 8, format: title === 'accuracy' ? (v) => pct(v, 1) : undefined }).map((l) => `  ${l}`.trimEnd()));
      }
    }
    print(lines.join('\n'));
    return { id: trial.id, history: epochs };
  });
  if (values.plot !== undefined) await plotTrials(values.plot, [plot]);
  return 0;
}

/** A trial's checkpoints, attempts and provenance (runs show). */
function modelRecords(db: Database.Database, id: string) {
  const checkpoints = db.prepare(`SELECT epoch, best, path, bytes, sha256 FROM checkpoints WHERE trial_id = ? ORDER BY epoch`).all(id) as Array<{ epoch: number; best: number; path: string; bytes: number; sha256: string }>;
  const attempts = (db.prepare(`SELECT attempt, run, from_epoch, started_at, finished_at, status, error, provenance FROM attempts WHERE trial_id = ? ORDER BY attempt`).all(id) as Array<{ attempt: number; from_epoch: number; status: string; error: string | null; provenance: string | null }>)
    .map((a) => ({ ...a, provenance: a.provenance === null ? null : (JSON.parse(a.provenance) as Provenance) }));
  const { provenance } = db.prepare(`SELECT provenance FROM trial_records WHERE id = ?`).get(id) as { provenance: string | null };
  return { checkpoints, attempts, provenance: provenance === null ? null : (JSON.parse(provenance) as Provenance) };
}

function modelLines(db: Database.Database, trial: TrialRecord, { checkpoints, attempts, provenance }: ReturnType<typeof modelRecords>): string[] {
  const lines: string[] = [];
  if (checkpoints.length) {
    const last = checkpoints.at(-1)!;
    const named = checkpoints.map((c) => `${c.epoch}${c.best ? ' (best)' : ''}`).join(', ');
    const size = `${(last.bytes / 1e6).toFixed(2)} MB${checkpoints.length > 1 ? ' each' : ''}`;
    lines.push(`model   checkpoint${checkpoints.length > 1 ? 's' : ''} of epoch${checkpoints.length > 1 ? 's' : ''} ${named}, ${size}, in ${dirname(last.path)}; sweep export ${trial.id} --format onnx --out model.onnx`);
  } else {
    lines.push(`model   no checkpoint: ${whyNone(db, trial)}`);
  }
  if (attempts.length > 1) {
    const text = attempts.map((a) => `${a.attempt} from ${a.from_epoch ? `epoch ${a.from_epoch}` : 'the start'} (${a.status}${a.error ? `: ${a.error}` : ''})`).join('; ');
    lines.push(`starts  ${text}`);
  }
  if (provenance) {
    const git = provenance.file.git;
    lines.push(
      `source  ${provenance.file.path} (sha256 ${provenance.file.sha256.slice(0, 12)})` +
        (git ? `, git ${git.commit.slice(0, 10)}${git.dirty ? ' with uncommitted changes' : ''}` : ', not in git') +
        `; ${provenance.dataset.name} (${Object.keys(provenance.dataset.sha256).length} files checked); ${Object.entries(provenance.versions).map(([k, v]) => `${k} ${v}`).join(', ')}`,
    );
  }
  return lines;
}

async function compare(args: string[]): Promise<number> {
  const { values, positionals } = parse(args, RUNS_COMPARE);
  const ids = idsOf(positionals, 'sweep runs compare', 2);
  const format = formatOf(values);
  checkPlot(values);
  const plot = await withReadOnly(values.db!, async (db) => {
    const trials = ids.map((id) => findTrial(db, id));
    const empty = trials.find((t) => t.epochs === 0);
    if (values.plot !== undefined && empty) throw new UserError(`--plot: trial ${empty.id} has no finished epoch to plot (${empty.status})`);
    const paths = differingPaths(trials.map((t) => t.config));
    const rows: [string, unknown[], ((v: unknown, t: TrialRecord) => string)?][] = [
      ['sweep', trials.map((t) => t.sweep)],
      ['status', trials.map((t) => t.status)],
      ...paths.map((p): [string, unknown[]] => [p, trials.map((t) => valueAt(t.config, p.split('.')) ?? null)]),
      ...(new Set(trials.map((t) => t.metric)).size > 1 ? [['metric', trials.map((t) => t.metric)] as [string, unknown[]]] : []),
      ...(['best_value', 'best_epoch', 'val_acc', 'val_loss', 'test_acc', 'test_loss', 'epochs', 'images_per_s', 'seconds', 'param_count'] as const).map(
        (f): [string, unknown[], ((v: unknown, t: TrialRecord) => string)?] => [
          f === 'best_value' ? (new Set(trials.map((t) => t.metric)).size > 1 ? 'best value' : `best ${trials[0].metric}`) : f,
          trials.map((t) => t[f]),
          (v, t) => {
            const x = v as number;
            if (v === null) return '—';
            if (f === 'best_value') return metricValue(t.metric, x);
            return f.endsWith('_acc') ? pct(x) : f.endsWith('_loss') ? num(x) : f === 'images_per_s' ? rate(x) : f === 'seconds' ? x.toFixed(1) : String(v);
          },
        ],
      ),
    ];
    const grid: Grid = {
      headers: ['field', ...trials.map((t) => t.id)],
      rows: rows.map(([name, vals]) => [name, ...vals]),
      text: rows.map(([name, vals, fmt]) => [name, ...vals.map((v, i) => (fmt ? fmt(v, trials[i]) : cellText(v)))]),
    };
    const note = paths.length ? '' : '\n(the configs are identical)';
    print((await render(grid, format)) + (format === 'table' ? note : ''));
    return trials.map((t) => ({ id: t.id, history: epochsOf(db, t.id) }));
  });
  if (values.plot !== undefined) await plotTrials(values.plot, plot);
  return 0;
}

/**
 * `sweep runs sql`: the statement runs in a process of its own (sql-process.ts), writing to this
 * one's stdout, so that Ctrl-C, SIGTERM and --timeout end it wherever it is, even inside SQLite.
 */
const MAX_TIMEOUT_S = 2_147_483;

async function sql(args: string[]): Promise<number> {
  const { values, positionals } = parse(args, RUNS_SQL);
  if (positionals.length !== 1) throw new UserError(`sweep runs sql: expected one SQL statement in quotes, e.g. sweep runs sql "SELECT * FROM leaderboard"`);
  const format = formatOf(values);
  const timeout = values.timeout === undefined ? undefined : Number(values.timeout);
  // A timer holds at most 2^31 - 1 ms (24.8 days).
  if (timeout !== undefined && !(/^\d+(\.\d+)?$/.test(values.timeout!) && timeout > 0 && timeout <= MAX_TIMEOUT_S)) {
    throw new UserError(`--timeout: expected a number of seconds above 0 and at most ${MAX_TIMEOUT_S} (24 days), found '${values.timeout}'`);
  }
  const query: SqlQuery = { db: values.db!, statement: positionals[0], format };
  const child = spawn(process.execPath, [fileURLToPath(SQL_PROCESS), JSON.stringify(query)], { stdio: ['ignore', 'inherit', 'inherit'] });
  const exited = new Promise<number>((resolve) => child.on('exit', (code, signal) => resolve(code ?? 128 + (signal ? osConstants.signals[signal] : 0))));
  // This process dies with it, whatever happens.
  const kill = () => child.kill('SIGKILL');
  process.once('exit', kill);
  // A stop (a signal, or --timeout) ends the query at once (it has no handler: sql-process.ts),
  // and this process tidies the database it leaves open.
  let stopped: { code: number } | undefined;
  const stop = (signal: NodeJS.Signals, code: number) => {
    stopped ??= { code };
    child.kill(signal);
  };
  const onSignal = (signal: StopSignal) => stop(signal, STOP_SIGNALS[signal]);
  for (const signal of Object.keys(STOP_SIGNALS) as StopSignal[]) process.on(signal, onSignal);
  const timer = timeout === undefined ? undefined : setTimeout(() => stop('SIGTERM', 1), timeout * 1000);
  const code = await exited;
  clearTimeout(timer);
  if (child.signalCode) tidy(values.db!);
  if (stopped?.code === 1) throw new Error(`sweep runs sql: stopped after --timeout ${values.timeout} s, before the statement finished`);
  // A hung-up terminal is released as every read command releases it.
  if (stopped?.code === STOP_SIGNALS.SIGHUP) releaseTerminal();
  return stopped?.code ?? code;
}

/** A query ended by a signal leaves the database's -wal and -shm behind; a connection that opens and closes removes them (unless a sweep still writes it). */
function tidy(path: string): void {
  try {
    withReadOnly(path, () => undefined);
  } catch {
    // Whatever is wrong with it was said by the query.
  }
}
