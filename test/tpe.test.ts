/** TPE (Optuna's TPESampler, univariate, its defaults) as a pure function of the space, seed and history. */
import { describe, expect, it } from 'vitest';
import { ParzenEstimator, defaultWeights } from '../src/search/parzen.js';
import { defaultGamma, proposeTpe, rankKey } from '../src/search/tpe.js';
import { proposalSeed, sameAssignment, type MethodInput, type Observation } from '../src/search/types.js';
import type { Assignment, ParamValue } from '../src/sweep/grid.js';
import { draw, type Axis, type Spec } from '../src/sweep/space.js';
import { Random } from '../src/util/random.js';

const dist = (distribution: string, args: Partial<Record<'min' | 'max' | 'q' | 'mu' | 'sigma', number>>): Spec =>
  ({ kind: 'distribution', distribution, min: 0, max: 0, q: 1, mu: 0, sigma: 1, ...args }) as Spec;
const axis = (path: string, spec: Spec): Axis => ({ path, docPath: [path], spec });
const values = (...v: ParamValue[]): Spec => ({ kind: 'values', values: v });

/** A cheap stand-in for a training run: a log-scale learning rate, a float, an int and a categorical. */
const benchAxes = [
  axis('optimizer.lr', dist('log_uniform_values', { min: 1e-5, max: 1e-1 })),
  axis('model.dropout', dist('uniform', { min: 0, max: 1 })),
  axis('model.width', dist('int_uniform', { min: 1, max: 10 })),
  axis('model.activation', values('relu', 'tanh', 'gelu', 'sigmoid')),
];
const penalty: Record<string, number> = { relu: 0.1, tanh: 0.3, gelu: 0, sigmoid: 0.6 };
/** Minimum 0 at lr 3e-3, dropout 0.7, width 6, gelu. */
function benchLoss(p: Assignment): number {
  return (Math.log10(p['optimizer.lr'] as number) - Math.log10(3e-3)) ** 2 / 4
    + 4 * ((p['model.dropout'] as number) - 0.7) ** 2
    + (((p['model.width'] as number) - 6) / 4) ** 2
    + penalty[p['model.activation'] as string];
}

const randomPoint = (axes: Axis[], rng: Random): Assignment => Object.fromEntries(axes.map((a) => [a.path, draw(a.spec, rng)]));

/** n completed trials at random points, each scored by f (two epochs, the second the better). */
function randomHistory(axes: Axis[], n: number, f: (p: Assignment) => number, seed = 99): Observation[] {
  const rng = new Random(seed);
  return Array.from({ length: n }, () => {
    const params = randomPoint(axes, rng);
    return { params, state: 'completed', values: [f(params) + 0.1, f(params)] };
  });
}

const input = (axes: Axis[], history: Observation[], extra: Partial<MethodInput> = {}): MethodInput =>
  ({ axes, goal: 'minimize', seed: 1, history, ...extra });

