/**
 * What a run of an experiment file trains, given what the database holds of its sweep: a grid or
 * random file's trials that have not ended (completed or pruned), or all of them under --rerun;
 * an adaptive search's stored trials that have not ended, before the method proposes new ones.
 */
import type { LoadedExperiment, Trial } from '../config/experiment.js';
import type { SearchRecord } from '../store/queries.js';

/** Statuses a trial keeps across runs: it ended as the search meant it to. */
export const ENDED = ['completed', 'pruned'];

export function trialsToRun(loaded: LoadedExperiment, trials: Trial[], stored: SearchRecord[], rerun: boolean): Trial[] {
  const status = new Map(stored.map((r) => [r.id, r.status]));
  if (!loaded.search) return rerun ? trials : trials.filter((t) => !ENDED.includes(status.get(t.id) ?? 'queued'));
  const paths = loaded.search.axes.map((a) => a.path);
  return stored
    .filter((r) => !ENDED.includes(r.status) && Object.keys(r.params).length === paths.length && paths.every((p) => p in r.params))
    .map((r) => ({ id: r.id, params: r.params, config: r.config }));
}
