/**
 * Hyperparameter importance (random forest, out-of-bag permutation): the parameter that drives
 * the metric gets the importance, whether numeric on a log scale, categorical or in an
 * interaction; noise and constant parameters get little or none; the result is deterministic;
 * too few trials and tiny inputs are warned about rather than failing.
 */
import { describe, expect, it } from 'vitest';
import { parameterImportance, type ImportanceInput, type ParamValue } from '../src/report/importance.js';
import { Random } from '../src/util/random.js';

type Row = ImportanceInput['rows'][number];

function byName(result: ReturnType<typeof parameterImportance>): Record<string, number> {
  return Object.fromEntries(result.importances.map((e) => [e.name, e.importance]));
}

function sum(result: ReturnType<typeof parameterImportance>): number {
  return result.importances.reduce((s, e) => s + e.importance, 0);
}

/** Metric peaks at lr = 1e-3 and depends on nothing else; dropout and batch are noise. */
function lrRows(n: number, seed: number): Row[] {
  const rng = new Random(seed);
  const rows: Row[] = [];
  for (let i = 0; i < n; i++) {
    const lr = 10 ** rng.uniform(-5, -1);
    const dropout = rng.uniform(0, 0.5);
    const batch = [32, 64, 128, 256][Math.floor(rng.next() * 4)];
    const value = -((Math.log10(lr) + 3) ** 2) + 0.05 * (rng.next() - 0.5);
    rows.push({ params: { lr, dropout, batch }, value });
  }
  return rows;
}

const lrParams = [{ name: 'lr', log: true }, { name: 'dropout' }, { name: 'batch' }];

