import { parseArgs, type ParseArgsConfig } from 'node:util';
import { UserError } from '../config/errors.js';

type Options = NonNullable<ParseArgsConfig['options']>;

/** util.parseArgs with its errors turned into one-line user errors. */
export function parse<T extends Options>(args: string[], options: T, command: string) {
  try {
    return parseArgs({ args, options, allowPositionals: true, strict: true });
  } catch (err) {
    const message = (err as Error).message.split('\n')[0].replace(/\. To specify a positional.*$/, '');
    throw new UserError(`${command}: ${message}; see sweep --help`);
  }
}

/** A positive integer option, or a user error naming it. */
export function positiveInt(value: string | undefined, name: string): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1) throw new UserError(`--${name}: expected a positive integer, found '${value}'`);
  return n;
}
