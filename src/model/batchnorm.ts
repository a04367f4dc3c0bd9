/**
 * Batch normalisation over [n, h, w, c] (per channel), as PyTorch's BatchNorm2d.
 *
 * In training it is one custom-gradient op: composed from tfjs ops, its backward pass was
 * ~20 kernels, most of them slow per-channel broadcasts and reductions on wasm. Here the
 * statistics are reductions of the [n·h·w, c] matrix over its rows, and the input gradient
 * uses the closed form
 *   dx = γ·rstd · (dy − mean(dy) − x̂ · mean(dy·x̂)),  dγ = Σ dy·x̂,  dβ = Σ dy.
 * test/batchnorm.test.ts checks it against automatic differentiation of the plain formula.
 */
import {
  add,
  customGrad,
  div,
  mul,
  reshape,
  rsqrt,
  square,
  sum,
  sub,
  tidy,
  type GradSaveFunc,
  type Tensor,
  type Tensor1D,
  type Tensor2D,
  type Tensor4D,
  type Variable,
} from '@tensorflow/tfjs';

/** PyTorch's BatchNorm2d defaults. */
export const BN_MOMENTUM = 0.1;
export const BN_EPSILON = 1e-5;

export interface BatchNormParams {
  gamma: Variable;
  beta: Variable;
  runningMean: Variable;
  runningVar: Variable;
}

/** Column sums of a [m, c] matrix as [1, c]. */
function columnSums(t: Tensor2D): Tensor2D {
  return sum(t, 0, true);
}

/** Normalises with the batch's statistics; moves the running statistics as a side effect. */
function trainingNorm(x: Tensor4D, bn: BatchNormParams): Tensor4D {
  const [n, h, w, c] = x.shape;
  const m = n * h * w;
  const op = customGrad((input: Tensor | GradSaveFunc, gamma: Tensor | GradSaveFunc, beta: Tensor | GradSaveFunc, save: Tensor | GradSaveFunc) => {
    const x2 = reshape(input as Tensor, [m, c]) as Tensor2D;
    const mean = div(columnSums(x2), m);
    const centered = sub(x2, mean) as Tensor2D;
    const variance = div(columnSums(square(centered) as Tensor2D), m);
    const rstd = rsqrt(add(variance, BN_EPSILON));
    const normalized = mul(centered, rstd);
    const y = add(mul(normalized, gamma as Tensor), beta as Tensor);
    tidy(() => {
      // PyTorch tracks the unbiased variance in its running estimate.
      const unbiased = mul(variance, m / Math.max(1, m - 1));
      bn.runningMean.assign(reshape(add(mul(bn.runningMean, 1 - BN_MOMENTUM), mul(mean, BN_MOMENTUM)), [c]) as Tensor1D);
      bn.runningVar.assign(reshape(add(mul(bn.runningVar, 1 - BN_MOMENTUM), mul(unbiased, BN_MOMENTUM)), [c]) as Tensor1D);
    });
    (save as GradSaveFunc)([normalized, rstd, gamma as Tensor]);
    return {
      value: reshape(y, [n, h, w, c]),
      gradFunc: (dy: Tensor, saved: Tensor[]) => {
        const [xhat, r, g] = saved;
        const dy2 = reshape(dy, [m, c]) as Tensor2D;
        const dBeta = columnSums(dy2);
        const dGamma = columnSums(mul(dy2, xhat) as Tensor2D);
        const inner = sub(sub(dy2, div(dBeta, m)), mul(xhat, div(dGamma, m)));
        const dx = mul(inner, mul(g, r));
        return [reshape(dx, [n, h, w, c]), reshape(dGamma, [c]), reshape(dBeta, [c])];
      },
    };
  });
  return op(x, bn.gamma, bn.beta) as Tensor4D;
}

function inferenceNorm(x: Tensor4D, bn: BatchNormParams): Tensor4D {
  const scale = mul(bn.gamma, rsqrt(add(bn.runningVar, BN_EPSILON)));
  return add(mul(sub(x, bn.runningMean), scale), bn.beta);
}

export function batchNorm(x: Tensor4D, bn: BatchNormParams, training: boolean): Tensor4D {
  return training ? trainingNorm(x, bn) : inferenceNorm(x, bn);
}
