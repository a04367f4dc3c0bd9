/**
 * Loading an experiment file into its trials: the file is validated as written, every swept
 * path must be a config key, and every trial's config is validated with its swept values, so
 * that a bad value in `sweep.parameters` is reported where it is written.
 */
import { dirname, resolve } from 'node:path';
import { setPath, type Assignment } from '../sweep/grid.js';
import { assignments, axesOf, type Axis, type SpaceProblem } from '../sweep/space.js';
import { isAdaptive, startupProposals, type AdaptiveMethod } from '../search/methods.js';
import { checkEarlyTerminate } from './early-terminate.js';
import { trialId, type KeyOrders } from '../sweep/trial-id.js';
import { UserError, type Problem } from './errors.js';
import type { Experiment } from './experiment.types.js';
import { compose, numberWrittenAsInteger, type InlineExperiment, type Overrides } from './compose.js';
import type { Origins } from './origins.js';
import { configPaths, inFileOrder, placeOf, problemAt, schemaAt, validate, type Place } from './load.js';
import { checkRules } from './rules.js';
import { didYouMean } from './suggest.js';
import { cloneData, isMapping, valueAt } from '../util/mapping.js';
import { maxOf } from '../util/extremes.js';

export interface Trial {
  /** Stable id from the resolved config. */
  id: string;
  /** The swept values of this trial, by dotted path. */
  params: Assignment;
  config: Experiment;
}

export interface LoadedExperiment {
  /** The experiment file's path, or an inline experiment's label (config/compose.ts). */
  file: string;
  experiment: Experiment;
  /** Every trial of a grid or random search; the start-up trials of an adaptive one (fixed in advance). */
  trials: Trial[];
  /** The swept parameters, as the search space reads them (a distribution W&B's rule took included). */
  axes: Axis[];
  /** Set for tpe and bayes: what it takes to make the trials chosen as results come in. */
  search?: AdaptiveSearch;
}

/** An adaptive search (sweep.method tpe or bayes) as the runner drives it. */
export interface AdaptiveSearch {
  method: AdaptiveMethod;
  axes: Axis[];
  seed: number;
  startupTrials?: number;
  /** The most trials the sweep runs (count, run_cap). */
  maxTrials: number;
  /** The trial of a method's values; a string when they break a rule of the config (said as the file's problem is). */
  build(params: Assignment): Trial | string;
  /**
   * The heaviest trial the space holds: every axis that sizes a training step (batch size,
   * widths, the training images) at its largest value, the others at their first or least; for
   * the memory each worker may need. Null when that point breaks a rule of the config.
   */
  corner: Trial | null;
}

/** Config paths whose larger values make a training step, or a worker, need more memory. */
const MEMORY_PATHS = ['training.batch_size', 'training.limit_train', 'model.conv1_filters', 'model.conv2_filters', 'model.fc1_units', 'model.fc2_units'];

/** The point of a space with every memory path at its largest value (see AdaptiveSearch.corner). */
function cornerOf(axes: Axis[]): Assignment {
  return Object.fromEntries(axes.map((a) => {
    const heavy = MEMORY_PATHS.includes(a.path);
    const spec = a.spec;
    if (spec.kind === 'values') {
      const numbers = spec.values.filter((v): v is number => typeof v === 'number');
      return [a.path, heavy && numbers.length ? maxOf(numbers) : spec.values[0]];
    }
    const bounded = !['normal', 'q_normal', 'log_normal'].includes(spec.distribution);
    const end = heavy ? spec.max : spec.min;
    const value = !bounded ? spec.mu : spec.distribution === 'log_uniform' ? Math.exp(end) : end;
    return [a.path, spec.distribution === 'int_uniform' ? Math.floor(value) : value];
  }));
}

/** Keys that name, shape or compose the sweep itself and so cannot be swept, with why not. */
const UNSWEEPABLE = new Map([
  ['name', 'it names the sweep'],
  ['description', 'it describes the sweep'],
  ['sweep', 'it is the sweep'],
  // Files are merged before the sweep expands: a swept `extends` would only be a label.
  ['extends', 'files are merged before the sweep expands; sweep the settings the files differ in, or run one file per base'],
]);

