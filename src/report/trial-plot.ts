/** `runs show --plot` and `runs compare --plot`: trials' curves as one PNG, the report's trial chart. */
import type { EpochRow } from '../store/queries.js';
import { outputFull } from '../util/output-path.js';
import { sayingDiskFull } from '../util/disk-full.js';
import { writeFileAtomic } from '../util/write-atomic.js';
import { specToPng } from './render.js';
import { trialCurvesSpec } from './curve-specs.js';
import { withDatasets } from './spec-datasets.js';

export async function writeTrialPlot(path: string, trials: { id: string; history: EpochRow[] }[]): Promise<void> {
  const epochs = trials.flatMap((t) => t.history.map((e) => ({ trial: t.id, ...e })));
  const png = await specToPng(withDatasets(trialCurvesSpec(trials.map((t) => t.id)), { epochs, trials: [] }));
  sayingDiskFull(outputFull(path, [png], '--plot'), () => writeFileAtomic(path, png));
}
