/**
 * Rules between keys that JSON Schema cannot say plainly (or only with messages nobody can
 * read). Each returns the config path at fault and what to do.
 */
import type { Experiment } from './experiment.types.js';

export interface RuleViolation {
  path: string[];
  message: string;
}

export function checkRules(config: Experiment): RuleViolation[] {
  const out: RuleViolation[] = [];
  const { data } = config;
  if (data.dataset === 'idx' && data.dir === undefined) {
    out.push({ path: ['data', 'dataset'], message: 'data.dir: required with dataset: idx (the folder of the four IDX files)' });
  }
  if (data.dataset !== 'mnist-full' && data.mirrors !== undefined) {
    out.push({ path: ['data', 'mirrors'], message: 'data.mirrors: only dataset: mnist-full downloads; remove it' });
  }
  if (data.dataset === 'mnist') {
    for (const key of ['dir', 'validation'] as const) {
      if (data[key] !== undefined) {
        out.push({ path: ['data', key], message: `data.${key}: the embedded mnist digits have a fixed split and no folder; remove it, or use dataset: idx with the files in data.dir` });
      }
    }
  }
  const o = config.optimizer;
  if (o.nesterov && (o.name !== 'sgd' || o.momentum === 0)) {
    out.push({ path: ['optimizer', 'nesterov'], message: `optimizer.nesterov: needs sgd with momentum > 0 (found ${o.name}${o.name === 'sgd' ? ' with momentum 0' : ''})` });
  }
  return out;
}
