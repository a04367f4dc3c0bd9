/**
 * What the report's Vega-Lite specs share: the frame every chart starts from (schema, title,
 * font, size), the number formats of metrics, and the encodings that must look the same in every
 * chart (colour by a parameter, colour by status, a trial's tooltip). Parameters travel under
 * plain field names (p0, p1, …) because Vega-Lite reads a dot in a field name as a path, and
 * config paths (model.pooling) are full of dots.
 */
import type { ReportParam, ReportSweep } from './data.js';

export type Spec = Record<string, unknown>;

const SCHEMA = 'https://vega.github.io/schema/vega-lite/v6.json';
export const WIDTH = 250;
export const HEIGHT = 220;
const FONT = 'DejaVu Sans, Helvetica, Arial, sans-serif';

/** A long line cut at spaces into lines of at most `width` characters (Vega titles do not wrap). */
export function splitLine(text: string, width: number): string[] {
  const lines: string[] = [];
  let line = '';
  for (const word of text.split(' ')) {
    if (line && line.length + 1 + word.length > width) [lines[lines.length], line] = [line, word];
    else line = line ? `${line} ${word}` : word;
  }
  return line ? [...lines, line] : lines;
}

/** What every chart shares: no outer padding games, one font on screen and in PNGs. */
export const base = (title: string, subtitle?: string | string[]): Spec => ({
  $schema: SCHEMA,
  title: subtitle ? { text: title, subtitle } : title,
  config: { font: FONT, view: { stroke: null }, axis: { labelFontSize: 11, titleFontSize: 12 }, legend: { labelLimit: 160 } },
  background: 'white',
  padding: 8,
});

/** Field name of the i-th swept parameter in the plots' rows. */
export const paramField = (i: number) => `p${i}`;

export const isAccuracy = (metric: string) => metric.endsWith('_acc');
/** Accuracies as percentages; losses to 3 significant digits (a diverged 1.4e+6 stays short). */
export const LOSS_FORMAT = '.3~g';
export const metricFormat = (metric: string) => (isAccuracy(metric) ? '.2%' : LOSS_FORMAT);

/** The colour encoding for a parameter: a sequential scale for numbers (log where the parameter is), categories otherwise. */
export function colorEncoding(params: ReportParam[], name: string | null): Spec {
  const i = params.findIndex((p) => p.name === name);
  if (i < 0) return { value: '#4c78a8' };
  const p = params[i];
  return p.kind === 'number'
    ? p.log
      ? { field: `${paramField(i)}_log10`, type: 'quantitative', title: `${p.name} (log)`, scale: { scheme: 'viridis' }, legend: { labelExpr: "format(pow(10, datum.value), '.1~e')" } }
      : { field: paramField(i), type: 'quantitative', title: p.name, scale: { scheme: 'viridis', zero: false } }
    : { field: paramField(i), type: 'nominal', title: p.name, scale: { domain: p.values.map(String), scheme: p.values.length > 10 ? 'category20' : 'tableau10' } };
}

/** Tooltip fields of a trial: id, its parameters, and what the chart plots. */
export function trialTooltip(params: ReportParam[], extra: Spec[]): Spec[] {
  return [{ field: 'trial', title: 'trial' }, ...params.map((p, i) => ({ field: paramField(i), title: p.name, ...(p.kind === 'number' ? { type: 'quantitative' } : {}) })), ...extra];
}

const STATUS_COLORS: Record<string, string> = { completed: '#4c78a8', pruned: '#f58518', running: '#54a24b', interrupted: '#bab0ac', failed: '#e45756', diverged: '#b279a2', queued: '#9d755d' };

/** Status as colour, the same in every chart; the legend lists only the statuses the sweep has. */
export function statusColor(sweep: ReportSweep): Spec {
  const present = Object.keys(STATUS_COLORS).filter((s) => sweep.trials.some((t) => t.status === s));
  return { field: 'status', type: 'nominal', scale: { domain: present, range: present.map((s) => STATUS_COLORS[s]) } };
}
