/**
 * Each optimizer's updates against the torch.optim rules written out in plain arithmetic,
 * over steps with varying gradients, on the cpu backend (exact float32 arithmetic on one
 * thread; the rules are backend-independent).
 */
import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import type { Experiment } from '../src/config/experiment.types.js';
import { initBackend } from '../src/backend/index.js';
import { buildGroupOptimizer, buildOptimizer, clipByGlobalNorm } from '../src/train/optimizer.js';

beforeAll(async () => {
  tf.enableProdMode(); // no console banner about tfjs-node
  await tf.setBackend('cpu');
});

const base: Experiment['optimizer'] = { name: 'adam', lr: 0.01, nesterov: false, beta1: 0.9, beta2: 0.999, alpha: 0.99, epsilon: 1e-8, weight_decay: 0, clip_norm: 0 };
const START = [0.5, -1.5, 2];
/** Gradients of the steps: fixed numbers, changing sign and size. */
const GRADS = [[0.1, -0.2, 0.3], [0.05, 0.4, -0.1], [-0.3, 0.1, 0.2], [0.2, 0.2, -0.5], [0.01, -0.3, 0.1], [0.4, 0, 0.2], [-0.1, 0.1, 0.1], [0.3, -0.2, 0]];

function runOurs(config: Experiment['optimizer'], lrs: number[] = GRADS.map(() => config.lr)): number[][] {
  const opt = buildOptimizer(config);
  const v = tf.variable(tf.tensor1d(START));
  const out = GRADS.map((g, i) => {
    tf.tidy(() => opt.step([v], [tf.tensor1d(g)], lrs[i]));
    return Array.from(v.dataSync());
  });
  opt.dispose();
  v.dispose();
  return out;
}

/** torch.optim's rules for one parameter element, in doubles. */
type Rule = (p: number, g: number, state: Record<string, number>, t: number, lr: number) => number;

function runReference(rule: Rule): number[][] {
  const states = START.map(() => ({} as Record<string, number>));
  const p = [...START];
  return GRADS.map((gs, i) => {
    for (let j = 0; j < p.length; j++) p[j] = rule(p[j], gs[j], states[j], i + 1, base.lr);
    return [...p];
  });
}

function expectClose(a: number[][], b: number[][]) {
  a.forEach((row, i) => row.forEach((v, j) => expect(v, `step ${i + 1}, element ${j}`).toBeCloseTo(b[i][j], 5)));
}

const adamRule = (wd: number, decoupled: boolean): Rule => (p, g, s, t, lr) => {
  if (decoupled) p *= 1 - lr * wd;
  else g += wd * p;
  s.m = 0.9 * (s.m ?? 0) + 0.1 * g;
  s.v = 0.999 * (s.v ?? 0) + 0.001 * g * g;
  const denom = Math.sqrt(s.v) / Math.sqrt(1 - 0.999 ** t) + 1e-8;
  return p - (lr / (1 - 0.9 ** t)) * (s.m / denom);
};

