/**
 * The report's plots as Vega-Lite specs, built from a sweep's report data: pure functions, so
 * the page (vega-embed in the browser) and the PNG files (vega in Node, then resvg) draw the same
 * picture. Parameters travel under plain field names (p0, p1, …) because Vega-Lite reads a dot
 * in a field name as a path, and config paths (model.pooling) are full of dots.
 */
import type { ReportParam, ReportSweep, ReportTrial } from './data.js';
import { maxOf, minOf } from '../util/extremes.js';

export type Spec = Record<string, unknown>;

const SCHEMA = 'https://vega.github.io/schema/vega-lite/v6.json';
const WIDTH = 250;
const HEIGHT = 220;
const FONT = 'DejaVu Sans, Helvetica, Arial, sans-serif';

/** What every chart shares: no outer padding games, one font on screen and in PNGs. */
/** A long line cut at spaces into lines of at most `width` characters (Vega titles do not wrap). */
function splitLine(text: string, width: number): string[] {
  const lines: string[] = [];
  let line = '';
  for (const word of text.split(' ')) {
    if (line && line.length + 1 + word.length > width) [lines[lines.length], line] = [line, word];
    else line = line ? `${line} ${word}` : word;
  }
  return line ? [...lines, line] : lines;
}

const base = (title: string, subtitle?: string | string[]): Spec => ({
  $schema: SCHEMA,
  title: subtitle ? { text: title, subtitle } : title,
  config: { font: FONT, view: { stroke: null }, axis: { labelFontSize: 11, titleFontSize: 12 }, legend: { labelLimit: 160 } },
  background: 'white',
  padding: 8,
});

/** Field name of the i-th swept parameter in the plots' rows. */
export const paramField = (i: number) => `p${i}`;

const isAccuracy = (metric: string) => metric.endsWith('_acc');
/** Accuracies as percentages; losses to 3 significant digits (a diverged 1.4e+6 stays short). */
const LOSS_FORMAT = '.3~g';
const metricFormat = (metric: string) => (isAccuracy(metric) ? '.2%' : LOSS_FORMAT);
/** An × (Vega's 'cross' is a +): where the rule stopped a trial. */
const CROSS = 'M -1 -1 L 1 1 M 1 -1 L -1 1';

/** The values of the swept parameters of a trial under their plot field names. */
function paramFields(params: ReportParam[], t: ReportTrial): Record<string, string | number | boolean | null> {
  return Object.fromEntries(
    params.flatMap((p, i) => {
      const v = t.params[p.name];
      if (p.kind === 'category') return [[paramField(i), String(v ?? '')]];
      // Log parameters also by their log10, which colour scales linearly (Vega draws a log colour scale's legend as dozens of dots).
      return p.log ? [[paramField(i), v ?? null], [`${paramField(i)}_log10`, typeof v === 'number' && v > 0 ? Math.log10(v) : null]] : [[paramField(i), v ?? null]];
    }),
  );
}

/** The colour encoding for a parameter: a sequential scale for numbers (log where the parameter is), categories otherwise. */
export function colorEncoding(params: ReportParam[], name: string | null): Spec {
  const i = params.findIndex((p) => p.name === name);
  if (i < 0) return { value: '#4c78a8' };
  const p = params[i];
  return p.kind === 'number'
    ? p.log
      ? { field: `${paramField(i)}_log10`, type: 'quantitative', title: `${p.name} (log)`, scale: { scheme: 'viridis' }, legend: { labelExpr: "format(pow(10, datum.value), '.1~e')" } }
      : { field: paramField(i), type: 'quantitative', title: p.name, scale: { scheme: 'viridis', zero: false } }
    : { field: paramField(i), type: 'nominal', title: p.name, scale: { domain: p.values.map(String), scheme: p.values.length > 10 ? 'category20' : 'tableau10' } };
}

/** Tooltip fields of a trial: id, its parameters, and what the chart plots. */
function trialTooltip(params: ReportParam[], extra: Spec[]): Spec[] {
  return [{ field: 'trial', title: 'trial' }, ...params.map((p, i) => ({ field: paramField(i), title: p.name, ...(p.kind === 'number' ? { type: 'quantitative' } : {}) })), ...extra];
}

export type CurveField = 'metric' | 'val_loss' | 'train_loss';

/** The charts' shared tables, given to a spec by name (Vega-Lite `datasets`) so the page holds each once. */
export interface Datasets {
  /** One row per trial and epoch: the epoch's numbers, the trial's parameters, leader/pruned flags. */
  epochs: Record<string, unknown>[];
  /** One row per trial: its best value, status, parameters. */
  trials: Record<string, unknown>[];
}

