/**
 * Gaussian-process regression as W&B's Bayesian search uses it: scikit-learn's
 * `GaussianProcessRegressor(kernel=Matern(nu=1.5), alpha=1e-7, n_restarts_optimizer=2,
 * random_state=2)` with `normalize_y=False` (W&B normalises y itself). The kernel is isotropic:
 * one length scale for every dimension, no amplitude term (the signal variance is fixed at 1),
 * bounds [1e-5, 1e5], fitted by maximising the log marginal likelihood. Pure functions of their
 * inputs: the restarts start where scikit-learn's seeded generator (RandomState(2)) puts them.
 */

/** Matern's default `length_scale_bounds` (sklearn.gaussian_process.kernels.Matern). */
export const LENGTH_SCALE_BOUNDS: readonly [number, number] = [1e-5, 1e5];
/** W&B's GAUSSIAN_PROCESS_NUGGET, passed as the regressor's `alpha` (added to K's diagonal). */
export const NUGGET = 1e-7;
/**
 * Where sklearn's fit starts L-BFGS-B, in log length scale: the kernel's initial length scale 1,
 * then `n_restarts_optimizer = 2` restarts drawn by `RandomState(2).uniform(log 1e-5, log 1e5)`.
 * W&B fixes `random_state=2`, so these are the same on every fit; computed with numpy 1.24:
 * `r = np.random.RandomState(2); r.uniform(np.log(1e-5), np.log(1e5))` twice.
 */
export const OPTIMIZER_STARTS: readonly number[] = [0, -1.4737718420344734, -10.915951915726126];

const SQRT3 = Math.sqrt(3);
const LOG_2PI = Math.log(2 * Math.PI);

/** Matern ν = 1.5 at distance r (already divided by the length scale): (1 + √3 r)·exp(−√3 r). */
export function matern32(r: number): number {
  const s = SQRT3 * r;
  return (1 + s) * Math.exp(-s);
}

/** Squared euclidean distances between the rows of X, n×n row-major (scipy's pdist 'sqeuclidean'). */
function squaredDistances(X: readonly (readonly number[])[]): Float64Array {
  const n = X.length;
  const D = new Float64Array(n * n);
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < i; j++) {
      let s = 0;
      for (let k = 0; k < X[i].length; k++) {
        const t = X[i][k] - X[j][k];
        s += t * t;
      }
      D[i * n + j] = s;
      D[j * n + i] = s;
    }
  }
  return D;
}

/**
 * Lower Cholesky factor of an n×n symmetric matrix, in place (scipy.linalg.cholesky(lower=True)).
 * Returns false when the matrix is not positive definite (scipy raises LinAlgError).
 */
export function cholesky(A: Float64Array, n: number): boolean {
  for (let j = 0; j < n; j++) {
    let d = A[j * n + j];
    for (let k = 0; k < j; k++) d -= A[j * n + k] * A[j * n + k];
    if (!(d > 0)) return false;
    const ljj = Math.sqrt(d);
    A[j * n + j] = ljj;
    for (let i = j + 1; i < n; i++) {
      let s = A[i * n + j];
      for (let k = 0; k < j; k++) s -= A[i * n + k] * A[j * n + k];
      A[i * n + j] = s / ljj;
    }
    for (let k = j + 1; k < n; k++) A[j * n + k] = 0;
  }
  return true;
}

/** Solves L·x = b in place (scipy.linalg.solve_triangular(lower=True)); b[0…from) must be 0. */
function forward(L: Float64Array, n: number, b: Float64Array, from = 0): Float64Array {
  for (let i = from; i < n; i++) {
    let s = b[i];
    for (let k = from; k < i; k++) s -= L[i * n + k] * b[k];
    b[i] = s / L[i * n + i];
  }
  return b;
}

/** Solves Lᵀ·x = b in place. */
function backward(L: Float64Array, n: number, b: Float64Array): Float64Array {
  for (let i = n - 1; i >= 0; i--) {
    let s = b[i];
    for (let k = i + 1; k < n; k++) s -= L[k * n + i] * b[k];
    b[i] = s / L[i * n + i];
  }
  return b;
}

