/** method: bayes — W&B's Bayesian search (Gaussian process + expected improvement), as a pure function. */
import { describe, expect, it } from 'vitest';
import {
  dimensionOf, fitNormalized, gpData, normalCdf, normalPpf, proposeBayes, scoreTestPoints,
} from '../src/search/bayes.js';
import { atLengthScaleBound, fitGaussianProcess, logMarginalLikelihood, predict } from '../src/search/gaussian-process.js';
import type { MethodInput, Observation } from '../src/search/types.js';
import type { Assignment } from '../src/sweep/grid.js';
import { assignments, type Axis, type Spec } from '../src/sweep/space.js';
import { Random } from '../src/util/random.js';

const dist = (distribution: string, args: Partial<Record<'min' | 'max' | 'q' | 'mu' | 'sigma', number>> = {}): Spec =>
  ({ kind: 'distribution', distribution, min: 0, max: 0, q: 1, mu: 0, sigma: 1, ...args }) as Spec;
const axis = (path: string, spec: Spec): Axis => ({ path, docPath: [path], spec });
const values = (...vs: (string | number | boolean)[]): Spec => ({ kind: 'values', values: vs });
const done = (params: Assignment, ...vs: number[]): Observation => ({ params, state: 'completed', values: vs });
const pending = (params: Assignment): Observation => ({ params, state: 'pending', values: [] });

/** Runs a sequential sweep: each proposal trained (scored by f) before the next is asked for. */
function sweep(input: Omit<MethodInput, 'history'>, f: (a: Assignment) => number, n: number): Observation[] {
  const history: Observation[] = [];
  for (let i = 0; i < n; i++) {
    const p = proposeBayes({ ...input, history });
    if (!p) break;
    history.push(done(p, f(p)));
  }
  return history;
}

const space3: Axis[] = [
  axis('lr', dist('log_uniform_values', { min: 1e-5, max: 1e-1 })),
  axis('m', dist('uniform', { min: 0, max: 1 })),
  axis('k', dist('int_uniform', { min: 1, max: 8 })),
];
/** Optimum 1 at lr = 3e-3, m = 0.7, k = 5. */
const f3 = (a: Assignment) =>
  1 - 0.1 * Math.log10((a.lr as number) / 3e-3) ** 2 - 0.5 * ((a.m as number) - 0.7) ** 2 - 0.01 * ((a.k as number) - 5) ** 2;

