/**
 * What the search sees of a sweep, and what it answers. Two parts, kept apart as Optuna keeps
 * samplers from pruners: a *method* proposes the next trial's swept values from the space, a
 * seed and the trials so far; an *early-termination rule* says after an epoch whether a trial
 * goes on. Both are pure functions of these inputs (no clock, no global state, no database),
 * so the same history always gives the same answer and they are tested without training.
 */
import type { Experiment } from '../config/experiment.types.js';
import type { Assignment } from '../sweep/grid.js';
import type { Axis } from '../sweep/space.js';

export type Goal = 'maximize' | 'minimize';

/** An early-termination rule as the experiment file writes it. */
export type EarlyTerminate = NonNullable<NonNullable<Experiment['sweep']>['early_terminate']>;

/**
 * A trial as the search sees it. `pending`: proposed and not ended (queued or running);
 * `failed` covers every other way to end without a result (failed, diverged, interrupted).
 */
export type TrialState = 'pending' | 'completed' | 'pruned' | 'failed';

export interface Observation {
  /** The trial's swept values by dotted config path (the method's own proposal, or a fixed trial's). */
  params: Assignment;
  state: TrialState;
  /**
   * The sweep's metric after each epoch so far: epoch e at index e − 1. A value that is not a
   * finite number (a diverged epoch) is NaN.
   */
  values: number[];
}

export interface MethodInput {
  axes: Axis[];
  goal: Goal;
  /** sweep.seed. */
  seed: number;
  /** sweep.startup_trials, when the file gives it (each method has its own default). */
  startupTrials?: number;
  /** Every trial of the sweep so far, in the order they were proposed (earlier runs of the file included). */
  history: Observation[];
}

/**
 * A method's answer: the next trial's values, or null when the space has no point left that is
 * not already in the history (a small categorical space, searched out). A method never proposes
 * values equal to a trial's in the history, pending ones included: two workers must not train the
 * same point, and a trial's id is the hash of its config.
 */
export type Proposal = Assignment | null;

/**
 * The generator a method draws from for proposal number `n` (= history.length): a pure function
 * of the seed and the position, so a proposal never depends on how many numbers earlier ones drew.
 */
export function proposalSeed(seed: number, n: number): number {
  // splitmix32-style mixing of the two, so nearby (seed, n) pairs start unrelated streams.
  let h = (Math.imul(seed ^ 0x85ebca6b, 0x9e3779b1) + Math.imul(n + 1, 0xc2b2ae35)) >>> 0;
  h = Math.imul(h ^ (h >>> 16), 0x7feb352d) >>> 0;
  h = Math.imul(h ^ (h >>> 15), 0x846ca68b) >>> 0;
  return (h ^ (h >>> 16)) >>> 0;
}

/** Whether two assignments give every path the same value (the paths of `a` decide). */
export function sameAssignment(a: Assignment, b: Assignment): boolean {
  const keys = Object.keys(a);
  return keys.length === Object.keys(b).length && keys.every((k) => a[k] === b[k]);
}

/** A trial as an early-termination rule sees it. */
export interface RuleTrial {
  /** The trial's id (for messages and tests; rules decide on values only). */
  id: string;
  /** `pending` here means running: a rule is asked about running trials only. */
  state: TrialState;
  /** As Observation.values. */
  values: number[];
  /**
   * ASHA's bookkeeping, as Optuna's `completed_rung_k` system attributes: the value a trial had
   * when it was judged at rung k, by k. Absent for other rules and for rungs not reached.
   */
  rungs?: Record<string, number>;
}

export type Verdict =
  /** Goes on; `rungs` is the trial's bookkeeping after this decision, to be stored when given. */
  | { stop: false; rungs?: Record<string, number> }
  /** Stops (pruned); `reason` gives the rule's figures, for people: "val_acc 0.912 at epoch 3 below the band cutoff 0.934". */
  | { stop: true; reason: string; rungs?: Record<string, number> };
