import { parseArgs, type ParseArgsConfig } from 'node:util';
import { UserError } from '../config/errors.js';
import { didYouMean } from '../config/suggest.js';

type Options = NonNullable<ParseArgsConfig['options']>;

/** util.parseArgs with its errors turned into one-line user errors. */
export function parse<T extends Options>(args: string[], options: T, command: string) {
  let parsed;
  try {
    parsed = parseArgs({ args, options, allowPositionals: true, strict: true });
  } catch (err) {
    throw new UserError(parseError(err as Error & { code?: string }, args, options, command));
  }
  // An empty --db (`--db ''`, `--db "$UNSET"`) would name no file at all.
  if ((parsed.values as Record<string, unknown>).db === '') throw new UserError('--db: expected a path to the database file, found an empty string');
  return parsed;
}

/** Node's parseArgs messages span lines and speak of its API; this says what to type instead. */
function parseError(err: Error & { code?: string }, args: string[], options: Options, command: string): string {
  const message = err.message.split('\n')[0];
  const names = Object.keys(options).map((n) => `--${n}`);
  // "Option '--limit <value>' argument missing", "Option '-l, --limit' argument is ambiguous."
  const option = /^Option '(?:-\w, )?(-{1,2}[^' <]+)/.exec(message)?.[1];
  if (err.code === 'ERR_PARSE_ARGS_INVALID_OPTION_VALUE' && option) {
    if (/argument is ambiguous/.test(message)) {
      // The option was followed by something starting with '-': a negative number, or another
      // option (known, mistyped, or `--`).
      const at = args.findIndex((a, i) => a === option && args[i + 1]?.startsWith('-'));
      const next = at >= 0 ? args[at + 1] : undefined;
      if (next === undefined || next.startsWith('--') || /^-[a-zA-Z]$/.test(next)) {
        return `${option}: missing its value${next ? ` (found the option '${next}' after it)` : ''}; write ${option} VALUE`;
      }
      return `${option}: a value that starts with '-' must be written ${option}=${next}`;
    }
    if (/argument missing/.test(message)) return `${option}: missing its value; write ${option} VALUE`;
    if (/does not take an argument/.test(message)) return `${option}: takes no value; write ${option} alone`;
  }
  if (err.code === 'ERR_PARSE_ARGS_UNKNOWN_OPTION') {
    const unknown = /^Unknown option '([^']+)'/.exec(message)?.[1];
    if (unknown) return `${command}: Unknown option '${unknown}'${didYouMean(unknown.split('=')[0], names)}; see sweep --help`;
  }
  return `${command}: ${message.replace(/\. To specify a positional.*$/, '')}; see sweep --help`;
}

/** A positive integer option, or a user error naming it. */
export function positiveInt(value: string | undefined, name: string): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1) throw new UserError(`--${name}: expected a positive integer, found '${value}'`);
  return n;
}
