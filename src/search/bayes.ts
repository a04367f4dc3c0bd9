/**
 * `method: bayes`, Weights & Biases' Bayesian search (wandb/sweeps, bayes_search.py), as a pure
 * function of the space, the goal, the seed and the trials so far:
 *
 * 1. Every trial's values are mapped into the unit cube by each parameter's CDF
 *    (params.py `HyperParameter.cdf`, `normalize_runs_as_array`): a categorical by its index
 *    (value i of n → (i + 1)/n), an int by scipy's randint CDF, a distribution by its own CDF.
 * 2. Each trial gets a y (`_construct_gp_data`): completed trials their best value over epochs
 *    (W&B's `metric_extremum`, max for maximize); failed ones, and ended ones without a finite
 *    value, W&B's default `impute: worst`, the worst value any ended trial ever logged (0 when
 *    none). Pruned (early-terminated) trials count as finished, with their best value so far.
 *    Pending trials (queued or running) have no y: W&B passes them as `current_X`, points in
 *    flight. y is negated for maximize: W&B's search minimises.
 * 3. Until `startup_trials` trials (default 2, W&B's: `next_sample` needs two) have a y, the
 *    proposal is a random point of the cube (W&B's `random_sample`).
 * 4. Then `next_sample`: y normalised by its mean and std, a Gaussian process fitted
 *    (./gaussian-process.ts: Matern ν = 1.5, sklearn's fit), the pending points added with the
 *    GP's own prediction as their value and the GP fitted again (`train_gaussian_process`),
 *    1000 random points of the cube scored by expected improvement over the best y, the best
 *    one taken; when the fitted length scale sits on a bound, a random one of them instead.
 * 5. The point is mapped back by each parameter's inverse CDF (`HyperParameter.ppf`).
 *
 * Where this departs from W&B, and why, is said at each place (search for "W&B").
 */
import type { Assignment, ParamValue } from '../sweep/grid.js';
import type { Axis, Spec } from '../sweep/space.js';
import { Random } from '../util/random.js';
import { atLengthScaleBound, fitGaussianProcess, predict, type GaussianProcess } from './gaussian-process.js';
import { erfc } from './parzen.js';
import { proposalSeed, sameAssignment, type Goal, type MethodInput, type Observation, type Proposal } from './types.js';
import { maxOf, minOf } from '../util/extremes.js';

/** W&B's `num_points_to_try`: random points of the cube scored by expected improvement. */
export const NUM_POINTS_TO_TRY = 1000;
/** W&B's `max_samples_for_gp`: more observations than this, and the GP is fitted on a resample of them. */
export const MAX_SAMPLES_FOR_GP = 100;
/** W&B's STD_NUMERICAL_STABILITY_EPSILON. */
const STD_EPSILON = 1e-6;
/** Trials with a y before the GP: W&B's `next_sample` returns a random point below two. */
export const DEFAULT_STARTUP_TRIALS = 2;
/** A finite space no larger than this is listed when 1000 tries found only taken points. */
const MAX_ENUMERATED = 100_000;

// ---------------------------------------------------------------------------------------------
// The standard normal (scipy.stats.norm's cdf, pdf and ppf)

/** Φ(x) from the complementary error function tpe's estimator uses (parzen.ts, FreeBSD's erfc), accurate in both tails. */
export function normalCdf(x: number): number {
  return 0.5 * erfc(-x / Math.SQRT2);
}

export function normalPdf(x: number): number {
  return Math.exp((-x * x) / 2) / Math.sqrt(2 * Math.PI);
}

