/**
 * What a report shows of one sweep, read from the database through a read-only connection: the
 * summary, the ranked trials with their epochs, the swept parameters and how to draw their axes,
 * the seed groups' statistics, parameter importance, and the best trial's confusion matrix. Plain
 * data (JSON-ready): the page and the PNG renderer draw from it alone.
 */
import type Database from 'better-sqlite3';
import { adapterText } from '../backend/webgpu.js';
import { stringify as toYaml } from 'yaml';
import type { Experiment } from '../config/experiment.types.js';
import { BoardLoader, type BoardTrial } from '../dashboard/board.js';
import { groupTrials, hasRepeats, meanSd, SEED_PARAM, totals, versusLeader } from '../dashboard/derive.js';
import { confidenceInterval } from '../dashboard/stats.js';
import type { Provenance } from '../sweep/provenance.js';
import { axesOf, type Axis } from '../sweep/space.js';
import { trialIdentity } from '../sweep/trial-id.js';
import { bestOf, noBestText } from '../store/best.js';
import { trialProvenance, type EpochRow, type TrialSummary } from '../store/queries.js';
import type { TrialStatus } from '../store/status.js';
import { parameterImportance, type ImportanceResult } from './importance.js';
import { maxOf } from '../util/extremes.js';
import { numberNames, recordedNames } from '../data/class-names.js';
import { dataSourceOf } from '../view/format.js';

export type ParamValue = string | number | boolean;

/** A swept parameter as the plots draw it. */
export interface ReportParam {
  name: string;
  /** Numbers on a continuous axis, or categories (strings, booleans, and lists the user gave). */
  kind: 'number' | 'category';
  /** A log axis: a log-distributed parameter, or a list of positive numbers spanning 10× or more. */
  log: boolean;
  /** The values the trials took, sorted (categories in the file's order where it gives one). */
  values: ParamValue[];
}

/** An epoch as the charts draw it. */
export type ReportEpoch = Omit<EpochRow, 'images_per_s'>;

/** A trial as the report shows it: what `runs list` knows of it, its place in the sweep, its settings, its epochs. */
export interface ReportTrial
  extends Pick<
    TrialSummary,
    | 'rank' | 'id' | 'status' | 'params' | 'best_value' | 'best_epoch' | 'val_acc' | 'val_loss' | 'test_acc' | 'test_loss'
    | 'epochs' | 'epochs_planned' | 'images_per_s' | 'seconds' | 'backend' | 'started_at' | 'finished_at' | 'error' | 'prune_reason'
  > {
  /** Position in the sweep's trial order (1 = first recorded). */
  order: number;
  /** The trial's own settings as an experiment file (what `runs show` prints). */
  config: string;
  history: ReportEpoch[];
}

export interface ReportGroup {
  /** The configuration's swept values, the seed set aside. */
  params: Record<string, string>;
  trials: string[];
  n: number;
  mean: number | null;
  sd: number | null;
  ci: [number, number] | null;
  text: string;
  test: string;
  /** Holm-adjusted Welch p against the leading configuration. */
  p: number | null;
  verdict: string;
}

export interface ReportConfusion {
  trial: string;
  /** matrix[actual][predicted] counts. */
  matrix: number[][];
  /** The classes' names, label 0's first (class-names.ts): the numbers for a trial recorded before names were. */
  names: string[];
  pairs: { actual: number; predicted: number; count: number }[];
  /** A few misclassified test digits (PNG data URLs), or why there are none. */
  digits: { actual: number; predicted: number; src: string }[];
  digitsNote: string | null;
}

