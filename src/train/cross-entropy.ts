/**
 * Softmax cross-entropy of logits [n, k] against one-hot labels, as one op with the textbook
 * gradient (softmax − labels): tfjs's losses.softmaxCrossEntropy records some twenty small
 * kernels forward and back, whose bookkeeping on wasm costs more than their arithmetic on a
 * [64, 10] batch. test/cross-entropy.test.ts checks it against tfjs's.
 */
import { customGrad, exp, logSoftmax, mul, neg, sub, sum, zerosLike, type GradSaveFunc, type Scalar, type Tensor, type Tensor2D } from '../backend/tfjs.js';

/** The mean (or the sum, for evaluation) over the batch of −Σ labels · log softmax(logits). */
export function crossEntropy(labels: Tensor2D, logits: Tensor2D, reduction: 'mean' | 'sum' = 'mean'): Scalar {
  const n = logits.shape[0];
  const scale = reduction === 'mean' ? 1 / n : 1;
  // The labels are an input too: made inside the function being differentiated, they would be
  // released before the gradient runs unless saved with it.
  const op = customGrad((z: Tensor | GradSaveFunc, y: Tensor | GradSaveFunc, save: Tensor | GradSaveFunc) => {
    const logProbs = logSoftmax(z as Tensor2D);
    (save as GradSaveFunc)([logProbs, y as Tensor]);
    return {
      value: mul(neg(sum(mul(y as Tensor, logProbs))), scale) as Scalar,
      gradFunc: (dy: Tensor, [lp, oneHot]: Tensor[]) => [mul(sub(exp(lp), oneHot), mul(dy, scale)), zerosLike(oneHot)],
    };
  });
  return op(logits, labels) as Scalar;
}