/** Φ⁻¹(p) for p in (0, 1): Acklam's rational approximation, polished by one Halley step on normalCdf. */
export function normalPpf(p: number): number {
  if (p <= 0) return -Infinity;
  if (p >= 1) return Infinity;
  const a = [-3.969683028665376e1, 2.209460984245205e2, -2.759285104469687e2, 1.38357751867269e2, -3.066479806614716e1, 2.506628277459239];
  const b = [-5.447609879822406e1, 1.615858368580409e2, -1.556989798598866e2, 6.680131188771972e1, -1.328068155288572e1];
  const c = [-7.784894002430293e-3, -3.223964580411365e-1, -2.400758277161838, -2.549732539343734, 4.374664141464968, 2.938163982698783];
  const d = [7.784695709041462e-3, 3.224671290700398e-1, 2.445134137142996, 3.754408661907416];
  const low = 0.02425;
  let x: number;
  if (p < low || p > 1 - low) {
    const q = Math.sqrt(-2 * Math.log(p < low ? p : 1 - p));
    x = (((((c[0] * q + c[1]) * q + c[2]) * q + c[3]) * q + c[4]) * q + c[5]) / ((((d[0] * q + d[1]) * q + d[2]) * q + d[3]) * q + 1);
    if (p > 1 - low) x = -x;
  } else {
    const q = p - 0.5;
    const r = q * q;
    x = ((((((a[0] * r + a[1]) * r + a[2]) * r + a[3]) * r + a[4]) * r + a[5]) * q) / (((((b[0] * r + b[1]) * r + b[2]) * r + b[3]) * r + b[4]) * r + 1);
  }
  // Halley: the error of Φ(x) − p, measured on the side where it is small.
  const e = x < 0 ? normalCdf(x) - p : 1 - p - normalCdf(-x);
  const u = e * Math.sqrt(2 * Math.PI) * Math.exp((x * x) / 2);
  return x - u / (1 + (x * u) / 2);
}

// ---------------------------------------------------------------------------------------------
// The unit cube (params.py: HyperParameter.cdf and .ppf)

/** A searchable parameter (W&B leaves constants out of the cube) and its maps to and from [0, 1]. */
export interface Dimension {
  axis: Axis;
  /** Where a value sits in [0, 1]; NaN for a value the parameter cannot take (a fixed trial's). */
  cdf(value: ParamValue): number;
  /** The value at u in [0, 1], typed and quantised as `draw()` makes it. */
  ppf(u: number): ParamValue;
}

const clip01 = (x: number) => Math.min(1, Math.max(0, x));
/** Rounded to a multiple of q as `draw()` rounds (Math.round, then 12 significant digits). W&B: np.round (half to even). */
const quantize = (v: number, q: number) => Number((Math.round(v / q) * q).toPrecision(12));
/** Test points come from [0, 1); the unbounded inverse CDFs are kept finite at 0. */
const open01 = (u: number) => Math.min(1 - 2 ** -33, Math.max(2 ** -33, u));

/**
 * A discrete parameter of n outcomes with cumulative probabilities `cum`: outcome i sits at
 * cum[i] (scipy's randint.cdf for categoricals and ints), and u maps back to the first outcome
 * with cum ≥ u (scipy's discrete ppf). At u = 0 scipy returns outcome −1 (for a categorical,
 * Python's values[−1], the last); here it is the first outcome with a nonzero probability.
 */
function discrete(cum: number[]): { cdf: (i: number) => number; ppf: (u: number) => number } {
  return {
    cdf: (i) => cum[i],
    ppf: (u) => {
      const x = Math.max(u, 2 ** -40);
      const i = cum.findIndex((c) => c >= x);
      return i < 0 ? cum.length - 1 : i;
    },
  };
}