export interface ReportSweep {
  name: string;
  description: string | null;
  file: string;
  status: string;
  metric: string;
  goal: 'maximize' | 'minimize';
  method: string;
  rule: string | null;
  counts: Partial<Record<TrialStatus, number>>;
  trialCount: number;
  epochs: { trained: number; planned: number; saved: number };
  wallSeconds: number | null;
  computeSeconds: number;
  /** When the sweep's first trial started (ISO time), over all its runs. */
  firstStartedAt: string | null;
  backends: string[];
  adapters: string[];
  provenance: Provenance | null;
  /** Where the data came from when the trials read a converted copy (a CSV dataset's files, an image folder): said beside the copy. */
  dataSource: string | null;
  params: ReportParam[];
  /** The setting the curves are coloured by at first: the most important swept parameter. */
  colorBy: string | null;
  leader: string | null;
  trials: ReportTrial[];
  groups: ReportGroup[] | null;
  importance: ImportanceResult | null;
  /** An adaptive search (tpe, bayes) or a rule that stops trials: best-so-far and stops are worth a plot. */
  adaptive: boolean;
  confusion: ReportConfusion | null;
  /** What the reader should know first (no completed trial yet, a run still going). */
  notes: string[];
}

/** The note of a report written while its sweep ran (a page `sweep serve` sends says instead that it follows the sweep). */
export const STILL_RUNNING = 'The sweep was still running when this report was written.';

const LOG_DISTRIBUTIONS = new Set(['log_uniform_values', 'log_uniform', 'q_log_uniform_values', 'log_normal']);

/** The swept parameters of a sweep, in the file's order, with the axes to draw them on. */
export function reportParams(config: Experiment, trials: { params: Record<string, ParamValue> }[]): ReportParam[] {
  const axes: Axis[] = config.sweep?.parameters ? axesOf(config.sweep.parameters as Record<string, unknown>, []) : [];
  const names = new Set(axes.map((a) => a.path));
  // Repeats add the seed as a parameter the file does not list.
  for (const t of trials) for (const k of Object.keys(t.params)) names.add(k);
  return [...names].flatMap((name): ReportParam[] => {
    const taken = trials.map((t) => t.params[name]).filter((v) => v !== undefined);
    if (taken.length === 0) return [];
    const axis = axes.find((a) => a.path === name);
    const numeric = taken.every((v) => typeof v === 'number') && !(axis?.spec.kind === 'values' && axis.spec.values.length <= 1);
    const distinct = [...new Set(taken)];
    if (numeric) {
      const nums = (distinct as number[]).sort((a, b) => a - b);
      // A drawn parameter is on a log axis when its distribution is; a listed one when its values span 10× or more (1e-4, 1e-3, 1e-2).
      const logDistributed = axis?.spec.kind === 'distribution' && LOG_DISTRIBUTIONS.has(axis.spec.distribution);
      const spansDecades = axis?.spec.kind !== 'distribution' && nums.length > 1 && nums[0] > 0 && nums.at(-1)! / nums[0] >= 10;
      // A seed is a label, not a quantity: drawn as categories.
      if (name === SEED_PARAM) return [{ name, kind: 'category', log: false, values: nums }];
      return [{ name, kind: 'number', log: logDistributed || spansDecades, values: nums }];
    }
    const order = axis?.spec.kind === 'values' ? axis.spec.values : [];
    const values = [...order.filter((v) => distinct.includes(v)), ...distinct.filter((v) => !order.includes(v))];
    return [{ name, kind: 'category', log: false, values }];
  });
}

/*
 * Caches for a process that reads the same sweep again and again (sweep serve's live pages read
 * it on every change): what only changes with its input is computed once for it.
 */

/** A trial's settings as YAML, by its id: the id is the hash of the resolved config, so one id has one text. */
const configTexts = new Map<string, string>();
function configText(id: string, config: Experiment): string {
  let text = configTexts.get(id);
  if (text === undefined) {
    // Bounded: a server over many large sweeps keeps the last 100,000 trials'.
    if (configTexts.size >= 100_000) configTexts.clear();
    configTexts.set(id, (text = toYaml(trialIdentity(config))));
  }
  return text;
}

