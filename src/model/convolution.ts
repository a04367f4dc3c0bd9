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
 * test/convolution.test.ts checks it against tfjs's gradients of the unfused layer.
 */
import {
  Conv2DBackpropFilter,
  conv2d,
  conv2dTranspose,
  customGrad,
  engine,
  FusedConv2D,
  mul,
  step,
  type GradSaveFunc,
  type Tensor,
  type Tensor1D,
  type Tensor4D,
} from '@tensorflow/tfjs';
import { channelSums } from './channel-sums.js';

export interface ConvolutionOptions {
  pad: 'same' | 'valid';
  /** Apply relu inside the op (the layer's activation, with no batch normalisation between). */
  relu: boolean;
  /** Whether the input needs a gradient: false for the first layer. */
  inputGradient: boolean;
}

export function convolve(x: Tensor4D, filter: Tensor4D, bias: Tensor1D | undefined, options: ConvolutionOptions): Tensor4D {
  const { pad, relu } = options;
  const forward = (input: Tensor4D, f: Tensor4D, b: Tensor1D | undefined): Tensor4D =>
    b || relu
      ? (engine().runKernel(FusedConv2D, b ? { x: input, filter: f, bias: b } : { x: input, filter: f }, {
          strides: 1,
          pad,
          dataFormat: 'NHWC',
          dilations: 1,
          activation: relu ? 'relu' : 'linear',
        }) as Tensor4D)
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

  type Input = Tensor | GradSaveFunc;
  // customGrad takes tensors and a save function last; the image (first layer) is no input of
  // it, so no gradient is asked for it.
  if (options.inputGradient) {
    const op = customGrad((...args: Input[]) => {
      const [input, f, ...rest] = args as Tensor[];
      const b = bias ? (rest[0] as Tensor1D) : undefined;
      const save = args[args.length - 1] as GradSaveFunc;
      const y = forward(input as Tensor4D, f as Tensor4D, b);
      save([y, input, f]);
      return {
        value: y,
        gradFunc: (dy: Tensor, saved: Tensor[]) => {
          const [filterGrad, ...others] = backward(dy as Tensor4D, saved[0] as Tensor4D, saved[1] as Tensor4D, saved[2] as Tensor4D);
          const inputGrad = others.pop()!;
          return [inputGrad, filterGrad, ...others];
        },
      };
    });
    return (bias ? op(x, filter, bias) : op(x, filter)) as Tensor4D;
  }
  const op = customGrad((...args: Input[]) => {
    const [f, ...rest] = args as Tensor[];
    const b = bias ? (rest[0] as Tensor1D) : undefined;
    const save = args[args.length - 1] as GradSaveFunc;
    const y = forward(x, f as Tensor4D, b);
    save([y, f]);
    return { value: y, gradFunc: (dy: Tensor, saved: Tensor[]) => backward(dy as Tensor4D, saved[0] as Tensor4D, x, saved[1] as Tensor4D) };
  });
  return (bias ? op(filter, bias) : op(filter)) as Tensor4D;
}
