/** `sweep data inspect`: questions about an experiment file's data (one subcommand for now). */
import { UserError } from '../config/errors.js';
import { didYouMean } from '../config/suggest.js';
import { dataInspect } from './data-inspect.js';

const SUBCOMMANDS = ['inspect'] as const;

export async function dataCommand(args: string[]): Promise<number> {
  const [sub, ...rest] = args;
  if (sub === 'inspect') return dataInspect(rest);
  throw new UserError(`sweep data: ${sub === undefined ? 'no subcommand given' : `unknown subcommand '${sub}'${didYouMean(sub, SUBCOMMANDS)}`}; expected: sweep data inspect FILE`);
}
