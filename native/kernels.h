// The kernels of each instruction-set build of kernels.cc (see there), for addon.cc to choose from.
#pragma once

namespace lenet {

// A convolution's sizes, as src/backend/native-kernels.ts passes them (15 int32s).
struct ConvShape {
  int n, h, w, ci;      // input
  int kh, kw, co;       // filter
  int sh, sw, dh, dw;   // strides, dilations
  int pt, pl;           // padding before (after is what the output size leaves)
  int oh, ow;           // output
};

// A matrix product's sizes and options: c [m, n] from a [m, k] and b [k, n], either transposed.
struct MatMulShape {
  int m, k, n;
  bool transposeA, transposeB, relu;
};

// Thrown where a kernel's scratch memory cannot be had; addon.cc turns it into a JavaScript error.
struct OutOfMemory {};

#define LENET_DECLARE_KERNELS(isa)                                                                              \
  namespace isa {                                                                                               \
  void forward(const float* x, const float* w, const float* bias, float* out, const ConvShape& c, bool relu);  \
  void filterGradient(const float* x, const float* dy, float* dw, const ConvShape& c);                         \
  void inputGradient(const float* dy, const float* w, float* dx, const ConvShape& c);                          \
  void matMul(const float* a, const float* b, const float* bias, float* c, const MatMulShape& s);               \
  void upsample(const float* in, float* out, int n, int h, int w, int c, int fy, int fx);                      \
  }

LENET_DECLARE_KERNELS(baseline)
#if defined(__x86_64__) || defined(_M_X64)
LENET_DECLARE_KERNELS(avx2)
LENET_DECLARE_KERNELS(avx512)
#endif

}  // namespace lenet
