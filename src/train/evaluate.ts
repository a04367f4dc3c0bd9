/**
 * A model's mean loss and accuracy over a split, in inference mode (validation after each
 * epoch, the test set at the end, `sweep evaluate`), read without blocking the thread.
 */
import { argMax, cast, dispose, equal, oneHot, sum, tensor1d, tensor4d, tidy, type Tensor, type Tensor2D } from '../backend/tfjs.js';
import { gather, type Dataset, type Split } from '../data/dataset.js';
import type { LeNet } from '../model/lenet.js';
import { crossEntropy } from './cross-entropy.js';

/** The first element of a tensor, read without blocking the thread (the only way on webgpu). */
export async function first(t: Tensor): Promise<number> {
  return (await t.data())[0];
}

/**
 * Lets the event loop run: tfjs's reads resolve as microtasks on wasm and cpu, so a loop of
 * them never gives signal handlers a turn, and Ctrl-C in `sweep evaluate` or `export` was read
 * only once the whole split had been evaluated (the command then ended with 0, as if never asked).
 */
const turn = () => new Promise<void>((resolve) => setImmediate(resolve));

/** Mean loss and accuracy over a split, in inference mode; with `confusion`, its confusion matrix too. */
export async function evaluate(model: LeNet, data: Dataset, split: Split, chunk = 1000, confusion = false): Promise<{ loss: number; acc: number; confusion: number[][] | null }> {
  let lossSum = 0;
  let correct = 0;
  const matrix = confusion ? Array.from({ length: data.classes }, () => new Array<number>(data.classes).fill(0)) : null;
  for (let start = 0; start < split.count; start += chunk) {
    // Between chunks: a stop signal is heard while a large split is evaluated.
    if (start > 0) await turn();
    const n = Math.min(chunk, split.count - start);
    const { images, labels } = gather(data, split, null, start, n);
    const sums = tidy(() => {
      const x = tensor4d(images, [n, data.height, data.width, 1]);
      const y = tensor1d(labels, 'int32');
      const logits = model.forward(x, false);
      const loss = crossEntropy(oneHot(y, data.classes) as Tensor2D, logits, 'sum');
      const predicted = argMax(logits, 1);
      return [loss, sum(cast(equal(predicted, y), 'float32')), ...(matrix ? [predicted] : [])];
    });
    try {
      lossSum += await first(sums[0]);
      correct += await first(sums[1]);
      if (matrix) {
        const predicted = await sums[2].data();
        for (let i = 0; i < n; i++) matrix[labels[i]][predicted[i]]++;
      }
    } finally {
      dispose(sums);
    }
  }
  return { loss: lossSum / split.count, acc: correct / split.count, confusion: matrix };
}
