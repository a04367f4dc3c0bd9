/**
 * `sweep runs sql`: the statement runs in a process of its own (sql-process.ts), writing to this
 * one's stdout, so that Ctrl-C, SIGTERM and --timeout end it wherever it is, even inside SQLite.
 */
import { spawn } from 'node:child_process';
import { constants as osConstants } from 'node:os';
import { fileURLToPath } from 'node:url';
import { UserError } from '../config/errors.js';
import { withReadOnly } from '../store/open.js';
import { STOP_SIGNALS, type StopSignal } from '../util/signals.js';
import { parse } from './args.js';
import { RUNS_SQL } from './commands.js';
import { formatOf } from './output.js';
import type { SqlQuery } from './sql-query.js';
import { releaseTerminal } from './stop-signals.js';

const SQL_PROCESS = new URL('./sql-process.js', import.meta.url);

/** The longest --timeout, in seconds: a timer holds at most 2^31 - 1 ms. */
const MAX_TIMEOUT_S = 2_147_483;

export async function runsSql(args: string[]): Promise<number> {
  const { values, positionals } = parse(args, RUNS_SQL);
  if (positionals.length !== 1) throw new UserError(`sweep runs sql: expected one SQL statement in quotes, e.g. sweep runs sql "SELECT * FROM leaderboard"`);
  const format = formatOf(values);
  const timeout = values.timeout === undefined ? undefined : Number(values.timeout);
  // A timer holds at most 2^31 - 1 ms (24.8 days).
  if (timeout !== undefined && !(/^\d+(\.\d+)?$/.test(values.timeout!) && timeout > 0 && timeout <= MAX_TIMEOUT_S)) {
    throw new UserError(`--timeout: expected a number of seconds above 0 and at most ${MAX_TIMEOUT_S} (24 days), found '${values.timeout}'`);
  }
  const query: SqlQuery = { db: values.db!, statement: positionals[0], format };
  // This process's pid goes with it: a child that starts only after this one died must know.
  const child = spawn(process.execPath, [fileURLToPath(SQL_PROCESS), JSON.stringify(query), String(process.pid)], { stdio: ['ignore', 'inherit', 'inherit'] });
  const exited = new Promise<number>((resolve, reject) => {
    child.on('exit', (code, signal) => resolve(code ?? 128 + (signal ? osConstants.signals[signal] : 0)));
    // Unheard, an 'error' would end this process with a stack trace. One that could not be
    // started (no process slots or descriptors left) has no exit to wait for: said in one line.
    child.on('error', (err) => {
      if (child.pid === undefined) reject(new Error(`sweep runs sql: could not start the process that runs the statement (${err.message})`));
    });
  });
  // This process dies with it, whatever happens.
  const kill = () => child.kill('SIGKILL');
  process.once('exit', kill);
  // A stop (a signal, or --timeout) ends the query at once (it has no handler: sql-process.ts),
  // and this process tidies the database it leaves open.
  let stopped: { code: number } | undefined;
  const stop = (signal: NodeJS.Signals, code: number) => {
    stopped ??= { code };
    child.kill(signal);
  };
  const onSignal = (signal: StopSignal) => stop(signal, STOP_SIGNALS[signal]);
  for (const signal of Object.keys(STOP_SIGNALS) as StopSignal[]) process.on(signal, onSignal);
  const timer = timeout === undefined ? undefined : setTimeout(() => stop('SIGTERM', 1), timeout * 1000);
  let code: number;
  try {
    code = await exited;
  } finally {
    clearTimeout(timer);
  }
  if (child.signalCode) tidy(values.db!);
  if (stopped?.code === 1) throw new Error(`sweep runs sql: stopped after --timeout ${values.timeout} s, before the statement finished`);
  // A hung-up terminal is released as every read command releases it.
  if (stopped?.code === STOP_SIGNALS.SIGHUP) releaseTerminal();
  return stopped?.code ?? code;
}

/** A query ended by a signal leaves the database's -wal and -shm behind; a connection that opens and closes removes them (unless a sweep still writes it). */
function tidy(path: string): void {
  try {
    withReadOnly(path, () => undefined);
  } catch {
    // Whatever is wrong with it was said by the query.
  }
}
