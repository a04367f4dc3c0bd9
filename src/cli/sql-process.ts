/**
 * The process that runs `sweep runs sql`'s statement (sql-query.ts), started by the command
 * (runs-command.ts) with the query as its one argument, in JSON. It writes to the command's
 * own stdout and stderr; a stop signal stops its output as any read command's, and the command
 * ends it outright if it is stuck inside SQLite.
 */
import { runCommandLine } from './entry.js';
import { printQuery, type SqlQuery } from './sql-query.js';
import { endOnStopSignals } from './stop-signals.js';

endOnStopSignals();
runCommandLine(() => printQuery(JSON.parse(process.argv[2]) as SqlQuery));
