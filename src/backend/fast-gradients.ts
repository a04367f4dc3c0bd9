/**
 * Gradients that the wasm backend lacks or runs slowly, expressed with its fast forward
 * kernels. tfjs keeps one gradient registry for all backends, so each override checks the
 * active backend and hands every other case to the gradient tfjs shipped with.
 *
 * - Conv2D filter gradient: wasm has no Conv2DBackpropFilter kernel at all. It equals a
 *   forward conv2d over transposed tensors: x → [ci, H, W, n] as the image, dy → [oh, ow, n, co]
 *   as the filter, with dilation = the original stride.
 * - Conv2D input gradient: wasm's Conv2DBackpropInput is ~5x slower than a forward conv2d
 *   with the spatially flipped filter (in/out channels swapped) and complementary padding.
 * - AvgPool / MaxPool gradients for non-overlapping windows (filter = stride, no padding, the
 *   input divisible by the window): an upsampling by broadcast, masked for max pooling.
 *
 * Each one is checked against the cpu backend's own kernels in test/fast-gradients.test.ts.
 */
import {
  AvgPool,
  backend_util,
  Conv2D,
  conv2d,
  div,
  equal,
  getBackend,
  getGradient,
  MaxPool,
  mul,
  ones,
  registerGradient,
  reshape,
  reverse,
  slice,
  transpose,
  cast,
  type GradConfig,
  type NamedAttrMap,
  type Tensor,
  type Tensor4D,
} from '@tensorflow/tfjs';

/** The backends whose gradients we replace; elsewhere the shipped gradients run. */
const FAST_BACKENDS = new Set(['wasm']);

type ExplicitPad = [[0, 0], [number, number], [number, number], [0, 0]];

interface ConvAttrs {
  strides: number | [number, number];
  pad: 'valid' | 'same' | number | backend_util.ExplicitPadding;
  dataFormat: 'NHWC' | 'NCHW';
  dilations: number | [number, number];
  dimRoundingMode?: 'floor' | 'round' | 'ceil';
}

interface PoolAttrs {
  filterSize: number | [number, number];
  strides: number | [number, number];
  pad: 'valid' | 'same' | number;
}

const pair = (v: number | [number, number]): [number, number] => (typeof v === 'number' ? [v, v] : v);

function convFilterGrad(x: Tensor4D, dy: Tensor4D, filterShape: number[], info: backend_util.Conv2DInfo): Tensor {
  const { top, bottom, left, right } = info.padInfo;
  const image = transpose(x, [3, 1, 2, 0]); // [ci, H, W, n]
  const kernel = transpose(dy, [1, 2, 0, 3]); // [oh, ow, n, co]
  const pad: ExplicitPad = [[0, 0], [top, bottom], [left, right], [0, 0]];
  let g = conv2d(image, kernel, 1, pad, 'NHWC', [info.strideHeight, info.strideWidth]); // [ci, kh', kw', co]
  const [kh, kw] = filterShape;
  if (g.shape[1] !== kh || g.shape[2] !== kw) g = slice(g, [0, 0, 0, 0], [-1, kh, kw, -1]);
  return transpose(g, [1, 2, 0, 3]);
}

function convInputGrad(dy: Tensor4D, filter: Tensor4D, info: backend_util.Conv2DInfo): Tensor {
  const { top, bottom, left, right } = info.padInfo;
  const [kh, kw] = filter.shape;
  const flipped = transpose(reverse(filter, [0, 1]), [0, 1, 3, 2]); // [kh, kw, co, ci]
  const pad: ExplicitPad = [[0, 0], [kh - 1 - top, kh - 1 - bottom], [kw - 1 - left, kw - 1 - right], [0, 0]];
  return conv2d(dy, flipped as Tensor4D, 1, pad, 'NHWC');
}

function registerConv2D(): void {
  const shipped = getGradient(Conv2D);
  if (!shipped) throw new Error('tfjs has no Conv2D gradient to fall back on');
  registerGradient({
    kernelName: Conv2D,
    inputsToSave: ['x', 'filter'],
    gradFunc: (dy: Tensor | Tensor[], saved: Tensor[], attrs: NamedAttrMap) => {
      const a = attrs as unknown as ConvAttrs;
      const [x, filter] = saved as [Tensor4D, Tensor4D];
      const [dh, dw] = pair(a.dilations);
      if (!FAST_BACKENDS.has(getBackend()) || a.dataFormat !== 'NHWC' || dh !== 1 || dw !== 1) {
        return shipped.gradFunc(dy, saved, attrs);
      }
      const info = backend_util.computeConv2DInfo(
        x.shape, filter.shape, a.strides, a.dilations, a.pad, a.dimRoundingMode, false, 'channelsLast');
      const { top, bottom, left, right } = info.padInfo;
      const [kh, kw] = filter.shape;
      const inputFast = info.strideHeight === 1 && info.strideWidth === 1 &&
        Math.max(top, bottom) <= kh - 1 && Math.max(left, right) <= kw - 1;
      const fallback = shipped.gradFunc(dy, saved, attrs);
      return {
        x: inputFast ? () => convInputGrad(dy as Tensor4D, filter, info) : fallback.x,
        filter: () => convFilterGrad(x, dy as Tensor4D, filter.shape, info),
      };
    },
  });
}

/** True when pooling windows tile the input exactly, so the gradient is a plain upsampling. */
function tilesExactly(x: Tensor4D, a: PoolAttrs): boolean {
  const [fh, fw] = pair(a.filterSize);
  const [sh, sw] = pair(a.strides);
  const noPad = a.pad === 'valid' || a.pad === 0;
  return noPad && fh === sh && fw === sw && x.shape[1] % fh === 0 && x.shape[2] % fw === 0;
}

/** Repeats every pixel of t [n, oh, ow, c] into a fh×fw block: [n, oh·fh, ow·fw, c]. */
function upsample(t: Tensor4D, fh: number, fw: number): Tensor4D {
  const [n, oh, ow, c] = t.shape;
  const spread = mul(reshape(t, [n * oh, 1, ow, 1, c]), ones([1, fh, 1, fw, 1]));
  return reshape(spread, [n, oh * fh, ow * fw, c]);
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
  registerConv2D();
  registerPool(AvgPool, (dy, _saved, fh, fw) => div(upsample(dy, fh, fw), fh * fw));
  // Max pooling routes the gradient to the positions that held the window's maximum.
  registerPool(MaxPool, (dy, saved, fh, fw) => {
    const [x, y] = saved as [Tensor4D, Tensor4D];
    const winners = cast(equal(x, upsample(y, fh, fw)), 'float32');
    return mul(upsample(dy, fh, fw), winners);
  });
}
