import { parseArgs } from 'node:util';
import { UserError } from '../config/errors.js';
import { didYouMean } from '../config/suggest.js';
import type { CommandSpec, OptionSpecs } from './commands.js';

/** `sweep export`, `sweep runs list`; `sweep` for a sweep itself. */
export const commandLine = (spec: CommandSpec) => `sweep${spec.name ? ` ${spec.name}` : ''}`;

/**
 * A command's arguments parsed by its spec (commands.ts), with node:util's parseArgs: its errors
 * made one-line user errors that say what to type, and an option that takes one value given
 * twice refused (`--epoch best --epoch last` would otherwise keep the last without a word).
 */
export function parse<const O extends OptionSpecs>(args: string[], spec: CommandSpec<O>): Pick<Parsed<O>, 'values' | 'positionals'> {
  const command = commandLine(spec);
  let parsed;
  try {
    parsed = parseArgs({ args, options: spec.options, allowPositionals: true, strict: true, tokens: true });
  } catch (err) {
    throw new UserError(parseError(err as Error & { code?: string }, args, spec.options, command));
  }
  refuseRepeats(parsed.tokens, spec.options);
  // An empty --db (`--db ''`, `--db "$UNSET"`) would name no file at all.
  if ((parsed.values as Record<string, unknown>).db === '') throw new UserError('--db: expected a path to the database file, found an empty string');
  return { values: parsed.values, positionals: parsed.positionals };
}

/** What parseArgs makes of a command's options, by name (the declarations emitted for parse() cannot name node:util's own). */
type Parsed<O extends OptionSpecs> = ReturnType<typeof parseArgs<{ args: string[]; options: O; allowPositionals: true; strict: true; tokens: true }>>;

type Token = { kind: string; name?: string; value?: string; rawName?: string };

/** An option that takes one value, given more than once: which was meant cannot be guessed. */
function refuseRepeats(tokens: Token[], options: OptionSpecs): void {
  const seen = new Map<string, string[]>();
  for (const t of tokens) {
    if (t.kind !== 'option' || !t.name) continue;
    const option = options[t.name];
    if (!option || option.multiple || option.type !== 'string') continue;
    const values = [...(seen.get(t.name) ?? []), t.value ?? ''];
    seen.set(t.name, values);
    if (values.length === 2) {
      throw new UserError(`--${t.name}: given twice ('${values[0]}', then '${values[1]}'); give it once`);
    }
  }
}

/** Whether the arguments ask for help (`-h`, `--help`, before any `--`), whatever else they hold. */
export function asksForHelp(args: string[], options: OptionSpecs): boolean {
  const { tokens } = parseArgs({
    args,
    options: { ...options, help: { type: 'boolean', short: 'h' } },
    allowPositionals: true,
    strict: false,
    tokens: true,
  });
  return tokens.some((t) => t.kind === 'option' && t.name === 'help');
}

/** Node's parseArgs messages span lines and speak of its API; this says what to type instead. */
function parseError(err: Error & { code?: string }, args: string[], options: OptionSpecs, command: string): string {
  const message = err.message.split('\n')[0];
  const names = Object.keys(options).map((n) => `--${n}`);
  const help = `see ${command} --help`;
  // "Option '--limit <value>' argument missing", "Option '-l, --limit' argument is ambiguous."
  const option = /^Option '(?:-\w, )?(-{1,2}[^' <]+)/.exec(message)?.[1];
  if (err.code === 'ERR_PARSE_ARGS_INVALID_OPTION_VALUE' && option) {
    if (/argument is ambiguous/.test(message)) {
      // The option was followed by something starting with '-': a negative number, or another
      // option (known, mistyped, or `--`).
      const at = args.findIndex((a, i) => a === option && args[i + 1]?.startsWith('-'));
      const next = at >= 0 ? args[at + 1] : undefined;
      if (next === undefined || next.startsWith('--') || /^-[a-zA-Z]$/.test(next)) {
        return `${option}: missing its value${next ? ` (found the option '${next}' after it)` : ''}; write ${option} ${options[option.slice(2)]?.value ?? 'VALUE'}`;
      }
      return `${option}: a value that starts with '-' must be written ${option}=${next}`;
    }
    if (/argument missing/.test(message)) return `${option}: missing its value; write ${option} ${options[option.slice(2)]?.value ?? 'VALUE'}`;
    if (/does not take an argument/.test(message)) return `${option}: takes no value; write ${option} alone`;
  }
  if (err.code === 'ERR_PARSE_ARGS_UNKNOWN_OPTION') {
    const unknown = /^Unknown option '([^']+)'/.exec(message)?.[1];
    if (unknown) return `${command}: Unknown option '${unknown}'${didYouMean(unknown.split('=')[0], names)}; ${help}`;
  }
  return `${command}: ${message.replace(/\. To specify a positional.*$/, '')}; ${help}`;
}

/**
 * A positive integer option written in digits, or a user error naming it. Number() would also take
 * '0x10', '1e3', ' 2' and '+2', and read twenty digits as 1e20.
 */
export function positiveInt(value: string | undefined, name: string): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!/^\d+$/.test(value) || n < 1) throw new UserError(`--${name}: expected a positive integer, found '${value}'`);
  if (!Number.isSafeInteger(n)) throw new UserError(`--${name}: ${value} is too large`);
  return n;
}
