import { describe, expect, it } from 'vitest';
import { confidenceInterval, holm, studentQuantile, summarize, welch } from '../src/dashboard/stats.js';

// Reference values: scipy 1.17 `stats.ttest_ind(a, b, equal_var=False)` and `2 * stats.t.sf(t, df)`.

function expectRel(actual: number, expected: number, rel = 1e-8): void {
  expect(Math.abs(actual - expected)).toBeLessThanOrEqual(rel * Math.abs(expected));
}

describe('summarize', () => {
  it('computes mean and sample standard deviation', () => {
    const s = summarize([1, 2, 3, 4, 100]);
    expect(s.n).toBe(5);
    expect(s.mean).toBe(22);
    expectRel(s.sd, 43.617656975128774, 1e-12);
  });

  it('ignores NaN and infinities', () => {
    expect(summarize([2, NaN, 4, Infinity, -Infinity])).toEqual({ n: 2, mean: 3, sd: Math.SQRT2 });
  });

  it('handles one and zero values', () => {
    expect(summarize([7])).toEqual({ n: 1, mean: 7, sd: 0 });
    const empty = summarize([NaN]);
    expect(empty.n).toBe(0);
    expect(empty.mean).toBeNaN();
    expect(empty.sd).toBeNaN();
  });

  it('keeps precision for large, nearly equal values', () => {
    expectRel(summarize([1e9 + 1, 1e9 + 2, 1e9 + 3]).sd, 1, 1e-12);
  });
});

describe('welch', () => {
  it('matches the Welch–Satterthwaite df computed by hand', () => {
    // a: mean 2.5, s² = 5/3, s²/n = 5/12.  b: mean 7, s² = 14, s²/n = 7/3.
    // t = -4.5 / sqrt(11/4); df = (11/4)² / ((5/12)²/3 + (7/3)²/5) = 16335/2477.
    const r = welch([1, 2, 3, 4], [2, 4, 6, 8, 10, 12])!;
    expectRel(r.t, -4.5 / Math.sqrt(11 / 4), 1e-12);
    expectRel(r.df, 16335 / 2477, 1e-12);
    expectRel(r.p, 0.03182444378084147);
  });

  it('matches scipy on a textbook example', () => {
    const a = [19.8, 20.4, 19.6, 17.8, 18.5, 18.9, 18.3, 18.9, 19.5, 22.0];
    const b = [
      28.2, 26.6, 20.1, 23.3, 25.2, 22.1, 17.7, 27.6, 20.6, 13.7, 23.2, 17.5, 20.6, 18.0, 23.9,
      21.6, 24.3, 20.4, 24.0, 13.2,
    ];
    const r = welch(a, b)!;
    expectRel(r.t, -2.2192409158236233, 1e-10);
    expectRel(r.df, 24.496223124201244, 1e-10);
    expectRel(r.p, 0.03597227102979692);
  });

  it('reproduces the t-table critical value t(0.975, 10) = 2.228', () => {
    // Equal sizes and variances make df exactly n1 + n2 - 2 = 10; the shift sets t = 2.228.
    const b = [0, 1, 2, 3, 4, 5];
    const shift = 2.228 * Math.sqrt(2 * 3.5 / 6);
    const r = welch(b.map((x) => x + shift), b)!;
    expectRel(r.t, 2.228, 1e-12);
    expectRel(r.df, 10, 1e-12);
    expectRel(r.p, 0.05001177181711132, 1e-9);
  });

  it('is accurate for very small df (n = 2 per group)', () => {
    const r = welch([1, 2], [5, 9])!;
    expectRel(r.df, 1.1245136186770428, 1e-10);
    expectRel(r.p, 0.20544915073088874);
    expectRel(welch([0.1, 0.3], [0.2, 0.25, 0.27])!.p, 0.7581878466045112);
  });

  it('is accurate for very large df', () => {
    // df ≈ 455 295: the regime where the continued fraction needs many iterations.
    const a = Array.from({ length: 200_000 }, (_, i) => Math.sin(i + 1));
    const b = Array.from({ length: 300_000 }, (_, i) => 1.1 * Math.cos(i + 1) + 0.006);
    const r = welch(a, b)!;
    expectRel(r.t, -2.8217250410573613, 1e-8);
    expectRel(r.df, 455295.13911419053, 1e-8);
    expectRel(r.p, 0.004776817934256807, 1e-7);
  });

  it('is symmetric: swapping samples flips t and keeps p', () => {
    const a = [0.981, 0.978, 0.983, 0.979, 0.985];
    const b = [0.975, 0.972, 0.977, 0.97, 0.974];
    const ab = welch(a, b)!;
    const ba = welch(b, a)!;
    expectRel(ab.t, 4.316509940277718, 1e-10);
    expect(ba.t).toBe(-ab.t);
    expect(ba.df).toBe(ab.df);
    expect(ba.p).toBe(ab.p);
  });

  it('gives a small p for clearly different samples', () => {
    const a = [0.981, 0.978, 0.983, 0.979, 0.985];
    const b = [0.975, 0.972, 0.977, 0.97, 0.974];
    const r = welch(a, b)!;
    expect(r.p).toBeLessThan(0.01);
    expectRel(r.df, 7.973118725628474, 1e-10);
    expectRel(r.p, 0.0025782939365490715);
    // Far apart: p is tiny but must still be a positive, accurate number.
    expectRel(welch([0.9, 0.91, 0.905], [0.5, 0.52, 0.51, 0.49])!.p, 4.6809248557095343e-7, 1e-7);
  });

  it('gives a large p for samples from the same distribution', () => {
    const r = welch([0.9812, 0.979, 0.9835, 0.9801, 0.9777, 0.9824], [0.9808, 0.9821, 0.9786, 0.983, 0.9795])!;
    expect(r.p).toBeGreaterThan(0.5);
    expectRel(r.t, -0.12557541894315388, 1e-9);
    expectRel(r.p, 0.9028303201232265);
  });

  it('gives p = 1 when the means are equal', () => {
    const r = welch([1, 2, 3], [0, 2, 4])!;
    expect(r.t).toBe(0);
    expect(r.p).toBe(1);
  });

  it('returns null with fewer than two finite values in either sample', () => {
    expect(welch([1], [1, 2, 3])).toBeNull();
    expect(welch([1, 2, 3], [NaN, 4])).toBeNull();
    expect(welch([], [])).toBeNull();
  });

  it('handles zero variance in both samples', () => {
    expect(welch([0.98, 0.98, 0.98], [0.98, 0.98])).toEqual({ t: 0, df: 3, p: 1 });
    expect(welch([0.99, 0.99], [0.98, 0.98, 0.98])).toEqual({ t: Infinity, df: 3, p: 0 });
    expect(welch([0.97, 0.97], [0.98, 0.98])).toEqual({ t: -Infinity, df: 2, p: 0 });
  });

  it('handles zero variance in one sample only', () => {
    // b: s² = 1/4, s²/n = 1/12, so t = sqrt(12) and df = (1/12)² / ((1/12)²/2) = 2.
    const r = welch([1, 1, 1], [0, 0.5, -0.5])!;
    expectRel(r.t, Math.sqrt(12), 1e-12);
    expectRel(r.df, 2, 1e-12);
    expectRel(r.p, 0.07417990022744854);
  });
});

