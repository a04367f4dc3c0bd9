/**
 * The Parzen estimator of TPE for one parameter, as Optuna's TPESampler builds it with its
 * defaults (univariate, consider_prior, prior_weight 1, consider_magic_clip, no
 * consider_endpoints): Optuna 3.1, optuna/samplers/_tpe/parzen_estimator.py (_ParzenEstimator)
 * and _truncnorm.py. One deviation, Optuna's own later fix: the truncated normal's log-density
 * subtracts log σ (3.1's _truncnorm.logpdf omits it; fixed in Optuna 3.5, commit 206e719
 * "Fix logpdf for scaled truncnorm"), without which narrow kernels count for too little.
 *
 * The estimator works in its parameter's internal space (Optuna's "transformed" space): the
 * logarithm for log-scale parameters, the step index for integer and quantised ones. tpe.ts maps
 * values to and from it.
 */
import type { Random } from '../util/random.js';
import { maxOf, minOf } from '../util/extremes.js';

// ---------------------------------------------------------------------------------------------
// The standard normal distribution, as Optuna's _truncnorm.py computes it (itself from SciPy).
// erfc is FreeBSD's s_erf.c (which Optuna's _erf.py ports for erf), with its notice:
//   Copyright (C) 1993 by Sun Microsystems, Inc. All rights reserved.
//   Developed at SunPro, a Sun Microsystems, Inc. business.
//   Permission to use, copy, modify, and distribute this software is freely granted,
//   provided that this notice is preserved.
// ---------------------------------------------------------------------------------------------

const ERX = 8.45062911510467529297e-1;
const PP = [1.28379167095512558561e-1, -3.2504210724700149937e-1, -2.84817495755985104766e-2, -5.77027029648944159157e-3, -2.37630166566501626084e-5];
const QQ = [1, 3.97917223959155352819e-1, 6.50222499887672944485e-2, 5.08130628187576562776e-3, 1.32494738004321644526e-4, -3.9602282787753681232e-6];
const PA = [-2.36211856075265944077e-3, 4.14856118683748331666e-1, -3.72207876035701323847e-1, 3.18346619901161753674e-1, -1.10894694282396677476e-1, 3.54783043256182359371e-2, -2.166375594868790843e-3];
const QA = [1, 1.06420880400844228286e-1, 5.40397917702171048937e-1, 7.18286544141962662868e-2, 1.26171219808761642112e-1, 1.36370839120290507362e-2, 1.1984499846799107417e-2];
const RA = [-9.86494403484714822705e-3, -6.93858572707181764372e-1, -1.05586262253232909814e1, -6.23753324503260060396e1, -1.62396669462573470355e2, -1.84605092906711035994e2, -8.12874355063065934246e1, -9.81432934416914548592];
const SA = [1, 1.96512716674392571292e1, 1.376577541435190426e2, 4.34565877475229228821e2, 6.45387271733267880336e2, 4.29008140027567833386e2, 1.08635005541779435134e2, 6.57024977031928170135, -6.04244152148580987438e-2];
const RB = [-9.86494292470009928597e-3, -7.99283237680523006574e-1, -1.77579549177547519889e1, -1.60636384855821916062e2, -6.37566443368389627722e2, -1.02509513161107724954e3, -4.83519191608651397019e2];
const SB = [1, 3.03380607434824582924e1, 3.25792512996573918826e2, 1.53672958608443695994e3, 3.19985821950859553908e3, 2.55305040643316442583e3, 4.74528541206955367215e2, -2.24409524465858183362e1];

const poly = (c: number[], x: number) => c.reduceRight((acc, k) => acc * x + k, 0);

const word = new DataView(new ArrayBuffer(8));
/** s_erf.c's SET_LOW_WORD(z, 0): x with the low 32 bits of its mantissa cleared. */
function clearLowWord(x: number): number {
  word.setFloat64(0, x);
  word.setUint32(4, 0);
  return word.getFloat64(0);
}

