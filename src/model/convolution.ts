/**
 * A convolution layer's core as one op with a gradient of its own: conv2d, + bias, and relu
 * when that is the activation, forward through tfjs's fused conv2d (XNNPACK adds the bias and
 * clips inside the convolution; a separate broadcast add over [n, 28, 28, 6] cost wasm more
 * than half a convolution). Its gradient computes only what training needs:
 * - no input gradient for the first layer, whose input is the image (tfjs's own fused conv2d
 *   always computes it, which is why the layers were unfused before);
 * - relu's gradient from the output: y > 0 exactly where the input was;
 * - the bias gradient as per-channel sums (channel-sums.ts), not a reduction over three axes.
 * The forward pass calls the FusedConv2D kernel itself: tfjs's fused.conv2d falls back to three
 * separate ops whenever gradients are being recorded, as they are here.
 * On webgpu a one-channel input (conv1 over the image) is convolved as the depthwise convolution
 * it equals (channel multiplier = filters; the filter [5, 5, 1, out] is laid out alike for both):
 * tfjs-backend-webgpu's conv2d took 112 ms for conv1 at batch 64 on lavapipe, its depthwise
 * convolution 16 ms, about 40% of a training step, with the same bits (test/webgpu.test.ts). On
 * wasm XNNPACK's conv2d is the faster of the two, so it stays.
 * test/convolution.test.ts checks it against tfjs's gradients of the unfused layer.
 */
import {
  Conv2DBackpropFilter,
  conv2d,
  conv2dTranspose,
  customGrad,
  engine,
  FusedConv2D,
  FusedDepthwiseConv2D,
  depthwiseConv2d,
  getBackend,
  mul,
  step,
  type GradSaveFunc,
  type Tensor,
  type Tensor1D,
  type Tensor4D,
} from '../backend/tfjs.js';
import { channelSums } from './channel-sums.js';

export interface ConvolutionOptions {
  pad: 'same' | 'valid';
  /** Apply relu inside the op (the layer's activation, with no batch normalisation between). */
  relu: boolean;
  /** Whether the input needs a gradient: false for the first layer. */
  inputGradient: boolean;
}

/** Whether a convolution of this input runs as a depthwise convolution (see above). */
export const asDepthwise = (x: Tensor4D, backend: string): boolean => backend === 'webgpu' && x.shape[3] === 1;

export function convolve(x: Tensor4D, filter: Tensor4D, bias: Tensor1D | undefined, options: ConvolutionOptions): Tensor4D {
  const { pad, relu } = options;
  const depthwise = asDepthwise(x, getBackend());
  const forward = (input: Tensor4D, f: Tensor4D, b: Tensor1D | undefined): Tensor4D =>
    b || relu
      ? (engine().runKernel(depthwise ? FusedDepthwiseConv2D : FusedConv2D, b ? { x: input, filter: f, bias: b } : { x: input, filter: f }, {
          strides: 1,
          pad,
          dataFormat: 'NHWC',
          dilations: 1,
          activation: relu ? 'relu' : 'linear',
        }) as Tensor4D)
      : depthwise
        ? depthwiseConv2d(input, f, 1, pad)
        : conv2d(input, f, 1, pad);

  /** The gradients of filter, bias (if any) and input (if asked), in that order. */
  const backward = (dy: Tensor4D, y: Tensor4D, input: Tensor4D, f: Tensor4D): Tensor[] => {
    const dz = relu ? (mul(dy, step(y)) as Tensor4D) : dy;
    const dFilter = engine().runKernel(Conv2DBackpropFilter, { x: input, dy: dz }, { strides: 1, pad, dataFormat: 'NHWC', filterShape: f.shape }) as Tensor4D;
    const grads: Tensor[] = [dFilter];
    if (bias) grads.push(channelSums(dz));
    if (options.inputGradient) grads.push(conv2dTranspose(dz, f, input.shape, 1, pad));
    return grads;
  };

  // customGrad differentiates its tensor arguments, in this order, which is backward's: the image
  // (first layer) is left out of them, so no gradient is computed for it.
  const inputs = [filter, ...(bias ? [bias] : []), ...(options.inputGradient ? [x] : [])];
  const op = customGrad((...args: (Tensor | GradSaveFunc)[]) => {
    const save = args.pop() as GradSaveFunc;
    const f = args[0] as Tensor4D;
    const b = bias ? (args[1] as Tensor1D) : undefined;
    const input = options.inputGradient ? (args[args.length - 1] as Tensor4D) : x;
    const y = forward(input, f, b);
    save([y, input, f]);
    return { value: y, gradFunc: (dy: Tensor, [ys, xs, fs]: Tensor[]) => backward(dy as Tensor4D, ys as Tensor4D, xs as Tensor4D, fs as Tensor4D) };
  });
  return op(...inputs) as Tensor4D;
}
