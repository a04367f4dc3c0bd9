import { describe, expect, it } from 'vitest';
import { buildSchedule } from '../src/train/schedule.js';
import type { EpochMetrics } from '../src/train/metrics.js';
import { config } from './experiment-fixture.js';

const rates = (overrides: Parameters<typeof config>[0], epochs = 10) => {
  const s = buildSchedule(config({ ...overrides, training: { epochs } }));
  return Array.from({ length: epochs }, (_, i) => s.rate(i + 1));
};
const close = (a: number[], b: number[]) => a.forEach((v, i) => expect(v, `epoch ${i + 1}`).toBeCloseTo(b[i], 12));

describe('learning-rate schedules (per epoch, like torch.optim.lr_scheduler)', () => {
  it('constant, step, multistep, exponential', () => {
    expect(rates({})).toEqual(new Array(10).fill(0.001));
    close(rates({ schedule: { name: 'step', step_size: 3, gamma: 0.5 } }), [1, 1, 1, 0.5, 0.5, 0.5, 0.25, 0.25, 0.25, 0.125].map((f) => f * 0.001));
    close(rates({ schedule: { name: 'multistep', milestones: [2, 5], gamma: 0.1 } }), [1, 1, 0.1, 0.1, 0.1, 0.01, 0.01, 0.01, 0.01, 0.01].map((f) => f * 0.001));
    close(rates({ schedule: { name: 'exponential', gamma: 0.9 } }), Array.from({ length: 10 }, (_, i) => 0.001 * 0.9 ** i));
  });

  it('cosine from lr to min_lr, after a linear warm-up', () => {
    const r = rates({ schedule: { name: 'cosine', min_lr: 0.0001 } }, 5);
    close(r, [0.001, 0.0001 + 0.0009 * (1 + Math.cos(Math.PI / 4)) / 2, 0.00055, 0.0001 + 0.0009 * (1 + Math.cos((3 * Math.PI) / 4)) / 2, 0.0001]);
    const w = rates({ schedule: { name: 'cosine', warmup_epochs: 2 } }, 5);
    close(w.slice(0, 3), [0.001 / 3, 0.002 / 3, 0.001]);
    expect(w[4]).toBeCloseTo(0, 12);
  });

  it('plateau reduces when the metric stalls for more than patience epochs, down to min_lr', () => {
    const s = buildSchedule(config({ schedule: { name: 'plateau', patience: 1, factor: 0.5, min_lr: 0.0002 } }));
    const seen: number[] = [];
    const accs = [0.5, 0.6, 0.6, 0.59, 0.7, 0.7, 0.7, 0.7, 0.7];
    accs.forEach((val_acc, i) => {
      seen.push(s.rate(i + 1));
      s.observe({ epoch: i + 1, val_acc } as EpochMetrics);
    });
    // Stalls at epochs 3 and 4 → halved for epoch 5; stalls 6, 7 → halved; 8, 9 → floor.
    expect(seen).toEqual([0.001, 0.001, 0.001, 0.001, 0.0005, 0.0005, 0.0005, 0.00025, 0.00025]);
  });
});
