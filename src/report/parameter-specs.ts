/**
 * The report's charts of the metric against the swept parameters, "where the good
 * configurations lie" and "what matters": parallel coordinates over every varied parameter, a
 * scatter per parameter, and parameter importance (importance.ts computes it).
 */
import type { ReportParam, ReportSweep } from './data.js';
import { maxOf, minOf } from '../util/extremes.js';
import { base, HEIGHT, isAccuracy, metricFormat, paramField, splitLine, statusColor, trialTooltip, WIDTH, type Spec } from './spec-base.js';

/** A parameter value's position on a 0..1 axis: categories evenly, numbers by value (log where the axis is). */
function position(p: ReportParam, v: string | number | boolean | undefined): number | null {
  if (v === undefined) return null;
  if (p.kind === 'category') {
    const i = p.values.findIndex((x) => String(x) === String(v));
    return p.values.length > 1 ? i / (p.values.length - 1) : 0.5;
  }
  const nums = p.values as number[];
  const f = (x: number) => (p.log ? Math.log(x) : x);
  const [lo, hi] = [f(nums[0]), f(nums.at(-1)!)];
  return hi > lo ? (f(v as number) - lo) / (hi - lo) : 0.5;
}

const metricLabel = (metric: string, v: number) => (isAccuracy(metric) ? `${(v * 100).toFixed(2)}%` : v.toFixed(4));

/**
 * Parallel coordinates: an axis per swept parameter and one for the metric, a line per trial
 * that has a value, coloured by the metric. Positions are computed here (each axis 0..1, log
 * where the parameter is) so every axis keeps its own scale.
 */
export function parallelSpec(sweep: ReportSweep): Spec {
  const axes = [...sweep.params.filter((p) => p.values.length > 1).map((p) => ({ name: p.name, param: p as ReportParam | null })), { name: sweep.metric, param: null }];
  const ranked = sweep.trials.filter((t) => t.best_value !== null && Number.isFinite(t.best_value));
  const metricValues = ranked.map((t) => t.best_value!);
  const [mLo, mHi] = [minOf(metricValues), maxOf(metricValues)];
  const metricPos = (v: number) => (mHi > mLo ? (v - mLo) / (mHi - mLo) : 0.5);
  const lines = ranked.flatMap((t) =>
    axes.flatMap((a, i) => {
      const pos = a.param ? position(a.param, t.params[a.name]) : metricPos(t.best_value!);
      return pos === null ? [] : [{ trial: t.id, axis: a.name, order: i, pos, metric: t.best_value, text: a.param ? String(t.params[a.name]) : String(t.best_value) }];
    }),
  );
  // Labels at the ends of each axis (every category, or the lowest and highest number).
  const labels = axes.flatMap((a) => {
    if (!a.param) return [{ axis: a.name, pos: 0, label: metricLabel(sweep.metric, mLo) }, { axis: a.name, pos: 1, label: metricLabel(sweep.metric, mHi) }];
    const p = a.param;
    if (p.kind === 'category') return p.values.map((v) => ({ axis: a.name, pos: position(p, v)!, label: String(v) }));
    const nums = p.values as number[];
    // One format for both ends of an axis: exponents for both if either needs one.
    const ends = [nums[0], nums.at(-1)!];
    const exponent = ends.some((v) => Math.abs(v) >= 1e4 || (v !== 0 && Math.abs(v) < 1e-3));
    const label = (v: number) => (exponent ? v.toExponential(1) : String(+v.toPrecision(3)));
    return [{ axis: a.name, pos: 0, label: label(ends[0]) }, { axis: a.name, pos: 1, label: label(ends[1]) }];
  });
  const x = { field: 'axis', type: 'nominal', sort: axes.map((a) => a.name), title: null, axis: { labelAngle: 0, orient: 'bottom', domain: false, ticks: false, labelLimit: 160, labelFontSize: 10 } };
  const y = { field: 'pos', type: 'quantitative', axis: null, scale: { domain: [0, 1] } };
  return {
    ...base('Parallel coordinates', `one line per trial with a value; colour: best ${sweep.metric}`),
    width: Math.max(WIDTH, 160 * axes.length),
    height: HEIGHT,
    layer: [
      {
        data: { values: axes.map((a) => ({ axis: a.name })) },
        mark: { type: 'rule', color: '#888' },
        encoding: { x, y: { datum: 0, type: 'quantitative', scale: { domain: [0, 1] }, axis: null }, y2: { datum: 1 } },
      },
      {
        data: { values: lines },
        mark: { type: 'line', strokeWidth: 1.5, opacity: 0.7 },
        encoding: {
          x, y, detail: { field: 'trial' }, order: { field: 'order' },
          color: { field: 'metric', type: 'quantitative', title: sweep.metric, scale: { scheme: 'viridis', reverse: sweep.goal === 'minimize' }, legend: { format: metricFormat(sweep.metric) } },
          tooltip: [{ field: 'trial' }, { field: 'axis', title: 'axis' }, { field: 'text', title: 'value' }],
        },
      },
      {
        data: { values: labels },
        mark: { type: 'text', align: 'left', dx: 4, fontSize: 10, color: '#333' },
        encoding: { x, y, text: { field: 'label' } },
      },
    ],
  };
}