describe('holm', () => {
  it("adjusts p-values tested together with Holm's step-down method", () => {
    // Ascending 0.005, 0.01, 0.03, 0.04 of m = 4: ×4, ×3, ×2, ×1 = 0.02, 0.03, 0.06, 0.04 → kept monotone: 0.06.
    const adjusted = holm([0.01, 0.04, 0.03, null, 0.005]);
    expect(adjusted.map((p) => (p === null ? null : Number(p.toFixed(10))))).toEqual([0.03, 0.06, 0.06, null, 0.02]);
    expect(holm([0.6, 0.7])).toEqual([1, 1]);
    expect(holm([0.016])).toEqual([0.016]);
    expect(holm([null, null])).toEqual([null, null]);
  });
});

describe('confidence interval of a mean', () => {
  it('uses Student t quantiles (tables: t(0.975, 1) = 12.706, t(0.975, 3) = 3.182, t(0.975, 30) = 2.042, t(0.995, 10) = 3.169)', () => {
    expect(studentQuantile(0.05, 1)).toBeCloseTo(12.706, 3);
    expect(studentQuantile(0.05, 3)).toBeCloseTo(3.182, 3);
    expect(studentQuantile(0.05, 30)).toBeCloseTo(2.042, 3);
    expect(studentQuantile(0.01, 10)).toBeCloseTo(3.169, 3);
  });

  it('is mean ± t · sd / √n, and none with fewer than two values', () => {
    const s = summarize([0.97, 0.98, 0.99, 0.96]);
    const [lo, hi] = confidenceInterval(s)!;
    const half = 3.182446 * (s.sd / 2);
    expect(lo).toBeCloseTo(s.mean - half, 6);
    expect(hi).toBeCloseTo(s.mean + half, 6);
    expect(confidenceInterval(summarize([0.97]))).toBeNull();
    expect(confidenceInterval(summarize([]))).toBeNull();
  });
});