describe('tpe: determinism and start-up', () => {
  it('gives the same proposal for the same input, and another for another seed', () => {
    for (const n of [3, 25]) {
      const history = randomHistory(benchAxes, n, benchLoss);
      const a = proposeTpe(input(benchAxes, history));
      expect(proposeTpe(input(benchAxes, structuredClone(history)))).toEqual(a);
      expect(proposeTpe(input(benchAxes, history, { seed: 2 }))).not.toEqual(a);
    }
  });

  it('draws the start-up trials with draw() from the generator of proposalSeed(seed, history.length)', () => {
    const axes = [...benchAxes, axis('training.batch_size', dist('q_uniform', { min: 32, max: 256, q: 32 })), axis('flag', values(true, false))];
    // 9 trials count (completed with a finite value, or pruned); pending, failed and all-NaN ones do not.
    const history: Observation[] = [
      ...randomHistory(axes, 8, benchLoss),
      { ...randomHistory(axes, 1, benchLoss, 5)[0], state: 'pruned', values: [0.5] },
      ...randomHistory(axes, 3, benchLoss, 6).map((o) => ({ ...o, state: 'pending' as const, values: [] })),
      ...randomHistory(axes, 3, benchLoss, 7).map((o) => ({ ...o, state: 'failed' as const })),
      { ...randomHistory(axes, 1, benchLoss, 8)[0], values: [NaN, NaN] },
    ];
    const proposal = proposeTpe(input(axes, history))!;
    expect(proposal).toEqual(randomPoint(axes, new Random(proposalSeed(1, history.length))));
    expect(Number.isInteger(proposal['model.width'])).toBe(true);
    expect([32, 64, 96, 128, 160, 192, 224, 256]).toContain(proposal['training.batch_size']);
    expect(typeof proposal.flag).toBe('boolean');
    // A 10th counting trial (pruned counts, as in Optuna) ends the start-up.
    const more = [...history, { ...randomHistory(axes, 1, benchLoss, 9)[0], state: 'pruned' as const, values: [] }];
    expect(proposeTpe(input(axes, more))).not.toEqual(randomPoint(axes, new Random(proposalSeed(1, more.length))));
    // startup_trials overrides the 10.
    expect(proposeTpe(input(axes, more, { startupTrials: 20 }))).toEqual(randomPoint(axes, new Random(proposalSeed(1, more.length))));
  });

  it('follows Optuna on the counts: gamma, weights and the rank of each kind of trial', () => {
    expect([0, 1, 10, 11, 40, 250, 1000].map(defaultGamma)).toEqual([0, 1, 1, 2, 4, 25, 25]);
    expect(defaultWeights(3)).toEqual([1, 1, 1]);
    const w = defaultWeights(30);
    expect(w).toHaveLength(30);
    expect(w[0]).toBeCloseTo(1 / 30);
    expect(w[4]).toBe(1);
    expect(w.slice(5).every((x) => x === 1)).toBe(true);
    const t = (state: Observation['state'], v: number[]): Observation => ({ params: {}, state, values: v });
    expect(rankKey(t('completed', [0.3, 0.9, NaN, 0.5]), 'maximize')).toEqual([-Infinity, -0.9]);
    expect(rankKey(t('completed', [0.3, 0.1]), 'minimize')).toEqual([-Infinity, 0.1]);
    expect(rankKey(t('pruned', [0.9, 0.2]), 'maximize')).toEqual([-2, -0.2]); // its last value, not its best
    expect(rankKey(t('pruned', [0.9, NaN]), 'maximize')).toEqual([-2, Infinity]);
    expect(rankKey(t('pruned', []), 'maximize')).toEqual([1, 0]);
    expect(rankKey(t('completed', [NaN]), 'maximize')).toBeNull();
    expect(rankKey(t('failed', [0.9]), 'maximize')).toBeNull();
    expect(rankKey(t('pending', [0.9]), 'maximize')).toBeNull();
  });
});

