/**
 * What the dashboard computes from a snapshot: the order of the rows under each sort, the
 * groups of trials that repeat one configuration over seeds (with their statistics), the
 * footer's counts and time estimate, and what each agent does. Pure functions of a Board, so
 * tests need no terminal.
 */
import { distinguishingPaths, settingText } from '../config/load.js';
import { trialId } from '../sweep/trial-id.js';
import { REPORTED_ENDS, type Board, type BoardTrial } from './board.js';
import { holm, summarize, welch, type Summary } from './stats.js';
import { maxOf } from '../util/extremes.js';

export const SORTS = ['metric', 'test_acc', 'img/s', 'trial order'] as const;
export type Sort = (typeof SORTS)[number];

/** The parameter that repeats vary; configurations are the same apart from it. */
export const SEED_PARAM = 'training.seed';

/** Significance level of the difference to the leading group. */
export const ALPHA = 0.05;

const TERMINAL = new Set(['completed', 'pruned', 'failed', 'diverged', 'interrupted']);

/** Higher first, missing values last. */
const desc = (a: number | null, b: number | null) => (a === null || b === null ? (a === null ? 1 : 0) - (b === null ? 1 : 0) : b - a);

export function sortTrials(board: Board, sort: Sort): BoardTrial[] {
  const trials = board.trials;
  switch (sort) {
    case 'metric':
      return trials; // already ranked by the database
    case 'test_acc':
      return [...trials].sort((a, b) => desc(a.test_acc, b.test_acc));
    case 'img/s':
      return [...trials].sort((a, b) => desc(a.images_per_s, b.images_per_s));
    case 'trial order':
      return [...trials].sort((a, b) => a.seq - b.seq);
  }
}

/** Fraction of the trial's planned training done, counting the batches of the current epoch. */
export function progressOf(t: BoardTrial): number {
  if (t.status === 'completed') return 1;
  const p = t.progress;
  // Batches count only for the epoch in progress: after an epoch is recorded, the last progress
  // report still says that epoch's last batch.
  const done = t.status === 'running' && p && p.epoch === t.epochs + 1 ? t.epochs + p.batch / Math.max(1, p.batches) : t.epochs;
  return Math.min(1, done / Math.max(1, t.epochs_planned));
}

const columnsOf = new WeakMap<Board, string[]>();

/** The config paths shown as columns (see distinguishingPaths); the seed goes when grouped. */
export function paramKeys(board: Board, grouped: boolean): string[] {
  let keys = columnsOf.get(board);
  if (!keys) {
    keys = distinguishingPaths(board.trials);
    columnsOf.set(board, keys);
  }
  return grouped ? keys.filter((k) => k !== SEED_PARAM) : keys;
}

export interface Group {
  /** Names the configuration (its config's id with the seed set aside). */
  key: string;
  /** The configuration's values in the grouped view's columns. */
  params: Record<string, string>;
  trials: BoardTrial[];
  /** Of the completed trials' best metric values and test accuracies. */
  metric: Summary;
  test: Summary;
  /**
   * Welch's test against the leading group, Holm-adjusted over all the groups tested; null for
   * the leader or with fewer than 2 values on a side.
   */
  p: number | null;
  leader: boolean;
}

/** Trials are repeats of one configuration when their whole configs agree apart from the seed. */
function configKey(t: BoardTrial): string {
  return trialId({ ...t.config, training: { ...t.config.training, seed: 0 } });
}

const configsOf = new WeakMap<Board, Map<string, BoardTrial[]>>();

/** The board's trials by configuration, in board order; hashed once per snapshot, not per frame. */
function byConfig(board: Board): Map<string, BoardTrial[]> {
  let groups = configsOf.get(board);
  if (!groups) {
    groups = new Map();
    for (const t of board.trials) {
      const key = configKey(t);
      const group = groups.get(key);
      if (group) group.push(t);
      else groups.set(key, [t]);
    }
    configsOf.set(board, groups);
  }
  return groups;
}

/** Whether some configuration runs more than once (over seeds): only then is grouping meaningful. */
export function hasRepeats(board: Board): boolean {
  return byConfig(board).size < board.trials.length;
}

/** One configuration's seeds (`groupKey`, a Group's key) in the order of `sort`; null when the snapshot no longer has it. */
export function groupMembers(board: Board, sort: Sort, groupKey: string | null): BoardTrial[] | null {
  const members = groupKey === null ? undefined : byConfig(board).get(groupKey);
  if (!members) return null;
  const inGroup = new Set(members);
  return sortTrials(board, sort).filter((t) => inGroup.has(t));
}