/** The metric against one parameter, a point per trial with a value (log axis for log parameters). */
export function scatterSpec(sweep: ReportSweep, param: ReportParam): Spec {
  const field = paramField(sweep.params.indexOf(param));
  const x = param.kind === 'number'
    ? { field, type: 'quantitative', title: param.name + (param.log ? ' (log)' : ''), scale: param.log ? { type: 'log', padding: 8 } : { zero: false, padding: 8 } }
    : { field, type: 'nominal', title: param.name, sort: param.values.map(String), axis: { labelAngle: 0 }, scale: { paddingInner: 0.3, paddingOuter: 0.2 } };
  return {
    ...base(`best ${sweep.metric} by ${param.name}`),
    width: 260,
    height: 180,
    data: { name: 'trials' },
    transform: [{ filter: `isValid(datum.value) && isFinite(datum.value) && isValid(datum['${field}'])` }],
    mark: { type: 'point', filled: true, size: 50, opacity: 0.75 },
    encoding: {
      x,
      // Points of one category spread across its band (by a fixed jitter per trial), centred on its tick.
      ...(param.kind === 'category' ? { xOffset: { field: 'jitter', type: 'quantitative', scale: { domain: [0, 1] } } } : {}),
      y: { field: 'value', type: 'quantitative', title: `best ${sweep.metric}`, scale: { zero: false, padding: 8 }, axis: { format: metricFormat(sweep.metric) } },
      color: statusColor(sweep),
      shape: { condition: { test: 'datum.leader', value: 'diamond' }, value: 'circle' },
      tooltip: trialTooltip(sweep.params, [{ field: 'value', title: sweep.metric, type: 'quantitative', format: metricFormat(sweep.metric) }, { field: 'status' }]),
    },
  };
}

/** A scatter's chart name (and PNG file name): by its parameter's path. */
export const scatterName = (p: ReportParam) => `scatter-${p.name}`;

/** Parameter importance as bars with the spread over trees, the method in the subtitle. */
export function importanceSpec(sweep: ReportSweep): Spec | null {
  const imp = sweep.importance;
  // With one parameter varied it takes all the importance by construction: the warning says so, a bar would not add to it.
  if (!imp || imp.trials < 2 || imp.importances.length < 2) return null;
  const values = imp.importances.map((r) => ({ param: r.name, importance: r.importance, se: r.se, lo: Math.max(0, r.importance - 2 * r.se), hi: Math.min(1, r.importance + 2 * r.se) }));
  // An explicit order: '-x' would sort the rule layer by its own x (the interval) and conflict.
  const order = [...imp.importances].sort((a, b) => b.importance - a.importance).map((r) => r.name);
  const y = { field: 'param', type: 'nominal', sort: order, title: null, axis: { labelLimit: 200 } };
  return {
    ...base(`What matters for ${sweep.metric}`, [...splitLine(imp.method, 80), `${imp.trials} trials; whiskers: ± 2 standard errors over the trees`]),
    width: 300,
    height: { step: 24 },
    data: { values },
    layer: [
      { mark: { type: 'bar', color: '#4c78a8' }, encoding: { y, x: { field: 'importance', type: 'quantitative', title: 'share of importance', axis: { format: '.0%' }, scale: { domain: [0, 1] } }, tooltip: [{ field: 'param' }, { field: 'importance', format: '.1%' }, { field: 'se', title: 'standard error', format: '.1%' }] } },
      { mark: { type: 'rule', color: 'black' }, encoding: { y, x: { field: 'lo', type: 'quantitative' }, x2: { field: 'hi' } } },
    ],
  };
}
