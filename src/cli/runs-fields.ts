/**
 * The names a trial answers to in `sweep runs list`'s --where and --sort, the trial's own fields
 * and the paths of its config; the fields are also the columns of the trials' CSV.
 */
import { configPaths } from '../config/load.js';
import type { Value } from '../query/where.js';
import type { TrialRecord, TrialSummary } from '../store/queries.js';
import { valueAt } from '../util/mapping.js';

/** The trial fields that --where, --sort and CSV know by name, besides config paths. */
export const FIELDS = [
  'rank', 'id', 'sweep', 'status', 'metric', 'goal', 'best_value', 'best_epoch', 'val_acc', 'val_loss', 'test_acc', 'test_loss',
  'epochs', 'epochs_planned', 'images_per_s', 'seconds', 'backend', 'param_count', 'started_at', 'finished_at', 'error', 'prune_reason',
] as const satisfies readonly (keyof TrialSummary)[];
type Field = (typeof FIELDS)[number];

/** A trial's value for a --where or --sort name: a field, else a config path. */
export function lookup(t: TrialRecord, name: string): Value {
  if ((FIELDS as readonly string[]).includes(name)) return t[name as Field] as Value;
  const v = valueAt(t.config, name.split('.'));
  return v === undefined ? null : typeof v === 'object' && v !== null ? JSON.stringify(v) : (v as Value);
}

export const KNOWN_NAMES: readonly string[] = [...FIELDS, ...configPaths()];
