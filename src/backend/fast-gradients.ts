/**
 * Pooling gradients that the wasm backend runs slowly (its AvgPoolGrad and MaxPoolGrad take
 * several times a forward pass), for non-overlapping windows (filter = stride, no padding, the
 * input divisible by the window): an upsampling, masked for max pooling.
 * tfjs keeps one gradient registry for all backends, so each override checks the active
 * backend and hands every other case to the gradient tfjs shipped with.
 *
 * test/wasm-gradients.test.ts checks each against the cpu backend's kernels.
 */
import {
  AvgPool,
  div,
  getBackend,
  getGradient,
  image,
  MaxPool,
  mul,
  registerGradient,
  step,
  sub,
  type GradConfig,
  type NamedAttrMap,
  type Tensor,
  type Tensor4D,
} from './tfjs.js';

/** The backends whose gradients we replace; elsewhere the shipped gradients run. */
const FAST_BACKENDS = new Set(['wasm']);

interface PoolAttrs {
  filterSize: number | [number, number];
  strides: number | [number, number];
  pad: 'valid' | 'same' | number;
}

const pair = (v: number | [number, number]): [number, number] => (typeof v === 'number' ? [v, v] : v);

/** True when pooling windows tile the input exactly, so the gradient is a plain upsampling. */
function tilesExactly(x: Tensor4D, a: PoolAttrs): boolean {
  const [fh, fw] = pair(a.filterSize);
  const [sh, sw] = pair(a.strides);
  const noPad = a.pad === 'valid' || a.pad === 0;
  return noPad && fh === sh && fw === sw && x.shape[1] % fh === 0 && x.shape[2] % fw === 0;
}

/**
 * Repeats every pixel of t [n, oh, ow, c] into a fh×fw block: [n, oh·fh, ow·fw, c]. A
 * nearest-neighbour resize to a whole multiple of the size does exactly that (source pixel
 * floor(i / f)), in one wasm kernel: twice as fast as a product with [I I …] along the width and
 * row copies along the height, several times a broadcasting multiply.
 */
function upsample(t: Tensor4D, fh: number, fw: number): Tensor4D {
  const [, oh, ow] = t.shape;
  return image.resizeNearestNeighbor(t, [oh * fh, ow * fw]);
}

function registerPool(kernelName: string, grad: (dy: Tensor4D, saved: Tensor[], fh: number, fw: number) => Tensor): void {
  const shipped = getGradient(kernelName);
  if (!shipped) throw new Error(`tfjs has no ${kernelName} gradient to fall back on`);
  const config: GradConfig = {
    ...shipped,
    gradFunc: (dy: Tensor | Tensor[], saved: Tensor[], attrs: NamedAttrMap) => {
      const a = attrs as unknown as PoolAttrs;
      if (!FAST_BACKENDS.has(getBackend()) || !tilesExactly(saved[0] as Tensor4D, a)) {
        return shipped.gradFunc(dy, saved, attrs);
      }
      const [fh, fw] = pair(a.filterSize);
      return { x: () => grad(dy as Tensor4D, saved, fh, fw) };
    },
  };
  registerGradient(config);
}

let registered = false;

/** Installs the overrides once per thread; safe to call again. */
export function registerFastGradients(): void {
  if (registered) return;
  registered = true;
  registerPool(AvgPool, (dy, _saved, fh, fw) => div(upsample(dy, fh, fw), fh * fw));
  // Max pooling routes the gradient to the positions that held the window's maximum.
  registerPool(MaxPool, (dy, saved, fh, fw) => {
    const [x, y] = saved as [Tensor4D, Tensor4D];
    // 1 where x equals its window's maximum, else 0: (max − x) is 0 there and positive elsewhere.
    const winners = sub(1, step(sub(upsample(y, fh, fw), x)));
    return mul(upsample(dy, fh, fw), winners);
  });
}