describe('optimizers follow torch.optim', () => {
  it('sgd with momentum, with nesterov, and plain', () => {
    const rule = (momentum: number, nesterov: boolean): Rule => (p, g, s, _t, lr) => {
      if (momentum === 0) return p - lr * g;
      s.buf = s.buf === undefined ? g : momentum * s.buf + g;
      return p - lr * (nesterov ? g + momentum * s.buf : s.buf);
    };
    expectClose(runOurs({ ...base, name: 'sgd' }), runReference(rule(0.9, false)));
    expectClose(runOurs({ ...base, name: 'sgd', momentum: 0.8, nesterov: true }), runReference(rule(0.8, true)));
    expectClose(runOurs({ ...base, name: 'sgd', momentum: 0 }), runReference(rule(0, false)));
  });

  it('adam, with L2 weight decay', () => {
    expectClose(runOurs(base), runReference(adamRule(0, false)));
    expectClose(runOurs({ ...base, weight_decay: 0.1 }), runReference(adamRule(0.1, false)));
  });

  it('adamw decays the weights apart from the gradient', () => {
    const ours = runOurs({ ...base, name: 'adamw', weight_decay: 0.1 });
    expectClose(ours, runReference(adamRule(0.1, true)));
    expect(ours).not.toEqual(runOurs({ ...base, weight_decay: 0.1 }));
  });

  it('radam: plain momentum steps until the variance is tractable, rectified Adam after', () => {
    const rhoInf = 2 / (1 - 0.999) - 1;
    const rule: Rule = (p, g, s, t, lr) => {
      s.m = 0.9 * (s.m ?? 0) + 0.1 * g;
      s.v = 0.999 * (s.v ?? 0) + 0.001 * g * g;
      const mHat = s.m / (1 - 0.9 ** t);
      const rhoT = rhoInf - (2 * t * 0.999 ** t) / (1 - 0.999 ** t);
      if (rhoT <= 5) return p - lr * mHat;
      const rect = Math.sqrt(((rhoT - 4) * (rhoT - 2) * rhoInf) / ((rhoInf - 4) * (rhoInf - 2) * rhoT));
      return p - lr * mHat * rect * (Math.sqrt(1 - 0.999 ** t) / (Math.sqrt(s.v) + 1e-8));
    };
    const ours = runOurs({ ...base, name: 'radam' });
    // By hand: the first step is p − lr·g (m̂ = g, no rectification yet).
    expect(ours[0][0]).toBeCloseTo(0.5 - 0.01 * 0.1, 6);
    expect(ours[0][1]).toBeCloseTo(-1.5 + 0.01 * 0.2, 6);
    expectClose(ours, runReference(rule));
  });

  it('rmsprop, with and without momentum', () => {
    const rule = (momentum: number): Rule => (p, g, s, _t, lr) => {
      s.sq = 0.99 * (s.sq ?? 0) + 0.01 * g * g;
      const u = g / (Math.sqrt(s.sq) + 1e-8);
      if (momentum === 0) return p - lr * u;
      s.buf = momentum * (s.buf ?? 0) + u;
      return p - lr * s.buf;
    };
    expectClose(runOurs({ ...base, name: 'rmsprop' }), runReference(rule(0)));
    expectClose(runOurs({ ...base, name: 'rmsprop', momentum: 0.5 }), runReference(rule(0.5)));
  });

  it('adagrad', () => {
    const rule: Rule = (p, g, s, _t, lr) => {
      s.sum = (s.sum ?? 0) + g * g;
      return p - (lr * g) / (Math.sqrt(s.sum) + 1e-8);
    };
    expectClose(runOurs({ ...base, name: 'adagrad' }), runReference(rule));
  });

  it('uses the learning rate it is given at each step', () => {
    const lrs = GRADS.map((_, i) => 0.1 / (i + 1));
    const ours = runOurs({ ...base, name: 'sgd', momentum: 0 }, lrs);
    let p = START[0];
    GRADS.forEach((g, i) => {
      p -= lrs[i] * g[0];
      expect(ours[i][0]).toBeCloseTo(p, 6);
    });
  });
});

describe('gradient clipping', () => {
  it('scales all gradients by one factor down to the global norm, and leaves small ones alone', () => {
    const grads = [tf.tensor1d([3, 0]), tf.tensor1d([0, 4])]; // global norm 5
    const clipped = clipByGlobalNorm(grads, 1).map((g) => Array.from(g.dataSync()));
    expect(clipped[0][0]).toBeCloseTo(0.6, 5);
    expect(clipped[1][1]).toBeCloseTo(0.8, 5);
    expect(clipByGlobalNorm(grads, 10).map((g) => Array.from(g.dataSync()))).toEqual([[3, 0], [0, 4]]);
    expect(clipByGlobalNorm(grads, 0)).toBe(grads);
  });
});

describe('optimizers update several variables as one vector', () => {
  it('each variable of several shapes gets what it would get alone', () => {
    const shapes = [[2, 2], [3], [1, 3, 2]];
    const grads = (step: number) => shapes.map((s, k) => tf.tensor(Array.from({ length: s.reduce((a, b) => a * b, 1) }, (_, i) => Math.sin(step * 7 + k * 3 + i)), s));
    for (const name of ['sgd', 'adam', 'adamw', 'radam', 'rmsprop', 'adagrad'] as const) {
      const config = { ...base, name, weight_decay: 0.01, momentum: 0.5 };
      const start = (k: number) => tf.tensor(Array.from({ length: shapes[k].reduce((a, b) => a * b, 1) }, (_, i) => i / 10 - k), shapes[k]);
      const together = shapes.map((_, k) => tf.variable(start(k)));
      const alone = shapes.map((_, k) => tf.variable(start(k)));
      const opt = buildOptimizer(config);
      const opts = shapes.map(() => buildOptimizer(config));
      for (let step = 1; step <= 4; step++) {
        tf.tidy(() => opt.step(together, grads(step), 0.05));
        tf.tidy(() => grads(step).forEach((g, k) => opts[k].step([alone[k]], [g], 0.05)));
      }
      together.forEach((v, k) => {
        expect(v.shape).toEqual(shapes[k]);
        Array.from(v.dataSync()).forEach((x, i) => expect(x, `${name}, variable ${k}, element ${i}`).toBeCloseTo(alone[k].dataSync()[i], 6));
      });
      [opt, ...opts].forEach((o) => o.dispose());
      tf.dispose([...together, ...alone]);
    }
  });
});

