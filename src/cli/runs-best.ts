/** `sweep runs best`: each sweep's best trial, or why a sweep has none. */
import { UserError } from '../config/errors.js';
import { bestOf, noBestText, statusCounts } from '../store/best.js';
import { iterateTrials, listSweeps, requireSweep, type TrialRecord } from '../store/queries.js';
import { withReadOnly } from '../store/open.js';
import { parse } from './args.js';
import { RUNS_BEST } from './commands.js';
import { formatOf, printLines } from './output.js';
import { trialsLines } from './runs-trial-lines.js';

export function runsBest(args: string[]): Promise<number> {
  const { values, positionals } = parse(args, RUNS_BEST);
  if (positionals.length) throw new UserError(`sweep runs best: unexpected argument '${positionals[0]}'`);
  const format = formatOf(values);
  return withReadOnly(values.db!, async (db) => {
    if (values.sweep !== undefined) requireSweep(db, values.sweep);
    // Each sweep's best trial (store/best.ts), in the order sweeps list has them.
    const sweeps = values.sweep !== undefined ? [values.sweep] : listSweeps(db).map((s) => s.name);
    const leaders: TrialRecord[] = [];
    const without: string[] = [];
    for (const sweep of sweeps) {
      const best = bestOf(iterateTrials(db, { sweep, statuses: ['completed'] }));
      if (best) leaders.push(best);
      else without.push(noBestText(sweep, statusCounts(db, sweep)));
    }
    // With no best at all there is no answer to give; beside others, each sweep without one is said.
    if (!leaders.length && without.length) throw new UserError(without.map((line) => ({ message: `sweep runs best: ${line}` })));
    for (const line of without) console.error(`note: ${line}`);
    await printLines(trialsLines(() => leaders.values(), format));
    return 0;
  });
}