describe('proposals', () => {
  it('are a pure function of the input: same input, same values; another seed, other values', () => {
    const history = sweep({ axes: space3, goal: 'maximize', seed: 4 }, f3, 6);
    const input: MethodInput = { axes: space3, goal: 'maximize', seed: 4, history };
    const frozen = JSON.stringify(input);
    const a = proposeBayes(input);
    expect(proposeBayes(structuredClone(input))).toEqual(a);
    expect(JSON.stringify(input)).toBe(frozen);
    expect(proposeBayes({ ...input, seed: 5 })).not.toEqual(a);
    // The same sweep twice gives the same trials.
    expect(sweep({ axes: space3, goal: 'maximize', seed: 4 }, f3, 6)).toEqual(history);
  });

  it('start at random until startup_trials trials have a result (W&B: two), pending ones not counted', () => {
    const base = sweep({ axes: space3, goal: 'maximize', seed: 2 }, f3, 5);
    // Negated results: another best trial (y is normalised, so a change of scale alone would not show).
    const rescored = (h: Observation[]) => h.map((o) => ({ ...o, values: o.values.map((v) => -v) }));
    const depends = (history: Observation[], startupTrials?: number) => {
      const input = { axes: space3, goal: 'maximize' as const, seed: 9, startupTrials, history };
      return JSON.stringify(proposeBayes(input)) !== JSON.stringify(proposeBayes({ ...input, history: rescored(history) }));
    };
    // W&B's next_sample: fewer than two results → a random point, whatever the results say.
    expect(depends(base.slice(0, 1))).toBe(false);
    expect(depends([...base.slice(0, 1), pending(base[1].params), pending(base[2].params), pending(base[3].params)])).toBe(false);
    // With two results the GP is fitted, but two values normalise to −1 and 1, whose likelihood
    // is best where the length scale is so small that K = I (flat there; sklearn, too, ends at
    // the restart log l = −10.916): every test point gets the same expected improvement, and
    // argmax takes the first, a random point. So W&B's third trial is random as well.
    const dims = space3.map((a) => dimensionOf(a)!);
    const two = gpData(base.slice(0, 2), dims, 'maximize');
    const flat = scoreTestPoints(two.X, two.y, [], [[0.1, 0.2, 0.3], [0.5, 0.5, 0.5], [0.9, 0.7, 0.2]], new Random(1));
    expect(flat.fitted.gp.theta).toBeCloseTo(-10.915951915726126, 9);
    expect(new Set(flat.ei).size).toBe(1);
    expect(depends(base.slice(0, 2))).toBe(false);
    expect(depends(base.slice(0, 3))).toBe(true);
    // startup_trials overrides W&B's two; below two it cannot go.
    expect(depends(base.slice(0, 4), 5)).toBe(false);
    expect(depends(base.slice(0, 5), 5)).toBe(true);
    expect(depends(base.slice(0, 1), 0)).toBe(false);
    // The random points cover the space: every int, both halves of each range.
    const starts = Array.from({ length: 200 }, (_, seed) => proposeBayes({ axes: space3, goal: 'maximize', seed, history: [] })!);
    expect(new Set(starts.map((a) => a.k))).toEqual(new Set([1, 2, 3, 4, 5, 6, 7, 8]));
    expect(starts.filter((a) => (a.m as number) < 0.5).length).toBeGreaterThan(70);
    expect(starts.filter((a) => (a.lr as number) < 1e-3).length).toBeGreaterThan(70);
  });

  it('give every distribution its values as draw() makes them: ints, multiples of q, listed values, in range', () => {
    const axes: Axis[] = [
      axis('u', dist('uniform', { min: -2, max: 3 })),
      axis('i', dist('int_uniform', { min: 1.5, max: 6 })),
      axis('q', dist('q_uniform', { min: 0, max: 1, q: 0.05 })),
      axis('lv', dist('log_uniform_values', { min: 1e-4, max: 1 })),
      axis('ql', dist('q_log_uniform_values', { min: 16, max: 512, q: 16 })),
      axis('l', dist('log_uniform', { min: -5, max: 0 })),
      axis('n', dist('normal', { mu: 1, sigma: 2 })),
      axis('qn', dist('q_normal', { mu: 0, sigma: 5, q: 0.5 })),
      axis('ln', dist('log_normal', { mu: 0, sigma: 1 })),
      axis('c', values('relu', 'tanh', 'sigmoid')),
      axis('b', values(true, false)),
      axis('k', values(7)),
    ];
    const quantized = (v: number, q: number) => v === Number((Math.round(v / q) * q).toPrecision(12));
    const score = (a: Assignment) => -Math.abs((a.u as number) - 1) - (a.c === 'tanh' ? 0 : 1) - Math.abs(Math.log((a.lv as number) / 0.01));
    const history = sweep({ axes, goal: 'maximize', seed: 2 }, score, 14);
    expect(history).toHaveLength(14);
    for (const { params: a } of history) {
      expect(a.u).toBeGreaterThanOrEqual(-2);
      expect(a.u).toBeLessThanOrEqual(3);
      expect(Number.isInteger(a.i) && (a.i as number) >= 2 && (a.i as number) <= 6).toBe(true);
      expect(quantized(a.q as number, 0.05)).toBe(true);
      expect(quantized(a.ql as number, 16)).toBe(true);
      expect(quantized(a.qn as number, 0.5)).toBe(true);
      expect(a.lv).toBeGreaterThanOrEqual(1e-4);
      expect(a.lv).toBeLessThanOrEqual(1);
      expect(a.l).toBeGreaterThanOrEqual(Math.exp(-5));
      expect(Number.isFinite(a.n)).toBe(true);
      expect(a.ln).toBeGreaterThan(0);
      expect(['relu', 'tanh', 'sigmoid']).toContain(a.c);
      expect([true, false]).toContain(a.b);
      expect(a.k).toBe(7);
    }
  });

  it('never repeat a trial of the history, pending ones included, and return null once a finite space is searched out', () => {
    const axes = [axis('opt', values('sgd', 'adam', 'rmsprop')), axis('width', dist('int_uniform', { min: 1, max: 4 }))];
    const score = (a: Assignment) => (a.opt === 'adam' ? 1 : 0) + (a.width as number) / 10;
    // Two results (so the GP runs from then on), then every further trial left pending: the
    // GP sees them as points in flight and no proposal may be one of them.
    const history: Observation[] = sweep({ axes, goal: 'maximize', seed: 3 }, score, 2);
    for (;;) {
      const p = proposeBayes({ axes, goal: 'maximize', seed: 3, history });
      if (!p) break;
      expect(history.some((o) => JSON.stringify(o.params) === JSON.stringify(p))).toBe(false);
      history.push(pending(p));
    }
    expect(history).toHaveLength(12);
    expect(new Set(history.map((o) => `${o.params.opt}/${o.params.width}`)).size).toBe(12);
    // Sequential and completed, and with failures: all 12 once, then null.
    const failing = sweep({ axes, goal: 'minimize', seed: 8 }, (a) => (a.width === 2 ? NaN : score(a)), 20);
    expect(failing).toHaveLength(12);
    expect(proposeBayes({ axes, goal: 'minimize', seed: 8, history: failing })).toBeNull();
    // No searchable parameter: the one point, then null.
    const fixed = [axis('k', values(3))];
    expect(proposeBayes({ axes: fixed, goal: 'maximize', seed: 1, history: [] })).toEqual({ k: 3 });
    expect(proposeBayes({ axes: fixed, goal: 'maximize', seed: 1, history: [done({ k: 3 }, 1)] })).toBeNull();
  });
});