/** K = L·Lᵀ solved for y (scipy.linalg.cho_solve). */
function choSolve(L: Float64Array, n: number, y: readonly number[]): Float64Array {
  return backward(L, n, forward(L, n, Float64Array.from(y)));
}

/** K(X, X) + alpha·I for log length scale theta, from squared distances. */
function kernelMatrix(D2: Float64Array, n: number, theta: number, alpha: number): Float64Array {
  const l = Math.exp(theta);
  const K = new Float64Array(n * n);
  for (let i = 0; i < n * n; i++) K[i] = matern32(Math.sqrt(D2[i]) / l);
  for (let i = 0; i < n; i++) K[i * n + i] = 1 + alpha;
  return K;
}

export interface Likelihood {
  /** log p(y | X, θ); −Infinity when K is not positive definite (as sklearn). */
  value: number;
  /** d value / d log(length scale); 0 when value is −Infinity (as sklearn). */
  gradient: number;
}

/**
 * sklearn's `GaussianProcessRegressor.log_marginal_likelihood(theta, eval_gradient=True)`
 * (Rasmussen & Williams Alg. 2.1 and eq. 5.9) for the isotropic Matern ν = 1.5 kernel:
 *   value    = −½ yᵀα − Σ log Lᵢᵢ − n/2 · log 2π,   α = K⁻¹y,  K = LLᵀ
 *   gradient = ½ tr((ααᵀ − K⁻¹) ∂K/∂θ),  ∂K/∂θ = 3 d² exp(−√3 d),  d = r / l  (Matern.__call__'s K_gradient for ν = 1.5)
 */
function likelihood(D2: Float64Array, n: number, y: readonly number[], theta: number, alpha: number): Likelihood {
  const L = kernelMatrix(D2, n, theta, alpha);
  if (!cholesky(L, n)) return { value: -Infinity, gradient: 0 };
  const a = choSolve(L, n, y);
  let value = -0.5 * y.reduce((s, yi, i) => s + yi * a[i], 0) - (n / 2) * LOG_2PI;
  for (let i = 0; i < n; i++) value -= Math.log(L[i * n + i]);
  // K⁻¹ = L⁻ᵀ L⁻¹: invert L column by column (column j of L⁻¹ stored as row j, for contiguous
  // dot products), then sum the products the trace needs.
  const LinvT = new Float64Array(n * n);
  for (let j = 0; j < n; j++) {
    const e = LinvT.subarray(j * n, (j + 1) * n);
    e[j] = 1;
    forward(L, n, e, j);
  }
  const l = Math.exp(theta);
  let gradient = 0;
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < i; j++) {
      const d2 = D2[i * n + j] / (l * l);
      if (d2 === 0) continue;
      const g = 3 * d2 * Math.exp(-SQRT3 * Math.sqrt(d2));
      let kinv = 0;
      for (let k = i, ri = i * n, rj = j * n; k < n; k++) kinv += LinvT[ri + k] * LinvT[rj + k];
      gradient += (a[i] * a[j] - kinv) * g; // (i, j) and (j, i): 2 × ½
    }
  }
  return { value, gradient };
}

/** The log marginal likelihood of (X, y) at log length scale theta, and its gradient (for tests and fits). */
export function logMarginalLikelihood(X: readonly (readonly number[])[], y: readonly number[], theta: number, alpha = NUGGET): Likelihood {
  return likelihood(squaredDistances(X), X.length, y, theta, alpha);
}

type Objective = (x: number) => { value: number; gradient: number };
const EPS = 2.220446049250313e-16;

/**
 * A line search for a step t in (0, tMax] along d from x satisfying the strong Wolfe conditions
 * with L-BFGS-B's constants (ftol 1e-3, gtol 0.9), at most 20 evaluations (scipy's maxls): the
 * first trial is t = 1, extrapolation multiplies the step by 5 up to tMax (Moré–Thuente's
 * xtrapu = 4), a bracket is shrunk by safeguarded quadratic interpolation. Reaching tMax with a
 * sufficient decrease ends the search there (Moré–Thuente's "STP = STPMAX", accepted by L-BFGS-B).
 * Returns null when no acceptable step was found.
 */