function checkParameterPaths(origins: Origins, axes: Axis[]): Problem[] {
  const leaves = configPaths().filter((p) => !UNSWEEPABLE.has(p.split('.')[0]));
  return axes.flatMap(({ path, docPath }) => {
    const target = schemaAt(path);
    if (target && !target.properties && !UNSWEEPABLE.has(path.split('.')[0])) return [];
    const why = target?.properties
      ? `'${path}' is a section; sweep one of its keys (${Object.keys(target.properties).map((k) => `${path}.${k}`).join(', ')})`
      : UNSWEEPABLE.has(path.split('.')[0]) ? `'${path}' cannot be swept (${UNSWEEPABLE.get(path.split('.')[0])})` : `'${path}' is not a config key${didYouMean(path, leaves)}`;
    const parent = ['sweep', 'parameters', ...docPath.slice(0, -1)];
    return [{ ...placeOf(origins, parent, docPath[docPath.length - 1]), message: `sweep.parameters: ${why}` }];
  });
}

/**
 * An integer setting given min and max without a distribution, one of them written as a float:
 * W&B's rule takes uniform, whose every draw the setting refuses. Said once, with the fix.
 */
function checkInferredIntegers(origins: Origins, axes: Axis[]): Problem[] {
  return axes.flatMap(({ path, docPath, inferred }) =>
    inferred?.distribution === 'uniform' && schemaAt(path)?.type === 'integer'
      ? [{ ...placeOf(origins, ['sweep', 'parameters', ...docPath]), message: `sweep.parameters.${path}: takes integers, but ${inferred.why}, so W&B's rule takes uniform; write min and max as integers (for int_uniform)` }]
      : []);
}

/** Problems with the sweep section as a whole: the method and how many trials it makes. */
function checkMethod(origins: Origins, sweep: NonNullable<Experiment['sweep']>, axes: Axis[], maxTrials: number): Problem[] {
  const at = (path: string[], message: string) => ({ ...placeOf(origins, path), message });
  const tooMany = (trials: number, what: string, path: string[]) => {
    // Formatted only when said: the first toLocaleString loads ICU's data (20 ms of every start).
    if (trials <= Math.min(maxTrials, MAX_TRIALS_EVER)) return [];
    const count = trials.toLocaleString('en');
    if (trials > MAX_TRIALS_EVER) return [at(path, `${what} makes ${count} trials, more than one sweep holds (${MAX_TRIALS_EVER.toLocaleString('en')}); split the search into several files`)];
    return [at(path, `${what} makes ${count} trials, more than ${maxTrials.toLocaleString('en')}; pass --yes to run it anyway`)];
  };
  const repeats = sweep.repeats ?? 1;
  if (isAdaptive(sweep.method)) {
    const method = sweep.method;
    if (sweep.count === undefined && sweep.run_cap === undefined) return [at(['sweep', 'method'], `sweep.count: method ${method} needs count, the most trials to run`)];
    const data = axes.find((a) => a.path.startsWith('data.'));
    if (data) return [at(['sweep', 'parameters', ...data.docPath], `sweep.parameters.${data.path}: method ${method} cannot sweep the data (it is prepared before the search starts); run one file per dataset`)];
    if (repeats !== 1) return [at(['sweep', 'repeats'], `sweep.repeats: method ${method} chooses every trial from the results so far; repeats goes with grid and random`)];
    if (!axes.some((a) => a.spec.kind === 'distribution' || a.spec.values.length > 1)) {
      return [at(['sweep', 'parameters'], `sweep.parameters: method ${method} has nothing to search (every parameter has one value); give a distribution or several values`)];
    }
    return tooMany(Math.min(sweep.count ?? Infinity, sweep.run_cap ?? Infinity), 'sweep.count', ['sweep', sweep.count !== undefined ? 'count' : 'run_cap']);
  }
  if (sweep.startup_trials !== undefined) return [at(['sweep', 'startup_trials'], `sweep.startup_trials: goes with method tpe or bayes, not ${sweep.method}`)];
  if (sweep.method === 'random') {
    if (sweep.count === undefined && sweep.run_cap === undefined) return [at(['sweep', 'method'], 'sweep.count: method random needs count, the number of trials to draw')];
    return tooMany(Math.min(sweep.count ?? Infinity, sweep.run_cap ?? Infinity) * repeats, 'sweep.count', ['sweep', 'count']);
  }
  const continuous = axes.filter((a) => a.spec.kind === 'distribution');
  if (continuous.length) {
    return continuous.map((a) => at(['sweep', 'parameters', ...a.docPath], `sweep.parameters.${a.path}: method grid needs values to list; a distribution needs method: random`));
  }
  const size = axes.reduce((n, a) => n * (a.spec as Extract<Axis['spec'], { kind: 'values' }>).values.length, 1);
  return tooMany(Math.min(size, sweep.run_cap ?? Infinity) * repeats, 'sweep.parameters: the grid', ['sweep', 'parameters']);
}

