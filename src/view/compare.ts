/**
 * Trials side by side: the config paths where they differ, then their results, each as its values
 * and their text. `sweep runs compare` prints it as a table (or CSV, JSON); `sweep serve`'s
 * compare page as HTML.
 */
import { differingPaths } from '../config/load.js';
import type { TrialRecord } from '../store/queries.js';
import { valueAt } from '../util/mapping.js';
import { cellText, metricValue, num, pct, rate } from './format.js';

export interface ComparedRow {
  /** A config path (model.pooling), or a result's name (best val_acc, test_acc…). */
  field: string;
  /** One value per trial, as stored. */
  values: unknown[];
  /** The same as people read them (percentages, losses to a few digits, — for none). */
  text: string[];
}

const RESULTS = ['best_value', 'best_epoch', 'val_acc', 'val_loss', 'test_acc', 'test_loss', 'epochs', 'images_per_s', 'seconds', 'param_count'] as const;

const plain = (field: string, values: unknown[]): ComparedRow => ({ field, values, text: values.map(cellText) });

/** The rows comparing `trials`, and whether their configs are identical. */
export function compareTrials(trials: TrialRecord[]): { rows: ComparedRow[]; identical: boolean } {
  const paths = differingPaths(trials.map((t) => t.config));
  const metrics = new Set(trials.map((t) => t.metric)).size > 1;
  const rows: ComparedRow[] = [
    plain('sweep', trials.map((t) => t.sweep)),
    plain('status', trials.map((t) => t.status)),
    ...paths.map((p) => plain(p, trials.map((t) => valueAt(t.config, p.split('.')) ?? null))),
    ...(metrics ? [plain('metric', trials.map((t) => t.metric))] : []),
    ...RESULTS.map((f) => ({
      field: f === 'best_value' ? (metrics ? 'best value' : `best ${trials[0].metric}`) : f,
      values: trials.map((t) => t[f]),
      text: trials.map((t) => {
        const v = t[f];
        if (v === null) return '—';
        if (f === 'best_value') return metricValue(t.metric, v);
        return f.endsWith('_acc') ? pct(v) : f.endsWith('_loss') ? num(v) : f === 'images_per_s' ? rate(v) : f === 'seconds' ? v.toFixed(1) : String(v);
      }),
    })),
  ];
  return { rows, identical: paths.length === 0 };
}
