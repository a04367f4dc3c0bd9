/**
 * `sweep upgrade [--db PATH]`: brings a database written by an older lenet-sweep to this
 * version's schema, in place (a sweep does the same when it opens one). Read-only commands
 * refuse older databases rather than change them.
 */
import { UserError } from '../config/errors.js';
import { upgradeDatabase } from '../store/open.js';
import { parse } from './args.js';
import { UPGRADE } from './commands.js';
import { print } from './output.js';

export function upgradeCommand(args: string[]): number {
  const { values, positionals } = parse(args, UPGRADE);
  if (positionals.length) throw new UserError(`sweep upgrade: unexpected argument '${positionals[0]}'; name the database with --db PATH`);
  const { from, to } = upgradeDatabase(values.db!);
  print(from === to ? `${values.db}: already at schema version ${to}` : `${values.db}: upgraded from schema version ${from} to ${to}`);
  return 0;
}
