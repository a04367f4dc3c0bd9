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
import { configPaths, inFileOrder, locate, problemAt, readSource, schemaAt, validate, type SourceFile } from './load.js';
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

function checkParameterPaths(source: SourceFile, parameters: Record<string, unknown>): Problem[] {
  const leaves = configPaths().filter((p) => !UNSWEEPABLE.has(p.split('.')[0]));
  return Object.keys(parameters).flatMap((path) => {
    const target = schemaAt(path);
    if (target && !target.properties && !UNSWEEPABLE.has(path.split('.')[0])) return [];
    const keyNode = source.doc.getIn(['sweep', 'parameters'], true) as { items?: { key: Node & { value: unknown } }[] };
    const node = keyNode?.items?.find((p) => p.key.value === path)?.key ?? null;
    const why = target?.properties
      ? `'${path}' is a section; sweep one of its keys (${Object.keys(target.properties).map((k) => `${path}.${k}`).join(', ')})`
      : UNSWEEPABLE.has(path.split('.')[0]) ? `'${path}' cannot be swept` : `'${path}' is not a config key${didYouMean(path, leaves)}`;
    return [{ file: source.path, ...locate(source, node), message: `sweep.parameters: ${why}` }];
  });
}

export function loadExperiment(path: string): LoadedExperiment {
  const source = readSource(path);
  const raw = source.value as Record<string, unknown>;
  const experiment = structuredClone(raw) as unknown as Experiment;
  const problems = validate(source, experiment);
  if (problems.length) throw new UserError(inFileOrder(problems));

  const parameters = (experiment.sweep?.parameters ?? {}) as Record<string, ParamValue[]>;
  const pathProblems = checkParameterPaths(source, parameters);
  if (pathProblems.length) throw new UserError(pathProblems);

  const seen = new Map<string, Trial>();
  const valueProblems: Problem[] = [];
  for (const params of gridAssignments(parameters)) {
    const config = structuredClone(raw);
    for (const [p, v] of Object.entries(params)) setPath(config, p, v);
    const pin = (errorPath: string[]): Node | null => {
      const dotted = errorPath.join('.');
      const swept = Object.keys(params).find((p) => dotted === p || dotted.startsWith(`${p}.`));
      if (!swept) return null;
      const index = parameters[swept].indexOf(params[swept]);
      return (source.doc.getIn(['sweep', 'parameters', swept, index], true) as Node | undefined) ?? null;
    };
    const trialProblems = validate(source, config, pin);
    if (trialProblems.length) {
      valueProblems.push(...trialProblems);
      continue;
    }
    const resolved = config as unknown as Experiment;
    const broken = checkRules(resolved).map((v) => problemAt(source, v.path, v.message, pin));
    if (broken.length) {
      valueProblems.push(...broken);
      continue;
    }
    // A dataset folder is relative to the experiment file, wherever sweep runs from.
    if (resolved.data.dir !== undefined) resolved.data.dir = resolve(dirname(source.path), resolved.data.dir);
    const id = trialId(resolved);
    if (!seen.has(id)) seen.set(id, { id, params, config: resolved });
  }
  if (valueProblems.length) throw new UserError(inFileOrder(valueProblems));
  return { file: path, experiment, trials: [...seen.values()] };
}
