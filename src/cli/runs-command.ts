/**
 * `sweep runs list|show|best|compare|sql`: questions about past runs, read-only. Every
 * subcommand opens the database read-only, so none of them can change it. Each lives in a file
 * of its own (runs-list.ts, runs-show.ts, runs-best.ts, runs-compare.ts, runs-sql.ts); this one
 * sends a command line to its subcommand.
 */
import { UserError } from '../config/errors.js';
import { didYouMean } from '../config/suggest.js';
import { runsBest } from './runs-best.js';
import { runsCompare } from './runs-compare.js';
import { runsList } from './runs-list.js';
import { runsShow } from './runs-show.js';
import { runsSql } from './runs-sql.js';

const SUBCOMMANDS = ['list', 'show', 'best', 'compare', 'sql'] as const;

export async function runsCommand(args: string[]): Promise<number> {
  const [sub, ...rest] = args;
  switch (sub as (typeof SUBCOMMANDS)[number]) {
    case 'list':
      return runsList(rest);
    case 'show':
      return runsShow(rest);
    case 'best':
      return runsBest(rest);
    case 'compare':
      return runsCompare(rest);
    case 'sql':
      return runsSql(rest);
  }
  throw new UserError(
    `sweep runs: ${sub === undefined ? 'no subcommand given' : `unknown subcommand '${sub}'${didYouMean(sub, SUBCOMMANDS)}`}; expected one of: ${SUBCOMMANDS.join(', ')}`,
  );
}