/** A fixed position in 0.15..0.85 from a trial's id (hex), so a report drawn again puts each point where it was. */
const jitter = (id: string) => 0.15 + 0.7 * (parseInt(id.slice(0, 6), 16) / 0xffffff || 0.5);

export function datasets(sweep: ReportSweep): Datasets {
  return {
    epochs: sweep.trials.flatMap((t) => {
      const fields = paramFields(sweep.params, t);
      const single = t.history.length === 1;
      return t.history.map((e) => ({ trial: t.id, ...e, leader: t.id === sweep.leader, pruned: t.status === 'pruned' && e.epoch === t.epochs, single, status: t.status, ...fields }));
    }),
    trials: sweep.trials.map((t) => ({ trial: t.id, order: t.order, jitter: jitter(t.id), value: t.best_value, test_acc: t.test_acc, status: t.status, leader: t.id === sweep.leader, ...paramFields(sweep.params, t) })),
  };
}

/** A spec with the named tables it reads filled in: what vega-embed or the Node renderer takes. */
export function withDatasets(spec: Spec, tables: Datasets): Spec {
  const text = JSON.stringify(spec);
  const used = (Object.keys(tables) as (keyof Datasets)[]).filter((name) => text.includes(`{"name":"${name}"}`));
  return used.length ? { ...spec, datasets: Object.fromEntries(used.map((name) => [name, tables[name]])) } : spec;
}

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

const STATUS_COLORS: Record<string, string> = { completed: '#4c78a8', pruned: '#f58518', running: '#54a24b', interrupted: '#bab0ac', failed: '#e45756', diverged: '#b279a2', queued: '#9d755d' };

/** Status as colour, the same in every chart; the legend lists only the statuses the sweep has. */
function statusColor(sweep: ReportSweep): Spec {
  const present = Object.keys(STATUS_COLORS).filter((s) => sweep.trials.some((t) => t.status === s));
  return { field: 'status', type: 'nominal', scale: { domain: present, range: present.map((s) => STATUS_COLORS[s]) } };
}

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

/** Each configuration's seeds as points, their mean with its 95% confidence interval. */
export function groupsSpec(sweep: ReportSweep): Spec | null {
  if (!sweep.groups) return null;
  const label = (g: NonNullable<ReportSweep['groups']>[number]) => Object.entries(g.params).map(([k, v]) => `${k.split('.').at(-1)}=${v}`).join(' ') || 'all';
  const byId = new Map(sweep.trials.map((t) => [t.id, t]));
  const seeds = sweep.groups.flatMap((g) => g.trials.flatMap((id) => {
    const t = byId.get(id);
    return t && t.status === 'completed' && t.best_value !== null && Number.isFinite(t.best_value) ? [{ config: label(g), value: t.best_value, trial: id }] : [];
  }));
  const means = sweep.groups.filter((g) => g.mean !== null && Number.isFinite(g.mean)).map((g) => ({ config: label(g), mean: g.mean, lo: g.ci?.[0] ?? g.mean, hi: g.ci?.[1] ?? g.mean, verdict: g.verdict, n: g.n }));
  if (means.length === 0) return null;
  const y = { field: 'config', type: 'nominal', title: null, sort: means.map((m) => m.config), axis: { labelLimit: 220 } };
  const format = metricFormat(sweep.metric);
  return {
    ...base(`${sweep.metric} over seeds`, 'points: seeds; bar: 95% confidence interval of the mean (Student t)'),
    width: 300,
    height: { step: 28 },
    layer: [
      { data: { values: seeds }, mark: { type: 'point', color: '#888', opacity: 0.7 }, encoding: { y, x: { field: 'value', type: 'quantitative', title: sweep.metric, scale: { zero: false }, axis: { format } }, tooltip: [{ field: 'trial' }, { field: 'value', format }] } },
      { data: { values: means }, mark: { type: 'rule', strokeWidth: 2, color: '#4c78a8' }, encoding: { y, x: { field: 'lo', type: 'quantitative' }, x2: { field: 'hi' } } },
      { data: { values: means }, mark: { type: 'tick', thickness: 3, color: 'black' }, encoding: { y, x: { field: 'mean', type: 'quantitative' }, tooltip: [{ field: 'config' }, { field: 'mean', format }, { field: 'lo', title: 'CI low', format }, { field: 'hi', title: 'CI high', format }, { field: 'n' }, { field: 'verdict' }] } },
    ],
  };
}

