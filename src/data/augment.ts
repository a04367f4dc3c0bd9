/**
 * On-the-fly augmentation: each training image of a batch gets its own random rotation, scaling
 * and translation about the image centre, applied as one affine transform on the backend
 * (tf.image.transform, bilinear). The labels are untouched. Pixels that come from outside the
 * image are background: the normalised value of 0.
 */
import { concat, getBackend, image, slice, tensor2d, tidy, type Tensor4D } from '../backend/tfjs.js';
import type { Experiment } from '../config/experiment.types.js';
import type { Random } from '../util/random.js';

export type AugmentConfig = Experiment['augment'];

export interface Affine {
  /** Degrees, counter-clockwise on screen. */
  angle: number;
  scale: number;
  dx: number;
  dy: number;
}

export const isAugmenting = (a: AugmentConfig): boolean => a.rotate > 0 || a.scale > 0 || a.translate > 0;

export function drawAffine(a: AugmentConfig, rng: Random): Affine {
  return {
    angle: rng.uniform(-a.rotate, a.rotate),
    scale: rng.uniform(1 - a.scale, 1 + a.scale),
    dx: rng.uniform(-a.translate, a.translate),
    dy: rng.uniform(-a.translate, a.translate),
  };
}

/**
 * The 8 numbers tf.image.transform wants: they map each output pixel back to where it is
 * read in the input, so this is the inverse of "rotate and scale about the centre, then shift".
 */
export function inverseTransform(t: Affine, height: number, width: number): number[] {
  const cx = (width - 1) / 2;
  const cy = (height - 1) / 2;
  // Image rows grow downwards: a counter-clockwise turn on screen is a negative angle in (x, y).
  const theta = (-t.angle * Math.PI) / 180;
  const cos = Math.cos(theta) / t.scale;
  const sin = Math.sin(theta) / t.scale;
  // input = R(−θ)/s · (output − centre − shift) + centre
  const a0 = cos;
  const a1 = sin;
  const b0 = -sin;
  const b1 = cos;
  const ox = cx + t.dx;
  const oy = cy + t.dy;
  return [a0, a1, cx - a0 * ox - a1 * oy, b0, b1, cy - b0 * ox - b1 * oy, 0, 0];
}

/** Applies one transform per image; `background` is the value of an empty pixel. */
export function applyAffine(images: Tensor4D, transforms: Affine[], background: number): Tensor4D {
  const [n, h, w] = images.shape;
  return tidy(() => {
    const matrix = tensor2d(transforms.map((t) => inverseTransform(t, h, w)), [transforms.length, 8]);
    // tfjs 4.22's cpu Transform kernel fills every image after the first with the fill value
    // (wasm's and webgpu's are right): on cpu, one image at a time.
    if (getBackend() === 'cpu' && n > 1) {
      return concat(Array.from({ length: n }, (_, i) => image.transform(slice(images, i, 1), slice(matrix, i, 1), 'bilinear', 'constant', background)));
    }
    return image.transform(images, matrix, 'bilinear', 'constant', background);
  });
}

export function augmentBatch(images: Tensor4D, config: AugmentConfig, rng: Random, background: number): Tensor4D {
  const transforms = Array.from({ length: images.shape[0] }, () => drawAffine(config, rng));
  return applyAffine(images, transforms, background);
}
