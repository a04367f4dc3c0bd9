// Plain-text charts. Every glyph is a single UTF-16 code unit in the BMP, so String.length is the
// column count both Ink and plain stdout will use; keep it that way when adding glyphs.

import { maxOf, minOf } from '../util/extremes.js';

const BARS = '▁▂▃▄▅▆▇█';
const EIGHTHS = '▏▎▍▌▋▊▉'; // 1/8 … 7/8 of a cell
const GLYPHS = ['●', '○', '◆', '×'];

const isNum = (v: number | null): v is number => v !== null && Number.isFinite(v);

/** One character per value, ▁▂▃▄▅▆▇█ scaled between min and max of the finite values; null/non-finite → ' '; all equal → '▄'. When there are more values than width, the last `width` values are shown. */
export function sparkline(values: (number | null)[], width?: number): string {
  if (width !== undefined && width <= 0) return ''; // slice(-0) would keep everything
  const shown = width !== undefined && values.length > width ? values.slice(-width) : values;
  // Scale to what is visible, so a long-gone spike does not flatten the recent history.
  const finite = shown.filter(isNum);
  const min = minOf(finite);
  const max = maxOf(finite);
  return shown
    .map((v) => {
      if (!isNum(v)) return ' ';
      if (max === min) return '▄';
      return BARS[Math.round(((v - min) / (max - min)) * (BARS.length - 1))];
    })
    .join('');
}

/** Exactly `width` characters: full blocks '█', one partial eighth block (▏▎▍▌▋▊▉) and '░' padding for the rest; fraction clamped to 0..1. width ≤ 0 → ''. */
export function progressBar(fraction: number, width: number): string {
  if (!(width > 0)) return '';
  width = Math.floor(width);
  const f = Number.isFinite(fraction) ? Math.min(1, Math.max(0, fraction)) : 0;
  // Round down so the bar only looks complete when the work is; the epsilon absorbs
  // products such as 0.29 * 100 landing just below an integer.
  const eighths = Math.floor(f * width * 8 + 1e-9);
  const full = Math.floor(eighths / 8);
  const partial = eighths % 8 === 0 ? '' : EIGHTHS[(eighths % 8) - 1];
  return '█'.repeat(full) + partial + '░'.repeat(width - full - partial.length);
}

export interface Series {
  label: string;
  values: (number | null)[];
}

const threeDigits = (v: number): string => String(Number(v.toPrecision(3)));

/** A line chart of one or more series over x = 1..n (epochs), as lines of text, each at most `width` characters (including the y-axis labels on the left); `height` rows of plot area, then an x-axis line with the first and last x, then a legend line ("● train_loss  ○ val_loss"). Each series has its own glyph (●, ○, ◆, ×, in order); where two series fall on the same cell, the later series wins. y range from min..max of all finite values (a constant series gets a small symmetric range); y labels formatted with opts.format (default: 3 significant digits) at top, middle and bottom rows. x positions spread over the plot width (n = 1 → one column). null values are skipped (gaps). Empty input or all null → a single line "(no data yet)". */
export function lineChart(
  series: Series[],
  opts: { width: number; height: number; format?: (v: number) => string },
): string[] {
  const finite = series.flatMap((s) => s.values.filter(isNum));
  if (finite.length === 0) return ['(no data yet)'];
  const format = opts.format ?? threeDigits;
  const height = Math.max(1, Math.floor(opts.height));
  const n = maxOf(series.map((s) => s.values.length));

  let min = minOf(finite);
  let max = maxOf(finite);
  if (min === max) {
    // Centre a flat line instead of pinning it to an edge; 10% (or 1 around zero) reads as "flat".
    const pad = min === 0 ? 1 : Math.abs(min) * 0.1;
    min -= pad;
    max += pad;
  }
  const rowOf = (v: number) => Math.round(((max - v) / (max - min)) * (height - 1));
  const valueAt = (row: number) => (height === 1 ? max : max - (row / (height - 1)) * (max - min));

  // Later entries win, so top and bottom keep their labels when rows coincide on short charts.
  const labels = new Map<number, string>();
  labels.set(Math.floor((height - 1) / 2), format(valueAt(Math.floor((height - 1) / 2))));
  labels.set(height - 1, format(min));
  labels.set(0, format(max));
  const labelWidth = Math.max(...[...labels.values()].map((l) => l.length));
  const plotWidth = Math.max(1, opts.width - labelWidth - 2);
  const colOf = (i: number) => (n === 1 ? 0 : Math.round((i * (plotWidth - 1)) / (n - 1)));

  const grid = Array.from({ length: height }, () => Array<string>(plotWidth).fill(' '));
  series.forEach((s, k) => {
    const glyph = GLYPHS[k % GLYPHS.length];
    s.values.forEach((v, i) => {
      if (isNum(v)) grid[rowOf(v)][colOf(i)] = glyph;
    });
  });

  const rows = grid.map((cells, r) => {
    const label = labels.get(r);
    return `${(label ?? '').padStart(labelWidth)} ${label === undefined ? '│' : '┤'}${cells.join('')}`;
  });
  const first = '1';
  const last = String(n);
  const gap = plotWidth - first.length - last.length;
  const ticks = n === 1 || gap < 1 ? first.padEnd(plotWidth, '─') : first + '─'.repeat(gap) + last;
  const axis = `${' '.repeat(labelWidth)} └${ticks}`;
  const legend = series.map((s, k) => `${GLYPHS[k % GLYPHS.length]} ${s.label}`).join('  ');
  // Clip rather than wrap: a wrapped line would break the row count the layout relies on.
  return [...rows, axis, legend].map((line) => line.slice(0, opts.width));
}
