/** What `sweep runs show` and `sweep runs compare` share: the trial ids they are given, and their --plot image. */
import { UserError } from '../config/errors.js';
import type { EpochRow } from '../store/queries.js';
import { checkOutputFile } from '../util/output-path.js';

export function idsOf(positionals: string[], command: string, atLeast: number): string[] {
  if (positionals.length < atLeast) throw new UserError(`${command}: expected ${atLeast === 1 ? 'a trial id' : `at least ${atLeast} trial ids`}; sweep runs list shows them`);
  return positionals;
}

export function checkPlot(values: { plot?: string; force?: boolean }): void {
  if (values.plot === undefined) return;
  if (!/\.png$/i.test(values.plot)) throw new UserError(`--plot: writes a PNG image; give a file name ending in .png, found '${values.plot}'`);
  checkOutputFile(values.plot, '--plot', values.force ?? false);
}

/** The trials' curves as a PNG (report/trial-plot.ts), loaded only when asked for: it brings Vega and resvg. */
export async function plotTrials(path: string, trials: { id: string; history: EpochRow[] }[]): Promise<void> {
  const { writeTrialPlot } = await import('../report/trial-plot.js');
  await writeTrialPlot(path, trials);
  console.error(`wrote ${path}`);
}
