/**
 * The tables the report's charts read by name (Vega-Lite `datasets`): one row per trial and
 * epoch, one row per trial, each with the trial's swept parameters under their plot field names
 * (spec-base.ts). The page holds each table once, however many charts draw from it.
 */
import type { ReportParam, ReportSweep, ReportTrial } from './data.js';
import { paramField, type Spec } from './spec-base.js';

/** The values of the swept parameters of a trial under their plot field names. */
function paramFields(params: ReportParam[], t: ReportTrial): Record<string, string | number | boolean | null> {
  return Object.fromEntries(
    params.flatMap((p, i) => {
      const v = t.params[p.name];
      if (p.kind === 'category') return [[paramField(i), String(v ?? '')]];
      // Log parameters also by their log10, which colour scales linearly (Vega draws a log colour scale's legend as dozens of dots).
      return p.log ? [[paramField(i), v ?? null], [`${paramField(i)}_log10`, typeof v === 'number' && v > 0 ? Math.log10(v) : null]] : [[paramField(i), v ?? null]];
    }),
  );
}

/** The charts' shared tables, given to a spec by name (Vega-Lite `datasets`) so the page holds each once. */
export interface Datasets {
  /** One row per trial and epoch: the epoch's numbers, the trial's parameters, leader/pruned flags. */
  epochs: Record<string, unknown>[];
  /** One row per trial: its best value, status, parameters. */
  trials: Record<string, unknown>[];
}

/** A fixed position in 0.15..0.85 from a trial's id (hex), so a report drawn again puts each point where it was. */
const jitter = (id: string) => 0.15 + 0.7 * (parseInt(id.slice(0, 6), 16) / 0xffffff || 0.5);

export function datasets(sweep: ReportSweep): Datasets {
  return {
    epochs: sweep.trials.flatMap((t) => {
      const fields = paramFields(sweep.params, t);
      const single = t.history.length === 1;
      return t.history.map((e) => ({ trial: t.id, ...e, leader: t.id === sweep.leader, pruned: t.status === 'pruned' && e.epoch === t.epochs, single, status: t.status, ...fields }));
    }),
    trials: sweep.trials.map((t) => ({ trial: t.id, order: t.order, jitter: jitter(t.id), value: t.best_value, test_acc: t.test_acc, status: t.status, leader: t.id === sweep.leader, ...paramFields(sweep.params, t) })),
  };
}

/** A spec with the named tables it reads filled in: what vega-embed or the Node renderer takes. */
export function withDatasets(spec: Spec, tables: Datasets): Spec {
  const text = JSON.stringify(spec);
  const used = (Object.keys(tables) as (keyof Datasets)[]).filter((name) => text.includes(`{"name":"${name}"}`));
  return used.length ? { ...spec, datasets: Object.fromEntries(used.map((name) => [name, tables[name]])) } : spec;
}
