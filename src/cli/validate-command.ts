/** `sweep validate FILE...`: checks files without running anything; every problem of every file. */
import { formatProblem, UserError } from '../config/errors.js';
import { loadExperiment } from '../config/experiment.js';
import { parse } from './args.js';
import { VALIDATE } from './commands.js';

export function validateCommand(args: string[]): number {
  const { positionals, values } = parse(args, VALIDATE);
  if (positionals.length === 0) throw new UserError('sweep validate: no experiment file given; e.g. sweep validate experiments/*.yaml');
  let failed = 0;
  let crashed = 0;
  for (const file of positionals) {
    try {
      const { trials, search } = loadExperiment(file, {}, { maxTrials: values.yes ? Infinity : undefined });
      const size = search ? `${search.method} search of at most ${search.maxTrials} trials` : `${trials.length} trial${trials.length === 1 ? '' : 's'}`;
      console.log(`${file}: ok, ${size}`);
    } catch (err) {
      // Whatever one file does, the others are still checked.
      if (!(err instanceof UserError)) {
        crashed++;
        console.error(`${file}: error: ${err instanceof Error ? err.message : String(err)}`);
        continue;
      }
      failed++;
      for (const p of err.problems) console.error(formatProblem(p));
    }
  }
  return crashed ? 1 : failed ? 2 : 0;
}