/** The complementary error function (s_erf.c, erfc). */
export function erfc(x: number): number {
  if (Number.isNaN(x)) return NaN;
  const ax = Math.abs(x);
  if (ax < 0.84375) {
    if (ax < 2 ** -56) return 1 - x;
    const z = x * x;
    const y = poly(PP, z) / poly(QQ, z);
    return x < 0.25 ? 1 - (x + x * y) : 0.5 - (x * y + (x - 0.5));
  }
  if (ax < 1.25) {
    const s = ax - 1;
    const pq = poly(PA, s) / poly(QA, s);
    return x >= 0 ? 1 - ERX - pq : 1 + ERX + pq;
  }
  if (ax < 28) {
    if (x < -6) return 2;
    const s = 1 / (ax * ax);
    const rs = ax < 1 / 0.35 ? poly(RA, s) / poly(SA, s) : poly(RB, s) / poly(SB, s);
    const z = clearLowWord(ax);
    const r = Math.exp(-z * z - 0.5625) * Math.exp((z - ax) * (z + ax) + rs);
    return x > 0 ? r / ax : 2 - r / ax;
  }
  return x > 0 ? 0 : 2;
}

/** Φ(a), the standard normal CDF (_truncnorm._ndtr_single). */
export const ndtr = (a: number) => 0.5 * erfc(-a / Math.SQRT2);

/** log Φ(a), accurate far into both tails (_truncnorm._log_ndtr_single). */
export function logNdtr(a: number): number {
  if (a > 6) return -ndtr(-a);
  if (a > -20) return Math.log(ndtr(a));
  if (a === -Infinity) return -Infinity;
  // The asymptotic series of log Φ for a → −∞.
  const logLhs = -0.5 * a * a - Math.log(-a) - 0.5 * Math.log(2 * Math.PI);
  const denomCons = 1 / (a * a);
  let last = 0;
  let rhs = 1;
  let numerator = 1;
  let denomFactor = 1;
  let sign = 1;
  for (let i = 1; Math.abs(last - rhs) > Number.EPSILON; i++) {
    last = rhs;
    sign = -sign;
    denomFactor *= denomCons;
    numerator *= 2 * i - 1;
    rhs += sign * numerator * denomFactor;
  }
  return logLhs + Math.log(rhs);
}

const logAddExp = (p: number, q: number) => {
  const m = Math.max(p, q);
  return m === -Infinity ? -Infinity : m + Math.log1p(Math.exp(-Math.abs(p - q)));
};
/** log(e^p − e^q) for p ≥ q (_truncnorm._log_diff). */
const logDiff = (p: number, q: number) => p + Math.log1p(-Math.exp(q - p));

/** log(Φ(b) − Φ(a)), the log mass of the standard normal on [a, b] (_truncnorm._log_gauss_mass). */
export function logGaussMass(a: number, b: number): number {
  if (b <= 0) return logDiff(logNdtr(b), logNdtr(a));
  if (a > 0) return logDiff(logNdtr(-a), logNdtr(-b));
  return Math.log1p(-ndtr(a) - ndtr(-b));
}

/** The x with log Φ(x) = y, by bisection on [−100, 100] (_truncnorm._ndtri_exp / _bisect). */
function ndtriExp(y: number): number {
  let lo = -100;
  let hi = 100;
  let m = 0;
  for (let i = 0; i < 100; i++) {
    m = (lo + hi) / 2;
    if (m === lo || m === hi) break; // converged to adjacent doubles: more halving changes nothing
    if (logNdtr(m) < y) lo = m;
    else hi = m;
  }
  return m;
}

/** The q-quantile of the standard normal truncated to [a, b] (_truncnorm.ppf). */
export function truncnormPpf(q: number, a: number, b: number): number {
  if (a === b) return NaN;
  if (q === 0) return a;
  if (q === 1) return b;
  if (a < 0) return ndtriExp(logAddExp(logNdtr(a), Math.log(q) + logGaussMass(a, b)));
  return -ndtriExp(logAddExp(logNdtr(-b), Math.log1p(-q) + logGaussMass(a, b)));
}

