/**
 * Kernels compiled for this CPU at install (native/: a Node-API addon built by
 * scripts/build-native.mjs), which the wasm backend runs in place of its own for the heavy part of
 * a LeNet step: convolutions and their two gradients, matrix products (the dense layers, their
 * gradients, batch normalisation's diagonal products) and the pooling gradients' upsampling. They
 * read and write the tensors where wasm keeps them (views of its heap: nothing is copied) and add
 * their products in XNNPACK's order, one rounding per multiply and per add, so every tensor has
 * the same bits as without them (NaN aside: where a NaN comes out, XNNPACK's kernels give NaN, 0
 * or -Infinity by the kernel a shape picks, ours NaN; native/convolution.h): only the speed
 * changes (wasm SIMD is 4 lanes without fused multiply-add; AVX-512 gives 16).
 * test/native-kernels.test.ts compares them bit for bit, kernel by kernel and for whole trainings.
 *
 * Where the addon did not build or load (native-addon.ts), wasm's kernels run as before. Which
 * kernels run is part of the backend choice (the one piece of per-thread global state):
 * `useNativeKernels` switches them, for the tests and benchmarks that compare the two.
 */
import { loadNativeAddon } from './native-addon.js';
import { type KernelFunc, type TensorInfo } from './tfjs.js';
import { convInfo, wrapKernel, type ConvAttrs, type WasmBackend } from './wasm-kernel-tools.js';
import type * as tfjs from '@tensorflow/tfjs';

/** Whether the compiled kernels run in this thread (they do wherever they loaded, unless switched off). */
let enabled = true;

/** The addon, where its kernels run in this thread now. */
const activeAddon = () => (enabled ? loadNativeAddon().addon : null);

/** Switches the compiled kernels on or off in this thread; returns whether they are available at all. */
export function useNativeKernels(on: boolean): boolean {
  enabled = on;
  return loadNativeAddon().addon !== null;
}

type Inputs = Record<string, TensorInfo | undefined>;

/** The convolution kernels' attributes, with what the fused forward pass and the two gradients add. */
type ConvKernelAttrs = ConvAttrs & {
  activation?: string;
  filterShape?: [number, number, number, number];
  inputShape?: [number, number, number, number];
};

function shapeOf(c: tfjs.backend_util.Conv2DInfo): Int32Array {
  return Int32Array.from([
    c.batchSize, c.inHeight, c.inWidth, c.inChannels,
    c.filterHeight, c.filterWidth, c.outChannels,
    c.strideHeight, c.strideWidth, c.dilationHeight, c.dilationWidth,
    c.padInfo.top, c.padInfo.left, c.outHeight, c.outWidth,
  ]);
}

const floats = (t: TensorInfo | undefined): boolean => t !== undefined && t.dtype === 'float32';

/** A bias the compiled kernels add: none, or float32 [n], one value per output channel or column. */
const addableBias = (bias: TensorInfo | undefined, n: number): boolean => !bias || (floats(bias) && bias.shape.length === 1 && bias.shape[0] === n);

/** The fused activations the compiled kernels apply: none (linear) and relu; prelu's weights and the rest are wasm's. */
const appliedActivation = (activation: string, preluWeights: TensorInfo | undefined): boolean => !preluWeights && (activation === 'linear' || activation === 'relu');

/**
 * The heap's view of a tensor, taken after every output is made (making one may grow the heap and
 * detach older views). wasm's malloc answers 0 when its heap is full, and wasm's own kernels then
 * write there until the module traps; here that is the trap itself, which the worker reports as
 * the heap running out (worker/train-trial.ts), never a write over the heap's first bytes.
 */
function view(b: WasmBackend, t: TensorInfo): Float32Array {
  if (b.dataIdMap.get(t.dataId)?.memoryOffset === 0) {
    throw new WebAssembly.RuntimeError(`memory access out of bounds: the wasm heap could not hold a [${t.shape.join(', ')}] tensor`);
  }
  return b.typedArrayFromHeap(t) as Float32Array;
}

/**
 * Makes the output and fills it with the compiled kernel; where the addon refuses (sizes beyond
 * what it computes, or no memory for its scratch copies), the wasm kernel computes it instead.
 * A full wasm heap is not refused but thrown (see view).
 */
