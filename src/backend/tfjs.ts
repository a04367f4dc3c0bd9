/**
 * TensorFlow.js, loaded with `require`. Every module of ours takes tfjs from here, not from
 * '@tensorflow/tfjs' directly: tfjs is a CommonJS bundle that re-exports six others (core,
 * layers, converter, data, the cpu and webgl backends: 6 MB of code), and importing CommonJS
 * from an ES module makes Node parse all of them to find their export names, about 0.15 s more
 * at the start of every worker and every command that trains or evaluates. `require` skips that
 * parse; the module object is the same one an import would give (one engine, one registry).
 * Type-only imports of '@tensorflow/tfjs' cost nothing at run time and may stay where they are.
 */
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
const tf: typeof import('@tensorflow/tfjs') = require('@tensorflow/tfjs');

/** Loads a backend's package for its side effect (it registers itself with tfjs), as `require` does. */
export const loadBackendPackage = (name: string): unknown => require(name);

export const {
  AvgPool,
  Conv2DBackpropFilter,
  FusedConv2D,
  FusedDepthwiseConv2D,
  MaxPool,
  add,
  argMax,
  avgPool,
  backend,
  backend_util,
  cast,
  concat,
  conv2d,
  conv2dTranspose,
  customGrad,
  depthwiseConv2d,
  diag,
  dispose,
  div,
  dropout,
  enableProdMode,
  engine,
  env,
  equal,
  exp,
  findBackend,
  fused,
  getBackend,
  getGradient,
  getKernel,
  image,
  io,
  keep,
  layers,
  logSoftmax,
  matMul,
  maxPool,
  minimum,
  mul,
  neg,
  oneHot,
  ones,
  ready,
  registerGradient,
  registerKernel,
  relu,
  removeBackend,
  reshape,
  rsqrt,
  scalar,
  sequential,
  setBackend,
  sigmoid,
  slice,
  slice_util,
  sqrt,
  square,
  step,
  sub,
  sum,
  tanh,
  tensor,
  tensor1d,
  tensor2d,
  tensor4d,
  tidy,
  unregisterKernel,
  util,
  variable,
  variableGrads,
  where,
  zerosLike,
} = tf;

export type {
  GradConfig,
  GradSaveFunc,
  KernelFunc,
  NamedAttrMap,
  Scalar,
  Sequential,
  Tensor,
  Tensor1D,
  Tensor2D,
  Tensor4D,
  TensorInfo,
  Variable,
} from '@tensorflow/tfjs';