const LOG_SQRT_2PI = 0.5 * Math.log(2 * Math.PI);

// ---------------------------------------------------------------------------------------------
// The estimator.
// ---------------------------------------------------------------------------------------------

/**
 * A parameter's internal space. Numeric: [low, high] are the estimator's bounds (Optuna's
 * _calculate_parzen_bounds: already widened by half a step for discrete parameters); `step` 1
 * makes the density a probability mass over [x − ½, x + ½] (0: continuous). `prior` given makes
 * the space unbounded (no truncation): the prior kernel is N(prior.mu, prior.sigma) and
 * [low, high] is only the span the bandwidth rule measures against (Optuna has no unbounded
 * distribution; see tpe.ts). Categorical: indices 0…n−1 with the prior's probabilities.
 */
export type Domain =
  | { kind: 'numeric'; low: number; high: number; step: 0 | 1; prior?: { mu: number; sigma: number } }
  | { kind: 'categorical'; prior: number[] };

/** Optuna's default_weights (sampler.py): 1 for the newest 25 observations, a ramp from 1/n up before them. */
export function defaultWeights(n: number): number[] {
  if (n < 25) return Array<number>(n).fill(1);
  const m = n - 25;
  const ramp = Array.from({ length: m }, (_, i) => (m === 1 ? 1 / n : 1 / n + (i * (1 - 1 / n)) / (m - 1)));
  return [...ramp, ...Array<number>(25).fill(1)];
}

const PRIOR_WEIGHT = 1;

/**
 * A mixture of one kernel per observation (in chronological order, weighted by defaultWeights)
 * and one prior kernel (weight PRIOR_WEIGHT): _ParzenEstimator for a one-parameter search space.
 */
export class ParzenEstimator {
  /** Mixture weights, observations first and the prior last, summing to 1 (_calculate_weights). */
  readonly weights: number[];
  readonly mus: number[] = [];
  readonly sigmas: number[] = [];
  /** Categorical: each kernel's probabilities over the choices (_calculate_categorical_params). */
  readonly rows: number[][] = [];
  /** Numeric: the truncation bounds (±∞ when unbounded) and each kernel's log mass inside them. */
  private readonly lower: number = -Infinity;
  private readonly upper: number = Infinity;
  private readonly logAccept: number[] = [];

  constructor(readonly domain: Domain, observations: number[]) {
    const n = observations.length;
    const w = [...defaultWeights(n), PRIOR_WEIGHT];
    const total = w.reduce((a, b) => a + b, 0);
    this.weights = w.map((x) => x / total);

    if (domain.kind === 'categorical') {
      // Each observation's kernel is its one-hot vector plus prior_weight/(n+1) spread over the
      // choices; the prior's kernel is the spread alone. Optuna spreads it evenly; we spread it in
      // proportion to the parameter's probabilities (evenly when none are given).
      const c = domain.prior.length;
      const spread = (PRIOR_WEIGHT / (n + 1)) * c;
      for (const obs of [...observations, -1]) {
        const row = domain.prior.map((p, k) => spread * p + (k === obs ? 1 : 0));
        const sum = row.reduce((a, b) => a + b, 0);
        this.rows.push(row.map((x) => x / sum));
      }
      return;
    }

    // _calculate_numerical_params, univariate branch.
    let { low, high } = domain;
    if (domain.prior) {
      low = Math.min(low, minOf(observations));
      high = Math.max(high, maxOf(observations));
    } else {
      this.lower = low;
      this.upper = high;
    }
    const priorMu = domain.prior ? domain.prior.mu : 0.5 * (low + high);
    const priorSigma = domain.prior ? domain.prior.sigma : high - low;
    const mus = [...observations, priorMu];
    // Each kernel's width: the larger gap to its sorted neighbours (bounds included), but the
    // outermost two take their inner gap (consider_endpoints=False).
    const order = mus.map((_, i) => i).sort((i, j) => mus[i] - mus[j]);
    const sorted = [low, ...order.map((i) => mus[i]), high];
    const gaps = order.map((_, k) => Math.max(sorted[k + 1] - sorted[k], sorted[k + 2] - sorted[k + 1]));
    if (sorted.length >= 4) {
      gaps[0] = sorted[2] - sorted[1];
      gaps[gaps.length - 1] = sorted[sorted.length - 2] - sorted[sorted.length - 3];
    }
    // consider_magic_clip: no kernel narrower than the range / min(100, 1 + kernels) or wider than the range.
    const minSigma = (high - low) / Math.min(100, 1 + mus.length);
    const maxSigma = high - low;
    const sigmas = Array<number>(mus.length);
    order.forEach((i, k) => (sigmas[i] = Math.min(maxSigma, Math.max(minSigma, gaps[k]))));
    sigmas[n] = priorSigma;
    this.mus = mus;
    this.sigmas = sigmas;
    this.logAccept = mus.map((mu, i) => logGaussMass((this.lower - mu) / sigmas[i], (this.upper - mu) / sigmas[i]));
  }