describe('tpe: values as draw() writes them', () => {
  const axes = [
    axis('u', dist('uniform', { min: -1, max: 2 })),
    axis('i', dist('int_uniform', { min: 1.5, max: 7.5 })),
    axis('q', dist('q_uniform', { min: 0.05, max: 1, q: 0.1 })),
    axis('lv', dist('log_uniform_values', { min: 1e-4, max: 1e-1 })),
    axis('l', dist('log_uniform', { min: -3, max: 0 })),
    axis('ql', dist('q_log_uniform_values', { min: 0.0001, max: 0.1, q: 0.0001 })),
    axis('n', dist('normal', { mu: 5, sigma: 2 })),
    axis('qn', dist('q_normal', { mu: 0, sigma: 10, q: 5 })),
    axis('ln', dist('log_normal', { mu: 0, sigma: 1 })),
    axis('c', { kind: 'values', values: ['a', 7, true, 'never'], probabilities: [0.5, 0.3, 0.2, 0] }),
    axis('k', values('fixed')),
  ];
  const quantized = (v: number, q: number) => v === Number((Math.round(v / q) * q).toPrecision(12));

  it('proposes ints, multiples of q, in-range floats and listed values after the start-up', () => {
    const history = randomHistory(axes, 30, (p) => (p.u as number) ** 2 + (p.c === 7 ? 0 : 1));
    for (let seed = 1; seed <= 20; seed++) {
      const p = proposeTpe(input(axes, history, { seed }))!;
      expect(Object.keys(p).sort()).toEqual(axes.map((a) => a.path).sort());
      expect(p.u).toBeGreaterThanOrEqual(-1);
      expect(p.u).toBeLessThanOrEqual(2);
      expect(Number.isInteger(p.i) && (p.i as number) >= 2 && (p.i as number) <= 7).toBe(true);
      // draw() gives round(v/q)·q for v in [0.05, 1): 0.1 … 1.0.
      expect(quantized(p.q as number, 0.1) && (p.q as number) >= 0.1 && (p.q as number) <= 1).toBe(true);
      expect(p.lv).toBeGreaterThanOrEqual(1e-4);
      expect(p.lv).toBeLessThanOrEqual(1e-1);
      expect(p.l).toBeGreaterThanOrEqual(Math.exp(-3));
      expect(p.l).toBeLessThanOrEqual(1);
      expect(quantized(p.ql as number, 0.0001) && (p.ql as number) >= 0.0001 && (p.ql as number) <= 0.1).toBe(true);
      expect(Number.isFinite(p.n)).toBe(true);
      expect(quantized(p.qn as number, 5)).toBe(true);
      expect(p.ln).toBeGreaterThan(0);
      expect(['a', 7, true]).toContain(p.c); // never the value of probability 0
      expect(p.k).toBe('fixed');
    }
  });
});

describe('tpe: never a taken point', () => {
  it('searches a small categorical space out, then answers null', () => {
    const axes = [axis('pool', values('avg', 'max', 'none')), axis('bn', values(true, false))];
    const history: Observation[] = [];
    for (let i = 0; i < 6; i++) {
      const p = proposeTpe(input(axes, history, { startupTrials: 2 }))!;
      expect(p).not.toBeNull();
      expect(history.some((o) => sameAssignment(p, o.params))).toBe(false);
      // The good corner is proposed again and again by TPE: each time it must step aside.
      history.push({ params: p, state: i % 3 === 2 ? 'pending' : 'completed', values: i % 3 === 2 ? [] : [p.pool === 'max' ? 1 : 0] });
    }
    expect(proposeTpe(input(axes, history, { startupTrials: 2 }))).toBeNull();
  });

  it('steps aside from pending and failed points too, in a larger space', () => {
    const axes = [axis('w', dist('int_uniform', { min: 1, max: 4 })), axis('a', values('x', 'y')), axis('f', values(1, 2))];
    const history: Observation[] = [];
    for (let i = 0; i < 16; i++) {
      const p = proposeTpe(input(axes, history, { startupTrials: 4, goal: 'maximize' }))!;
      expect(history.some((o) => sameAssignment(p, o.params))).toBe(false);
      const state = (['completed', 'pending', 'failed', 'pruned'] as const)[i % 4];
      history.push({ params: p, state, values: state === 'pending' ? [] : [(p.w as number) / 4] });
    }
    expect(proposeTpe(input(axes, history, { startupTrials: 4 }))).toBeNull();
  });
});

