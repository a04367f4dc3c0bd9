/** The grouping rules of fused trials (sweep/fusion.ts): pure, so checked case by case. */
import { describe, expect, it } from 'vitest';
import { loadExperiment } from '../src/config/experiment.js';
import { fusionKey, groupSize, largestKind, takeGroup } from '../src/sweep/fusion.js';

const base = loadExperiment({ label: 'test', value: { name: 'k', model: { dropout: 0.3 } } }).trials[0].config;
const key = (change: (c: typeof base) => void, dir = '/data') => {
  const c = structuredClone(base);
  change(c);
  return fusionKey(c, dir);
};

describe('which trials may train as one', () => {
  it('those that differ only in values that leave the network, batch, data, backend and optimizer rule as they are', () => {
    const same = key(() => {});
    for (const change of [
      (c: typeof base) => (c.training.seed = 7),
      (c: typeof base) => (c.training.epochs = 3),
      (c: typeof base) => (c.optimizer.lr = 0.5),
      (c: typeof base) => (c.optimizer.beta1 = 0.8),
      (c: typeof base) => (c.optimizer.weight_decay = 0.01),
      (c: typeof base) => (c.model.dropout = 0.1),
      (c: typeof base) => (c.augment.rotate = 15),
      (c: typeof base) => (c.schedule.name = 'cosine'),
    ]) expect(key(change)).toBe(same);
  });

  it('not those of another shape, batch size, dataset or split, backend or optimizer rule', () => {
    const same = key(() => {});
    for (const change of [
      (c: typeof base) => (c.model.pooling = 'max'),
      (c: typeof base) => (c.model.conv1_filters = 12),
      (c: typeof base) => (c.model.batchnorm = true),
      (c: typeof base) => (c.model.dropout_conv = 0.2),
      (c: typeof base) => (c.training.batch_size = 128),
      (c: typeof base) => (c.training.limit_train = 100),
      (c: typeof base) => (c.data.dataset = 'fashion-mnist'),
      (c: typeof base) => (c.backend = 'cpu'),
      (c: typeof base) => (c.optimizer.name = 'sgd'),
    ]) expect(key(change)).not.toBe(same);
    expect(key(() => {}, '/other')).not.toBe(same);
  });
});

describe('group sizes', () => {
  it('at most K, an even share of what is left among the idle workers, and at least one', () => {
    expect(groupSize(8, 8, 2)).toBe(4);
    expect(groupSize(8, 4, 1)).toBe(4);
    expect(groupSize(4, 100, 2)).toBe(4);
    expect(groupSize(8, 5, 2)).toBe(3);
    expect(groupSize(1, 100, 1)).toBe(1);
    expect(groupSize(4, 0, 2)).toBe(1);
    expect(groupSize(4, 3, 0)).toBe(3);
  });

  it('takes the oldest waiting trial and those of its kind after it, leaving the rest in order', () => {
    const waiting = ['a1', 'b1', 'a2', 'b2', 'a3'];
    expect(takeGroup(waiting, 2, (t) => t[0])).toEqual(['a1', 'a2']);
    expect(waiting).toEqual(['b1', 'b2', 'a3']);
    expect(takeGroup(waiting, 5, (t) => t[0])).toEqual(['b1', 'b2']);
    expect(waiting).toEqual(['a3']);
    expect(takeGroup([], 3, (t: string) => t)).toEqual([]);
  });

  it('knows the largest group the trials can form (below 2: no two may train together)', () => {
    expect(largestKind(['a', 'b', 'c'], (t) => t)).toBe(1);
    expect(largestKind(['a', 'b', 'a', 'c', 'a', 'b'], (t) => t)).toBe(3);
    expect(largestKind([], (t: string) => t)).toBe(0);
  });
});
