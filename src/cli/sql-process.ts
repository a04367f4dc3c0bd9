/**
 * The process that runs `sweep runs sql`'s statement (sql-query.ts), started by the command
 * (runs-sql.ts) with the query, in JSON, and the command's pid as its arguments. It writes to
 * the command's own stdout and stderr.
 *
 * It installs no handler for stop signals: SQLite computes a row without returning to
 * JavaScript, so a handler might never run. A signal ends it at once (its -wal and -shm are
 * tidied by the command), whether the command forwards it or a terminal sends it to both. If
 * the command itself dies (SIGKILL), a watchdog thread, which runs while SQLite holds this one,
 * ends this process too, rather than leave a statement computing with no one to read it. The
 * parent is the pid the command passed, not this process's parent when it starts: a command
 * killed while this process was still loading (a loaded machine) would leave it a child of init
 * from the start, and it would have watched init.
 */
import { once } from 'node:events';
import { Worker } from 'node:worker_threads';
import { runCommandLine } from './entry.js';
import { printQuery, type SqlQuery } from './sql-query.js';

/** How often the watchdog looks for its parent. */
const WATCH_MS = 200;

const parent = Number(process.argv[3]) || process.ppid;

const watchdog = new Worker(
  `const parent = ${parent};
   setInterval(() => { if (process.ppid !== parent) process.kill(process.pid, 'SIGKILL'); }, ${WATCH_MS});`,
  { eval: true },
);

// The watchdog starts before the statement (a thread's start needs this one's event loop now and
// then); once it runs, it does not keep this process alive.
runCommandLine(async () => {
  await once(watchdog, 'online');
  watchdog.unref();
  return printQuery(JSON.parse(process.argv[2]) as SqlQuery);
});