describe('a group of trials stepped as one (fused trials): each trial as it would be alone, bit for bit', () => {
  const shapes = [[2, 3], [4]];
  const size = (s: number[]) => s.reduce((a, b) => a * b, 1);
  const grads = (trial: number, step: number) => shapes.map((s, v) => tf.tensor(Array.from({ length: size(s) }, (_, i) => Math.sin(step * 7 + trial * 13 + v * 3 + i) * (i === 2 ? 0 : 1)), s));
  const start = (trial: number) => shapes.map((s, v) => tf.variable(tf.tensor(Array.from({ length: size(s) }, (_, i) => i / 10 - v - trial / 7), s)));
  const bits = (vs: tf.Tensor[]) => vs.map((v) => {
    const values = v.dataSync() as Float32Array;
    return Buffer.from(values.buffer, values.byteOffset, values.byteLength).toString('hex');
  });
  /** Four trials of one rule with their own settings: momentum and decay on and off, nesterov mixed. */
  const trials = (name: Experiment['optimizer']['name']): Array<Experiment['optimizer']> => [
    { ...base, name, lr: 0.05, momentum: 0.5, weight_decay: 0.01 },
    { ...base, name, lr: 0.02, beta1: 0.8, beta2: 0.99, epsilon: 1e-6, momentum: 0, weight_decay: 0, alpha: 0.9 },
    { ...base, name, lr: 0.1, beta1: 0.95, nesterov: true, momentum: 0.9, weight_decay: 0.001 },
    { ...base, name, lr: 0.05, momentum: 0.5, weight_decay: 0.01 },
  ];

  for (const backend of ['cpu', 'wasm']) {
    it(`every rule on ${backend}, with each trial's own settings, rates changing by the step, and one trial resumed at another step`, async () => {
      if (backend === 'wasm') await initBackend('wasm');
      await tf.setBackend(backend);
      for (const name of ['sgd', 'adam', 'adamw', 'radam', 'rmsprop', 'adagrad'] as const) {
        const configs = trials(name);
        const lr = (k: number, step: number) => configs[k].lr / (1 + step * (k + 1));
        // Trial 3 comes from a checkpoint of 4 steps (RAdam: rectified while the others are not yet).
        const resumed = buildOptimizer(configs[3]);
        const resumedVars = start(3);
        for (let step = 1; step <= 4; step++) tf.tidy(() => resumed.step(resumedVars, grads(3, -step), lr(3, -step)));
        const checkpoint = resumed.save();
        const restoredSlots = checkpoint.slots.map((t) => t.dataSync() as Float32Array);

        const alone = configs.map((c) => buildOptimizer(c));
        const aloneVars = configs.map((_, k) => (k === 3 ? resumedVars : start(k)));
        alone[3].restore(checkpoint.steps, restoredSlots);
        const group = buildGroupOptimizer(configs);
        const groupVars = configs.map((_, k) => (k === 3 ? resumedVars.map((v) => tf.variable(v.clone())) : start(k)));
        group.restore(checkpoint.steps, restoredSlots, 3);
        for (let step = 1; step <= 5; step++) {
          tf.tidy(() => configs.forEach((_, k) => alone[k].step(aloneVars[k], grads(k, step), lr(k, step))));
          tf.tidy(() => group.step(groupVars, configs.map((_, k) => grads(k, step)), configs.map((_, k) => lr(k, step))));
        }
        configs.forEach((_, k) => expect(bits(groupVars[k]), `${name}, trial ${k}`).toEqual(bits(aloneVars[k])));
        // A trial's checkpoint from the group is the one it would have written alone.
        configs.forEach((_, k) => {
          const fromGroup = group.save(k);
          const fromAlone = alone[k].save();
          expect(fromGroup.steps).toBe(fromAlone.steps);
          expect(bits(fromGroup.slots), `${name}, trial ${k}'s state`).toEqual(bits(fromAlone.slots));
          tf.dispose(fromGroup.slots);
        });
        [resumed, group, ...alone].forEach((o) => o.dispose());
        tf.dispose([...aloneVars.flat(), ...groupVars.flat()]);
      }
      await tf.setBackend('cpu');
    });
  }

  it('refuses trials of different rules', () => {
    expect(() => buildGroupOptimizer([base, { ...base, name: 'sgd' }])).toThrow(/different rules \(adam, sgd\)/);
  });
});
