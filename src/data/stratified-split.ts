/**
 * A folder dataset given as one tree of class folders (no train/ and test/) is split into training
 * and test images here, class by class, so that every class is tested in its own proportion: a
 * small class is not left out of the test images by chance, as a split of the whole pool could
 * leave it. Each class's images, in name order, are shuffled by a generator seeded with
 * data.split_seed and the class's name (so that images added to one class leave every other
 * class's split as it was), and the first round(n × fraction) are held out for testing. Every
 * class keeps at least one training image: a class the network never trains on cannot be learnt.
 */
import { createHash } from 'node:crypto';
import { Random } from '../util/random.js';

/** A class's items (image files, or the digits made of them), in name order. */
export interface ClassItems<T> {
  name: string;
  items: T[];
}

/** The seed of a class's shuffle: the split's seed and the class's name, as 32 bits. */
const classSeed = (seed: number, name: string) => createHash('sha256').update(`${seed}\0${name}`).digest().readUInt32BE(0);

/** How many of a class's n images are held out for testing: round(n × fraction), leaving at least one to train on. */
export const heldOut = (n: number, fraction: number) => Math.max(0, Math.min(Math.round(n * fraction), n - 1));

/** Each class's items split into training and test items, each part in the items' own order. */
export function stratifiedSplit<T>(classes: ClassItems<T>[], fraction: number, seed: number): { train: ClassItems<T>[]; test: ClassItems<T>[] } {
  const train: ClassItems<T>[] = [];
  const test: ClassItems<T>[] = [];
  for (const { name, items } of classes) {
    const order = new Random(classSeed(seed, name)).shuffle(Uint32Array.from(items, (_, i) => i));
    const tested = new Set(order.subarray(0, heldOut(items.length, fraction)));
    // Each part in name order again: the IDX files list a class's images as its folder does.
    train.push({ name, items: items.filter((_, i) => !tested.has(i)) });
    test.push({ name, items: items.filter((_, i) => tested.has(i)) });
  }
  return { train, test };
}