const underParameters = (path: string[]) => path[0] === 'sweep' && path[1] === 'parameters' && path.length > 2;

/** Grids larger than this are refused unless asked for (`--yes`): a typo can make millions. */
export const MAX_TRIALS = 10_000;

/**
 * Not even with --yes: the trials of a sweep are expanded in memory (about 3 kB each) and stored
 * as rows before the first trains. 200,000 plan in about 10 s and 0.7 GB; millions would
 * exhaust the heap after minutes. (At a minute a trial, 200,000 trials are 140 days of one core.)
 */
export const MAX_TRIALS_EVER = 200_000;

/** An experiment file's trials, or an inline experiment's (its label then stands for the file). */
export function loadExperiment(from: string | InlineExperiment, overrides: Overrides = {}, options: { maxTrials?: number } = {}): LoadedExperiment {
  const path = typeof from === 'string' ? from : from.label;
  const { value: raw, origins, set } = compose(from, overrides);
  const experiment = structuredClone(raw) as unknown as Experiment;
  // Every problem of the file at once: the schema's, the search space's, the swept paths', the method's.
  // (Parameter specs are checked by axesOf, with a message for each mistake.)
  const problems = validate(origins, experiment, undefined, underParameters);
  const sweep = experiment.sweep;
  const spaceProblems: SpaceProblem[] = [];
  const written = (docPath: string[]) => numberWrittenAsInteger(origins, ['sweep', 'parameters', ...docPath]);
  const axes = sweep && typeof sweep.parameters === 'object' ? axesOf(sweep.parameters as Record<string, unknown>, spaceProblems, written) : [];
  // A distribution taken from how min and max are written is written into the config, as W&B fills
  // it in: a stored or queued config no longer has the text it was taken from.
  for (const { docPath, inferred } of axes) {
    if (!inferred) continue;
    for (const config of [raw, experiment]) {
      const spec = valueAt(config, ['sweep', 'parameters', ...docPath]);
      if (isMapping(spec)) spec.distribution = inferred.distribution;
    }
  }
  problems.push(...spaceProblems.map((p) => ({ ...placeOf(origins, ['sweep', 'parameters', ...p.docPath], p.key), message: p.message })));
  problems.push(...checkParameterPaths(origins, axes), ...checkInferredIntegers(origins, axes));
  // A swept value replaces the one --set gave: say so rather than ignore the option.
  for (const { path: swept } of axes) {
    for (const [key, option] of set) {
      if (key === swept || key.startsWith(`${swept}.`) || swept.startsWith(`${key}.`)) {
        problems.push({ file: option, message: `${swept} is swept (sweep.parameters), so this value would be ignored; to run one value, give it with --grid ${swept}=VALUE` });
      }
    }
  }
  if (problems.length === 0 && sweep) {
    problems.push(...checkMethod(origins, sweep, axes, options.maxTrials ?? MAX_TRIALS));
    if (sweep.early_terminate) problems.push(...checkEarlyTerminate(origins, sweep.early_terminate, experiment, axes));
  }
  if (problems.length) throw new UserError(inFileOrder(problems));

  const byPath = new Map(axes.map((a) => [a.path, a]));
  const base = experiment.training.seed;
  const repeats = sweep?.repeats ?? 1;
  const keyOrders: KeyOrders = new Map();
  /** The trial of some swept values, or the problems of its config, placed in the file. */
  const build = (params: Assignment): Trial | Problem[] => {
    const config = cloneData(raw);
    for (const [p, v] of Object.entries(params)) setPath(config, p, v);
    // A problem with a swept value is placed at that value (or its distribution) in the sweep block.
    const pin = (errorPath: string[]): Place | null => {
      const dotted = errorPath.join('.');
      const axis = [...byPath.values()].find((a) => dotted === a.path || dotted.startsWith(`${a.path}.`));
      if (!axis) return null;
      const spec = axis.spec;
      const index = spec.kind === 'values' ? spec.values.indexOf(params[axis.path]) : -1;
      const inList = Array.isArray(valueAt(sweep?.parameters, axis.docPath));
      const where = index < 0 ? axis.docPath : inList ? [...axis.docPath, String(index)] : [...axis.docPath, 'values', String(index)];
      return placeOf(origins, ['sweep', 'parameters', ...where]);
    };
    const trialProblems = validate(origins, config, pin, underParameters);
    if (trialProblems.length) return trialProblems;
    const resolved = config as unknown as Experiment;
    const broken = checkRules(resolved).map((v) => problemAt(origins, v.path, v.message, pin));
    if (broken.length) return broken;
    // A dataset folder or file is relative to the file that names it, wherever sweep runs from.
    for (const key of ['dir', 'train', 'test'] as const) {
      // data.test may be a fraction (a folder dataset's), which is no path.
      const path = resolved.data[key];
      if (typeof path !== 'string') continue;
      const where = origins.at(['data', key]).source;
      resolved.data[key] = resolve(where ? dirname(where.path) : '.', path);
    }
    return { id: trialId(resolved, keyOrders), params, config: resolved };
  };

  const seen = new Map<string, Trial>();
  const valueProblems: Problem[] = [];
  const method = sweep?.method ?? 'grid';
  const adaptive = sweep && isAdaptive(method) ? method : undefined;
  const maxTrials = Math.min(sweep?.count ?? Infinity, sweep?.run_cap ?? Infinity);
  const drawn = !sweep
    ? [{}]
    : adaptive
      ? startupProposals(adaptive, { axes, goal: experiment.metric.goal, seed: sweep.seed, startupTrials: sweep.startup_trials, history: [] }, maxTrials)
      : assignments(axes, { method: method as 'grid' | 'random', count: sweep.count, run_cap: sweep.run_cap, seed: sweep.seed });
  for (const params of drawn.flatMap((a) => (repeats === 1 ? [a] : Array.from({ length: repeats }, (_, k) => ({ ...a, 'training.seed': Number(a['training.seed'] ?? base) + k }))))) {
    const trial = build(params);
    if (Array.isArray(trial)) valueProblems.push(...trial);
    else if (!seen.has(trial.id)) seen.set(trial.id, trial);
  }
  // An adaptive search's start-up values are proposals like the later ones: one that breaks a rule
  // of the config is skipped when it comes up (whichever the seed draws first), unless none of them fits.
  if (valueProblems.length && !(adaptive && seen.size)) throw new UserError(inFileOrder(valueProblems));
  const loaded: LoadedExperiment = { file: path, experiment, trials: [...seen.values()], axes };
  if (sweep && adaptive) {
    loaded.search = {
      method: adaptive,
      axes,
      seed: sweep.seed,
      startupTrials: sweep.startup_trials,
      maxTrials,
      build: (params) => {
        const trial = build(params);
        return Array.isArray(trial) ? trial.map((p) => p.message).join('; ') : trial;
      },
      corner: ((c) => (Array.isArray(c) ? null : c))(build(cornerOf(axes))),
    };
  }
  return loaded;
}
