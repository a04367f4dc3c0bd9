/** Where the runs database is unless a command is told otherwise (its own module: the command table names it without loading SQLite). */
export const DEFAULT_DB = 'runs/runs.db';
