/**
 * The search methods that choose each trial from the results so far (sweep.method tpe, bayes).
 * grid and random are lists fixed by the file (sweep/space.ts assignments); these propose one
 * trial at a time, whenever a worker is free.
 */
import { DEFAULT_STARTUP_TRIALS as BAYES_STARTUP, proposeBayes } from './bayes.js';
import { DEFAULT_STARTUP_TRIALS as TPE_STARTUP, proposeTpe } from './tpe.js';
import type { MethodInput, Observation, Proposal } from './types.js';

export const ADAPTIVE_METHODS = ['tpe', 'bayes'] as const;
export type AdaptiveMethod = (typeof ADAPTIVE_METHODS)[number];

/**
 * How many trials each method draws at random before it models the results: Optuna's
 * n_startup_trials for tpe (sweep.startup_trials overrides), for bayes the 2 results a Gaussian
 * process needs at least (W&B's rule; more when asked).
 */
export function startupCount(method: AdaptiveMethod, startupTrials: number | undefined): number {
  return method === 'tpe' ? (startupTrials ?? TPE_STARTUP) : Math.max(BAYES_STARTUP, startupTrials ?? BAYES_STARTUP);
}

export function isAdaptive(method: string): method is AdaptiveMethod {
  return (ADAPTIVE_METHODS as readonly string[]).includes(method);
}

export function propose(method: AdaptiveMethod, input: MethodInput): Proposal {
  return method === 'tpe' ? proposeTpe(input) : proposeBayes(input);
}

/**
 * The start-up trials, fixed in advance: while they are drawn the method models nothing, so each
 * depends only on the seed, its position and the points before it (never proposed twice).
 */
export function startupProposals(method: AdaptiveMethod, input: MethodInput, maxTrials: number): NonNullable<Proposal>[] {
  const n = Math.min(startupCount(method, input.startupTrials), maxTrials);
  const history: Observation[] = [];
  for (let i = 0; i < n; i++) {
    const params = propose(method, { ...input, history });
    if (!params) break;
    history.push({ params, state: 'pending', values: [] });
  }
  return history.map((o) => o.params);
}
