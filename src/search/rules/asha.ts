/**
 * The asha early-termination rule: Optuna's SuccessiveHalvingPruner (asynchronous successive
 * halving; optuna/pruners/_successive_halving.py, the same logic in Optuna 3.1 and today's),
 * with bootstrap_count 0.
 *
 * Rung k sits at min_resource × reduction_factor^(min_early_stopping_rate + k) epochs. When a
 * trial reaches its next rung, its value there is recorded (Optuna's `completed_rung_k` system
 * attribute, here RuleTrial.rungs[k], returned in the verdict for the caller to store) and
 * compared with the values every other trial, in any state, recorded at that rung: it goes on
 * only if it is in the top 1/reduction_factor of them (itself included), or the best while
 * fewer than reduction_factor have reached it. A trial that passes may pass the next rung in the
 * same call, as Optuna's while loop does. The value judged is the latest epoch's, not the best.
 */
import type { EarlyTerminate, Goal, RuleTrial, Verdict } from '../types.js';
import { fmtPair } from './format.js';
import { maxOf } from '../../util/extremes.js';

/** SuccessiveHalvingPruner's keyword defaults. */
export interface AshaSettings {
  min_resource: number | 'auto';
  reduction_factor: number;
  min_early_stopping_rate: number;
}

export function ashaSettings(rule: EarlyTerminate): AshaSettings {
  const given = rule.min_resource ?? 'auto';
  // The schema takes a string for a readable message; the file's checks (config/early-terminate.ts) allow only auto.
  if (typeof given === 'string' && given !== 'auto') throw new Error(`asha: min_resource must be at least 1 or auto (found ${given})`);
  const s = {
    min_resource: given as number | 'auto',
    reduction_factor: rule.reduction_factor ?? 4,
    min_early_stopping_rate: rule.min_early_stopping_rate ?? 0,
  };
  // SuccessiveHalvingPruner's own checks (the schema does not bound reduction_factor).
  if (s.min_resource !== 'auto' && s.min_resource < 1) throw new Error(`asha: min_resource must be at least 1 or auto (found ${s.min_resource})`);
  if (s.reduction_factor < 2) throw new Error(`asha: reduction_factor must be at least 2 (found ${s.reduction_factor})`);
  if (s.min_early_stopping_rate < 0) throw new Error(`asha: min_early_stopping_rate cannot be negative (found ${s.min_early_stopping_rate})`);
  return s;
}

/**
 * Optuna's _estimate_min_resource: the most epochs of a completed trial, divided by 100 (at
 * least 1); null while no trial has completed. Optuna estimates once and keeps the number in
 * the pruner; we estimate at every call, which gives the same number unless a trial completing
 * later has more epochs, across a multiple of 100, than those completed at the first estimate.
 */
export function estimateMinResource(trials: RuleTrial[]): number | null {
  const steps = trials.filter((t) => t.state === 'completed' && t.values.length > 0).map((t) => t.values.length);
  if (steps.length === 0) return null;
  return Math.max(Math.floor(maxOf(steps) / 100), 1);
}

export function asha(
  rule: EarlyTerminate,
  metric: { name: string; goal: Goal },
  trial: RuleTrial,
  trials: RuleTrial[],
): Verdict {
  const s = ashaSettings(rule);
  const step = trial.values.length;
  if (step === 0) return { stop: false };
  const minResource = s.min_resource === 'auto' ? estimateMinResource(trials) : s.min_resource;
  if (minResource === null) return { stop: false };

  const value = trial.values[step - 1];
  const recorded = { ...trial.rungs };
  // The first rung not recorded yet (Optuna's _get_current_rung).
  let rung = 0;
  while (String(rung) in recorded) rung++;
  const changed = () => (Object.keys(recorded).length === Object.keys(trial.rungs ?? {}).length ? {} : { rungs: recorded });

  for (;;) {
    const promotionStep = minResource * s.reduction_factor ** (s.min_early_stopping_rate + rung);
    if (step < promotionStep) return { stop: false, ...changed() };
    if (Number.isNaN(value)) {
      return { stop: true, reason: `${metric.name} NaN at epoch ${step}, reaching rung ${rung}`, ...changed() };
    }
    const key = String(rung);
    recorded[key] = value;
    // Every trial's value at this rung as it stood before this call (Optuna reads the trials
    // before recording, and records on a copy, so the judged trial is not counted twice), plus
    // the judged value.
    const competing = trials.filter((t) => t.rungs?.[key] !== undefined).map((t) => t.rungs![key]);
    competing.push(value);
    const verdict = promotable(value, competing, s.reduction_factor, metric.goal);
    if (!verdict.ok) {
      const [v, needed] = fmtPair(value, verdict.needed);
      const top = verdict.best
        ? `the best at rung ${rung} (needed ${needed} among ${competing.length} trials, fewer than ${s.reduction_factor})`
        : `in the top 1/${s.reduction_factor} of rung ${rung} (needed ${needed} among ${competing.length} trials)`;
      return { stop: true, reason: `${metric.name} ${v} at epoch ${step} not ${top}`, rungs: recorded };
    }
    rung++;
  }
}

/** Optuna's _is_trial_promotable_to_next_rung, with the value it had to reach. */
function promotable(
  value: number,
  competing: number[],
  reductionFactor: number,
  goal: Goal,
): { ok: boolean; needed: number; best: boolean } {
  let idx = Math.floor(competing.length / reductionFactor) - 1;
  // Fewer trials than reduction_factor at this rung: Optuna cannot pause a trial to wait for
  // more, so it promotes only the best so far.
  const best = idx === -1;
  if (best) idx = 0;
  const sorted = [...competing].sort((a, b) => a - b);
  const needed = goal === 'maximize' ? sorted[sorted.length - (idx + 1)] : sorted[idx];
  return { ok: goal === 'maximize' ? value >= needed : value <= needed, needed, best };
}