describe('W&B data for the GP (_construct_gp_data)', () => {
  const axes = [axis('x', dist('uniform', { min: 0, max: 10 }))];
  const dims = axes.map((a) => dimensionOf(a)!);

  it('completed and pruned trials give their best value, failed ones the worst value logged, pending ones are in flight', () => {
    const history: Observation[] = [
      done({ x: 1 }, 0.5, 0.9, 0.7), // best 0.9 (W&B's metric_extremum: max for maximize)
      { params: { x: 2 }, state: 'pruned', values: [0.3, 0.4] }, // early-terminated: finished with its history
      { params: { x: 3 }, state: 'failed', values: [0.2, NaN] }, // impute worst
      { params: { x: 4 }, state: 'completed', values: [NaN] }, // no finite value: worst
      pending({ x: 5 }),
      { params: { x: 6 }, state: 'pending', values: [0.99] }, // running: still in flight (impute_while_running unset)
    ];
    const { X, y, current } = gpData(history, dims, 'maximize');
    // The worst any ended trial logged is 0.2 (the failed one's first epoch); y negated: W&B minimises.
    expect(y).toEqual([-0.9, -0.4, -0.2, -0.2]);
    expect(X).toEqual([[0.1], [0.2], [0.3], [0.4]]);
    expect(current).toEqual([[0.5], [0.6]]);
    const min = gpData(history, dims, 'minimize');
    expect(min.y).toEqual([0.5, 0.3, 0.9, 0.9]);
    // Nothing finite anywhere: W&B imputes 0.
    expect(gpData([{ params: { x: 1 }, state: 'failed', values: [] }], dims, 'maximize').y).toEqual([-0]);
  });

  it('leaves out trials whose values are outside the space', () => {
    const cat = [dimensionOf(axis('c', values('a', 'b')))!];
    expect(gpData([done({ c: 'z' }, 1), done({ c: 'b' }, 2), pending({ c: 'q' })], cat, 'minimize')).toEqual({ X: [[1]], y: [2], current: [] });
  });
});