/** Best value so far after each trial ended, against trial order or minutes since the run began. */
export function bestSoFarSpec(sweep: ReportSweep, by: 'trial' | 'time'): Spec | null {
  const better = (a: number, b: number) => (sweep.goal === 'maximize' ? a > b : a < b);
  const start = sweep.firstStartedAt ? Date.parse(sweep.firstStartedAt) : NaN;
  const ended = sweep.trials
    .filter((t) => t.best_value !== null && Number.isFinite(t.best_value) && (by === 'trial' || t.finished_at))
    .map((t) => ({ t, x: by === 'trial' ? t.order : (Date.parse(t.finished_at!) - start) / 1000 }))
    .filter((r) => Number.isFinite(r.x))
    .sort((a, b) => a.x - b.x);
  if (ended.length === 0) return null;
  // Seconds for a short search, minutes for a longer one.
  const minutes = by === 'time' && maxOf(ended.map((r) => r.x)) > 180;
  let best: number | null = null;
  const values = ended.map(({ t, x: raw }) => {
    const x = minutes ? raw / 60 : raw;
    if (best === null || better(t.best_value!, best)) best = t.best_value!;
    return { x, value: t.best_value, best, trial: t.id, status: t.status };
  });
  const xTitle = by === 'trial' ? 'trial (in the order they were proposed)' : `${minutes ? 'minutes' : 'seconds'} since the first trial started`;
  const format = metricFormat(sweep.metric);
  const x = { field: 'x', type: 'quantitative', title: xTitle, axis: by === 'trial' ? { tickMinStep: 1, format: 'd' } : { format: '~g', labelOverlap: 'greedy' } };
  return {
    ...base(`Best ${sweep.metric} so far, by ${by === 'trial' ? 'trial' : 'time'}`),
    width: 300,
    height: 180,
    data: { values },
    layer: [
      { mark: { type: 'point', opacity: 0.5, filled: true }, encoding: { x, y: { field: 'value', type: 'quantitative', title: sweep.metric, scale: { zero: false }, axis: { format } }, color: statusColor(sweep), tooltip: [{ field: 'trial' }, { field: 'value', format }, { field: 'status' }] } },
      { mark: { type: 'line', interpolate: 'step-after', color: 'black' }, encoding: { x, y: { field: 'best', type: 'quantitative' } } },
    ],
  };
}

/** Where the rule stopped trials: how many pruned trials ended after each epoch. */
export function stopsSpec(sweep: ReportSweep): Spec | null {
  const pruned = sweep.trials.filter((t) => t.status === 'pruned');
  if (pruned.length === 0) return null;
  const values = pruned.map((t) => ({ trial: t.id, epoch: t.epochs, planned: t.epochs_planned, reason: t.prune_reason ?? '' }));
  return {
    ...base('Where the rule stopped trials', `${pruned.length} pruned by ${sweep.rule ?? 'the rule'}; ${sweep.epochs.saved} epochs saved`),
    width: 300,
    height: 160,
    data: { values },
    mark: { type: 'bar', color: '#f58518' },
    encoding: {
      x: { field: 'epoch', type: 'ordinal', title: 'stopped after epoch', axis: { labelAngle: 0 } },
      y: { aggregate: 'count', type: 'quantitative', title: 'trials', axis: { tickMinStep: 1, format: 'd' } },
      tooltip: [{ field: 'epoch', title: 'after epoch' }, { aggregate: 'count', title: 'trials' }],
    },
  };
}

/** The test confusion matrix: counts by actual and predicted class, errors in a second colour. */
export function confusionSpec(sweep: ReportSweep): Spec | null {
  const c = sweep.confusion;
  if (!c) return null;
  const values = c.matrix.flatMap((row, actual) => row.map((count, predicted) => ({ actual, predicted, count, kind: actual === predicted ? 'correct' : count ? 'error' : 'none' })));
  const mostErrors = Math.max(1, maxOf(values.filter((v) => v.kind === 'error').map((v) => v.count)));
  const x = { field: 'predicted', type: 'ordinal', title: 'predicted', axis: { orient: 'top', labelAngle: 0 } };
  const y = { field: 'actual', type: 'ordinal', title: 'actual' };
  return {
    ...base(`Test confusion of trial ${c.trial}`),
    width: { step: 26 },
    height: { step: 26 },
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
          tooltip: [{ field: 'actual' }, { field: 'predicted' }, { field: 'count' }],
        },
      },
      {
        transform: [{ filter: 'datum.count > 0' }],
        mark: { type: 'text', fontSize: 9 },
        // White on the darkest error cells, where black would not read.
        encoding: { x, y, text: { field: 'count' }, color: { condition: { test: `datum.kind === 'error' && datum.count > ${mostErrors / 2}`, value: 'white' }, value: '#222' } },
      },
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

/** A scatter's chart name (and PNG file name): by its parameter's path. */
export const scatterName = (p: ReportParam) => `scatter-${p.name}`;

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