/** Parameter importance, computed again only when its input changed (a trial ended): a random forest of 64 trees is a tenth of a second for 1,000 trials. */
const importances = new Map<string, ImportanceResult>();
function importanceOf(input: Parameters<typeof parameterImportance>[0]): ImportanceResult {
  const key = JSON.stringify(input);
  let result = importances.get(key);
  if (result === undefined) {
    if (importances.size >= 16) importances.delete(importances.keys().next().value!);
    importances.set(key, (result = parameterImportance(input)));
  }
  return result;
}

function reportTrial(t: BoardTrial, order: number): ReportTrial {
  return {
    rank: t.rank,
    id: t.id,
    order,
    status: t.status,
    params: t.params,
    best_value: t.best_value,
    best_epoch: t.best_epoch,
    val_acc: t.val_acc,
    val_loss: t.val_loss,
    test_acc: t.test_acc,
    test_loss: t.test_loss,
    epochs: t.epochs,
    epochs_planned: t.epochs_planned,
    images_per_s: t.images_per_s,
    seconds: t.seconds,
    backend: t.backend,
    started_at: t.started_at,
    finished_at: t.finished_at,
    error: t.error,
    prune_reason: t.prune_reason,
    config: configText(t.id, t.config),
    history: t.history.map(({ epoch, train_loss, train_acc, val_loss, val_acc, lr, seconds }) => ({ epoch, train_loss, train_acc, val_loss, val_acc, lr, seconds })),
  };
}

/** The confusion matrix stored for a trial (the confusion view), or null when it has none. */
export function confusionOf(db: Database.Database, trialId: string): Omit<ReportConfusion, 'digits' | 'digitsNote'> | null {
  const rows = db.prepare(`SELECT actual, predicted, count FROM confusion WHERE trial_id = ?`).all(trialId) as { actual: number; predicted: number; count: number }[];
  if (rows.length === 0) return null;
  // The matrix is as large as the trial's classes: its record names them; an older trial's last class keeps its diagonal cell.
  const named = recordedNames(trialProvenance(db, trialId));
  const size = named?.length ?? 1 + Math.max(9, maxOf(rows.map((r) => Math.max(r.actual, r.predicted))));
  const matrix = Array.from({ length: size }, () => new Array<number>(size).fill(0));
  for (const r of rows) matrix[r.actual][r.predicted] = r.count;
  const pairs = rows.filter((r) => r.actual !== r.predicted && r.count > 0).sort((a, b) => b.count - a.count || a.actual - b.actual || a.predicted - b.predicted).slice(0, 5);
  return { trial: trialId, matrix, names: named ?? numberNames(size), pairs };
}