describe('the unit cube (W&B params.py cdf/ppf)', () => {
  it('maps categoricals by index, value i of n to (i+1)/n, and back (W&B test_bayes_categorical_list_values_normalize_and_round_trip)', () => {
    const d = dimensionOf(axis('v', values('a', 'b', 'c', 'd')))!;
    expect(['a', 'b', 'c', 'd'].map(d.cdf)).toEqual([0.25, 0.5, 0.75, 1]);
    expect([0.1, 0.4, 0.7, 0.9].map(d.ppf)).toEqual(['a', 'b', 'c', 'd']);
    expect(['a', 'b', 'c', 'd'].map((v) => d.ppf(d.cdf(v)))).toEqual(['a', 'b', 'c', 'd']);
    expect([0, 0.25, 0.2500001, 1].map(d.ppf)).toEqual(['a', 'a', 'b', 'd']);
    // Falsy values keep their place (W&B's `if not _val` would read them as index 0).
    const f = dimensionOf(axis('f', values(1, 0, false)))!;
    expect([1, 0, false].map(f.cdf)).toEqual([1 / 3, 2 / 3, 1]);
    // With probabilities: the cumulative probability at the index; zero-probability values never come back.
    const p = dimensionOf({ ...axis('p', values('x', 'y', 'z')), spec: { kind: 'values', values: ['x', 'y', 'z'], probabilities: [0.5, 0, 0.5] } })!;
    expect(['x', 'y', 'z'].map(p.cdf)).toEqual([0.5, 0.5, 1]);
    expect([0, 0.3, 0.5, 0.51, 0.99].map(p.ppf)).toEqual(['x', 'x', 'x', 'z', 'z']);
    // A constant is not a dimension.
    expect(dimensionOf(axis('k', values(3)))).toBeNull();
  });

  it('maps ints as scipy.stats.randint(min, max + 1) and distributions by their CDF', () => {
    const i = dimensionOf(axis('i', dist('int_uniform', { min: 2, max: 5 })))!;
    expect([2, 3, 4, 5].map(i.cdf)).toEqual([0.25, 0.5, 0.75, 1]);
    expect([0, 0.01, 0.25, 0.26, 0.5, 0.99, 1].map(i.ppf)).toEqual([2, 2, 2, 3, 3, 5, 5]);
    const lv = dimensionOf(axis('lv', dist('log_uniform_values', { min: 1e-4, max: 1 })))!;
    expect(lv.cdf(1e-2)).toBeCloseTo(0.5, 12);
    expect(lv.ppf(0.25)).toBeCloseTo(1e-3, 15);
    const l = dimensionOf(axis('l', dist('log_uniform', { min: -4, max: 0 })))!;
    expect(l.cdf(Math.exp(-1))).toBeCloseTo(0.75, 12);
    const n = dimensionOf(axis('n', dist('normal', { mu: 1, sigma: 2 })))!;
    expect(n.cdf(1)).toBe(0.5);
    expect(n.ppf(normalCdf(0.7))).toBeCloseTo(1 + 2 * 0.7, 12);
    const ln = dimensionOf(axis('ln', dist('log_normal', { mu: 0, sigma: 1 })))!;
    expect(ln.cdf(1)).toBe(0.5);
    expect(Number.isFinite(ln.ppf(0))).toBe(true);
    const q = dimensionOf(axis('q', dist('q_uniform', { min: 0, max: 1, q: 0.1 })))!;
    expect(q.ppf(0.33)).toBe(0.3);
  });

  it('has scipy.stats.norm cdf and ppf to about 1e-15', () => {
    // scipy 1.10: norm.cdf(x), norm.ppf(p).
    const cdf: [number, number][] = [[-8, 6.22096057427174e-16], [-3.3, 0.00048342414238377744], [-2.99, 0.0013948872354922468], [-1, 0.15865525393145707], [0.5, 0.6914624612740131], [2, 0.9772498680518208]];
    for (const [x, p] of cdf) expect(Math.abs(normalCdf(x) - p) / p).toBeLessThan(1e-13);
    const ppf: [number, number][] = [[1e-300, -37.0470962993612], [1e-10, -6.361340902404056], [0.001, -3.090232306167813], [0.3, -0.5244005127080409], [0.98, 2.0537489106318225], [0.999999, 4.753424308817087]];
    for (const [p, x] of ppf) expect(Math.abs(normalPpf(p) - x)).toBeLessThan(1e-12 * Math.max(1, Math.abs(x)));
  });
});

