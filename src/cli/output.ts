/**
 * The three output formats of the query commands: an aligned table for people (default),
 * JSON for programs, CSV for spreadsheets. Each command builds one Grid and hands it here.
 */
import { UserError } from '../config/errors.js';
import { table } from './format.js';

export type Format = 'table' | 'json' | 'csv';

/** Header, raw values for JSON/CSV and display text for the table, column by column. */
export interface Grid {
  headers: string[];
  /** Raw values: numbers stay numbers (and full precision) in JSON and CSV. */
  rows: unknown[][];
  /** Display text of each cell; defaults to String(raw value), null as '—'. */
  text?: string[][];
  /** Columns right-aligned in the table. */
  numeric?: Set<number>;
}

export const FORMAT_OPTIONS = {
  json: { type: 'boolean', default: false },
  csv: { type: 'boolean', default: false },
} as const;

export function formatOf(values: { json?: boolean; csv?: boolean }): Format {
  if (values.json && values.csv) throw new UserError('--json and --csv: choose one output format');
  return values.json ? 'json' : values.csv ? 'csv' : 'table';
}

/** A value as a table cell shows it: null as '—', objects as JSON. */
export const cellText = (v: unknown): string => (v === null || v === undefined ? '—' : typeof v === 'object' ? JSON.stringify(v) : String(v));

/** RFC 4180: quote fields with commas, quotes or line breaks; nulls are empty fields. */
function csvField(v: unknown): string {
  const s = v === null || v === undefined ? '' : typeof v === 'object' ? JSON.stringify(v) : String(v);
  return /[",\r\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

/** Columns whose values are all numbers (or null). */
function numericColumns(rows: unknown[][]): Set<number> {
  const columns = new Set<number>();
  rows[0]?.forEach((_, i) => {
    if (rows.every((r) => r[i] === null || typeof r[i] === 'number' || typeof r[i] === 'bigint')) columns.add(i);
  });
  return columns;
}

/** JSON objects need distinct keys: a repeated name gets ':2', ':3'… */
function distinct(names: string[]): string[] {
  const taken = new Set<string>();
  return names.map((name) => {
    let key = name;
    for (let n = 2; taken.has(key); n++) key = `${name}:${n}`;
    taken.add(key);
    return key;
  });
}

export function render(grid: Grid, format: Format, emptyText = 'no rows'): string {
  switch (format) {
    case 'json': {
      const keys = distinct(grid.headers);
      return JSON.stringify(grid.rows.map((r) => Object.fromEntries(keys.map((k, i) => [k, r[i] ?? null]))), null, 2);
    }
    case 'csv':
      return [grid.headers, ...grid.rows].map((r) => r.map(csvField).join(',')).join('\n');
    case 'table':
      if (grid.rows.length === 0) return emptyText;
      return table(grid.headers, grid.text ?? grid.rows.map((r) => r.map(cellText)), grid.numeric ?? numericColumns(grid.rows));
  }
}

/** Writes the text and a final newline to stdout. */
export function print(text: string): void {
  process.stdout.write(`${text}\n`);
}
