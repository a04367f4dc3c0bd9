/**
 * The sweep's early-termination rules behind one call: after an epoch (all but the last) the
 * sweep asks whether a running trial goes on. hyperband follows W&B Sweeps, median and asha
 * Optuna's pruners; each file says how. All are pure: the same trials give the same verdict.
 */
import type { EarlyTerminate, Goal, RuleTrial, Verdict } from '../types.js';
import { asha, ashaSettings } from './asha.js';
import { hyperband, hyperbandSettings } from './hyperband.js';
import { median, medianSettings } from './median.js';

export { hyperbandBands } from './hyperband.js';

/** sweep.early_terminate: the rule and its keys, as the schema gives them (no defaults filled). */

/**
 * Whether `trial` stops now. `trials` is every trial of the sweep, `trial` itself included (the
 * same object), in any state; `trial`'s last reported epoch is trial.values.length. For asha,
 * store the verdict's `rungs` on the trial when given: the next calls read them back.
 */
export function decide(
  rule: EarlyTerminate,
  metric: { name: string; goal: Goal },
  trial: RuleTrial,
  trials: RuleTrial[],
): Verdict {
  switch (rule.type) {
    case 'hyperband':
      return hyperband(rule, metric, trial, trials);
    case 'median':
      return median(rule, metric, trial, trials);
    case 'asha':
      return asha(rule, metric, trial, trials);
    default:
      throw new Error(`early_terminate: unknown type ${JSON.stringify((rule as { type?: unknown } | null)?.type ?? rule)}`);
  }
}

/**
 * A one-line summary of the rule with its defaults filled in, for `sweep plan`; with `epochs`,
 * hyperband's bands are those a trial of that many epochs is judged at (all but the last).
 */
export function ruleText(rule: EarlyTerminate, epochs?: number): string {
  switch (rule.type) {
    case 'hyperband': {
      const s = hyperbandSettings(rule);
      if (epochs !== undefined) {
        const judged = s.bands.filter((b) => b < epochs);
        return `hyperband (bands at epoch${judged.length === 1 ? '' : 's'} ${judged.join(', ')} of ${epochs}; eta ${s.eta}, ${s.strict ? 'strict' : 'not strict: best value so far'})`;
      }
      // min_iter gives W&B's 100 bands; the first few say what they are.
      const shown = s.bands.length > 4 ? `${s.bands.slice(0, 4).join(', ')}, …` : s.bands.join(', ');
      return `hyperband (bands ${shown}; eta ${s.eta}, ${s.strict ? 'strict' : 'not strict: best value so far'})`;
    }
    case 'median': {
      const s = medianSettings(rule);
      return `median (n_startup_trials ${s.n_startup_trials}, n_warmup_steps ${s.n_warmup_steps}, interval_steps ${s.interval_steps}, n_min_trials ${s.n_min_trials})`;
    }
    case 'asha': {
      const s = ashaSettings(rule);
      if (epochs !== undefined && s.min_resource !== 'auto') {
        const rungs: number[] = [];
        for (let k = 0; ; k++) {
          const at = s.min_resource * s.reduction_factor ** (s.min_early_stopping_rate + k);
          if (at >= epochs) break;
          rungs.push(at);
        }
        return `asha (rungs at epoch${rungs.length === 1 ? '' : 's'} ${rungs.join(', ')} of ${epochs}; reduction_factor ${s.reduction_factor})`;
      }
      return `asha (min_resource ${s.min_resource}, reduction_factor ${s.reduction_factor}, min_early_stopping_rate ${s.min_early_stopping_rate})`;
    }
    default:
      throw new Error(`early_terminate: unknown type ${JSON.stringify((rule as { type?: unknown } | null)?.type ?? rule)}`);
  }
}