function computed(args: Parameters<KernelFunc>[0], shipped: KernelFunc, shape: number[], fill: (out: TensorInfo) => void) {
  const b = args.backend as WasmBackend;
  const out = b.makeOutput(shape, 'float32');
  try {
    fill(out);
  } catch (err) {
    b.disposeData(out.dataId);
    if (err instanceof WebAssembly.RuntimeError) throw err;
    return shipped(args);
  }
  return out;
}

/**
 * The convolution's geometry where the compiled kernels compute what wasm does, else null: NHWC,
 * no empty tensor, and outputs that need no more rows and columns than the input and its padding
 * hold (a dimRoundingMode of 'ceil' or 'round' can ask for more, where XNNPACK leaves part of the
 * output unwritten).
 */
function convolution(xShape: number[], filterShape: number[], a: ConvKernelAttrs): tfjs.backend_util.Conv2DInfo | null {
  if (a.dataFormat !== 'NHWC' || [...xShape, ...filterShape].some((d) => d === 0)) return null;
  const c = convInfo(xShape, filterShape, a);
  const { top, bottom, left, right } = c.padInfo;
  const rows = (c.outHeight - 1) * c.strideHeight + (c.filterHeight - 1) * c.dilationHeight + 1;
  const columns = (c.outWidth - 1) * c.strideWidth + (c.filterWidth - 1) * c.dilationWidth + 1;
  if (c.outHeight === 0 || c.outWidth === 0 || rows > c.inHeight + top + bottom || columns > c.inWidth + left + right) return null;
  return c;
}

/** A gradient's dy must have the convolution's output shape; one that does not (a conv2dTranspose given another outputShape) is wasm's to handle. */
const sameShape = (a: number[], b: number[]) => a.length === b.length && a.every((d, i) => d === b[i]);

function nativeForward(shipped: KernelFunc): KernelFunc {
  return (args) => {
    const addon = activeAddon();
    const { x, filter, bias, preluActivationWeights } = args.inputs as Inputs;
    const a = args.attrs as unknown as ConvKernelAttrs;
    const activation = a.activation ?? 'linear';
    const c = addon && floats(x) && floats(filter) ? convolution(x!.shape, filter!.shape, a) : null;
    if (!c || !appliedActivation(activation, preluActivationWeights) || !addableBias(bias, c.outChannels)) return shipped(args);
    const b = args.backend as WasmBackend;
    return computed(args, shipped, c.outShape, (out) =>
      addon!.forward(view(b, x!), view(b, filter!), bias ? view(b, bias) : null, view(b, out), shapeOf(c), activation === 'relu'));
  };
}

function nativeFilterGradient(shipped: KernelFunc): KernelFunc {
  return (args) => {
    const addon = activeAddon();
    const { x, dy } = args.inputs as Inputs;
    const a = args.attrs as unknown as ConvKernelAttrs;
    const c = addon && floats(x) && floats(dy) ? convolution(x!.shape, a.filterShape!, a) : null;
    if (!c || !sameShape(dy!.shape, c.outShape)) return shipped(args);
    const b = args.backend as WasmBackend;
    return computed(args, shipped, a.filterShape!, (dw) => addon!.filterGradient(view(b, x!), view(b, dy!), view(b, dw), shapeOf(c)));
  };
}

/** Stride 1 and padding within the filter: the cases the wasm path computes as a flipped forward convolution (wasm-kernels.ts). */
function nativeInputGradient(shipped: KernelFunc): KernelFunc {
  return (args) => {
    const addon = activeAddon();
    const { dy, filter } = args.inputs as Inputs;
    const a = args.attrs as unknown as ConvKernelAttrs;
    const c = addon && floats(dy) && floats(filter) ? convolution(a.inputShape!, filter!.shape, a) : null;
    if (!c || !sameShape(dy!.shape, c.outShape) || c.strideHeight !== 1 || c.strideWidth !== 1 || c.dilationHeight !== 1 || c.dilationWidth !== 1 ||
        Math.max(c.padInfo.top, c.padInfo.bottom) > c.filterHeight - 1 || Math.max(c.padInfo.left, c.padInfo.right) > c.filterWidth - 1) {
      return shipped(args);
    }
    const b = args.backend as WasmBackend;
    return computed(args, shipped, a.inputShape!, (dx) => addon!.inputGradient(view(b, dy!), view(b, filter!), view(b, dx), shapeOf(c)));
  };
}

