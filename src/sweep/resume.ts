/**
 * What a run of an experiment file trains, given what the database holds of its sweep: a grid or
 * random file's trials that have not ended (completed or pruned), or all of them under --rerun;
 * an adaptive search's stored trials that have not ended, then as many as the method may still
 * propose. The search that hands them out (sweep/search.ts) starts from every stored result.
 */
import type { LoadedExperiment, Trial } from '../config/experiment.js';
import type { SearchRecord } from '../store/queries.js';
import { inSearch, SweepSearch } from './search.js';

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
 */
export function planRun(loaded: LoadedExperiment, trials: Trial[], stored: SearchRecord[], options: { rerun: boolean; adjust?: (t: Trial) => Trial }): RunPlan {
  const toRun = trialsToRun(loaded, trials, stored, options.rerun);
  const search = new SweepSearch({
    metric: loaded.experiment.metric,
    rule: loaded.experiment.sweep?.early_terminate,
    adaptive: loaded.search,
    stored,
    queue: toRun,
    adjust: options.adjust,
  });
  const adaptive = loaded.search;
  const proposed = adaptive ? stored.filter((r) => inSearch(r.params, adaptive)).length : 0;
  const runnable = search.reachedTarget ? 0 : adaptive ? toRun.length + Math.max(0, adaptive.maxTrials - proposed) : toRun.length;
  // A run counts its own trials only: an edited file leaves others stored.
  const training = new Set(toRun.map((t) => t.id));
  const ours = new Set(trials.map((t) => t.id));
  const before = stored.filter((r) => !training.has(r.id) && (adaptive ? inSearch(r.params, adaptive) : ours.has(r.id)) && ENDED.includes(r.status));
  const pruned = before.filter((r) => r.status === 'pruned').length;
  const members = adaptive ? stored.filter((r) => inSearch(r.params, adaptive)).map((r) => r.id) : [];
  return { toRun, search, runnable, ended: { completed: before.length - pruned, pruned }, members };
}

function trialsToRun(loaded: LoadedExperiment, trials: Trial[], stored: SearchRecord[], rerun: boolean): Trial[] {
  const status = new Map(stored.map((r) => [r.id, r.status]));
  if (!loaded.search) return rerun ? trials : trials.filter((t) => !ENDED.includes(status.get(t.id) ?? 'queued'));
  const search = loaded.search;
  return stored.filter((r) => !ENDED.includes(r.status) && inSearch(r.params, search)).map((r) => ({ id: r.id, params: r.params, config: r.config }));
}
