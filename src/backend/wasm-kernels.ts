/**
 * Kernels the wasm backend lacks or runs slowly, built from its own fast kernels. Registering
 * them as kernels (rather than as gradients) serves every op that needs them: plain and fused
 * convolutions, plain and fused matrix products.
 *
 * - Conv2DBackpropFilter: missing in wasm, so no conv net could train there. The filter
 *   gradient is a forward Conv2D over transposed tensors: x → [ci, H, W, n] as the image,
 *   dy → [oh, ow, n, co] as the filter, with dilation = the convolution's stride.
 * - Conv2DBackpropInput: wasm's kernel is ~5x slower than a forward Conv2D of dy with the
 *   spatially flipped filter (in/out channels swapped) and complementary padding (stride 1).
 * - BatchMatMul with a transposed operand: wasm hands those to a slow generic loop, ~5x slower
 *   than transposing the operand first and using its XNNPACK path.
 * - Slice: wasm's reads the whole input out of the heap (a copy) for every slice; a contiguous
 *   slice (a variable's part of the optimizer's one vector) is copied straight from the heap.
 * - Identity: wasm's copies the tensor. The engine clones every tensor a kernel saves for its
 *   gradient (40 clones per LeNet training step, the largest [64, 28, 28, 6]); tensors are
 *   immutable, so a clone can share the input's memory, counted by reference as wasm's own
 *   Reshape already does.
 *
 * test/wasm-gradients.test.ts checks each against the cpu backend's kernels.
 */
import {
  getKernel,
  registerKernel,
  slice_util,
  util,
  type KernelFunc,
  type NamedAttrMap,
  type Tensor,
  type TensorInfo,
} from './tfjs.js';
import { convInfo, wrapKernel, type ConvAttrs, type WasmBackend as Backend } from './wasm-kernel-tools.js';

const BACKEND = 'wasm';

type Inputs = Record<string, TensorInfo>;

/** Runs another wasm kernel directly, inside this kernel: no tape, no engine bookkeeping. */
function call(name: string, backend: Backend, inputs: Inputs, attrs: NamedAttrMap = {}): TensorInfo {
  const kernel = getKernel(name, BACKEND);
  if (!kernel) throw new Error(`the wasm backend has no ${name} kernel`);
  return kernel.kernelFunc({ inputs, backend, attrs }) as TensorInfo;
}

function release(backend: Backend, ...infos: TensorInfo[]): void {
  for (const info of infos) backend.disposeData(info.dataId);
}

type ExplicitPadding = [[0, 0], [number, number], [number, number], [0, 0]];

const conv2DBackpropFilter: KernelFunc = ({ inputs, backend, attrs }) => {
  const { x, dy } = inputs as Inputs;
  const a = attrs as unknown as ConvAttrs & { filterShape: [number, number, number, number] };
  if (a.dataFormat !== 'NHWC') throw new Error('Conv2DBackpropFilter on wasm supports NHWC only');
  const b = backend as Backend;
  const info = convInfo(x.shape, a.filterShape, a);
  const { top, bottom, left, right } = info.padInfo;
  const image = call('Transpose', b, { x }, { perm: [3, 1, 2, 0] }); // [ci, H, W, n]
  const kernel = call('Transpose', b, { x: dy }, { perm: [1, 2, 0, 3] }); // [oh, ow, n, co]
  const pad: ExplicitPadding = [[0, 0], [top, bottom], [left, right], [0, 0]];
  let g = call('Conv2D', b, { x: image, filter: kernel }, {
    strides: [1, 1], pad, dataFormat: 'NHWC', dilations: [info.strideHeight, info.strideWidth],
  } as unknown as NamedAttrMap); // [ci, kh', kw', co]
  release(b, image, kernel);
  const [kh, kw, ci, co] = a.filterShape;
  if (g.shape[1] !== kh || g.shape[2] !== kw) {
    // Strides that do not divide the padded input leave a margin beyond the filter.
    const cut = call('Slice', b, { x: g }, { begin: [0, 0, 0, 0], size: [ci, kh, kw, co] });
    release(b, g);
    g = cut;
  }
  const out = call('Transpose', b, { x: g }, { perm: [1, 2, 0, 3] });
  release(b, g);
  return out;
};

