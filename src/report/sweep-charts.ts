/**
 * The report's charts of one sweep, listed in one place in the order the page shows them. Each
 * is a Vega-Lite spec, built by pure functions from the sweep's report data (curve-specs.ts,
 * parameter-specs.ts, seeds-spec.ts, search-specs.ts, confusion-spec.ts), so the page
 * (vega-embed in the browser) and the PNG files (vega in Node, then resvg) draw the same picture.
 */
import type { ReportSweep } from './data.js';
import { confusionSpec } from './confusion-spec.js';
import { curvesSpec } from './curve-specs.js';
import { importanceSpec, parallelSpec, scatterName, scatterSpec } from './parameter-specs.js';
import { bestSoFarSpec, stopsSpec } from './search-specs.js';
import { groupsSpec } from './seeds-spec.js';
import type { Spec } from './spec-base.js';

/** The charts of one sweep's report, in the order the page shows them; null where a chart has nothing to draw. */
export function sweepCharts(sweep: ReportSweep): Record<string, Spec | null> {
  const varied = sweep.params.filter((p) => p.values.length > 1);
  // A chart with no data is left out (the page says why): Vega would warn of an infinite extent.
  const epochs = sweep.trials.some((t) => t.history.length > 0);
  const valued = sweep.trials.some((t) => t.best_value !== null && Number.isFinite(t.best_value));
  return {
    'curves-metric': epochs ? curvesSpec(sweep, 'metric', sweep.colorBy) : null,
    'curves-val_loss': epochs ? curvesSpec(sweep, 'val_loss', sweep.colorBy) : null,
    'curves-train_loss': epochs ? curvesSpec(sweep, 'train_loss', sweep.colorBy) : null,
    parallel: varied.length && valued ? parallelSpec(sweep) : null,
    ...Object.fromEntries(varied.map((p) => [scatterName(p), valued ? scatterSpec(sweep, p) : null])),
    importance: importanceSpec(sweep),
    groups: groupsSpec(sweep),
    'best-by-trial': sweep.adaptive ? bestSoFarSpec(sweep, 'trial') : null,
    'best-by-time': sweep.adaptive ? bestSoFarSpec(sweep, 'time') : null,
    stops: stopsSpec(sweep),
    confusion: confusionSpec(sweep),
  };
}
