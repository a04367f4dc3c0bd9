// The Node-API face of convolution.h: each function takes the tensors as Float32Arrays (views of
// the wasm backend's heap, so nothing is copied) and the convolution's shape as an Int32Array,
// checks that every array holds what the shape says, and computes in place.
//
// Built at install (scripts/build-native.mjs) for the machine's CPU: kernels.cc is compiled for
// AVX-512, AVX2 and the baseline, and the widest the CPU runs is chosen when the addon loads.
#include <node_api.h>
#include <algorithm>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <initializer_list>
#include <string>
#include "kernels.h"

using lenet::ConvShape;

namespace {

struct Kernels {
  decltype(&lenet::baseline::forward) forward;
  decltype(&lenet::baseline::filterGradient) filterGradient;
  decltype(&lenet::baseline::inputGradient) inputGradient;
  decltype(&lenet::baseline::matMul) matMul;
  decltype(&lenet::baseline::upsample) upsample;
  const char* name;
};

#define LENET_KERNELS(isa, label) \
  Kernels{lenet::isa::forward, lenet::isa::filterGradient, lenet::isa::inputGradient, lenet::isa::matMul, lenet::isa::upsample, label}

// The widest build the CPU runs. LENET_SWEEP_NATIVE_ISA=avx2 or baseline caps it, for the test
// that compares the builds' bits on one machine.
Kernels chooseKernels() {
#if (defined(__x86_64__) || defined(_M_X64)) && (defined(__GNUC__) || defined(__clang__)) && !defined(_WIN32)
  const char* cap = std::getenv("LENET_SWEEP_NATIVE_ISA");
  const std::string capped = cap ? cap : "";
  __builtin_cpu_init();
  if (capped.empty() && __builtin_cpu_supports("avx512f")) return LENET_KERNELS(avx512, "AVX-512");
  if ((capped.empty() || capped == "avx2") && __builtin_cpu_supports("avx2")) return LENET_KERNELS(avx2, "AVX2");
  return LENET_KERNELS(baseline, "x86-64 baseline");
#else
  return LENET_KERNELS(baseline, "portable C++");
#endif
}

const Kernels kernels = chooseKernels();

struct Floats {
  float* data = nullptr;
  size_t length = 0;
};

bool fail(napi_env env, const std::string& message) {
  napi_throw_range_error(env, nullptr, message.c_str());
  return false;
}

bool floats(napi_env env, napi_value v, const char* name, size_t need, Floats& out) {
  bool is = false;
  napi_is_typedarray(env, v, &is);
  if (!is) return fail(env, std::string(name) + " must be a Float32Array");
  napi_typedarray_type type;
  void* data;
  napi_get_typedarray_info(env, v, &type, &out.length, &data, nullptr, nullptr);
  if (type != napi_float32_array) return fail(env, std::string(name) + " must be a Float32Array");
  if (need == SIZE_MAX) return fail(env, std::string(name) + ": the shape asks for more floats than an array holds");
  if (out.length < need) return fail(env, std::string(name) + " holds " + std::to_string(out.length) + " floats, the shape needs " + std::to_string(need));
  out.data = static_cast<float*>(data);
  return true;
}

// floats() for an array that may be null (a bias): left empty where it is.
bool optionalFloats(napi_env env, napi_value v, const char* name, size_t need, Floats& out) {
  napi_valuetype type;
  napi_typeof(env, v, &type);
  return type == napi_null || floats(env, v, name, need, out);
}

// An Int32Array of `length` numbers, each at least `least`, copied into `out` (the copy is what
// is checked and used: a SharedArrayBuffer's values may change under us), or false (a JavaScript
// error thrown).
bool ints(napi_env env, napi_value v, size_t length, int least, const char* what, int32_t* out) {
  bool is = false;
  napi_is_typedarray(env, v, &is);
  napi_typedarray_type type;
  size_t got = 0;
  void* data = nullptr;
  if (is) napi_get_typedarray_info(env, v, &type, &got, &data, nullptr, nullptr);
  if (!is || type != napi_int32_array || got != length) return fail(env, "the shape must be an Int32Array of " + std::to_string(length) + " numbers");
  std::memcpy(out, data, length * sizeof(int32_t));
  for (size_t i = 0; i < length; i++)
    if (out[i] < least) return fail(env, what);
  return true;
}

// The largest padded extent and element count the kernels take: far above any LeNet's (and the
// count is what a 4 GB wasm heap can hold anyway), and low enough that no index computed from
// them overflows (int for extents, filter taps and pixel counts; size_t for offsets).
constexpr int64_t LARGEST_EXTENT = int64_t(1) << 24;
constexpr int64_t LARGEST_COUNT = (int64_t(1) << 31) - 1;

bool shape(napi_env env, napi_value v, ConvShape& c) {
  int32_t d[15];
  if (!ints(env, v, 15, INT32_MIN, "", d)) return false;
  std::memcpy(&c, d, sizeof c);
  const int* f = &c.n;
  for (int i = 0; i < 15; i++)
    if (f[i] < (i == 11 || i == 12 ? 0 : 1)) return fail(env, "a convolution's sizes, strides and dilations must be positive and its padding not negative");
  // What the kernels read: the padded extents the outputs need, with the padding before, and
  // (for the input gradient) the flipped filter's padding; each within LARGEST_EXTENT.
  const int64_t hp = int64_t(c.oh - 1) * c.sh + int64_t(c.kh - 1) * c.dh + 1;
  const int64_t wp = int64_t(c.ow - 1) * c.sw + int64_t(c.kw - 1) * c.dw + 1;
  for (int64_t extent : {hp, wp, int64_t(c.h) + c.pt + int64_t(c.kh) * c.dh, int64_t(c.w) + c.pl + int64_t(c.kw) * c.dw})
    if (extent > LARGEST_EXTENT) return fail(env, "a convolution this large is not computed here");
  // And the scratch copies the kernels make (padded, transposed), in either direction.
  const double rows = double(std::max<int64_t>(hp, int64_t(c.h) + int64_t(c.kh) * c.dh)) + c.oh;
  const double columns = double(std::max<int64_t>(wp, int64_t(c.w) + int64_t(c.kw) * c.dw)) + c.ow + 16;
  if (double(c.n) * std::max(c.ci, c.co) * rows * columns > double(LARGEST_COUNT)) return fail(env, "a convolution this large is not computed here");
  return true;
}

// Runs a kernel; false (a JavaScript error thrown) where its scratch memory could not be had.
template <class F>
bool computed(napi_env env, F kernel) {
  try {
    kernel();
    return true;
  } catch (const lenet::OutOfMemory&) {
    napi_throw_error(env, nullptr, "out of memory for a convolution's scratch space");
    return false;
  }
}

// The product of sizes, or more than any array holds where it passes LARGEST_COUNT (so the
// length check refuses it instead of a product that wrapped around).
size_t count(std::initializer_list<int> dims) {
  int64_t n = 1;
  for (int d : dims) {
    n *= d;
    if (n > LARGEST_COUNT) return SIZE_MAX;
  }
  return (size_t)n;
}

// The element counts of a convolution's three tensors: its input (x, dx), filter (w, dw) and
// output (out, dy).
size_t inputCount(const ConvShape& c) { return count({c.n, c.h, c.w, c.ci}); }
size_t filterCount(const ConvShape& c) { return count({c.kh, c.kw, c.ci, c.co}); }
size_t outputCount(const ConvShape& c) { return count({c.n, c.oh, c.ow, c.co}); }

template <size_t N>
bool arguments(napi_env env, napi_callback_info info, napi_value (&argv)[N]) {
  size_t argc = N;
  napi_get_cb_info(env, info, &argc, argv, nullptr, nullptr);
  if (argc != N) return fail(env, "expected " + std::to_string(N) + " arguments");
  return true;
}

// forward(x, filter, bias or null, out, shape, relu)
napi_value Forward(napi_env env, napi_callback_info info) {
  napi_value a[6];
  ConvShape c;
  Floats x, w, b, out;
  if (!arguments(env, info, a) || !shape(env, a[4], c)) return nullptr;
  bool relu = false;
  if (!floats(env, a[0], "x", inputCount(c), x) || !floats(env, a[1], "filter", filterCount(c), w) ||
      !optionalFloats(env, a[2], "bias", (size_t)c.co, b) ||
      !floats(env, a[3], "out", outputCount(c), out))
    return nullptr;
  if (napi_get_value_bool(env, a[5], &relu) != napi_ok) return fail(env, "relu must be true or false"), nullptr;
  computed(env, [&] { kernels.forward(x.data, w.data, b.data, out.data, c, relu); });
  return nullptr;
}

// filterGradient(x, dy, dw, shape)
napi_value FilterGradient(napi_env env, napi_callback_info info) {
  napi_value a[4];
  ConvShape c;
  Floats x, dy, dw;
  if (!arguments(env, info, a) || !shape(env, a[3], c)) return nullptr;
  if (!floats(env, a[0], "x", inputCount(c), x) || !floats(env, a[1], "dy", outputCount(c), dy) ||
      !floats(env, a[2], "dw", filterCount(c), dw))
    return nullptr;
  computed(env, [&] { kernels.filterGradient(x.data, dy.data, dw.data, c); });
  return nullptr;
}

// inputGradient(dy, filter, dx, shape): stride 1 only.
napi_value InputGradient(napi_env env, napi_callback_info info) {
  napi_value a[4];
  ConvShape c;
  Floats dy, w, dx;
  if (!arguments(env, info, a) || !shape(env, a[3], c)) return nullptr;
  if (c.sh != 1 || c.sw != 1) return fail(env, "the input gradient is computed here for stride 1 only"), nullptr;
  if (c.pt > (c.kh - 1) * c.dh || c.pl > (c.kw - 1) * c.dw) return fail(env, "the input gradient is computed here for padding under the filter's size only"), nullptr;
  if (!floats(env, a[0], "dy", outputCount(c), dy) || !floats(env, a[1], "filter", filterCount(c), w) ||
      !floats(env, a[2], "dx", inputCount(c), dx))
    return nullptr;
  computed(env, [&] { kernels.inputGradient(dy.data, w.data, dx.data, c); });
  return nullptr;
}

// matMul(a, b, bias or null, c, [batch, m, k, n, transposeA, transposeB, relu]): c[i] = a[i]·b[i] + bias
// for each of the batch's matrices.
napi_value MatMul(napi_env env, napi_callback_info info) {
  napi_value v[5];
  int32_t d[7];
  if (!arguments(env, info, v) || !ints(env, v[4], 7, 0, "a matrix product's sizes must be positive and its flags 0 or 1", d)) return nullptr;
  const int batch = d[0];
  lenet::MatMulShape s{d[1], d[2], d[3], d[4] != 0, d[5] != 0, d[6] != 0};
  if (batch < 1 || s.m < 1 || s.k < 1 || s.n < 1 || d[4] > 1 || d[5] > 1 || d[6] > 1) return fail(env, "a matrix product's sizes must be positive and its flags 0 or 1"), nullptr;
  Floats a, b, bias, c;
  if (!floats(env, v[0], "a", count({batch, s.m, s.k}), a) || !floats(env, v[1], "b", count({batch, s.k, s.n}), b) ||
      !optionalFloats(env, v[2], "bias", (size_t)s.n, bias) || !floats(env, v[3], "c", count({batch, s.m, s.n}), c))
    return nullptr;
  for (int i = 0; i < batch; i++) {
    if (!computed(env, [&] {
          kernels.matMul(a.data + (size_t)i * s.m * s.k, b.data + (size_t)i * s.k * s.n, bias.data, c.data + (size_t)i * s.m * s.n, s);
        }))
      return nullptr;
  }
  return nullptr;
}

// upsample(in, out, [n, h, w, c, fy, fx]): each pixel repeated into an fy × fx block.
napi_value Upsample(napi_env env, napi_callback_info info) {
  napi_value v[3];
  int32_t d[6];
  if (!arguments(env, info, v) || !ints(env, v[2], 6, 1, "an upsampling's sizes and factors must be positive", d)) return nullptr;
  Floats in, out;
  if (!floats(env, v[0], "in", count({d[0], d[1], d[2], d[3]}), in) || !floats(env, v[1], "out", count({d[0], d[1], d[4], d[2], d[5], d[3]}), out))
    return nullptr;
  kernels.upsample(in.data, out.data, d[0], d[1], d[2], d[3], d[4], d[5]);
  return nullptr;
}

// Which build of the kernels this CPU runs, for `sweep backends`.
napi_value Instructions(napi_env env, napi_callback_info) {
  napi_value s;
  napi_create_string_utf8(env, kernels.name, NAPI_AUTO_LENGTH, &s);
  return s;
}

}  // namespace

NAPI_MODULE_INIT() {
  const struct { const char* name; napi_callback fn; } functions[] = {
      {"forward", Forward}, {"filterGradient", FilterGradient}, {"inputGradient", InputGradient}, {"matMul", MatMul}, {"upsample", Upsample}, {"instructions", Instructions}};
  for (const auto& f : functions) {
    napi_value v;
    napi_create_function(env, f.name, NAPI_AUTO_LENGTH, f.fn, nullptr, &v);
    napi_set_named_property(env, exports, f.name, v);
  }
  return exports;
}
