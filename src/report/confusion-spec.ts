/** The report's chart of where the best model errs: its test confusion matrix. */
import type { ReportSweep } from './data.js';
import { maxOf } from '../util/extremes.js';
import { base, type Spec } from './spec-base.js';

/** The test confusion matrix: counts by actual and predicted class, errors in a second colour. */
export function confusionSpec(sweep: ReportSweep): Spec | null {
  const c = sweep.confusion;
  if (!c) return null;
  const values = c.matrix.flatMap((row, actual) =>
    row.map((count, predicted) => ({ actual, predicted, count, kind: actual === predicted ? 'correct' : count ? 'error' : 'none', actualName: c.names[actual], predictedName: c.names[predicted] })),
  );
  // Classes named otherwise than by their numbers are labelled by name (the cells stay in label order).
  const named = c.names.some((name, i) => name !== String(i));
  const mostErrors = Math.max(1, maxOf(values.filter((v) => v.kind === 'error').map((v) => v.count)));
  // Ten digits in cells of 26 pixels with their counts; a dataset of many classes in smaller
  // cells (at most about 700 pixels a side, 4 at the least), counts left to the tooltip where
  // they would not fit.
  const step = Math.max(4, Math.min(26, Math.floor(700 / c.matrix.length)));
  const counted = step >= 18;
  const label = named ? `${JSON.stringify(c.names)}[datum.value]` : 'datum.label';
  const axis = step >= 12 ? (named ? { labelExpr: label } : {}) : { labelExpr: `datum.value % 10 === 0 ? ${label} : ""`, ticks: false };
  // Names wider than a cell stand upright above the columns, where they would overlap side by side.
  const upright = named && maxOf(c.names.map((n) => n.length)) * 6.5 > step;
  const x = { field: 'predicted', type: 'ordinal', title: 'predicted', axis: { orient: 'top', ...(upright ? { labelAngle: -90, labelAlign: 'left', labelBaseline: 'middle' } : { labelAngle: 0 }), ...axis } };
  const y = { field: 'actual', type: 'ordinal', title: 'actual', axis };
  return {
    ...base(`Test confusion of trial ${c.trial}`),
    width: { step },
    height: { step },
    data: { values },
    layer: [
      {
        mark: { type: 'rect', stroke: 'white' },
        encoding: {
          x, y,
          // The diagonal (right answers) in a neutral tint, so the scale spans the errors alone.
          color: {
            condition: [{ test: "datum.kind === 'correct'", value: '#dbe7f3' }, { test: "datum.kind === 'none'", value: 'white' }],
            field: 'count', type: 'quantitative', scale: { scheme: 'orangered', domain: [0, mostErrors] }, title: 'errors',
          },
          tooltip: named
            ? [{ field: 'actualName', title: 'actual' }, { field: 'predictedName', title: 'predicted' }, { field: 'count' }]
            : [{ field: 'actual' }, { field: 'predicted' }, { field: 'count' }],
        },
      },
      ...(counted
        ? [{
            transform: [{ filter: 'datum.count > 0' }],
            mark: { type: 'text', fontSize: 9 },
            // White on the darkest error cells, where black would not read.
            encoding: { x, y, text: { field: 'count' }, color: { condition: { test: `datum.kind === 'error' && datum.count > ${mostErrors / 2}`, value: 'white' }, value: '#222' } },
          }]
        : []),
    ],
  };
}