/** The searchable dimension of an axis, or null for a constant (one value). */
export function dimensionOf(axis: Axis): Dimension | null {
  const spec: Spec = axis.spec;
  if (spec.kind === 'values') {
    const { values, probabilities } = spec;
    if (values.length === 1) return null;
    // W&B: {values} is HyperParameter.CATEGORICAL, the index of the value uniform on 0…n−1
    // (value i ↦ (i+1)/n). With probabilities W&B's cdf is their cumulative sum at the index,
    // but `normalize_runs_as_array` passes it the value, not the index, so W&B's bayes fails on
    // such a parameter; here the index is passed, as for plain categoricals.
    let acc = 0;
    const cum = values.map((_, i) => (probabilities ? (acc += probabilities[i]) : (i + 1) / values.length));
    cum[cum.length - 1] = 1;
    const d = discrete(cum);
    return {
      axis,
      // Matched by ===. W&B matches by Python ==, and its `if not _val` reads a value of 0, false
      // or '' as index 0 whatever its place; here every listed value gets its own place.
      cdf: (v) => {
        const i = values.indexOf(v);
        return i < 0 ? NaN : d.cdf(i);
      },
      ppf: (u) => values[d.ppf(u)],
    };
  }
  const { min, max, q, mu, sigma } = spec;
  const num = (f: (v: number) => number) => (v: ParamValue) => (typeof v === 'number' && !Number.isNaN(v) ? f(v) : NaN);
  const span = (x: number, lo: number, hi: number) => (hi > lo ? clip01((x - lo) / (hi - lo)) : 0);
  const logOf = (v: number) => (v > 0 ? Math.log(v) : -Infinity);
  switch (spec.distribution) {
    case 'uniform':
      return { axis, cdf: num((v) => span(v, min, max)), ppf: (u) => min + (max - min) * u };
    case 'q_uniform':
      return { axis, cdf: num((v) => span(v, min, max)), ppf: (u) => quantize(min + (max - min) * u, q) };
    case 'int_uniform': {
      // scipy.stats.randint(min, max + 1); draw() takes ceil(min)…floor(max).
      const lo = Math.ceil(min);
      const n = Math.max(1, Math.floor(max) - lo + 1);
      const d = discrete(Array.from({ length: n }, (_, i) => (i + 1) / n));
      return { axis, cdf: num((v) => clip01((Math.floor(v) - lo + 1) / n)), ppf: (u) => lo + d.ppf(u) };
    }
    case 'log_uniform_values':
      return { axis, cdf: num((v) => span(logOf(v), Math.log(min), Math.log(max))), ppf: (u) => Math.exp(Math.log(min) + (Math.log(max) - Math.log(min)) * u) };
    case 'q_log_uniform_values':
      return { axis, cdf: num((v) => span(logOf(v), Math.log(min), Math.log(max))), ppf: (u) => quantize(Math.exp(Math.log(min) + (Math.log(max) - Math.log(min)) * u), q) };
    case 'log_uniform':
      return { axis, cdf: num((v) => span(logOf(v), min, max)), ppf: (u) => Math.exp(min + (max - min) * u) };
    case 'normal':
      return { axis, cdf: num((v) => normalCdf((v - mu) / sigma)), ppf: (u) => mu + sigma * normalPpf(open01(u)) };
    case 'q_normal':
      return { axis, cdf: num((v) => normalCdf((v - mu) / sigma)), ppf: (u) => quantize(mu + sigma * normalPpf(open01(u)), q) };
    case 'log_normal':
      return { axis, cdf: num((v) => (v > 0 ? normalCdf((Math.log(v) - mu) / sigma) : 0)), ppf: (u) => Math.exp(mu + sigma * normalPpf(open01(u))) };
  }
}

// ---------------------------------------------------------------------------------------------
// The data the GP is fitted on (bayes_search.py: _construct_gp_data, impute)

const finiteValues = (o: Observation) => o.values.filter(Number.isFinite);

/**
 * W&B's y for each trial, negated for maximize (the search minimises), with the trials in
 * flight apart. Points W&B could not place (a NaN coordinate: a value outside the space) are
 * left out, as `filter_nans` leaves them out of the observations; W&B would pass such a
 * pending point to the GP as it is, which fails there.
 */
export function gpData(observations: readonly Observation[], dims: readonly Dimension[], goal: Goal): { X: number[][]; y: number[]; current: number[][] } {
  const maximize = goal === 'maximize';
  // impute(worst): over ended trials, the worst value each ever logged, the worst of those.
  let worst = maximize ? Infinity : -Infinity;
  for (const o of observations) {
    if (o.state === 'pending') continue;
    const v = finiteValues(o);
    if (v.length) worst = maximize ? Math.min(worst, minOf(v)) : Math.max(worst, maxOf(v));
  }
  if (!Number.isFinite(worst)) worst = 0;
  const X: number[][] = [];
  const y: number[] = [];
  const current: number[][] = [];
  for (const o of observations) {
    const x = dims.map((d) => d.cdf(o.params[d.axis.path]));
    if (x.some(Number.isNaN)) continue;
    if (o.state === 'pending') {
      current.push(x);
      continue;
    }
    const v = finiteValues(o);
    // completed and pruned: W&B's metric_extremum, the best finite value logged; failed: worst.
    const metric = o.state !== 'failed' && v.length ? (maximize ? maxOf(v) : minOf(v)) : worst;
    X.push(x);
    y.push(maximize ? -metric : metric);
  }
  return { X, y, current };
}