/** Values of completed trials only: a running trial's best so far would pull its group's mean down. */
const values = (trials: BoardTrial[], pick: (t: BoardTrial) => number | null) =>
  trials.filter((t) => t.status === 'completed').map(pick).filter((v): v is number => v !== null && Number.isFinite(v));

/** Trials grouped by configuration, best mean first (by the sweep's goal), groups without values last. */
export function groupTrials(board: Board): Group[] {
  const sign = board.sweep.goal === 'maximize' ? -1 : 1;
  const groups = [...byConfig(board)].map(([key, trials]) => {
    const params = Object.fromEntries(paramKeys(board, true).map((k) => [k, settingText(trials[0].config, k)]));
    return { key, params, trials, metric: summarize(values(trials, (t) => t.best_value)), test: summarize(values(trials, (t) => t.test_acc)) };
  });
  groups.sort((a, b) => {
    const [x, y] = [a.metric.n ? a.metric.mean : null, b.metric.n ? b.metric.mean : null];
    return x === null || y === null ? (x === null ? 1 : 0) - (y === null ? 1 : 0) : sign * (x - y);
  });
  const leaderValues = groups.length ? values(groups[0].trials, (t) => t.best_value) : [];
  const raw = groups.map((g, i) => (i === 0 ? null : (welch(values(g.trials, (t) => t.best_value), leaderValues)?.p ?? null)));
  // Every configuration is tested against the leader: corrected together, or some would look worse by chance.
  const adjusted = holm(raw);
  return groups.map((g, i) => ({ ...g, leader: i === 0 && g.metric.n > 0, p: adjusted[i] }));
}

/** "97.85 ± 0.21%" for accuracies, "0.0712 ± 0.0031" for losses; one value has no spread. */
export function meanSd(metric: string, s: Summary): string {
  if (s.n === 0) return '';
  const percent = metric.endsWith('_acc');
  const [mean, sd] = percent ? [s.mean * 100, s.sd * 100] : [s.mean, s.sd];
  const digits = percent ? 2 : 4;
  return s.n === 1 ? `${mean.toFixed(digits)}${percent ? '%' : ''}` : `${mean.toFixed(digits)} ± ${sd.toFixed(digits)}${percent ? '%' : ''}`;
}

export function versusLeader(g: Group): string {
  if (g.leader) return 'leader';
  if (g.p === null) return '';
  const p = g.p < 0.001 ? 'p<0.001' : `p=${g.p.toFixed(3)}`;
  return g.p < ALPHA ? `worse (${p})` : `n.s. (${p})`;
}

export interface Totals {
  /** Trials this run has finished with (completed, pruned, failed or diverged); interrupted ones train again next run. */
  done: number;
  total: number;
  running: number;
  failed: number;
  interrupted: number;
  /** Trials the early-termination rule stopped. */
  pruned: number;
  /**
   * Epochs the ended trials (completed and pruned) trained, as a share of those they would have
   * trained without early termination (each to its planned epochs); null when none was pruned.
   */
  epochShare: number | null;
  workers: number | null;
  /** Seconds since the run started (to `now`, or to the last update once the sweep has ended). */
  elapsed: number | null;
  /** Seconds still needed, from the mean epoch time so far; null before the first epoch or once ended. */
  eta: number | null;
}

/** Epochs trained over the epochs planned, among the trials that ended as the search meant (completed, pruned). */
function epochShare(trials: Board['trials']): number | null {
  const ended = trials.filter((t) => t.status === 'completed' || t.status === 'pruned');
  const planned = ended.reduce((sum, t) => sum + t.epochs_planned, 0);
  return planned ? ended.reduce((sum, t) => sum + t.epochs, 0) / planned : null;
}