describe('the Gaussian process (sklearn GaussianProcessRegressor, Matern nu=1.5)', () => {
  const X1 = [[0.1], [0.35], [0.5], [0.8], [0.95]];
  const y1 = [1.0, 0.2, -0.3, 0.6, 1.4];

  it('interpolates its points: mean at y, std ~0 there, growing away from them', () => {
    const { gp, yMean, yStd } = fitNormalized(X1, y1);
    const at = predict(gp, X1);
    at.mean.forEach((m, i) => expect(m * yStd + yMean).toBeCloseTo(y1[i], 5));
    at.std.forEach((s) => expect(s).toBeLessThan(1e-3));
    const between = predict(gp, [[0.225], [0.65]]).std;
    const outside = predict(gp, [[1.5], [3]]).std;
    expect(Math.min(...between)).toBeGreaterThan(0.1);
    expect(outside[0]).toBeGreaterThan(Math.max(...between));
    expect(outside[1]).toBeCloseTo(1, 3); // the prior's, far from every point
  });

  it('has the log marginal likelihood gradient of its value (finite differences)', () => {
    const X = [[0.1, 0.9], [0.4, 0.3], [0.5, 0.55], [0.85, 0.2], [0.2, 0.15], [0.7, 0.75]];
    const y = [0.3, -1.1, 0.4, 1.2, -0.6, 0.1];
    for (const theta of [-3, -1.2, 0, 0.8]) {
      const h = 1e-5;
      const fd = (logMarginalLikelihood(X, y, theta + h).value - logMarginalLikelihood(X, y, theta - h).value) / (2 * h);
      const { gradient } = logMarginalLikelihood(X, y, theta);
      expect(Math.abs(gradient - fd)).toBeLessThan(1e-6 * Math.max(1, Math.abs(fd)));
    }
  });

  it('matches scikit-learn', () => {
    // Numbers from scikit-learn 1.2.1 (Debian bookworm's python3-sklearn, scipy 1.10.1, numpy 1.24.2),
    // running W&B's own fit_normalized_gaussian_process / train_gaussian_process / next_sample
    // (wandb/sweeps bayes_search.py, copied verbatim) on these inputs, e.g.
    //   gp, m, s = fit_normalized_gaussian_process(X1, y1); gp.kernel_.theta, gp.log_marginal_likelihood_value_,
    //   gp.predict(T1, return_std=True), gp.log_marginal_likelihood([t], eval_gradient=True)
    const { gp, yMean, yStd } = fitNormalized(X1, y1);
    expect(yMean).toBeCloseTo(0.58, 14);
    expect(yStd).toBeCloseTo(0.5946437498927402, 14);
    expect(gp.theta).toBeCloseTo(-1.8302807227862679, 5);
    expect(gp.logLikelihood).toBeCloseTo(-6.854829673234386, 9);
    const p = predict(gp, [[0.0], [0.2], [0.42], [0.65], [1.0]]);
    const mean = [0.5350504756909804, 0.301367991833034, -1.116556596455477, -0.8003667078985047, 1.3200505627789083];
    const std = [0.7043233068271989, 0.6079428842196587, 0.37792775278934276, 0.7207061600913751, 0.42501847798643383];
    mean.forEach((m, i) => expect(p.mean[i]).toBeCloseTo(m, 5));
    std.forEach((s, i) => expect(p.std[i]).toBeCloseTo(s, 5));
    const yNorm = y1.map((v) => (v - yMean) / yStd);
    const lml: [number, number, number][] = [[-2, -6.865864820257645, 0.11775093227598454], [-1, -7.923790785726855, -4.20602508430777], [0, -33.24798428992315, -75.53614228896731]];
    for (const [theta, value, gradient] of lml) {
      const r = logMarginalLikelihood(X1, yNorm, theta);
      expect(r.value).toBeCloseTo(value, 10);
      expect(r.gradient).toBeCloseTo(gradient, 9);
    }

    // next_sample on fixed test points, without and with two points in flight (current_X).
    const X2 = Array.from({ length: 8 }, (_, k) => [((k + 1) * 0.7548776662466927) % 1, ((k + 1) * 0.5698402909980532) % 1]);
    const y2 = X2.map(([a, b]) => Math.sin(3 * a) + (b - 0.4) ** 2);
    const T2 = Array.from({ length: 60 }, (_, j) => [((j + 0.5) * 0.6180339887498949) % 1, ((j + 0.5) * 0.4142135623730951) % 1]);
    const cases = [
      { current: [], theta: -0.9574382432175357, yMean: 0.7400277423495856, yStd: 0.37935100076956535, index: 32, ei: 0.05588738097348718 },
      { current: [[0.15, 0.2], [0.66, 0.13]], theta: -0.7429893506379031, yMean: 0.7338589061694945, yStd: 0.37414043363801613, index: 32, ei: 0.026542606959453333 },
    ];
    for (const c of cases) {
      const s = scoreTestPoints(X2, y2, c.current, T2, new Random(1));
      expect(s.fallback).toBe(false);
      expect(s.fitted.gp.theta).toBeCloseTo(c.theta, 4);
      expect(s.fitted.yMean).toBeCloseTo(c.yMean, 6);
      expect(s.fitted.yStd).toBeCloseTo(c.yStd, 6);
      expect(s.index).toBe(c.index);
      expect(s.ei[s.index]).toBeCloseTo(c.ei, 5);
    }

    // Noise: the likelihood is best at the smallest length scale; sklearn ends on the bound
    // (theta = log 1e-5 = -11.512925464970229) and W&B then proposes a random test point.
    const X3 = Array.from({ length: 10 }, (_, k) => [k * 0.1 + 0.05]);
    const y3 = [0.3, -1.2, 0.8, 0.1, -0.5, 1.1, -0.9, 0.4, -0.2, 0.7];
    const noisy = fitNormalized(X3, y3).gp;
    expect(noisy.theta).toBeCloseTo(-11.512925464970229, 6);
    expect(atLengthScaleBound(noisy)).toBe(true);
    expect(scoreTestPoints(X3, y3, [], T2.map(([a]) => [a]), new Random(1)).fallback).toBe(true);
    expect(atLengthScaleBound(fitGaussianProcess(X1, yNorm))).toBe(false);
  });
});