// ---------------------------------------------------------------------------------------------
// next_sample (bayes_search.py: fit_normalized_gaussian_process, train_gaussian_process, next_sample)

export interface FittedProcess {
  gp: GaussianProcess;
  yMean: number;
  yStd: number;
}

/** W&B's `fit_normalized_gaussian_process`: y − mean over std (+1e-6); one point: mean y₀, std 1. */
export function fitNormalized(X: number[][], y: readonly number[]): FittedProcess {
  const yMean = y.length === 1 ? y[0] : y.reduce((a, b) => a + b, 0) / y.length;
  const yStd = y.length === 1 ? 1 : Math.sqrt(y.reduce((a, b) => a + (b - yMean) ** 2, 0) / y.length) + STD_EPSILON;
  return { gp: fitGaussianProcess(X, y.map((v) => (v - yMean) / yStd)), yMean, yStd };
}

/**
 * W&B's `train_gaussian_process`: at most 100 observations (drawn with replacement beyond), at
 * most 95 points in flight; the points in flight are given the first GP's prediction and the GP
 * is fitted again on both.
 */
export function trainGaussianProcess(X: number[][], y: readonly number[], current: number[][], rng: Random): FittedProcess {
  let Xs = X;
  let ys = y;
  if (X.length > MAX_SAMPLES_FOR_GP) {
    const picks = Array.from({ length: MAX_SAMPLES_FOR_GP }, () => Math.floor(rng.next() * X.length));
    Xs = picks.map((i) => X[i]);
    ys = picks.map((i) => y[i]);
  }
  const fitted = fitNormalized(Xs, ys);
  if (current.length === 0) return fitted;
  const flight = current.slice(0, MAX_SAMPLES_FOR_GP - 5);
  const fantasy = Array.from(predict(fitted.gp, flight).mean, (m) => m * fitted.yStd + fitted.yMean);
  return fitNormalized([...Xs, ...flight], [...ys, ...fantasy]);
}

export interface Scored {
  /** The chosen test point (W&B's `best_test_X_index`). */
  index: number;
  /** Expected improvement of each test point, in normalised units. */
  ei: Float64Array;
  /** Whether the length scale sat on a bound, so that `index` was drawn at random. */
  fallback: boolean;
  fitted: FittedProcess;
}

/**
 * W&B's `next_sample` with two or more observations, on given test points: expected improvement
 * over the best y (y minimised), −(μ − y*)·Φ(Z) + σ·φ(Z), Z = −(μ − y*)/(σ + 1e-6), the
 * argmax chosen (the first on ties, as np.argmax) unless the length scale sits on a bound, when
 * W&B takes `np.random.randint(0, N − 1)` (which never picks the last point; kept).
 */
export function scoreTestPoints(X: number[][], y: readonly number[], current: number[][], testX: readonly number[][], rng: Random): Scored {
  const fitted = trainGaussianProcess(X, y, current, rng);
  const { mean, std } = predict(fitted.gp, testX);
  const yBest = (minOf(y) - fitted.yMean) / fitted.yStd;
  const ei = new Float64Array(testX.length);
  let index = 0;
  for (let i = 0; i < testX.length; i++) {
    const z = -(mean[i] - yBest) / (std[i] + STD_EPSILON);
    ei[i] = -(mean[i] - yBest) * normalCdf(z) + std[i] * normalPdf(z);
    if (ei[i] > ei[index]) index = i;
  }
  const fallback = atLengthScaleBound(fitted.gp);
  if (fallback) index = Math.floor(rng.next() * (testX.length - 1));
  return { index, ei, fallback, fitted };
}

// ---------------------------------------------------------------------------------------------
// The proposal

/** W&B's `random_sample`: uniform points of the unit cube, row by row. */
function randomPoints(n: number, d: number, rng: Random): number[][] {
  return Array.from({ length: n }, () => Array.from({ length: d }, () => rng.next()));
}

