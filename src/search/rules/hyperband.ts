/**
 * The hyperband early-termination rule, as W&B Sweeps runs it (wandb/sweeps,
 * src/sweeps/hyperband_stopping.py, hyperband_stop_runs), asked about one running trial at a time.
 *
 * W&B's rule is not Hyperband's brackets but a cutoff per band: at band b (an epoch count), the
 * runs' values at epoch b are sorted (negated when maximizing, so smaller is better) and the value
 * at index int(len / eta) is the cutoff; a running run is judged at the last band it has reached
 * and stops when its value there (strict) or its best value so far (not strict) is worse than
 * that band's cutoff. Every run of the sweep, in any state, counts towards the cutoffs; only
 * running runs are stopped. Values that are not finite numbers are dropped from a run's history
 * BEFORE anything is indexed (metric_history(filter_invalid=True)), so "epoch b" there means
 * "the b-th finite value"; we keep that, and say so in the reason when it matters.
 */
import type { EarlyTerminate, Goal, RuleTrial, Verdict } from '../types.js';
import { fmtPair, ordinal } from './format.js';
import { minOf } from '../../util/extremes.js';

/** The keys hyperband reads, with W&B's schema defaults (definitions.hyperband_stopping): eta 3, strict true. */
export interface HyperbandSettings {
  bands: number[];
  eta: number;
  strict: boolean;
}

/**
 * The bands, as W&B computes them. With max_iter (which wins when both are given) and s:
 * max_iter/eta, max_iter/eta², … truncated to integers, s of them at most, stopping at the first
 * below 1, sorted; possibly none. With min_iter: min_iter × eta^i truncated, for i < 100 (W&B
 * makes 100; only the first few are ever reached). Throws only when the keys are missing.
 */
export function hyperbandBands(rule: EarlyTerminate): number[] {
  const eta = rule.eta ?? 3;
  let bands: number[] = [];
  if (rule.max_iter !== undefined) {
    if (rule.s === undefined) throw new Error('hyperband: max_iter needs s (how many bands), or give min_iter instead');
    let band = rule.max_iter;
    for (let i = 0; i < rule.s; i++) {
      band /= eta;
      if (band < 1) break;
      bands.push(Math.trunc(band));
    }
    bands = bands.sort((a, b) => a - b);
  } else if (rule.min_iter !== undefined) {
    let band = rule.min_iter;
    for (let i = 0; i < 100; i++) {
      bands.push(Math.trunc(band));
      band *= eta;
    }
  } else {
    throw new Error('hyperband: give either max_iter (with s) or min_iter');
  }
  return bands;
}

/** The bands and defaults; throws where W&B raises (no band; 1/eta outside [0, 1]). */
export function hyperbandSettings(rule: EarlyTerminate): HyperbandSettings {
  const bands = hyperbandBands(rule);
  const eta = rule.eta ?? 3;
  if (bands.length < 1) throw new Error('hyperband: no band of at least 1 epoch; increase s or max_iter, or decrease eta');
  const r = 1 / eta;
  if (!(r >= 0 && r <= 1)) throw new Error(`hyperband: eta must be at least 1 (found ${eta})`);
  // W&B tests `strict is True`; the schema only lets a boolean through.
  return { bands, eta, strict: rule.strict ?? true };
}

/** A trial's finite values, negated when maximizing (W&B's `history`), with the epoch each came from. */
function history(values: number[], goal: Goal): { values: number[]; epochs: number[] } {
  const out = { values: [] as number[], epochs: [] as number[] };
  values.forEach((v, i) => {
    if (!Number.isFinite(v)) return;
    out.values.push(goal === 'maximize' ? -v : v);
    out.epochs.push(i + 1);
  });
  return out;
}

export function hyperband(
  rule: EarlyTerminate,
  metric: { name: string; goal: Goal },
  trial: RuleTrial,
  trials: RuleTrial[],
): Verdict {
  const { bands, eta, strict } = hyperbandSettings(rule);
  // W&B only judges running runs.
  if (trial.state !== 'pending') return { stop: false };
  const r = 1 / eta;
  // The judged run is one of the sweep's runs; count it even if a caller left it out.
  const all = trials.includes(trial) ? trials : [...trials, trial];
  const histories = all.map((t) => history(t.values, metric.goal).values).filter((h) => h.length > 0);
  const own = history(trial.values, metric.goal);

  // W&B walks the bands in order and keeps the last one the run has reached, stopping at the
  // first it has not (so with an unsorted list a later, smaller band is never looked at).
  let band = -1;
  for (const b of bands) {
    if (b <= own.values.length) band = b;
    else break;
  }
  if (band === -1) return { stop: false };

  const bandValues = histories.filter((h) => h.length >= band).map((h) => h[band - 1]);
  // Never empty: the judged run itself has reached the band.
  const cutoff = [...bandValues].sort((a, b) => a - b)[Math.trunc(r * bandValues.length)];
  const value = strict ? own.values[band - 1] : minOf(own.values);
  if (!(value > cutoff)) return { stop: false };
  return { stop: true, reason: reason(metric, strict, band, value, cutoff, own.epochs, trial.values.length) };
}

function reason(
  metric: { name: string; goal: Goal },
  strict: boolean,
  band: number,
  value: number,
  cutoff: number,
  epochs: number[],
  lastEpoch: number,
): string {
  // Back from W&B's negated scale to the metric's own.
  const sign = metric.goal === 'maximize' ? -1 : 1;
  const [v, c] = fmtPair(sign * value, sign * cutoff);
  const side = metric.goal === 'maximize' ? 'below' : 'above';
  if (!strict) return `best ${metric.name} ${v} by epoch ${lastEpoch} ${side} the band cutoff ${c} (band ${band})`;
  const epoch = epochs[band - 1];
  const skipped = epoch === band ? '' : `, the ${ordinal(band)} finite value: ${epoch - band} non-finite skipped`;
  return `${metric.name} ${v} at epoch ${epoch} ${side} the band cutoff ${c} (band ${band}${skipped})`;
}
