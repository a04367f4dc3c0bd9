/** `sweep schema`: the JSON Schema of experiment files, for editors and other tools. */
import { readFileSync } from 'node:fs';
import { SCHEMA_PATH } from '../config/load.js';
import { UserError } from '../config/errors.js';
import { parse } from './args.js';
import { SCHEMA } from './commands.js';

export function schemaCommand(args: string[]): number {
  const { positionals } = parse(args, SCHEMA);
  if (positionals.length) throw new UserError(`sweep schema: takes no argument, found '${positionals[0]}'; write it to a file with sweep schema > experiment.schema.json`);
  process.stdout.write(readFileSync(SCHEMA_PATH, 'utf8'));
  return 0;
}
