/**
 * Per-channel sums of a tensor whose last axis is the channel: over [n, h, w, c] (batch
 * normalisation's statistics and gradients, a convolution's bias gradient) and over [n, c].
 * For images a global average pooling first (one pass in XNNPACK, channels contiguous), then a
 * sum over the n images: on wasm half the time of a reduction over the leading axes, which it
 * runs as a transpose and then a reduction.
 */
import { avgPool, mul, reshape, sum, type Tensor, type Tensor1D, type Tensor4D } from '../backend/tfjs.js';

export function channelSums(t: Tensor): Tensor1D {
  if (t.rank !== 4) return sum(reshape(t, [-1, t.shape[t.rank - 1]]), 0);
  const [n, h, w, c] = (t as Tensor4D).shape;
  const means = avgPool(t as Tensor4D, [h, w], [h, w], 'valid');
  return mul(sum(reshape(means, [n, c]), 0), h * w) as Tensor1D;
}
