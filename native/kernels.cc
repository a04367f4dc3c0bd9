// convolution.h's kernels compiled for one instruction set: binding.gyp builds this file three
// times (AVX-512, AVX2 and the baseline of the architecture), each into its own namespace, and
// addon.cc picks one when it loads. Every build gives the same bits (no fused multiply-add: the
// flags leave contraction off; each lane sums alone), so the choice changes the speed only.
#include <cstddef>
#include <cstdlib>
#include <cstring>

#include "kernels.h"

namespace lenet {
namespace LENET_ISA {

#include "convolution.h"
#include "matmul.h"
#include "upsample.h"

void forward(const float* x, const float* w, const float* bias, float* out, const ConvShape& c, bool relu) {
  convolve(x, w, bias, out, c, relu);
}

void filterGradient(const float* x, const float* dy, float* dw, const ConvShape& c) {
  if (c.co <= 8) filterGradientLanes<8>(x, dy, dw, c); else filterGradientLanes<16>(x, dy, dw, c);
}

void inputGradient(const float* dy, const float* w, float* dx, const ConvShape& c) {
  inputGradientByFlip(dy, w, dx, c);
}

void matMul(const float* a, const float* b, const float* bias, float* c, const MatMulShape& s) {
  matrixProduct(a, b, bias, c, s.m, s.k, s.n, s.transposeA, s.transposeB, s.relu);
}

void upsample(const float* in, float* out, int n, int h, int w, int c, int fy, int fx) {
  upsampleNearest(in, out, n, h, w, c, fy, fx);
}

}  // namespace LENET_ISA
}  // namespace lenet