/** Everything the report shows of one sweep (its latest run, as the dashboard shows it). */
export function readReportSweep(db: Database.Database, name: string): ReportSweep {
  const board = new BoardLoader(db, name).load();
  const row = db.prepare(`SELECT file, config, run_started_at, run_finished_at, updated_at FROM sweeps WHERE name = ?`).get(name) as {
    file: string; config: string; run_started_at: string | null; run_finished_at: string | null; updated_at: string;
  };
  const config = JSON.parse(row.config) as Experiment;
  // The trial's number within the sweep (its row number counts every sweep of the database).
  const orderOf = new Map([...board.trials].sort((a, b) => a.seq - b.seq).map((t, i) => [t.id, i + 1]));
  const trials = board.trials.map((t) => reportTrial(t, orderOf.get(t.id)!));
  const params = reportParams(config, board.trials);
  const sum = totals(board, Date.now());
  const counts: Partial<Record<TrialStatus, number>> = {};
  for (const t of trials) counts[t.status] = (counts[t.status] ?? 0) + 1;
  const ended = trials.filter((t) => t.status === 'completed' || t.status === 'pruned');
  const planned = ended.reduce((s, t) => s + t.epochs_planned, 0);
  const trained = trials.reduce((s, t) => s + t.epochs, 0);
  // The sweep's best trial (store/best.ts): never one that diverged, failed or was cut short.
  const leader = bestOf(trials) ?? null;

  const rows = trials.flatMap((t) => (t.best_value !== null && Number.isFinite(t.best_value) && (t.status === 'completed' || t.status === 'pruned') ? [{ params: t.params, value: t.best_value }] : []));
  const varied = params.filter((p) => p.values.length > 1 && p.name !== SEED_PARAM);
  const importance = varied.length ? importanceOf({ rows, params: varied.map((p) => ({ name: p.name, log: p.log })), seed: 0 }) : null;
  const top = importance?.importances.reduce((a, b) => (b.importance > a.importance ? b : a), importance.importances[0]);
  // Coloured by what matters most; only a parameter that varies tells trials apart.
  const colorBy = (top && top.importance > 0 ? top.name : varied[0]?.name) ?? params.find((p) => p.values.length > 1)?.name ?? null;

  let groups: ReportGroup[] | null = null;
  if (hasRepeats(board)) {
    groups = groupTrials(board).map((g) => ({
      params: g.params,
      trials: g.trials.map((t) => t.id),
      n: g.metric.n,
      mean: g.metric.n ? g.metric.mean : null,
      sd: g.metric.n ? g.metric.sd : null,
      ci: confidenceInterval(g.metric),
      text: meanSd(board.sweep.metric, g.metric),
      test: meanSd('test_acc', g.test),
      p: g.p,
      verdict: versusLeader(g),
    }));
  }

  // The best completed trial with a stored confusion matrix: the leader, unless it ended without a test.
  let withConfusion: ReturnType<typeof confusionOf> = null;
  for (const t of trials) {
    if (t.status !== 'completed' || t.rank === null) continue;
    withConfusion = confusionOf(db, t.id);
    if (withConfusion) break;
  }
  const provenance = trialProvenance(db, leader?.id ?? trials[0]?.id ?? '') as Provenance | null;
  const adapters = [...new Set(board.trials.flatMap((t) => (t.adapter ? [adapterText(t.adapter)] : [])))];
  const notes: string[] = [];
  if (!leader) notes.push(`No best trial: ${noBestText(name, counts)}. The report shows what there is so far.`);
  if (board.sweep.status === 'running' && !board.sweep.processGone) notes.push(STILL_RUNNING);
  if (board.sweep.processGone) notes.push('The run of this sweep was killed before it finished: its trials shown running were cut off (each keeps its last checkpoint); running the file again resumes them.');
  return {
    name,
    description: config.description ?? null,
    file: row.file,
    status: board.sweep.processGone ? 'killed' : board.sweep.status,
    metric: board.sweep.metric,
    goal: board.sweep.goal,
    method: config.sweep?.method ?? 'grid',
    rule: config.sweep?.early_terminate?.type ?? null,
    counts,
    trialCount: trials.length,
    epochs: { trained, planned, saved: Math.max(0, planned - ended.reduce((s, t) => s + t.epochs, 0)) },
    wallSeconds: sum.elapsed,
    computeSeconds: trials.reduce((s, t) => s + t.history.reduce((a, e) => a + (e.seconds ?? 0), 0), 0),
    // Time in the search is counted from its first trial's start: a sweep run again (extended, resumed) keeps its earlier trials' times.
    firstStartedAt: trials.reduce<string | null>((first, t) => (t.started_at && (first === null || t.started_at < first) ? t.started_at : first), null),
    backends: [...new Set(trials.flatMap((t) => (t.backend ? [t.backend] : [])))],
    adapters,
    provenance,
    dataSource: dataSourceOf(board.trials[0]?.config.data ?? config.data),
    params,
    colorBy,
    leader: leader?.id ?? null,
    trials,
    groups,
    importance,
    adaptive: ['tpe', 'bayes', 'random'].includes(config.sweep?.method ?? '') || Boolean(config.sweep?.early_terminate),
    confusion: withConfusion ? { ...withConfusion, digits: [], digitsNote: null } : null,
    notes,
  };
}