/**
 * A matrix product [1, m, k] by [1, k, n] (either transposed), with a bias [n] and relu for
 * _FusedMatMul: the dense layers, their gradients and batch normalisation's diagonal products.
 * wasm sums a batch of several matrices, and a fused product with a transposed operand, in
 * another order: those go to its kernel (the model has neither; the gradients' transposed
 * products are BatchMatMul), as do other activations.
 */
function nativeMatMul(fused: boolean) {
  return (shipped: KernelFunc): KernelFunc => (args) => {
    const addon = activeAddon();
    const { a, b, bias, preluActivationWeights } = args.inputs as Inputs;
    const { transposeA, transposeB, activation = 'linear' } = args.attrs as { transposeA: boolean; transposeB: boolean; activation?: string };
    if (!addon || !floats(a) || !floats(b) || a!.shape.length !== 3 || b!.shape.length !== 3 || a!.shape[0] !== 1 || b!.shape[0] !== 1 ||
        !appliedActivation(activation, preluActivationWeights) || (fused && (transposeA || transposeB))) {
      return shipped(args);
    }
    const [batch, m, k] = transposeA ? [a!.shape[0], a!.shape[2], a!.shape[1]] : a!.shape;
    const n = transposeB ? b!.shape[1] : b!.shape[2];
    if (m === 0 || k === 0 || n === 0) return shipped(args);
    if ((transposeB ? b!.shape[2] : b!.shape[1]) !== k || !addableBias(bias, n)) return shipped(args);
    const wasm = args.backend as WasmBackend;
    return computed(args, shipped, [batch, m, n], (out) =>
      addon.matMul(view(wasm, a!), view(wasm, b!), bias ? view(wasm, bias) : null, view(wasm, out),
        Int32Array.from([batch, m, k, n, transposeA ? 1 : 0, transposeB ? 1 : 0, activation === 'relu' ? 1 : 0])));
  };
}

const powerOfTwo = (f: number) => Number.isInteger(f) && f >= 1 && (f & (f - 1)) === 0;

/**
 * A nearest-neighbour resize to a power-of-two multiple of the size (the pooling gradients'
 * upsampling, fast-gradients.ts), as a copy. wasm's kernel finds each source pixel as
 * floor(y · old/new) in float32, which is y / f exactly where 1/f is a power of two; other
 * factors, corner alignment and half-pixel centres go to the wasm kernel.
 */
function nativeUpsample(shipped: KernelFunc): KernelFunc {
  return (args) => {
    const addon = activeAddon();
    const { images } = args.inputs as Inputs;
    const { alignCorners, halfPixelCenters, size } = args.attrs as { alignCorners: boolean; halfPixelCenters: boolean; size: [number, number] };
    if (!addon || !floats(images) || images!.shape.length !== 4 || alignCorners || halfPixelCenters) return shipped(args);
    const [n, h, w, c] = images!.shape;
    if ([n, h, w, c].some((d) => d === 0)) return shipped(args);
    const [fy, fx] = [size[0] / h, size[1] / w];
    if (!powerOfTwo(fy) || !powerOfTwo(fx)) return shipped(args);
    const wasm = args.backend as WasmBackend;
    return computed(args, shipped, [n, size[0], size[1], c], (out) => addon.upsample(view(wasm, images!), view(wasm, out), Int32Array.from([n, h, w, c, fy, fx])));
  };
}

let registered = false;

/** Registers the compiled kernels once per thread, after registerWasmKernels (whose kernels they fall back to). */
export function registerNativeKernels(): void {
  if (registered) return;
  registered = true;
  wrapKernel('Conv2D', nativeForward);
  wrapKernel('FusedConv2D', nativeForward);
  wrapKernel('Conv2DBackpropFilter', nativeFilterGradient);
  wrapKernel('Conv2DBackpropInput', nativeInputGradient);
  wrapKernel('BatchMatMul', nativeMatMul(false));
  wrapKernel('_FusedMatMul', nativeMatMul(true));
  wrapKernel('ResizeNearestNeighbor', nativeUpsample);
}
