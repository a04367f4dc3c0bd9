/**
 * The three output formats of the query commands: an aligned table for people (default),
 * JSON for programs, CSV for spreadsheets. Each command builds one Grid and hands it here.
 */
import { UserError } from '../config/errors.js';
import { cellText, tableLine } from '../view/format.js';
import { jsonRow } from './json-text.js';

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

export function formatOf(values: { json?: boolean; csv?: boolean }): Format {
  if (values.json && values.csv) throw new UserError('--json and --csv: choose one output format');
  return values.json ? 'json' : values.csv ? 'csv' : 'table';
}


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

export async function render(grid: Grid, format: Format, emptyText = 'no rows'): Promise<string> {
  const lines: string[] = [];
  for await (const line of renderLines({ headers: grid.headers, rows: grid.rows, text: grid.text && ((_, i) => grid.text![i]), numeric: grid.numeric }, format, emptyText)) lines.push(line);
  return lines.join('\n');
}

/** Values one at a time: from memory, a database cursor, or a pass that lets the event loop run (paced). */
export type Rows<T> = Iterable<T> | AsyncIterable<T>;

/** A Grid whose rows come one at a time (from a database cursor), each with its display text. */
export interface RowStream {
  headers: string[];
  rows: Rows<unknown[]>;
  /** Display text of a row (its index given); defaults to cellText of each value. */
  text?: (row: unknown[], index: number) => string[];
  numeric?: Set<number>;
}

/**
 * A table's columns are as wide as the widest cell of its first rows: a result of millions of
 * rows is printed as it is read, not held to measure, and a later wider cell only pushes its
 * row's next cells to the right.
 */
export const ALIGNED_ROWS = 1000;

/** The lines of a result in a format, made as the rows are read. */
export async function* renderLines(stream: RowStream, format: Format, emptyText = 'no rows'): AsyncGenerator<string> {
  switch (format) {
    case 'json': {
      const keys = distinct(stream.headers);
      async function* objects() {
        for await (const r of stream.rows) yield Object.fromEntries(keys.map((k, i) => [k, r[i] ?? null]));
      }
      return yield* jsonLines(objects());
    }
    case 'csv':
      yield stream.headers.map(csvField).join(',');
      for await (const r of stream.rows) yield r.map(csvField).join(',');
      return;
    case 'table': {
      const text = stream.text ?? ((r: unknown[]) => r.map(cellText));
      // The first rows are held to measure the columns; the rest are printed as they come. Output
      // that stops early (a reader gone) ends the loop, and with it the database cursor, or the
      // connection would stay busy and could not close.
      const first: { raw: unknown[]; cells: string[] }[] = [];
      let line: ((cells: string[]) => string) | undefined;
      const layout = function* () {
        const numeric = stream.numeric ?? numericColumns(first.map((r) => r.raw));
        line = tableLine(stream.headers, first.map((r) => r.cells), numeric);
        yield line(stream.headers);
        for (const r of first.splice(0)) yield line(r.cells);
      };
      let index = 0;
      for await (const raw of stream.rows) {
        const cells = text(raw, index++);
        if (line) yield line(cells);
        else {
          first.push({ raw, cells });
          if (first.length === ALIGNED_ROWS) yield* layout();
        }
      }
      if (line) return;
      if (first.length === 0) yield emptyText;
      else yield* layout();
      return;
    }
  }
}

/** The text jsonText gives for an array of objects, made a value at a time. */
export async function* jsonLines(values: Rows<unknown>): AsyncGenerator<string> {
  let previous: string | undefined;
  for await (const v of values) {
    yield previous === undefined ? '[' : `${previous},`;
    previous = `  ${jsonRow(v, '  ')}`;
  }
  if (previous === undefined) yield '[]';
  else yield* [previous, ']'];
}

/** Writes the text and a final newline to stdout. */
export function print(text: string): void {
  process.stdout.write(`${text}\n`);
}

/** Output is written in pieces of about this many characters. */
const CHUNK_CHARS = 64 * 1024;

/**
 * Whether stdout takes no more output: its reader has gone (EPIPE: writes to a pipe are
 * synchronous on Linux and each one fails again, while the stream is never marked destroyed),
 * or a stop signal ended the output (stopOutput). Like stdout itself, one per process.
 */
let outputStopped = false;
process.stdout.on('error', () => {
  outputStopped = true;
});

/** Ends what printLines is writing at its next chunk: a stop signal for a command that only reads. */
export function stopOutput(): void {
  outputStopped = true;
}

/**
 * Writes lines to stdout as they are made, a chunk at a time, waiting when the reader is slower
 * and stopping when it has gone (`| head`) or a stop signal came: between chunks the event loop
 * runs, so the command notices, stops reading and closes its database as it unwinds.
 */
export async function printLines(lines: Rows<string>): Promise<void> {
  let chunk = '';
  for await (const line of lines) {
    chunk += `${line}\n`;
    if (chunk.length >= CHUNK_CHARS) {
      if (!(await flush(chunk))) return;
      chunk = '';
    }
  }
  if (chunk) await flush(chunk);
}

/**
 * How long a pass over rows may keep the event loop waiting. A pass that prints nothing (the
 * columns of a table found over 150,000 trials, a sort) takes many seconds; meanwhile Ctrl-C and
 * SIGTERM could not be handled, nor a reader gone be noticed.
 */
const PACE_MS = 20;

/**
 * The values in order, letting the event loop run every PACE_MS (and so a stop signal be
 * handled). Once output has stopped (a stop signal, a reader gone) nothing more will be printed:
 * the pass ends there, and the cursor it reads is closed. A pass that starts after a stop does
 * not even start its cursor, whose first row may take SQLite seconds to rank.
 */
export async function* paced<T>(values: Iterable<T>): AsyncGenerator<T> {
  const iterator = values[Symbol.iterator]();
  try {
    let since = performance.now();
    while (!outputStopped) {
      const next = iterator.next();
      if (next.done) return;
      yield next.value;
      if (performance.now() - since >= PACE_MS) {
        await new Promise((resolve) => setImmediate(resolve));
        since = performance.now();
      }
    }
  } finally {
    iterator.return?.();
  }
}

/** Writes one chunk; false once stdout takes no more. */
async function flush(chunk: string): Promise<boolean> {
  const out = process.stdout;
  if (outputStopped) return false;
  if (out.write(chunk)) {
    await new Promise((resolve) => setImmediate(resolve));
  } else {
    // Wait for the reader; a reader gone meanwhile, or a stop, ends the wait too.
    await new Promise<void>((resolve) => {
      const timer = setInterval(() => outputStopped && done(), 50);
      const done = () => {
        clearInterval(timer);
        out.off('drain', done).off('close', done).off('error', done);
        resolve();
      };
      out.on('drain', done).on('close', done).on('error', done);
    });
  }
  return !outputStopped;
}