export function totals(board: Board, now: number): Totals {
  const trials = board.trials;
  const running = trials.filter((t) => t.status === 'running').length;
  const pruned = trials.filter((t) => t.status === 'pruned').length;
  const epochSeconds = trials.flatMap((t) => t.history.map((e) => e.seconds ?? NaN)).filter(Number.isFinite);
  const start = board.sweep.runStartedAt ? Date.parse(board.sweep.runStartedAt) : NaN;
  const live = board.sweep.status === 'running' && !board.sweep.processGone;
  // A killed run has no end time: its elapsed time is unknown.
  const end = live ? now : board.sweep.runFinishedAt ? Date.parse(board.sweep.runFinishedAt) : NaN;
  // An adaptive search proposes the rest of its trials as it goes: they count at the epochs of those known.
  const unproposed = Math.max(0, (board.sweep.plannedTrials ?? 0) - trials.length);
  const meanPlanned = trials.length ? trials.reduce((sum, t) => sum + t.epochs_planned, 0) / trials.length : 0;
  const remainingEpochs = trials
    .filter((t) => !TERMINAL.has(t.status))
    .reduce((sum, t) => sum + (1 - progressOf(t)) * t.epochs_planned, unproposed * meanPlanned);
  const perEpoch = epochSeconds.length ? epochSeconds.reduce((a, b) => a + b, 0) / epochSeconds.length : null;
  // A sweep across machines records no workers (0): its agents' come and go, so the trials
  // running now stand for them.
  const slots = board.sweep.workers || trials.filter((t) => t.status === 'running').length || 1;
  const parallel = Math.max(1, Math.min(slots, trials.filter((t) => !TERMINAL.has(t.status)).length + unproposed));
  return {
    done: trials.filter((t) => TERMINAL.has(t.status) && t.status !== 'interrupted').length,
    total: Math.max(trials.length, board.sweep.plannedTrials ?? 0),
    running,
    failed: trials.filter((t) => t.status === 'failed' || t.status === 'diverged').length,
    interrupted: trials.filter((t) => t.status === 'interrupted').length,
    pruned,
    epochShare: pruned ? epochShare(trials) : null,
    workers: board.sweep.workers,
    elapsed: Number.isFinite(start) && Number.isFinite(end) ? Math.max(0, (end - start) / 1000) : null,
    eta: live && perEpoch !== null ? (remainingEpochs * perEpoch) / parallel : null,
  };
}

/** What one agent (another machine training the sweep's trials) does in the latest run: the footer's line for it. */
export interface AgentSummary {
  name: string;
  /** Trials it trains now. */
  running: number;
  /** Trials it ended this run: completed, pruned, diverged or failed (not those it lost or was interrupted in). */
  done: number;
  /**
   * Its throughput now: the sum over the trials it trains of each one's latest epoch's images/s
   * (its workers train in parallel, so they add up). Only epochs it trained itself count, not
   * those of a checkpoint it resumed from; null while none of its trials has finished an epoch
   * here (or it trains none): not measured, rather than 0.
   */
  imagesPerS: number | null;
  /**
   * When the database last heard of it (ms since the epoch, the coordinator's clock): the latest
   * of its attempts' starts, its latest epoch's storing (see AgentAttempt.storedAt) and the ends
   * it reported (completed, pruned, diverged). A lost, interrupted or failed attempt's end time
   * is not counted: the coordinator may have set it (a takeover, Ctrl-C, the queue giving up)
   * without a word from the agent.
   */
  heardAt: number;
}

const REPORTED_END = new Set(REPORTED_ENDS);
const AGENT_DONE = new Set([...REPORTED_ENDS, 'failed']);

const agentsOf = new WeakMap<Board, AgentSummary[]>();

/** One summary per agent with an attempt in the latest run, by name (gpu-box-2 before gpu-box-10); none without agents. */
export function agentSummaries(board: Board): AgentSummary[] {
  let summaries = agentsOf.get(board);
  if (summaries) return summaries;
  const byAgent = new Map<string, Board['agentAttempts']>();
  for (const a of board.agentAttempts) {
    const list = byAgent.get(a.agent);
    if (list) list.push(a);
    else byAgent.set(a.agent, [a]);
  }
  // The attempt each trial is in now (its latest), for where its own epochs start.
  const current = new Map<string, Board['agentAttempts'][number]>();
  for (const a of board.agentAttempts) if ((current.get(a.trialId)?.attempt ?? -1) < a.attempt) current.set(a.trialId, a);
  summaries = [...byAgent].map(([name, attempts]) => {
    const running = board.trials.filter((t) => t.status === 'running' && t.agent === name);
    const rates = running.flatMap((t) => {
      const last = t.history.at(-1);
      const from = current.get(t.id)?.fromEpoch ?? 0;
      return last && last.epoch > from && last.images_per_s !== null ? [last.images_per_s] : [];
    });
    const times = attempts.flatMap((a) => [a.startedAt, a.storedAt, REPORTED_END.has(a.status) ? a.finishedAt : null]);
    return {
      name,
      running: running.length,
      done: new Set(attempts.filter((a) => AGENT_DONE.has(a.status)).map((a) => a.trialId)).size,
      imagesPerS: rates.length ? rates.reduce((a, b) => a + b, 0) : null,
      heardAt: maxOf(times.filter((t): t is string => t !== null).map((t) => Date.parse(t))),
    };
  });
  summaries.sort((a, b) => a.name.localeCompare(b.name, 'en', { numeric: true }));
  agentsOf.set(board, summaries);
  return summaries;
}
