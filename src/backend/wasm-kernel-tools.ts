/**
 * What the two files that put kernels in front of the wasm backend's share: its interface as
 * those kernels use it, a convolution's attributes and geometry, and the replacing of a kernel
 * that keeps the one it replaces for the cases it hands back. wasm-kernels.ts builds kernels from
 * wasm's own; native-kernels.ts runs compiled ones.
 */
import { backend_util, getKernel, registerKernel, unregisterKernel, type KernelFunc, type TensorInfo } from './tfjs.js';
import type * as tfjs from '@tensorflow/tfjs';

/** The wasm backend (tfjs-backend-wasm's BackendWasm), as far as our kernels use it. */
export interface WasmBackend {
  dataIdMap: { get(dataId: object): { memoryOffset: number | null } | undefined };
  disposeData(dataId: object): boolean;
  incRef(dataId: object): void;
  makeOutput(shape: number[], dtype: string): TensorInfo;
  typedArrayFromHeap(t: TensorInfo): Float32Array | Int32Array | Uint8Array;
}

/** The attributes of tfjs's convolution kernels and their gradients (NHWC). */
export interface ConvAttrs {
  strides: number | [number, number];
  pad: 'valid' | 'same' | number | tfjs.backend_util.ExplicitPadding;
  dataFormat: 'NHWC' | 'NCHW';
  /** Absent for the gradients, which tfjs gives none: 1. */
  dilations?: number | [number, number];
  dimRoundingMode?: 'floor' | 'round' | 'ceil';
}

/** A convolution's geometry (output size, padding on each side), as tfjs computes it. */
export function convInfo(xShape: number[], filterShape: number[], a: ConvAttrs): tfjs.backend_util.Conv2DInfo {
  return backend_util.computeConv2DInfo(
    xShape as [number, number, number, number],
    filterShape as [number, number, number, number],
    a.strides, a.dilations ?? 1, a.pad, a.dimRoundingMode, false, 'channelsLast');
}

/** Replaces a kernel of the wasm backend with `make(registered)`, which hands what it does not compute to the kernel registered before it. */
export function wrapKernel(name: string, make: (registered: KernelFunc) => KernelFunc): void {
  const registered = getKernel(name, 'wasm');
  if (!registered) throw new Error(`the wasm backend has no ${name} kernel to wrap`);
  unregisterKernel(name, 'wasm');
  registerKernel({ ...registered, kernelFunc: make(registered.kernelFunc) });
}
