/**
 * Batch normalisation per channel, the last axis: over [n, h, w, c] as PyTorch's BatchNorm2d,
 * over [n, c] as its BatchNorm1d.
 *
 * In training it is one custom-gradient op: composed from tfjs ops, its backward pass was
 * ~20 kernels, most of them slow per-channel broadcasts and reductions on wasm. Here the
 * statistics are per-channel sums (channel-sums.ts), per-channel scaling is a
 * product with a diagonal matrix (see channelAffine), and the input gradient uses the closed form
 *   dx = γ·rstd · (dy − mean(dy) − x̂ · mean(dy·x̂)),  dγ = Σ dy·x̂,  dβ = Σ dy.
 * test/batchnorm.test.ts checks it against automatic differentiation of the plain formula.
 */
import {
  add,
  customGrad,
  diag,
  div,
  fused,
  neg,
  ones,
  mul,
  reshape,
  rsqrt,
  square,
  sub,
  tidy,
  type GradSaveFunc,
  type Tensor,
  type Tensor1D,
  type Tensor2D,
  type Variable,
} from '../backend/tfjs.js';
import { channelSums } from './channel-sums.js';

/** PyTorch's BatchNorm2d defaults. */
export const BN_MOMENTUM = 0.1;
export const BN_EPSILON = 1e-5;

export interface BatchNormParams {
  gamma: Variable;
  beta: Variable;
  runningMean: Variable;
  runningVar: Variable;
}

/**
 * t·diag(scale) + shift for t [m, c] and per-channel scale and shift [c]. On wasm a broadcast
 * multiply or add over [m, c] takes a generic slow path; a product with a c×c diagonal matrix
 * (bias fused) runs in XNNPACK at a fraction of the cost.
 */
function channelAffine(t: Tensor2D, scale: Tensor1D, shift?: Tensor1D): Tensor2D {
  return fused.matMul({ a: t, b: diag(scale) as Tensor2D, bias: shift }) as Tensor2D;
}

/** Normalises with the batch's statistics; moves the running statistics as a side effect. */
function trainingNorm<T extends Tensor>(x: T, bn: BatchNormParams): T {
  const shape = x.shape;
  const c = shape[shape.length - 1];
  const m = x.size / c;
  const op = customGrad((input: Tensor | GradSaveFunc, gamma: Tensor | GradSaveFunc, beta: Tensor | GradSaveFunc, save: Tensor | GradSaveFunc) => {
    const x2 = reshape(input as Tensor, [m, c]) as Tensor2D;
    const mean = div(channelSums(input as Tensor), m) as Tensor1D;
    const centered = channelAffine(x2, ones([c]) as Tensor1D, neg(mean));
    const variance = div(channelSums(reshape(square(centered), shape)), m) as Tensor1D;
    const rstd = rsqrt(add(variance, BN_EPSILON)) as Tensor1D;
    const scale = mul(gamma as Tensor1D, rstd) as Tensor1D;
    const y = channelAffine(centered, scale, beta as Tensor1D);
    tidy(() => {
      // PyTorch tracks the unbiased variance in its running estimate.
      const unbiased = mul(variance, m / Math.max(1, m - 1));
      bn.runningMean.assign(add(mul(bn.runningMean, 1 - BN_MOMENTUM), mul(mean, BN_MOMENTUM)) as Tensor1D);
      bn.runningVar.assign(add(mul(bn.runningVar, 1 - BN_MOMENTUM), mul(unbiased, BN_MOMENTUM)) as Tensor1D);
    });
    (save as GradSaveFunc)([centered, rstd, scale]);
    return {
      value: reshape(y, shape),
      gradFunc: (dy: Tensor, saved: Tensor[]) => {
        const [xc, r, k] = saved as [Tensor2D, Tensor1D, Tensor1D];
        const dy2 = reshape(dy, [m, c]) as Tensor2D;
        const dBeta = channelSums(dy);
        const dGamma = mul(channelSums(reshape(mul(dy2, xc), shape)), r) as Tensor1D;
        // dx = k·(dy − dβ/m) − x̂·k·dγ/m, with x̂ = xc·r: two diagonal products and one add.
        const fromDy = channelAffine(dy2, k, mul(k, div(dBeta, -m)) as Tensor1D);
        const fromX = channelAffine(xc, mul(mul(k, r), div(dGamma, -m)) as Tensor1D);
        return [reshape(add(fromDy, fromX), shape), dGamma, dBeta];
      },
    };
  });
  return op(x, bn.gamma, bn.beta) as T;
}

function inferenceNorm<T extends Tensor>(x: T, bn: BatchNormParams): T {
  const scale = mul(bn.gamma, rsqrt(add(bn.runningVar, BN_EPSILON)));
  return add(mul(sub(x, bn.runningMean), scale), bn.beta);
}

export function batchNorm<T extends Tensor>(x: T, bn: BatchNormParams, training: boolean): T {
  return training ? trainingNorm(x, bn) : inferenceNorm(x, bn);
}
