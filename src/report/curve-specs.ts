/**
 * The report's learning curves as Vega-Lite specs: a sweep's trials over their epochs (one panel
 * per curve: the metric, validation loss, training loss), and one trial's or a few trials'
 * curves side by side (a trial's detail, and runs show/compare --plot). Both read the epochs
 * table (spec-datasets.ts).
 */
import type { ReportSweep } from './data.js';
import { base, colorEncoding, HEIGHT, LOSS_FORMAT, metricFormat, trialTooltip, WIDTH, type Spec } from './spec-base.js';

/** An × (Vega's 'cross' is a +): where the rule stopped a trial. */
const CROSS = 'M -1 -1 L 1 1 M 1 -1 L -1 1';

export type CurveField = 'metric' | 'val_loss' | 'train_loss';

/** The y column and title of a learning curve panel. */
function curveOf(sweep: ReportSweep, field: CurveField): { column: string; title: string; format: string } {
  if (field === 'metric') return { column: sweep.metric, title: sweep.metric === 'val_acc' ? 'validation accuracy' : sweep.metric === 'val_loss' ? 'validation loss' : sweep.metric, format: metricFormat(sweep.metric) };
  return { column: field, title: field === 'val_loss' ? 'validation loss' : 'training loss', format: LOSS_FORMAT };
}

/**
 * Learning curves: one line per trial over its epochs, coloured by a parameter; the leader
 * drawn on top, thick and black; where the rule stopped a trial, a red cross. The page swaps the
 * first layer's colour for the parameter the reader picks.
 */
export function curvesSpec(sweep: ReportSweep, field: CurveField, colorBy: string | null): Spec {
  const { column, title, format } = curveOf(sweep, field);
  const tooltip = trialTooltip(sweep.params, [{ field: 'epoch', type: 'quantitative' }, { field: 'value', title, type: 'quantitative', format }, { field: 'status' }]);
  const x = { field: 'epoch', type: 'quantitative', title: 'epoch', axis: { tickMinStep: 1, format: 'd' } };
  // Padded, so trials at the extremes (chance level, 10%) are not hidden on the axis line.
  const y = { field: 'value', type: 'quantitative', title, scale: { zero: false, padding: 6 }, axis: { format } };
  const byParam = colorEncoding(sweep.params, colorBy);
  const color = { ...byParam, legend: { ...(byParam.legend as Spec | undefined), orient: 'bottom', direction: 'horizontal' } };
  return {
    ...base(title, field === 'metric' ? `one line per trial; leader in bold black${sweep.rule ? '; × where the rule stopped a trial' : ''}` : undefined),
    width: WIDTH,
    height: HEIGHT,
    data: { name: 'epochs' },
    // The column is one of the epochs table's (a schema enum), never user text in an expression.
    transform: [{ calculate: `datum['${column}']`, as: 'value' }, { filter: 'isValid(datum.value) && isFinite(datum.value)' }],
    layer: [
      {
        mark: { type: 'line', strokeWidth: 1.5, opacity: 0.8 },
        encoding: { x, y, detail: { field: 'trial' }, color, tooltip },
      },
      // Only layers with something to draw: an empty one makes Vega warn of an infinite extent.
      ...(sweep.leader && sweep.trials.some((t) => t.id === sweep.leader && t.history.length)
        ? [{ transform: [{ filter: 'datum.leader' }], mark: { type: 'line', strokeWidth: 4, color: 'black', opacity: 0.9 }, encoding: { x, y, tooltip } }]
        : []),
      ...(sweep.trials.some((t) => t.status === 'pruned' && t.epochs > 0)
        ? [{ transform: [{ filter: 'datum.pruned' }], mark: { type: 'point', shape: CROSS, size: 50, strokeWidth: 2, color: '#d62728', filled: false }, encoding: { x, y, tooltip } }]
        : []),
      // A line of one point draws nothing: trials stopped after their first epoch are dots.
      ...(sweep.trials.some((t) => t.history.length === 1)
        ? [{ transform: [{ filter: 'datum.single' }], mark: { type: 'point', filled: true, size: 30 }, encoding: { x, y, color, tooltip } }]
        : []),
    ],
  };
}

/**
 * Trials' curves side by side (a trial's detail, runs show --plot, runs compare --plot): loss and
 * accuracy, training dashed and validation solid, per epoch; several trials coloured apart.
 */
export function trialCurvesSpec(ids: string[]): Spec {
  const several = ids.length > 1;
  const panel = (name: 'loss' | 'accuracy'): Spec => ({
    width: 300,
    height: 200,
    transform: [{ filter: `datum.panel === '${name}'` }],
    mark: { type: 'line', point: true },
    encoding: {
      x: { field: 'epoch', type: 'quantitative', axis: { tickMinStep: 1, format: 'd' } },
      y: { field: 'value', type: 'quantitative', title: name, scale: { zero: false }, axis: { format: name === 'accuracy' ? '.1%' : LOSS_FORMAT } },
      color: several ? { field: 'trial', type: 'nominal', scale: { domain: ids }, legend: { symbolType: 'stroke', symbolStrokeWidth: 3 } } : { field: 'split', type: 'nominal', title: null, legend: { symbolType: 'stroke', symbolStrokeWidth: 2 } },
      // With several trials the colours are theirs and the subtitle names the dashes (Vega-Lite draws a dash legend without strokes).
      strokeDash: { field: 'split', type: 'nominal', scale: { domain: ['training', 'validation'], range: [[4, 3], [1, 0]] }, legend: several ? null : { title: null, symbolType: 'stroke', symbolStrokeWidth: 2 } },
      detail: { field: 'series' },
      tooltip: [{ field: 'trial' }, { field: 'series' }, { field: 'epoch' }, { field: 'value', type: 'quantitative', format: '.4f' }],
    },
  });
  return {
    ...base(several ? `Trials ${ids.join(', ')}` : `Trial ${ids[0] ?? ''}`, several ? 'solid: validation; dashed: training' : undefined),
    data: { name: 'epochs' },
    transform: [
      // Trial ids are hex digits: safe inside the expression's string.
      { filter: `indexof(${JSON.stringify(ids)}, datum.trial) >= 0` },
      { fold: ['train_loss', 'val_loss', 'train_acc', 'val_acc'], as: ['series', 'value'] },
      { filter: 'isValid(datum.value) && isFinite(datum.value)' },
      { calculate: "indexof(datum.series, 'loss') >= 0 ? 'loss' : 'accuracy'", as: 'panel' },
      { calculate: "indexof(datum.series, 'train') === 0 ? 'training' : 'validation'", as: 'split' },
    ],
    hconcat: [panel('loss'), panel('accuracy')],
  };
}