  /** The kernel index for a uniform draw u (numpy's choice: searchsorted of the cumulative weights). */
  private component(u: number): number {
    let acc = 0;
    for (let i = 0; i < this.weights.length - 1; i++) if (u < (acc += this.weights[i])) return i;
    return this.weights.length - 1;
  }

  /**
   * `size` draws in the internal space (_ParzenEstimator.sample): a kernel for each by weight,
   * then a value from it (numeric: the truncated normal's quantile of a uniform draw, not yet
   * rounded to the step; categorical: a choice index).
   */
  sample(rng: Random, size: number): number[] {
    // A uniform in (0, 1): rng.next() is k/2^32, so this never hits an unbounded kernel's ±∞.
    const uniform = () => rng.next() + 2 ** -33;
    const active = Array.from({ length: size }, () => this.component(rng.next()));
    if (this.domain.kind === 'categorical') {
      return active.map((i) => {
        const u = uniform();
        let acc = 0;
        const row = this.rows[i];
        let c = 0;
        while (c < row.length - 1 && (acc += row[c]) < u) c++;
        while (row[c] === 0) c--; // rounding can run past the last choice of positive probability
        return c;
      });
    }
    return active.map((i) => {
      const mu = this.mus[i];
      const sigma = this.sigmas[i];
      return truncnormPpf(uniform(), (this.lower - mu) / sigma, (this.upper - mu) / sigma) * sigma + mu;
    });
  }

  /** log of the mixture's density at x (a probability mass for step 1 and categorical parameters): _ParzenEstimator.log_pdf. */
  logPdf(x: number): number {
    const terms = this.weights.map((w, i) => Math.log(w) + this.kernelLogPdf(i, x));
    const m = maxOf(terms);
    if (m === -Infinity) return -Infinity;
    return m + Math.log(terms.reduce((acc, t) => acc + Math.exp(t - m), 0));
  }

  private kernelLogPdf(i: number, x: number): number {
    if (this.domain.kind === 'categorical') return Math.log(this.rows[i][x]);
    const mu = this.mus[i];
    const sigma = this.sigmas[i];
    if (this.domain.step) {
      const lo = Math.max(x - 0.5, this.lower);
      const hi = Math.min(x + 0.5, this.upper);
      return logGaussMass((lo - mu) / sigma, (hi - mu) / sigma) - this.logAccept[i];
    }
    if (x < this.lower || x > this.upper) return -Infinity;
    const z = (x - mu) / sigma;
    return -0.5 * z * z - LOG_SQRT_2PI - this.logAccept[i] - Math.log(sigma);
  }
}
