/** Plain-text formatting shared by the commands. */
import { valueText } from '../config/load.js';
import type { Experiment } from '../config/experiment.types.js';

export const pct = (v: number | null | undefined, digits = 2): string => (v === null || v === undefined ? '—' : `${(v * 100).toFixed(digits)}%`);

export const num = (v: number | null | undefined, digits = 4): string => (v === null || v === undefined ? '—' : v.toFixed(digits));

export const rate = (v: number | null | undefined): string => (v === null || v === undefined ? '—' : Math.round(v).toString());

/** A metric value as people read it: accuracies in percent, losses as numbers. */
export function metricValue(name: string, v: number | null | undefined): string {
  return name.endsWith('_acc') ? pct(v) : num(v);
}

/** How a metric's goal reads in titles. */
export const goalText = (goal: string): string => (goal === 'maximize' ? 'higher is better' : 'lower is better');

/** A sweep's status as listed: one marked running whose process is gone says so. */
export const sweepStatusText = (status: string, processGone: boolean): string => (processGone ? 'running (process gone)' : status);

export function paramsText(params: Record<string, unknown>): string {
  return Object.entries(params).map(([k, v]) => `${k}=${valueText(v)}`).join(' ');
}

/** Left-aligned text columns, right-aligned numeric ones, two spaces apart. */
export function table(headers: string[], rows: string[][], rightAligned: Set<number> = new Set()): string {
  const line = tableLine(headers, rows, rightAligned);
  return [line(headers), ...rows.map(line)].join('\n');
}

/** A function that lays out one row of a table whose columns fit the headers and the given rows. */
export function tableLine(headers: string[], rows: string[][], rightAligned: Set<number> = new Set()): (cells: string[]) => string {
  // A loop, not Math.max(...rows): a query can return more rows than a call has room for arguments.
  const widths = headers.map((h) => h.length);
  for (const r of rows) r.forEach((c, i) => (widths[i] = Math.max(widths[i] ?? 0, c.length)));
  return (cells) => cells.map((c, i) => (rightAligned.has(i) ? c.padStart(widths[i] ?? 0) : c.padEnd(widths[i] ?? 0))).join('  ').trimEnd();
}

/** A value as a table cell shows it: null as '—', objects as JSON. */
export const cellText = (v: unknown): string => (v === null || v === undefined ? '—' : typeof v === 'object' ? JSON.stringify(v) : String(v));

/** Where a converted dataset came from (a trial's config holds the paths resolved against its file): said by the report and runs show. */
export function dataSourceOf(data: Experiment['data']): string | null {
  return data.dataset === 'csv' ? `${data.train} and ${data.test}` : data.dataset === 'folder' ? data.dir! : null;
}
