/**
 * Loading an experiment file into its trials: the file is validated as written, every swept
 * path must be a config key, and every trial's config is validated with its swept values, so
 * that a bad value in `sweep.parameters` is reported where it is written.
 */
import { dirname, resolve } from 'node:path';
import type { Node } from 'yaml';
import { gridAssignments, setPath, type Assignment, type ParamValue } from '../sweep/grid.js';
import { trialId } from '../sweep/trial-id.js';
import { UserError, type Problem } from './errors.js';
import type { Experiment } from './experiment.types.js';
import { compose, type Origins, type Overrides } from './compose.js';
import { configPaths, inFileOrder, locate, placeOf, problemAt, schemaAt, validate, type Place } from './load.js';
import { checkRules } from './rules.js';
import { didYouMean } from './suggest.js';

export interface Trial {
  /** Stable id from the resolved config. */
  id: string;
  /** The swept values of this trial, by dotted path. */
  params: Assignment;
  config: Experiment;
}

export interface LoadedExperiment {
  file: string;
  experiment: Experiment;
  trials: Trial[];
}

/** Keys that name or shape the sweep itself and so cannot be swept. */
const UNSWEEPABLE = new Set(['name', 'description', 'sweep']);

function checkParameterPaths(origins: Origins, parameters: Record<string, unknown>): Problem[] {
  const leaves = configPaths().filter((p) => !UNSWEEPABLE.has(p.split('.')[0]));
  return Object.keys(parameters).flatMap((path) => {
    const target = schemaAt(path);
    if (target && !target.properties && !UNSWEEPABLE.has(path.split('.')[0])) return [];
    const why = target?.properties
      ? `'${path}' is a section; sweep one of its keys (${Object.keys(target.properties).map((k) => `${path}.${k}`).join(', ')})`
      : UNSWEEPABLE.has(path.split('.')[0]) ? `'${path}' cannot be swept` : `'${path}' is not a config key${didYouMean(path, leaves)}`;
    return [{ ...placeOf(origins, ['sweep', 'parameters'], path), message: `sweep.parameters: ${why}` }];
  });
}

/**
 * Loads an experiment file into its trials: composed with the files it extends and the
 * command-line overrides, validated as a whole, then trial by trial with the swept values.
 */
/** Grids larger than this are refused unless asked for (`--yes`): a typo can make millions. */
export const MAX_TRIALS = 10_000;

export function loadExperiment(path: string, overrides: Overrides = {}, options: { maxTrials?: number } = {}): LoadedExperiment {
  const { value: raw, origins } = compose(path, overrides);
  const experiment = structuredClone(raw) as unknown as Experiment;
  const problems = validate(origins, experiment);
  if (problems.length) throw new UserError(inFileOrder(problems));

  const parameters = (experiment.sweep?.parameters ?? {}) as Record<string, ParamValue[]>;
  const pathProblems = checkParameterPaths(origins, parameters);
  if (pathProblems.length) throw new UserError(pathProblems);

  const size = Object.values(parameters).reduce((n, values) => n * values.length, 1);
  const maxTrials = options.maxTrials ?? MAX_TRIALS;
  if (size > maxTrials) {
    throw new UserError({
      ...placeOf(origins, ['sweep', 'parameters']),
      message: `sweep.parameters: the grid has ${size.toLocaleString('en')} trials, more than ${maxTrials.toLocaleString('en')}; pass --yes to run it anyway`,
    });
  }

  const seen = new Map<string, Trial>();
  const valueProblems: Problem[] = [];
  for (const params of gridAssignments(parameters)) {
    const config = structuredClone(raw);
    for (const [p, v] of Object.entries(params)) setPath(config, p, v);
    // A problem with a swept value is placed at that value in the sweep block.
    const pin = (errorPath: string[]): Place | null => {
      const dotted = errorPath.join('.');
      const swept = Object.keys(params).find((p) => dotted === p || dotted.startsWith(`${p}.`));
      if (!swept) return null;
      const origin = origins.at(['sweep', 'parameters', swept]);
      if (!origin.source) return { file: origin.label };
      const index = parameters[swept].indexOf(params[swept]);
      return { file: origin.source.path, ...locate(origin.source, (origin.source.doc.getIn(['sweep', 'parameters', swept, index], true) as Node | undefined) ?? null) };
    };
    const trialProblems = validate(origins, config, pin);
    if (trialProblems.length) {
      valueProblems.push(...trialProblems);
      continue;
    }
    const resolved = config as unknown as Experiment;
    const broken = checkRules(resolved).map((v) => problemAt(origins, v.path, v.message, pin));
    if (broken.length) {
      valueProblems.push(...broken);
      continue;
    }
    // A dataset folder is relative to the file that names it, wherever sweep runs from.
    if (resolved.data.dir !== undefined) {
      const where = origins.at(['data', 'dir']).source;
      resolved.data.dir = resolve(where ? dirname(where.path) : '.', resolved.data.dir);
    }
    const id = trialId(resolved);
    if (!seen.has(id)) seen.set(id, { id, params, config: resolved });
  }
  if (valueProblems.length) throw new UserError(inFileOrder(valueProblems));
  return { file: path, experiment, trials: [...seen.values()] };
}
