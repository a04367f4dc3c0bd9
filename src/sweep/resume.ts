/**
 * What a run of an experiment file trains, given what the database holds of its sweep: a grid or
 * random file's trials that have not ended (completed or pruned), or all of them under --rerun;
 * an adaptive search's stored trials that have not ended, then as many as the method may still
 * propose. The search that hands them out (sweep/search.ts) starts from every stored result.
 */
import type { LoadedExperiment, Trial } from '../config/experiment.js';
import type { SearchRecord } from '../store/queries.js';
import { SweepSearch } from './search.js';

/** Statuses a trial keeps across runs: it ended as the search meant it to. */
export const ENDED = ['completed', 'pruned'];

export interface RunPlan {
  /** Trials that train first, in order (their earlier results are dropped). */
  toRun: Trial[];
  search: SweepSearch;
  /** The most trials this run may train: the queue, and what an adaptive method may still propose. */
  runnable: number;
  /** Trials of the sweep that had ended before this run and stay as they are. */
  ended: { completed: number; pruned: number };
  /**
   * The stored trials of an adaptive search: they join this run (so the dashboard, which shows
   * a sweep's latest run, shows the whole search). A grid or random file's join when it is begun.
   */
  members: string[];
}

/**
 * `trials`: the file's (after --backend); `stored`: every trial of its sweep in the database;
 * `adjust`: applied to each trial an adaptive method proposes (--backend).
 *
 * The search, its count and its rule see the trials of the file as it is now: a grid or random
 * file's own, or the stored trials whose swept values give, in this file (with --backend), the
 * very config they trained with (their id). Trials of an edited file (another setting, dataset or
 * backend) stay in the sweep but take no part: the search starts again beside them.
 */
export function planRun(loaded: LoadedExperiment, trials: Trial[], stored: SearchRecord[], options: { rerun: boolean; adjust?: (t: Trial) => Trial }): RunPlan {
  const adaptive = loaded.search;
  const ours = new Set(trials.map((t) => t.id));
  const belongs = (r: SearchRecord) => {
    if (!adaptive) return ours.has(r.id);
    const built = adaptive.build(r.params);
    return typeof built !== 'string' && (options.adjust ? options.adjust(built) : built).id === r.id;
  };
  const members = stored.filter(belongs);
  const status = new Map(members.map((r) => [r.id, r.status]));
  const toRun = adaptive
    ? members.filter((r) => !ENDED.includes(r.status)).map((r) => ({ id: r.id, params: r.params, config: JSON.parse(r.config) }))
    : options.rerun ? trials : trials.filter((t) => !ENDED.includes(status.get(t.id) ?? 'queued'));
  const search = new SweepSearch({
    metric: loaded.experiment.metric,
    rule: loaded.experiment.sweep?.early_terminate,
    adaptive,
    stored: members,
    queue: toRun,
    adjust: options.adjust,
  });
  const runnable = search.reachedTarget ? 0 : adaptive ? toRun.length + Math.max(0, adaptive.maxTrials - members.length) : toRun.length;
  const training = new Set(toRun.map((t) => t.id));
  const before = members.filter((r) => !training.has(r.id) && ENDED.includes(r.status));
  const pruned = before.filter((r) => r.status === 'pruned').length;
  return { toRun, search, runnable, ended: { completed: before.length - pruned, pruned }, members: adaptive ? members.map((r) => r.id) : [] };
}