/** The values of a finite space (categoricals and ints only), or null when it is not, or too large. */
function enumerate(dims: readonly Dimension[]): ParamValue[][] | null {
  const choices: ParamValue[][] = [];
  for (const { axis } of dims) {
    const spec = axis.spec;
    if (spec.kind === 'values') choices.push(spec.values.filter((_, i) => !spec.probabilities || spec.probabilities[i] > 0));
    else if (spec.distribution === 'int_uniform') {
      const lo = Math.ceil(spec.min);
      choices.push(Array.from({ length: Math.max(0, Math.floor(spec.max) - lo + 1) }, (_, i) => lo + i));
    } else return null;
  }
  if (choices.reduce((n, c) => n * c.length, 1) > MAX_ENUMERATED) return null;
  return choices.reduce<ParamValue[][]>((combos, c) => combos.flatMap((combo) => c.map((v) => [...combo, v])), [[]]);
}

/**
 * The next trial's values for `method: bayes` (see the top of this file), never values equal to
 * a trial's in the history, pending ones included: test points are taken in the order W&B
 * prefers them (its choice, then by expected improvement) and the first whose values are not
 * taken is proposed. The pending points also enter the GP as W&B enters them (their predicted
 * value), which already steers the search away from them. When 1000 points all decode to taken
 * values: a finite space (categoricals, ints) is listed and an untaken point drawn, or null when
 * none is left; a space with a continuous parameter gives null.
 */
export function proposeBayes(input: MethodInput): Proposal {
  const rng = new Random(proposalSeed(input.seed, input.history.length));
  const dims = input.axes.map(dimensionOf);
  const searchable = dims.filter((d): d is Dimension => d !== null);
  const constant = (a: Axis) => (a.spec as Extract<Spec, { kind: 'values' }>).values[0];
  const decode = (u: readonly number[]): Assignment => {
    let k = 0;
    return Object.fromEntries(input.axes.map((a, i) => [a.path, dims[i] ? dims[i]!.ppf(u[k++]) : constant(a)]));
  };
  const key = (values: readonly unknown[]) => JSON.stringify(values);
  const paths = input.axes.map((a) => a.path);
  const taken = new Set(
    input.history.filter((o) => Object.keys(o.params).length === paths.length && paths.every((p) => p in o.params)).map((o) => key(paths.map((p) => o.params[p]))),
  );
  // The set holds exactly the trials with these paths and no others, keyed by their values (JSON
  // tells 1 from '1' and true from 'true', as === does); sameAssignment then confirms the answer.
  const inSet = (a: Assignment) => taken.has(key(paths.map((p) => a[p])));
  const isTaken = (a: Assignment) => inSet(a) || input.history.some((o) => sameAssignment(a, o.params));

  const untakenOf = (points: Iterable<readonly number[]>): Assignment | null => {
    for (const u of points) {
      const a = decode(u);
      if (!isTaken(a)) return a;
    }
    return null;
  };
  const lastResort = (): Proposal => {
    const all = enumerate(searchable);
    if (!all) return null;
    const free = all.map((vs) => {
      let k = 0;
      return Object.fromEntries(input.axes.map((a, i) => [a.path, dims[i] ? vs[k++] : constant(a)]));
    }).filter((a) => !inSet(a));
    const pick = free.length ? free[Math.floor(rng.next() * free.length)] : null;
    return pick && !isTaken(pick) ? pick : null;
  };

  if (searchable.length === 0) {
    const only = decode([]);
    return isTaken(only) ? null : only;
  }

  const { X, y, current } = gpData(input.history, searchable, input.goal);
  const startup = Math.max(DEFAULT_STARTUP_TRIALS, input.startupTrials ?? DEFAULT_STARTUP_TRIALS);
  if (X.length >= startup) {
    const testX = randomPoints(NUM_POINTS_TO_TRY, searchable.length, rng);
    let scored: Scored | null = null;
    try {
      scored = scoreTestPoints(X, y, current, testX, rng);
    } catch {
      // sklearn raises when K + alpha·I is not positive definite at the fitted length scale
      // (W&B's search then fails); here the proposal falls back to random points below.
    }
    if (scored) {
      const { index, ei } = scored;
      const order = Array.from(testX.keys()).filter((i) => i !== index).sort((a, b) => ei[b] - ei[a] || a - b);
      const found = untakenOf([index, ...order].map((i) => testX[i]));
      return found ?? lastResort();
    }
  }
  // Startup (W&B's random_sample): one random point of the cube, drawn again while taken.
  const found = untakenOf((function* () {
    for (let i = 0; i < NUM_POINTS_TO_TRY; i++) yield randomPoints(1, searchable.length, rng)[0];
  })());
  return found ?? lastResort();
}
