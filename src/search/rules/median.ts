/**
 * The median early-termination rule: Optuna's MedianPruner, which is PercentilePruner(50)
 * (optuna/pruners/_median.py and _percentile.py; the same logic in Optuna 3.1 and today's).
 *
 * A trial is pruned when its best value so far (nanmax / nanmin over every epoch reported) is
 * worse than the median of the COMPLETED trials' values at the epoch it has reached, computed as
 * np.nanpercentile does. Steps are epochs, 1-based: the value after epoch e is reported as step e.
 * Not checked: before n_startup_trials trials have completed, before epoch n_warmup_steps, off the
 * interval_steps grid, or with fewer than n_min_trials completed trials reporting that epoch.
 * A trial whose every value so far is NaN is pruned (Optuna's rule: its best is NaN).
 */
import type { EarlyTerminate, Goal, RuleTrial, Verdict } from '../types.js';
import { fmtPair } from './format.js';
import { maxOf, minOf } from '../../util/extremes.js';

/** MedianPruner's keyword defaults. */
export interface MedianSettings {
  n_startup_trials: number;
  n_warmup_steps: number;
  interval_steps: number;
  n_min_trials: number;
}

export function medianSettings(rule: EarlyTerminate): MedianSettings {
  const s = {
    n_startup_trials: rule.n_startup_trials ?? 5,
    n_warmup_steps: rule.n_warmup_steps ?? 0,
    interval_steps: rule.interval_steps ?? 1,
    n_min_trials: rule.n_min_trials ?? 1,
  };
  // PercentilePruner's own checks (the schema says the same).
  if (s.n_startup_trials < 0) throw new Error(`median: n_startup_trials cannot be negative (found ${s.n_startup_trials})`);
  if (s.n_warmup_steps < 0) throw new Error(`median: n_warmup_steps cannot be negative (found ${s.n_warmup_steps})`);
  if (s.interval_steps < 1) throw new Error(`median: interval_steps must be at least 1 (found ${s.interval_steps})`);
  if (s.n_min_trials < 1) throw new Error(`median: n_min_trials must be at least 1 (found ${s.n_min_trials})`);
  return s;
}

/**
 * np.nanpercentile(values, percentile) for one dimension, method 'linear', as numpy 1.24 – 2.x
 * compute it: NaNs dropped (none left: NaN), sorted, the virtual index (n − 1)·q, and numpy's
 * _lerp between its neighbours. _lerp is not a + (b − a)·t: for t ≥ 0.5 it is b − (b − a)·(1 − t),
 * which can differ in the last bit, and a median between two values always takes that branch.
 */
export function nanPercentile(values: number[], percentile: number): number {
  const sorted = values.filter((v) => !Number.isNaN(v)).sort((a, b) => a - b);
  const n = sorted.length;
  if (n === 0) return NaN;
  const q = percentile / 100;
  const virtual = (n - 1) * q;
  let previous = Math.floor(virtual);
  let next = previous + 1;
  // numpy's _get_indexes: at or past the last index both neighbours are the last value (index −1),
  // and the weight is then taken from that −1 (virtual − (−1)), as numpy does.
  if (virtual >= n - 1) previous = next = -1;
  if (virtual < 0) previous = next = 0;
  const t = virtual - previous;
  const a = sorted.at(previous)!;
  const b = sorted.at(next)!;
  const diff = b - a;
  return t >= 0.5 ? b - diff * (1 - t) : a + diff * t;
}

/** Optuna's _is_first_in_interval_step, for steps 1 … step all reported. */
function isFirstInIntervalStep(step: number, warmup: number, interval: number): boolean {
  const nearestLowerPruningStep = Math.floor((step - warmup) / interval) * interval + warmup;
  // The largest reported step other than this one: step − 1, or −1 when this is the first.
  const secondLastStep = step > 1 ? step - 1 : -1;
  return secondLastStep < nearestLowerPruningStep;
}

export function median(
  rule: EarlyTerminate,
  metric: { name: string; goal: Goal },
  trial: RuleTrial,
  trials: RuleTrial[],
): Verdict {
  const s = medianSettings(rule);
  const completed = trials.filter((t) => t.state === 'completed');
  if (completed.length === 0 || completed.length < s.n_startup_trials) return { stop: false };
  const step = trial.values.length;
  if (step === 0) return { stop: false };
  if (step < s.n_warmup_steps) return { stop: false };
  if (!isFirstInIntervalStep(step, s.n_warmup_steps, s.interval_steps)) return { stop: false };

  const maximize = metric.goal === 'maximize';
  const finite = trial.values.filter((v) => !Number.isNaN(v));
  const best = finite.length === 0 ? NaN : maximize ? maxOf(finite) : minOf(finite);
  if (Number.isNaN(best)) {
    return { stop: true, reason: `no ${metric.name} value yet: NaN at every epoch up to epoch ${step}` };
  }

  // Completed trials that reported this epoch (NaN counts towards n_min_trials, not the median).
  const atStep = completed.filter((t) => t.values.length >= step).map((t) => t.values[step - 1]);
  if (atStep.length < s.n_min_trials) return { stop: false };
  // Optuna flips the percentile when maximizing; for the median it stays 50.
  const p = nanPercentile(atStep, maximize ? 100 - 50 : 50);
  if (Number.isNaN(p)) return { stop: false };
  if (!(maximize ? best < p : best > p)) return { stop: false };

  const [b, m] = fmtPair(best, p);
  const counted = atStep.filter((v) => !Number.isNaN(v)).length;
  const side = maximize ? 'below' : 'above';
  return {
    stop: true,
    reason: `best ${metric.name} ${b} by epoch ${step} ${side} the median ${m} of ${counted} completed trial${counted === 1 ? '' : 's'} at epoch ${step}`,
  };
}
