/**
 * Checks of sweep.early_terminate that the schema cannot say plainly: each rule takes only its
 * own keys (the schema lists every rule's keys in one object, for readable messages), and the
 * figures must let the rule act within the trials' epochs.
 */
import type { Experiment } from './experiment.types.js';
import type { Problem } from './errors.js';
import type { Origins } from './origins.js';
import { placeOf } from './load.js';
import type { Axis } from '../sweep/space.js';
import { hyperbandBands } from '../search/rules/hyperband.js';
import { maxOf } from '../util/extremes.js';

type EarlyTerminate = NonNullable<NonNullable<Experiment['sweep']>['early_terminate']>;

/** Each rule's keys, as its source names them (W&B's hyperband, Optuna's pruners). */
export const RULE_KEYS: Record<EarlyTerminate['type'], string[]> = {
  hyperband: ['min_iter', 'max_iter', 's', 'eta', 'strict'],
  median: ['n_startup_trials', 'n_warmup_steps', 'interval_steps', 'n_min_trials'],
  asha: ['min_resource', 'reduction_factor', 'min_early_stopping_rate'],
};

/** The most epochs a trial of the sweep can have: training.epochs, or the largest swept value. */
export function mostEpochs(experiment: Experiment, axes: Axis[]): number {
  const swept = axes.find((a) => a.path === 'training.epochs');
  if (!swept) return experiment.training.epochs;
  return swept.spec.kind === 'values' ? maxOf(swept.spec.values.map(Number)) : swept.spec.max;
}

export function checkEarlyTerminate(origins: Origins, rule: EarlyTerminate, experiment: Experiment, axes: Axis[]): Problem[] {
  const base = ['sweep', 'early_terminate'];
  const at = (key: string | undefined, message: string): Problem => ({ ...placeOf(origins, key ? [...base, key] : base), message: `sweep.early_terminate${key ? `.${key}` : ''}: ${message}` });
  const own = RULE_KEYS[rule.type];
  for (const key of Object.keys(rule)) {
    if (key === 'type' || own.includes(key)) continue;
    const owner = (Object.keys(RULE_KEYS) as EarlyTerminate['type'][]).find((t) => RULE_KEYS[t].includes(key));
    return [{ ...placeOf(origins, base, key), message: `sweep.early_terminate: '${key}' belongs to type ${owner}, not ${rule.type}; ${rule.type} takes ${own.join(', ')}` }];
  }
  const epochs = mostEpochs(experiment, axes);
  // The rule is asked after every epoch but the last: a trial that ran all its epochs completes.
  const lastAsked = epochs - 1;
  const never = `the rule is asked after every epoch but the last, and the trials have ${epochs} epoch${epochs === 1 ? '' : 's'}`;
  if (lastAsked < 1) return [at(undefined, `${never}, so it can never stop one; give training.epochs of 2 or more, or remove early_terminate`)];
  switch (rule.type) {
    case 'hyperband': {
      if (rule.eta !== undefined && !(rule.eta > 1)) return [at('eta', `must be greater than 1 (the top 1/eta go on at each band), found ${rule.eta}`)];
      const hasMax = rule.max_iter !== undefined;
      if (rule.min_iter === undefined && !hasMax) return [at(undefined, 'hyperband needs min_iter (the first band, in epochs), or max_iter with s')];
      if (rule.min_iter !== undefined && hasMax) return [at('max_iter', 'give min_iter or max_iter with s, not both')];
      if (hasMax !== (rule.s !== undefined)) return [at(hasMax ? 'max_iter' : 's', 'max_iter and s go together (the bands are max_iter/eta, max_iter/eta², …, s of them)')];
      if (rule.min_iter !== undefined && rule.min_iter > lastAsked) return [at('min_iter', `${rule.min_iter} is beyond the epochs: ${never}; use min_iter ${lastAsked} or less`)];
      const bands = hyperbandBands(rule);
      if (!bands.length) return [at('max_iter', `max_iter ${rule.max_iter} with eta ${rule.eta ?? 3} makes no band of 1 epoch or more; raise max_iter or lower eta`)];
      if (bands[0] > lastAsked) return [at('max_iter', `the first band is at epoch ${bands[0]}, beyond the epochs: ${never}`)];
      return [];
    }
    case 'median':
      if ((rule.n_warmup_steps ?? 0) > lastAsked) return [at('n_warmup_steps', `${rule.n_warmup_steps} is beyond the epochs: ${never}; use ${lastAsked} or less`)];
      return [];
    case 'asha': {
      if (rule.reduction_factor !== undefined && rule.reduction_factor < 2) return [at('reduction_factor', `must be 2 or more (the top 1/reduction_factor of a rung go on), found ${rule.reduction_factor}`)];
      if (typeof rule.min_resource === 'string' && rule.min_resource !== 'auto') {
        return [at('min_resource', `expected a number of epochs (1 or more) or auto, found '${rule.min_resource}'`)];
      }
      if (typeof rule.min_resource === 'number' && rule.min_resource < 1) return [at('min_resource', `must be 1 or more (epochs), found ${rule.min_resource}`)];
      // auto is at least 1: its first rung is no earlier than a min_resource of 1 puts it.
      const first = (typeof rule.min_resource === 'number' ? rule.min_resource : 1) * (rule.reduction_factor ?? 4) ** (rule.min_early_stopping_rate ?? 0);
      if (first > lastAsked) {
        const key = typeof rule.min_resource === 'number' && rule.min_resource > lastAsked ? 'min_resource' : 'min_early_stopping_rate';
        return [at(key, `the first rung is at epoch ${first}, beyond the epochs: ${never}`)];
      }
      return [];
    }
  }
}