function fastConv2DBackpropInput(shipped: KernelFunc): KernelFunc {
  return ({ inputs, backend, attrs }) => {
    const { dy, filter } = inputs as Inputs;
    const a = attrs as unknown as ConvAttrs & { inputShape: [number, number, number, number] };
    const info = convInfo(a.inputShape, filter.shape, a);
    const { top, bottom, left, right } = info.padInfo;
    const [kh, kw] = filter.shape;
    const fast = a.dataFormat === 'NHWC' && info.strideHeight === 1 && info.strideWidth === 1 &&
      Math.max(top, bottom) <= kh - 1 && Math.max(left, right) <= kw - 1;
    if (!fast) return shipped({ inputs, backend, attrs });
    const b = backend as Backend;
    const reversed = call('Reverse', b, { x: filter }, { dims: [0, 1] });
    const flipped = call('Transpose', b, { x: reversed }, { perm: [0, 1, 3, 2] }); // [kh, kw, co, ci]
    release(b, reversed);
    const pad: ExplicitPadding = [[0, 0], [kh - 1 - top, kh - 1 - bottom], [kw - 1 - left, kw - 1 - right], [0, 0]];
    const dx = call('Conv2D', b, { x: dy, filter: flipped }, {
      strides: [1, 1], pad, dataFormat: 'NHWC', dilations: [1, 1],
    } as unknown as NamedAttrMap);
    release(b, flipped);
    return dx;
  };
}

function fastBatchMatMul(shipped: KernelFunc): KernelFunc {
  return ({ inputs, backend, attrs }) => {
    const { transposeA, transposeB } = attrs as { transposeA: boolean; transposeB: boolean };
    if (!transposeA && !transposeB) return shipped({ inputs, backend, attrs });
    const b = backend as Backend;
    const swapLast = (t: TensorInfo) => {
      const perm = t.shape.map((_, i) => i);
      [perm[perm.length - 2], perm[perm.length - 1]] = [perm[perm.length - 1], perm[perm.length - 2]];
      return call('Transpose', b, { x: t }, { perm });
    };
    const { a: left, b: right } = inputs as Inputs;
    const l = transposeA ? swapLast(left) : left;
    const r = transposeB ? swapLast(right) : right;
    const out = shipped({ inputs: { a: l, b: r }, backend, attrs: { ...attrs, transposeA: false, transposeB: false } }) as TensorInfo;
    if (transposeA) release(b, l);
    if (transposeB) release(b, r);
    return out;
  };
}

function heapSlice(shipped: KernelFunc): KernelFunc {
  return ({ inputs, backend, attrs }) => {
    const { x } = inputs as Inputs;
    const { begin, size } = attrs as { begin: number | number[]; size: number | number[] };
    const [b, n] = slice_util.parseSliceParams(x as Tensor, begin, size);
    if (x.dtype === 'string' || !slice_util.isSliceContinous(x.shape, b, n)) return shipped({ inputs, backend, attrs });
    const wasm = backend as Backend;
    const offset = slice_util.computeFlatOffset(b, util.computeStrides(x.shape));
    const out = wasm.makeOutput(n, x.dtype);
    wasm.typedArrayFromHeap(out).set(wasm.typedArrayFromHeap(x).subarray(offset, offset + util.sizeFromShape(n)));
    return out;
  };
}

function sharedIdentity(shipped: KernelFunc): KernelFunc {
  return ({ inputs, backend, attrs }) => {
    const { x } = inputs as Inputs;
    if (x.dtype === 'string') return shipped({ inputs, backend, attrs });
    (backend as Backend).incRef(x.dataId);
    return { dataId: x.dataId, shape: x.shape, dtype: x.dtype };
  };
}

let registered = false;

/** Registers the kernels once per thread, after the wasm backend module has loaded. */
export function registerWasmKernels(): void {
  if (registered) return;
  registered = true;
  registerKernel({ kernelName: 'Conv2DBackpropFilter', backendName: BACKEND, kernelFunc: conv2DBackpropFilter });
  wrapKernel('Conv2DBackpropInput', fastConv2DBackpropInput);
  wrapKernel('BatchMatMul', fastBatchMatMul);
  wrapKernel('Identity', sharedIdentity);
  wrapKernel('Slice', heapSlice);
}
