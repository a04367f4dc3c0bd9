/**
 * Fitting a table into the terminal's width: every column has a priority, and the columns of
 * lowest priority go first until the rest fit, so a narrow terminal shows fewer columns instead
 * of wrapped, garbled lines. Cells are cut to their column's width with '…'.
 */

export interface Column<T> {
  header: string;
  /** Room the column needs (at least the header's length is used). */
  width: number;
  /** Higher stays longer when the terminal is narrow. */
  priority: number;
  align?: 'left' | 'right';
  cell: (row: T) => string;
}

const GAP = 1;

/** Text on one line, cut to `width` characters ('…' marks a cut) and padded to exactly `width`. */
export function fit(text: string, width: number, align: 'left' | 'right' = 'left'): string {
  if (width <= 0) return '';
  // One line, always: a line break (an error's stack, say) would make the frame taller than planned.
  text = text.replace(/\s*\n\s*/g, ' ').replace(/[\t\r]/g, ' ');
  const cut = text.length > width ? `${text.slice(0, Math.max(0, width - 1))}…`.slice(0, width) : text;
  return align === 'right' ? cut.padStart(width) : cut.padEnd(width);
}

/** The columns that fit in `width`, in their original order, with their final widths. */
export function fitColumns<T>(columns: Column<T>[], width: number): Column<T>[] {
  let kept = columns.map((c) => ({ ...c, width: Math.max(c.width, c.header.length) }));
  const total = (cs: Column<T>[]) => cs.reduce((sum, c) => sum + c.width, 0) + GAP * Math.max(0, cs.length - 1);
  while (kept.length > 1 && total(kept) > width) {
    const lowest = kept.reduce((min, c) => (c.priority < min.priority ? c : min));
    kept = kept.filter((c) => c !== lowest);
  }
  // The last column left can still be too wide for a very narrow terminal: cut it.
  if (total(kept) > width) kept = kept.map((c) => ({ ...c, width: Math.max(1, width) }));
  return kept;
}

export function headerLine<T>(columns: Column<T>[]): string {
  return columns.map((c) => fit(c.header, c.width, c.align)).join(' '.repeat(GAP));
}

/** One row's cells, each fitted to its column. */
export function cells<T>(columns: Column<T>[], row: T): string[] {
  return columns.map((c) => fit(c.cell(row), c.width, c.align));
}

export const SEPARATOR = ' '.repeat(GAP);

/**
 * The rows of a list that fit in `lines`: all of them, or a window around the selected one with
 * a line left to say how many are hidden.
 */
export function windowAround<T>(rows: T[], selected: number, lines: number): { shown: T[]; hidden: number } {
  const room = rows.length <= lines ? rows.length : Math.max(1, lines - 1);
  const start = rows.length <= room ? 0 : Math.min(Math.max(0, selected - Math.floor(room / 2)), rows.length - room);
  const shown = rows.slice(start, start + room);
  return { shown, hidden: rows.length - shown.length };
}