describe('parameterImportance', () => {
  it('gives a log-scaled learning rate that alone drives the metric most of the importance', () => {
    const result = parameterImportance({ rows: lrRows(60, 1), params: lrParams });
    const imp = byName(result);
    expect(result.trials).toBe(60);
    expect(imp.lr).toBeGreaterThan(0.7);
    expect(result.r2).not.toBeNull();
    expect(result.r2!).toBeGreaterThan(0.5);
    expect(result.warning).toBeNull();
    expect(sum(result)).toBeCloseTo(1, 10);
    // Display order follows `params`, and every share and spread is a non-negative number.
    expect(result.importances.map((e) => e.name)).toEqual(['lr', 'dropout', 'batch']);
    for (const e of result.importances) {
      expect(e.importance).toBeGreaterThanOrEqual(0);
      expect(e.sd).toBeGreaterThanOrEqual(0);
      expect(Number.isFinite(e.sd)).toBe(true);
    }
    expect(result.method).toMatch(/permutation/);
  });

  it('lets a categorical parameter that decides the metric dominate a numeric noise parameter', () => {
    const rng = new Random(7);
    const rows: Row[] = [];
    for (let i = 0; i < 40; i++) {
      const pooling = rng.next() < 0.5 ? 'max' : 'avg';
      const weightDecay = 10 ** rng.uniform(-6, -2);
      const value = (pooling === 'max' ? 0.99 : 0.97) + 0.002 * (rng.next() - 0.5);
      rows.push({ params: { pooling, weightDecay }, value });
    }
    const result = parameterImportance({
      rows,
      params: [{ name: 'weightDecay', log: true }, { name: 'pooling' }],
    });
    const imp = byName(result);
    expect(imp.pooling).toBeGreaterThan(0.8);
    expect(imp.pooling).toBeGreaterThan(imp.weightDecay);
    expect(result.r2!).toBeGreaterThan(0.5);
    expect(result.warning).toBeNull();
  });

  it('treats booleans as categories too', () => {
    const rng = new Random(3);
    const rows: Row[] = [];
    for (let i = 0; i < 40; i++) {
      const batchnorm = rng.next() < 0.5;
      const momentum = rng.uniform(0.8, 0.99);
      rows.push({ params: { batchnorm, momentum }, value: (batchnorm ? 1 : 0) + 0.05 * rng.next() });
    }
    const imp = byName(parameterImportance({ rows, params: [{ name: 'batchnorm' }, { name: 'momentum' }] }));
    expect(imp.batchnorm).toBeGreaterThan(0.8);
  });

  it('is deterministic for the same input and seed', () => {
    const input: ImportanceInput = { rows: lrRows(50, 2), params: lrParams, seed: 42 };
    const a = parameterImportance(input);
    const b = parameterImportance(structuredClone(input));
    expect(b).toEqual(a);
    // The default seed is 0.
    expect(parameterImportance({ rows: input.rows, params: lrParams })).toEqual(
      parameterImportance({ rows: input.rows, params: lrParams, seed: 0 }),
    );
  });

  it('warns about too few trials with the counts, and gives a constant parameter 0', () => {
    const rng = new Random(5);
    const rows: Row[] = [];
    for (let i = 0; i < 6; i++) {
      const lr = 10 ** rng.uniform(-4, -2);
      const dropout = rng.uniform(0, 0.5);
      rows.push({ params: { lr, dropout, optimizer: 'adam' }, value: Math.log10(lr) + rng.next() });
    }
    const result = parameterImportance({
      rows,
      params: [{ name: 'lr', log: true }, { name: 'dropout' }, { name: 'optimizer' }],
    });
    expect(result.trials).toBe(6);
    expect(result.warning).not.toBeNull();
    expect(result.warning).toContain('6');
    expect(result.warning).toContain('15'); // max(10, 5 × 3)
    const optimizer = result.importances.find((e) => e.name === 'optimizer')!;
    expect(optimizer.importance).toBe(0);
    expect(optimizer.sd).toBe(0);
  });

  it('credits both halves of an interaction and not the noise parameter', () => {
    const rng = new Random(11);
    const rows: Row[] = [];
    for (let i = 0; i < 100; i++) {
      const a = rng.next();
      const b = rng.next();
      const c = rng.next();
      const value = (a > 0.5 && b > 0.5 ? 1 : 0) + 0.05 * (rng.next() - 0.5);
      rows.push({ params: { a, b, c }, value });
    }
    const result = parameterImportance({ rows, params: [{ name: 'a' }, { name: 'b' }, { name: 'c' }] });
    const imp = byName(result);
    expect(imp.a).toBeGreaterThan(0.3);
    expect(imp.b).toBeGreaterThan(0.3);
    expect(imp.c).toBeLessThan(0.1);
  });

  it('returns zeros, no R² and a warning for 0 or 1 usable rows, dropping non-finite values', () => {
    const params = [{ name: 'lr', log: true }, { name: 'dropout' }];
    const none = parameterImportance({ rows: [], params });
    expect(none.trials).toBe(0);
    expect(none.r2).toBeNull();
    expect(none.warning).toMatch(/0 trials/);
    expect(none.importances).toEqual([
      { name: 'lr', importance: 0, sd: 0, se: 0 },
      { name: 'dropout', importance: 0, sd: 0, se: 0 },
    ]);

    const one = parameterImportance({
      rows: [
        { params: { lr: 1e-3, dropout: 0.1 }, value: 0.9 },
        { params: { lr: 1e-3, dropout: 0.2 }, value: Number.NaN },
        { params: { lr: 0, dropout: 0.2 }, value: 0.8 }, // log(0) is not finite
        { params: { lr: 1e-2, dropout: Number.POSITIVE_INFINITY }, value: 0.7 },
      ],
      params,
    });
    expect(one.trials).toBe(1);
    expect(one.r2).toBeNull();
    expect(one.warning).toMatch(/1 trial\b/);
    expect(one.importances.every((e) => e.importance === 0 && e.sd === 0)).toBe(true);
  });

  it('warns when only one parameter varies, or when the forest explains little', () => {
    const rng = new Random(9);
    const single: Row[] = [];
    const noise: Row[] = [];
    for (let i = 0; i < 40; i++) {
      const lr = 10 ** rng.uniform(-4, -2);
      single.push({ params: { lr, batch: 64 }, value: Math.log10(lr) + 0.01 * rng.next() });
      noise.push({ params: { x: rng.next(), z: rng.next() }, value: rng.next() });
    }
    const s = parameterImportance({ rows: single, params: [{ name: 'lr', log: true }, { name: 'batch' }] });
    expect(s.warning).toMatch(/only one parameter \(lr\)/i);
    expect(byName(s)).toEqual({ lr: 1, batch: 0 });

    const n = parameterImportance({ rows: noise, params: [{ name: 'x' }, { name: 'z' }] });
    expect(n.r2!).toBeLessThan(0.1);
    expect(n.warning).toMatch(/R²/);
  });

  it('runs 100 trials × 6 parameters', () => {
    const rng = new Random(13);
    const names = ['lr', 'dropout', 'batch', 'optimizer', 'momentum', 'weightDecay'];
    const rows: Row[] = [];
    for (let i = 0; i < 100; i++) {
      const params: Record<string, ParamValue> = {
        lr: 10 ** rng.uniform(-5, -1),
        dropout: rng.uniform(0, 0.5),
        batch: [32, 64, 128][Math.floor(rng.next() * 3)],
        optimizer: ['sgd', 'adam', 'rmsprop'][Math.floor(rng.next() * 3)],
        momentum: rng.uniform(0.8, 0.99),
        weightDecay: 10 ** rng.uniform(-6, -2),
      };
      const value = -((Math.log10(params.lr as number) + 3) ** 2) + (params.optimizer === 'adam' ? 0.5 : 0) + 0.1 * rng.next();
      rows.push({ params, value });
    }
    const result = parameterImportance({
      rows,
      params: names.map((name) => ({ name, log: name === 'lr' || name === 'weightDecay' })),
    });
    expect(result.trials).toBe(100);
    expect(result.importances).toHaveLength(6);
    expect(sum(result)).toBeCloseTo(1, 10);
  });
});
