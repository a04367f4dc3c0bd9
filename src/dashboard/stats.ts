// Statistics for comparing groups of trials that differ only in their seed.

export interface Summary {
  n: number;
  mean: number;
  /** sample standard deviation (n-1); 0 when n = 1 */
  sd: number;
}

export function summarize(values: number[]): Summary {
  // A diverged trial reports NaN/Infinity; one such value must not poison the whole group.
  const xs = values.filter(Number.isFinite);
  const n = xs.length;
  if (n === 0) return { n, mean: NaN, sd: NaN };
  const mean = xs.reduce((s, x) => s + x, 0) / n;
  if (n === 1) return { n, mean, sd: 0 };
  // Two-pass (deviations from the mean) keeps precision when values are large and close together.
  const ss = xs.reduce((s, x) => s + (x - mean) ** 2, 0);
  return { n, mean, sd: Math.sqrt(ss / (n - 1)) };
}

export interface WelchResult {
  t: number;
  df: number;
  /** two-sided p-value */
  p: number;
}

/** Welch's unequal-variance t-test of a against b; null when either sample has fewer than 2 finite values. */
export function welch(a: number[], b: number[]): WelchResult | null {
  const sa = summarize(a);
  const sb = summarize(b);
  if (sa.n < 2 || sb.n < 2) return null;
  const va = (sa.sd * sa.sd) / sa.n;
  const vb = (sb.sd * sb.sd) / sb.n;
  const diff = sa.mean - sb.mean;
  if (va + vb === 0) {
    // Deterministic runs (e.g. identical seeds) have no spread: any difference is certain, none is no evidence.
    const df = sa.n + sb.n - 2;
    return diff === 0 ? { t: 0, df, p: 1 } : { t: diff > 0 ? Infinity : -Infinity, df, p: 0 };
  }
  const t = diff / Math.sqrt(va + vb);
  // Welch–Satterthwaite approximation.
  const df = (va + vb) ** 2 / (va ** 2 / (sa.n - 1) + vb ** 2 / (sb.n - 1));
  return { t, df, p: studentTwoSided(t, df) };
}

/** P(|T| > |t|) for Student's t with df degrees of freedom. */
function studentTwoSided(t: number, df: number): number {
  // Standard identity: the two tails of t equal I_x(df/2, 1/2) with x = df / (df + t²).
  return incompleteBeta(df / (df + t * t), df / 2, 0.5);
}

/** Regularized incomplete beta I_x(a, b) (Numerical Recipes `betai`). */
function incompleteBeta(x: number, a: number, b: number): number {
  if (!(x > 0)) return 0;
  if (x >= 1) return 1;
  // Computed in log space: for large df the gamma values overflow long before their ratio does.
  const front = Math.exp(
    logGamma(a + b) - logGamma(a) - logGamma(b) + a * Math.log(x) + b * Math.log1p(-x),
  );
  // The continued fraction converges fast only left of the mean; otherwise use I_x(a,b) = 1 - I_{1-x}(b,a).
  return x < (a + 1) / (a + b + 2)
    ? (front * betaContinuedFraction(x, a, b)) / a
    : 1 - (front * betaContinuedFraction(1 - x, b, a)) / b;
}

/** Modified Lentz evaluation of the incomplete-beta continued fraction. */
function betaContinuedFraction(x: number, a: number, b: number): number {
  // Iterations grow like sqrt(max(a, b)); df in the millions needs thousands.
  const maxIter = 100_000;
  const eps = 1e-15;
  const tiny = 1e-300; // stands in for a zero denominator, which Lentz's method cannot divide by
  let c = 1;
  let d = 1 - ((a + b) * x) / (a + 1);
  if (Math.abs(d) < tiny) d = tiny;
  d = 1 / d;
  let h = d;
  for (let m = 1; m <= maxIter; m++) {
    const m2 = 2 * m;
    // Even step.
    let aa = (m * (b - m) * x) / ((a + m2 - 1) * (a + m2));
    d = 1 + aa * d;
    if (Math.abs(d) < tiny) d = tiny;
    c = 1 + aa / c;
    if (Math.abs(c) < tiny) c = tiny;
    d = 1 / d;
    h *= d * c;
    // Odd step.
    aa = (-(a + m) * (a + b + m) * x) / ((a + m2) * (a + m2 + 1));
    d = 1 + aa * d;
    if (Math.abs(d) < tiny) d = tiny;
    c = 1 + aa / c;
    if (Math.abs(c) < tiny) c = tiny;
    d = 1 / d;
    const delta = d * c;
    h *= delta;
    if (Math.abs(delta - 1) < eps) return h;
  }
  return h; // not reached for the a, b a t-test produces; the partial result is still close
}

// Lanczos approximation, g = 7, n = 9: relative error ~1e-15, far below the 1e-8 the p-values need.
const LANCZOS = [
  0.99999999999980993, 676.5203681218851, -1259.1392167224028, 771.32342877765313,
  -176.61502916214059, 12.507343278686905, -0.13857109526572012, 9.9843695780195716e-6,
  1.5056327351493116e-7,
];

/** ln Γ(z) for z > 0 (a and b of a t-test are always positive). */
function logGamma(z: number): number {
  // The series is accurate for z ≥ 0.5; reflect smaller arguments (b = 1/2 sits right at the edge).
  if (z < 0.5) return Math.log(Math.PI / Math.sin(Math.PI * z)) - logGamma(1 - z);
  const x = z - 1;
  let sum = LANCZOS[0];
  for (let i = 1; i < LANCZOS.length; i++) sum += LANCZOS[i] / (x + i);
  const t = x + 7.5;
  return 0.5 * Math.log(2 * Math.PI) + (x + 0.5) * Math.log(t) - t + Math.log(sum);
}

/**
 * Holm's step-down adjustment of p-values tested together (each configuration against the
 * leader): rejecting where the adjusted p < α keeps the chance of any false "worse" at most α
 * for a leader fixed in advance (one picked as the best of the same data makes it somewhat larger).
 * Ascending, the k-th of m becomes max over the ones before of min(1, (m − k + 1) · p). Nulls (no
 * test possible) stay null and do not count in m.
 */
export function holm(ps: (number | null)[]): (number | null)[] {
  const tested = ps.flatMap((p, i) => (p === null ? [] : [{ p, i }])).sort((a, b) => a.p - b.p);
  const adjusted: (number | null)[] = ps.map(() => null);
  let floor = 0;
  tested.forEach(({ p, i }, k) => {
    floor = Math.max(floor, Math.min(1, (tested.length - k) * p));
    adjusted[i] = floor;
  });
  return adjusted;
}

/**
 * The two-sided confidence interval of a mean from its summary: mean ± t(1 − α/2, n − 1) · sd/√n
 * (Student's t, as the t-test above assumes); null with fewer than 2 values.
 */
export function confidenceInterval(s: Summary, level = 0.95): [number, number] | null {
  if (s.n < 2 || !Number.isFinite(s.sd)) return null;
  const half = studentQuantile(1 - level, s.n - 1) * (s.sd / Math.sqrt(s.n));
  return [s.mean - half, s.mean + half];
}

/** The t with P(|T| > t) = p for df degrees of freedom, by bisection on the two-sided tail (monotone in t). */
export function studentQuantile(p: number, df: number): number {
  let [lo, hi] = [0, 1];
  while (studentTwoSided(hi, df) > p) hi *= 2;
  for (let i = 0; i < 100 && hi - lo > 1e-12 * hi; i++) {
    const mid = (lo + hi) / 2;
    if (studentTwoSided(mid, df) > p) lo = mid;
    else hi = mid;
  }
  return (lo + hi) / 2;
}