function lineSearch(f: Objective, x: number, fx: number, g: number, d: number, tMax: number): { x: number; value: number; gradient: number } | null {
  const slope = g * d;
  const at = (t: number) => (t >= tMax ? x + tMax * d : x + t * d);
  let lo = { t: 0, f: fx, slope };
  let hi: { t: number; f: number } | null = null;
  let t = Math.min(1, tMax);
  for (let k = 0; k < 20; k++) {
    const xt = at(t);
    const r = f(xt);
    const slopeT = r.gradient * d;
    if (!Number.isFinite(r.value) || r.value > fx + 1e-3 * t * slope || (k > 0 && r.value >= lo.f)) {
      hi = { t, f: r.value };
    } else if (Math.abs(slopeT) <= 0.9 * Math.abs(slope)) {
      return { x: xt, ...r };
    } else if (slopeT > 0) {
      hi = { t: lo.t, f: lo.f };
      lo = { t, f: r.value, slope: slopeT };
    } else {
      lo = { t, f: r.value, slope: slopeT };
      if (!hi) {
        if (t >= tMax) return { x: xt, ...r };
        t = Math.min(tMax, 5 * t);
        continue;
      }
    }
    // Zoom into [lo, hi]: the minimiser of the quadratic through lo (value, slope) and hi (value), kept inside the middle 80 %.
    const w = hi!.t - lo.t;
    const curv = Number.isFinite(hi!.f) ? hi!.f - lo.f - lo.slope * w : Infinity;
    let next = curv > 0 && Number.isFinite(curv) ? lo.t - (lo.slope * w * w) / (2 * curv) : lo.t + w / 2;
    const a = Math.min(lo.t, hi!.t);
    const b = Math.max(lo.t, hi!.t);
    next = Math.min(b - 0.1 * (b - a), Math.max(a + 0.1 * (b - a), next));
    if (Math.abs(b - a) * Math.abs(d) <= EPS * Math.max(1, Math.abs(x))) break;
    t = next;
  }
  return lo.t > 0 ? { x: at(lo.t), ...f(at(lo.t)) } : null;
}

/**
 * scipy's L-BFGS-B (sklearn's `_constrained_optimization`) in the one dimension this kernel
 * has, log l within its bounds. In one dimension the limited-memory BFGS matrix is the secant
 * y/s of the last accepted step (1 at first and after a restart), and the generalised Cauchy
 * point followed by the subspace minimisation is x − g/B projected on the bounds. As L-BFGS-B:
 * the first iteration's step is capped at 1 (so it goes to x − g, clipped), later ones at the
 * bound; a pair with s·y ≤ eps·y² is not used; a failed line search restarts from B = 1 once;
 * stops when the projected gradient (g clipped by the distance to the bound it points to) is
 * ≤ 1e-5 (pgtol) or the relative decrease ≤ factr·eps = 1e7·2.2e-16. Its line search is the
 * simpler one above, not Moré–Thuente's dcsrch, so the path (and on a flat likelihood, where
 * it stops) can differ from scipy's.
 */
export function minimizeBounded(f: Objective, x0: number, lo: number, hi: number): { x: number; value: number } {
  let x = Math.min(hi, Math.max(lo, x0));
  let { value: fx, gradient: g } = f(x);
  const projected = (x: number, g: number) => (g < 0 ? Math.max(x - hi, g) : Math.min(x - lo, g));
  let B = 1;
  let restarted = false;
  for (let iter = 0; iter < 15000 && Number.isFinite(fx); iter++) {
    if (Math.abs(projected(x, g)) <= 1e-5) break;
    const d = Math.min(hi, Math.max(lo, x - g / B)) - x;
    if (d === 0) break;
    const tMax = iter === 0 ? 1 : (d < 0 ? lo - x : hi - x) / d;
    const r = lineSearch(f, x, fx, g, d, tMax);
    if (!r) {
      if (B === 1 && restarted) break;
      B = 1;
      restarted = true;
      continue;
    }
    const s = r.x - x;
    const y = r.gradient - g;
    if (s * y > EPS * y * y) B = y / s;
    const decrease = fx - r.value;
    const scale = Math.max(Math.abs(fx), Math.abs(r.value), 1);
    x = r.x;
    fx = r.value;
    g = r.gradient;
    if (decrease <= 1e7 * EPS * scale) break;
  }
  return { x, value: fx };
}