describe('tpe: the estimator', () => {
  it('a Parzen estimator on points clustered at 0.2 samples near 0.2', () => {
    const pe = new ParzenEstimator({ kind: 'numeric', low: 0, high: 1, step: 0 }, [0.18, 0.2, 0.21, 0.22, 0.19]);
    const s = pe.sample(new Random(4), 2000);
    expect(s.every((x) => x >= 0 && x <= 1)).toBe(true);
    // The kernels are at least (high − low)/min(100, 1 + kernels) = 1/7 wide and the prior kernel
    // holds 1/6 of the weight, so about half the draws land within 0.1 of 0.2 (a fifth if uniform).
    expect(s.filter((x) => Math.abs(x - 0.2) < 0.1).length / s.length).toBeGreaterThan(0.4);
    expect(pe.logPdf(0.2)).toBeGreaterThan(pe.logPdf(0.6) + 2);
  });

  it('proposes near the good region of a float, and the good value of a categorical most often', () => {
    const axes = [axis('x', dist('uniform', { min: 0, max: 1 })), axis('c', values('a', 'b', 'c', 'd'))];
    const history = randomHistory(axes, 30, (p) => Math.abs((p.x as number) - 0.2) + (p.c === 'c' ? 0 : 0.3));
    const proposals = Array.from({ length: 40 }, (_, seed) => proposeTpe(input(axes, history, { seed }))!);
    const near = proposals.filter((p) => Math.abs((p.x as number) - 0.2) < 0.1).length;
    const cs = proposals.filter((p) => p.c === 'c').length;
    expect(near).toBeGreaterThan(30);
    expect(cs).toBeGreaterThan(30);
  });

  it('counts a pruned trial as worse than every completed one, however good its last value', () => {
    const axes = [axis('x', dist('uniform', { min: 0, max: 1 }))];
    // 18 completed trials on [0.3, 1], best near 0.8; 2 trials near 0.1 with a far better
    // accuracy at epoch 1. 20 trials count, so gamma = 2 trials form l(x).
    const completed: Observation[] = Array.from({ length: 18 }, (_, i) => {
      const x = 0.3 + i * 0.04;
      return { params: { x }, state: 'completed', values: [0.5, 0.8 - Math.abs(x - 0.8) / 10] };
    });
    const early = (state: 'pruned' | 'completed'): Observation[] =>
      [0.1, 0.12].map((x) => ({ params: { x }, state, values: [0.95] }));
    const xs = (history: Observation[]) =>
      Array.from({ length: 30 }, (_, seed) => proposeTpe(input(axes, history, { seed, goal: 'maximize' }))!.x as number);
    // Pruned: they rank after every completed trial (Optuna's (-step, value) keys), so l(x) is
    // built on the two best completed trials.
    const asPruned = xs([...completed, ...early('pruned')]);
    expect(asPruned.filter((x) => Math.abs(x - 0.8) < 0.1).length).toBeGreaterThan(25);
    // The same trials completed with that accuracy are the best two, and TPE goes to them.
    const asCompleted = xs([...completed, ...early('completed')]);
    expect(asCompleted.filter((x) => x < 0.2).length).toBeGreaterThan(25);
  });
});

describe('tpe: against random search', () => {
  it('finds a better point in 40 trials than random search, averaged over 30 seeds', () => {
    const trials = 40;
    const seeds = Array.from({ length: 30 }, (_, i) => i + 1);
    const bestOf = (seed: number, next: (history: Observation[]) => Assignment) => {
      const history: Observation[] = [];
      let best = Infinity;
      for (let i = 0; i < trials; i++) {
        const params = next(history);
        const v = benchLoss(params);
        best = Math.min(best, v);
        history.push({ params, state: 'completed', values: [v + 0.05, v] });
      }
      return best;
    };
    const mean = (a: number[]) => a.reduce((x, y) => x + y, 0) / a.length;
    const tpe = mean(seeds.map((seed) => bestOf(seed, (history) => proposeTpe(input(benchAxes, history, { seed }))!)));
    const random = mean(seeds.map((seed) => {
      const rng = new Random(seed);
      return bestOf(seed, () => randomPoint(benchAxes, rng));
    }));
    console.log(`tpe vs random, mean best loss over 30 seeds x 40 trials: tpe ${tpe.toFixed(4)}, random ${random.toFixed(4)} (ratio ${(tpe / random).toFixed(2)})`);
    // Measured: tpe 0.1324, random 0.2492 (ratio 0.53, the worst of ten blocks of 30 seeds, which
    // ran 0.28–0.53). Optuna 3.1 itself on this function: 0.100 vs 0.259 (400 seeds); ours 0.102
    // vs 0.255.
    expect(tpe).toBeLessThan(0.75 * random);
  });
});