describe('the search', () => {
  it('searches a categorical axis as W&B does: by index, as one more coordinate of the cube', () => {
    // The categories sit at 1/4, 2/4, 3/4, 1 of their coordinate, so the GP reads them as ordered;
    // W&B's search then sometimes settles on a good category without trying the best one. W&B's
    // own next_sample on this problem (numpy seeds 0–19, 20 × 12 trials) found 'elu' best in 13
    // of 20 sweeps, with 'elu' half of the last 6 trials; measured here: 15 of 20, 0.63.
    const axes = [axis('act', values('relu', 'tanh', 'sigmoid', 'elu')), axis('x', dist('uniform', { min: 0, max: 1 }))];
    const score = (a: Assignment) => (a.act === 'elu' ? 1 : a.act === 'tanh' ? 0.6 : 0.2) - ((a.x as number) - 0.3) ** 2;
    let found = 0;
    let late = 0;
    for (let seed = 1; seed <= 20; seed++) {
      const h = sweep({ axes, goal: 'maximize', seed }, score, 12);
      const best = h.reduce((b, o) => (o.values[0] > b.values[0] ? o : b));
      if (best.params.act === 'elu') found++;
      late += h.slice(6).filter((o) => o.params.act === 'elu').length / 6 / 20;
    }
    expect(found).toBeGreaterThanOrEqual(12);
    expect(late).toBeGreaterThan(0.45);
  });

  it('beats random search on a known function (20 seeds × 30 sequential trials)', () => {
    // Regret 1 − best found, per seed; random search is `method: random` with the same seed.
    // Measured: mean regret bayes 0.00225, random 0.0333 (ratio 0.068), bayes better on 20 of 20 seeds.
    let bayes = 0;
    let random = 0;
    let wins = 0;
    for (let seed = 1; seed <= 20; seed++) {
      const b = Math.max(...sweep({ axes: space3, goal: 'maximize', seed }, f3, 30).map((o) => o.values[0]));
      const r = Math.max(...assignments(space3, { method: 'random', count: 30, seed }).map(f3));
      bayes += (1 - b) / 20;
      random += (1 - r) / 20;
      if (b > r) wins++;
    }
    expect(bayes).toBeLessThan(0.25 * random);
    expect(wins).toBeGreaterThanOrEqual(16);
  });

  it('minimises as well', () => {
    const h = sweep({ axes: space3, goal: 'minimize', seed: 3 }, (a) => -f3(a), 25);
    expect(Math.min(...h.map((o) => o.values[0]))).toBeLessThan(-0.98);
  });
});