export interface GaussianProcess {
  X: number[][];
  /** Log length scale chosen by the fit (sklearn's `kernel_.theta`). */
  theta: number;
  /** sklearn's `log_marginal_likelihood_value_`. */
  logLikelihood: number;
  /** Cholesky factor of K + alpha·I (sklearn's `L_`), n×n row-major. */
  L: Float64Array;
  /** K⁻¹y (sklearn's `alpha_`). */
  weights: Float64Array;
}

/**
 * sklearn's `GaussianProcessRegressor.fit`: maximise the log marginal likelihood over log l from
 * each start (`OPTIMIZER_STARTS`), keep the best (the first on ties, as np.argmin), then factor
 * K + alpha·I at it. Throws as sklearn does when that K is not positive definite.
 */
export function fitGaussianProcess(X: number[][], y: readonly number[], alpha = NUGGET, starts = OPTIMIZER_STARTS): GaussianProcess {
  const n = X.length;
  const D2 = squaredDistances(X);
  const lo = Math.log(LENGTH_SCALE_BOUNDS[0]);
  const hi = Math.log(LENGTH_SCALE_BOUNDS[1]);
  const negative = (t: number) => {
    const r = likelihood(D2, n, y, t, alpha);
    return { value: -r.value, gradient: -r.gradient };
  };
  let best = minimizeBounded(negative, starts[0], lo, hi);
  for (const start of starts.slice(1)) {
    const r = minimizeBounded(negative, start, lo, hi);
    if (r.value < best.value) best = r;
  }
  const L = kernelMatrix(D2, n, best.x, alpha);
  if (!cholesky(L, n)) throw new Error('Gaussian process: the kernel matrix is not positive definite');
  return { X, theta: best.x, logLikelihood: -best.value, L, weights: choSolve(L, n, y) };
}

/**
 * sklearn's `GaussianProcessRegressor.predict`: mean K*·α and standard deviation
 * √(k(x, x) − vᵀv), v = L⁻¹K*ᵀ. W&B asks for the full covariance and takes the square root
 * of its diagonal; this computes that diagonal only, with negative variances (rounding) set to
 * 0 as `predict(return_std=True)` does.
 */
export function predict(gp: GaussianProcess, points: readonly (readonly number[])[]): { mean: Float64Array; std: Float64Array } {
  const n = gp.X.length;
  const l = Math.exp(gp.theta);
  const mean = new Float64Array(points.length);
  const std = new Float64Array(points.length);
  const k = new Float64Array(n);
  points.forEach((p, t) => {
    let m = 0;
    for (let i = 0; i < n; i++) {
      let s = 0;
      for (let j = 0; j < p.length; j++) {
        const d = p[j] - gp.X[i][j];
        s += d * d;
      }
      k[i] = matern32(Math.sqrt(s) / l);
      m += k[i] * gp.weights[i];
    }
    mean[t] = m;
    forward(gp.L, n, k);
    let v = 1;
    for (let i = 0; i < n; i++) v -= k[i] * k[i];
    std[t] = Math.sqrt(Math.max(0, v));
  });
  return { mean, std };
}

/**
 * Whether the fitted length scale sits on a bound, as W&B checks it after the fit
 * (`np.isclose(gp.kernel_.bounds, gp.kernel_.theta)`: |bound − θ| ≤ 1e-8 + 1e-5·|θ|, in log space).
 */
export function atLengthScaleBound(gp: GaussianProcess): boolean {
  const tol = 1e-8 + 1e-5 * Math.abs(gp.theta);
  return LENGTH_SCALE_BOUNDS.some((b) => Math.abs(Math.log(b) - gp.theta) <= tol);
}
