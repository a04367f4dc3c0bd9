// Convolution kernels for the wasm backend's tensors (NHWC, filters [kh, kw, in, out]), compiled
// for the CPU at install. Each adds its products in exactly the order XNNPACK's wasm kernels do,
// one IEEE rounding per multiply and per add (built with -ffp-contract=off: no fused
// multiply-add), so a kernel here gives the same bits as the wasm path it replaces
// (test/native-kernels.test.ts compares them bit for bit), NaN aside (see clampOutput). The
// speed comes from width, not from reordering: each vector lane is one output (a channel, or for
// few channels a pixel of the row), with its own running sum.
//
// - forward: out[n, y, x, o] = bias[o] + sum over (ky, kx, c), in that order, of
//   x[n, y*sh + ky*dh - pt, x*sw + kx*dw - pl, c] * w[ky, kx, c, o]; XNNPACK's indirect GEMM walks
//   the filter's taps in that order and the channels within each.
// - filter gradient: dw[ky, kx, c, o] = sum over (y, x, n), in that order, of
//   x[n, ...same place...] * dy[n, y, x, o]; the wasm path computes it as a forward convolution
//   over transposed tensors (src/backend/wasm-kernels.ts), whose taps are (y, x) and channels n.
// - input gradient: a forward convolution of dy with the filter flipped and transposed, as the
//   wasm path computes it.
// Padding is a zero-filled copy: XNNPACK's indirection points padded taps at a zero row, so they
// are added too, and must be here for the same bits.
//
// kernels.cc includes this file inside a namespace of its instruction set, once per build: nothing
// here may be shared between builds (no templates of the standard library, whose instances the
// linker would merge across builds, AVX-512 code and all), hence Buffer instead of std::vector.
// The includer brings <cstddef>, <cstdlib> and <cstring>, and ConvShape (kernels.h).

// A zero-filled array, freed at the end of its scope.
template <class T>
struct Buffer {
  T* data = nullptr;
  Buffer() = default;
  explicit Buffer(size_t count) { reset(count); }
  Buffer(const Buffer&) = delete;
  Buffer& operator=(const Buffer&) = delete;
  ~Buffer() { std::free(data); }
  void reset(size_t count) {
    std::free(data);
    data = static_cast<T*>(std::calloc(count ? count : 1, sizeof(T)));
    if (!data) throw OutOfMemory();
  }
  T& operator[](size_t i) { return data[i]; }
};

#define LENET_INLINE inline __attribute__((always_inline))

// A vector of V floats. (Through a struct: GCC drops vector_size from an alias template.)
template <int V> struct Lanes { typedef float type __attribute__((vector_size(V * sizeof(float)))); };
template <int V> using vec = typename Lanes<V>::type;
template <int V> struct IntLanes { typedef int type __attribute__((vector_size(V * sizeof(int)))); };
static_assert(sizeof(vec<8>) == 8 * sizeof(float), "vec<8> must be eight floats");

// The rows and columns a convolution reads, padding included.
LENET_INLINE int paddedHeight(const ConvShape& c) { return (c.oh - 1) * c.sh + (c.kh - 1) * c.dh + 1; }
LENET_INLINE int paddedWidth(const ConvShape& c) { return (c.ow - 1) * c.sw + (c.kw - 1) * c.dw + 1; }

// Copies x's pixels into a zero-filled padded buffer of hp × wp pixels per image: `at(b, y, x)` is
// where padded pixel (y, x) of image b starts in `dst` (each layout below orders them its way).
template <class At>
LENET_INLINE void copyPadded(const float* x, const ConvShape& c, int hp, int wp, float* dst, At at) {
  for (int b = 0; b < c.n; b++)
    for (int y = 0; y < hp; y++) {
      const int sy = y - c.pt;
      if (sy < 0 || sy >= c.h) continue;
      for (int xx = 0; xx < wp; xx++) {
        const int sx = xx - c.pl;
        if (sx < 0 || sx >= c.w) continue;
        std::memcpy(dst + at(b, y, xx), &x[(((size_t)b * c.h + sy) * c.w + sx) * c.ci], c.ci * sizeof(float));
      }
    }
}

// x as [n, hp, wp, ci] with its padding as zeros, or x itself where it needs none.
LENET_INLINE const float* padInput(const float* x, const ConvShape& c, int& hp, int& wp, Buffer<float>& buf) {
  hp = paddedHeight(c);
  wp = paddedWidth(c);
  if (c.pt == 0 && c.pl == 0 && hp <= c.h && wp <= c.w) {
    hp = c.h;
    wp = c.w;
    return x;
  }
  buf.reset((size_t)c.n * hp * wp * c.ci);
  copyPadded(x, c, hp, wp, buf.data, [&](int b, int y, int xx) { return (((size_t)b * hp + y) * wp + xx) * c.ci; });
  return buf.data;
}

// R neighbouring outputs of one row, V channels from `wb` (packed [K][V]) and `bias` (V).
template <int V, int R>
LENET_INLINE void forwardTile(const float* in, int wp, const ConvShape& c, const float* wb, const float* bias, vec<V>* acc) {
  vec<V> start;
  std::memcpy(&start, bias, sizeof start);
  for (int r = 0; r < R; r++) acc[r] = start;
  const size_t step = (size_t)c.sw * c.ci;
  for (int ky = 0; ky < c.kh; ky++) {
    const float* row = in + (size_t)ky * c.dh * wp * c.ci;
    for (int kx = 0; kx < c.kw; kx++) {
      const float* tap = row + (size_t)kx * c.dw * c.ci;
      for (int ch = 0; ch < c.ci; ch++, wb += V) {
        vec<V> wv;
        std::memcpy(&wv, wb, sizeof wv);
        for (int r = 0; r < R; r++) acc[r] += tap[r * step + ch] * wv;
      }
    }
  }
}

// relu: max(acc, 0), +0 for -0 (as wasm's max gives). A NaN stays NaN, so a trial whose numbers
// went bad shows it in its loss. (XNNPACK's kernels disagree among themselves on NaN: depending
// on the kernel a shape picks, relu gives NaN or 0, and even a linear 1×1 convolution gives
// -Infinity. Wherever ours is not NaN, theirs has the same bits.)
template <int V>
LENET_INLINE vec<V> clampOutput(vec<V> a, bool relu) {
  if (!relu) return a;
  // Masks, not a select: a select may become a branch per lane, which random signs mispredict.
  using bits = typename IntLanes<V>::type;
  const vec<V> zero = {};
  const bits keep = (a > zero) | (a != a);
  return (vec<V>)((bits)a & keep);
}

template <int V>
LENET_INLINE void storeOutput(float* o, const float* end, vec<V> a, int width, bool whole) {
  // With one block of channels, a whole-vector store may run into the next output's channels,
  // which are stored after this one: cheaper than a partial store.
  if (whole && o + V <= end) {
    std::memcpy(o, &a, sizeof a);
  } else {
    float lanes[V];
    std::memcpy(lanes, &a, sizeof a);
    for (int l = 0; l < width; l++) o[l] = lanes[l];
  }
}

template <int V>
LENET_INLINE void forwardChannelLanes(const float* x, const float* w, const float* bias, float* out, const ConvShape& c, bool relu) {
  Buffer<float> padded;
  int hp, wp;
  const float* xp = padInput(x, c, hp, wp, padded);
  const int K = c.kh * c.kw * c.ci;
  const int blocks = (c.co + V - 1) / V;
  // The filter as [block][K][V] and the bias as [block][V], zero beyond the channels.
  Buffer<float> wpk((size_t)blocks * K * V), bpk((size_t)blocks * V);
  for (int k = 0; k < K; k++)
    for (int o = 0; o < c.co; o++) wpk[((size_t)(o / V) * K + k) * V + o % V] = w[(size_t)k * c.co + o];
  if (bias)
    for (int o = 0; o < c.co; o++) bpk[o] = bias[o];
  const float* end = out + (size_t)c.n * c.oh * c.ow * c.co;
  const bool whole = blocks == 1;
  constexpr int R = 8;
  vec<V> acc[R];
  for (int b = 0; b < c.n; b++)
    for (int oy = 0; oy < c.oh; oy++) {
      const float* xrow = xp + ((size_t)b * hp + (size_t)oy * c.sh) * wp * c.ci;
      float* orow = out + ((size_t)b * c.oh + oy) * c.ow * c.co;
      for (int blk = 0; blk < blocks; blk++) {
        const int width = c.co - blk * V < V ? c.co - blk * V : V;
        const float* wb = wpk.data + (size_t)blk * K * V;
        const float* bb = bpk.data + (size_t)blk * V;
        int ox = 0;
        for (; ox + R <= c.ow; ox += R) {
          forwardTile<V, R>(xrow + (size_t)ox * c.sw * c.ci, wp, c, wb, bb, acc);
          for (int r = 0; r < R; r++) storeOutput<V>(orow + (size_t)(ox + r) * c.co + blk * V, end, clampOutput<V>(acc[r], relu), width, whole);
        }
        for (; ox < c.ow; ox++) {
          forwardTile<V, 1>(xrow + (size_t)ox * c.sw * c.ci, wp, c, wb, bb, acc);
          storeOutput<V>(orow + (size_t)ox * c.co + blk * V, end, clampOutput<V>(acc[0], relu), width, whole);
        }
      }
    }
}

// The forward convolution for few output channels (CO ≤ 8) at a column stride of 1, with the outputs of a row
// in the lanes instead: 16 neighbouring outputs × CO channels a tile, so conv1's 6 channels (and
// conv2's input gradient, 6 channels too) fill whole vectors. Each lane still sums its own output
// in (ky, kx, c) order: the same bits as `forward`. The input is copied to padded planes
// [n][ci][hp][wq], each row long enough for a tile's last vector to read past the outputs.
template <int CO>
LENET_INLINE void forwardRowLanes(const float* x, const float* w, const float* bias, float* out, const ConvShape& c, bool relu) {
  constexpr int V = 16;
  const int hp = paddedHeight(c);
  const int tiles = (c.ow + V - 1) / V;
  const int wq = tiles * V + (c.kw - 1) * c.dw;
  Buffer<float> xq((size_t)c.n * c.ci * hp * wq);
  for (int b = 0; b < c.n; b++)
    for (int y = 0; y < hp; y++) {
      const int sy = y - c.pt;
      if (sy < 0 || sy >= c.h) continue;
      for (int sx = 0; sx < c.w; sx++) {
        const int xx = sx + c.pl;
        if (xx >= wq) break;
        const float* src = &x[(((size_t)b * c.h + sy) * c.w + sx) * c.ci];
        for (int ch = 0; ch < c.ci; ch++) xq[(((size_t)b * c.ci + ch) * hp + y) * wq + xx] = src[ch];
      }
    }
  vec<V> start[CO];
  for (int o = 0; o < CO; o++) {
    const float v = bias ? bias[o] : 0.f;
    for (int l = 0; l < V; l++) start[o][l] = v;
  }
  const size_t plane = (size_t)hp * wq;
  alignas(64) float lanes[CO][V];
  for (int b = 0; b < c.n; b++)
    for (int oy = 0; oy < c.oh; oy++)
      for (int t = 0; t < tiles; t++) {
        vec<V> acc[CO];
        for (int o = 0; o < CO; o++) acc[o] = start[o];
        const float* wk = w;
        for (int ky = 0; ky < c.kh; ky++)
          for (int kx = 0; kx < c.kw; kx++) {
            const float* at = &xq[((size_t)b * c.ci * hp + (size_t)oy * c.sh + (size_t)ky * c.dh) * wq + (size_t)t * V + (size_t)kx * c.dw];
            for (int ch = 0; ch < c.ci; ch++, at += plane, wk += CO) {
              vec<V> xv;
              std::memcpy(&xv, at, sizeof xv);
              for (int o = 0; o < CO; o++) acc[o] += xv * wk[o];
            }
          }
        for (int o = 0; o < CO; o++) {
          const vec<V> v = clampOutput<V>(acc[o], relu);
          std::memcpy(lanes[o], &v, sizeof v);
        }
        const int valid = c.ow - t * V < V ? c.ow - t * V : V;
        float* dst = out + (((size_t)b * c.oh + oy) * c.ow + (size_t)t * V) * CO;
        for (int l = 0; l < valid; l++)
          for (int o = 0; o < CO; o++) dst[(size_t)l * CO + o] = lanes[o][l];
      }
}

// The forward convolution, by whichever layout fills the vectors better; both give the same bits.
LENET_INLINE void convolve(const float* x, const float* w, const float* bias, float* out, const ConvShape& c, bool relu) {
  if (c.sw == 1 && c.co <= 8) {
    switch (c.co) {
      case 1: return forwardRowLanes<1>(x, w, bias, out, c, relu);
      case 2: return forwardRowLanes<2>(x, w, bias, out, c, relu);
      case 3: return forwardRowLanes<3>(x, w, bias, out, c, relu);
      case 4: return forwardRowLanes<4>(x, w, bias, out, c, relu);
      case 5: return forwardRowLanes<5>(x, w, bias, out, c, relu);
      case 6: return forwardRowLanes<6>(x, w, bias, out, c, relu);
      case 7: return forwardRowLanes<7>(x, w, bias, out, c, relu);
      default: return forwardRowLanes<8>(x, w, bias, out, c, relu);
    }
  }
  if (c.co <= 8) return forwardChannelLanes<8>(x, w, bias, out, c, relu);
  forwardChannelLanes<16>(x, w, bias, out, c, relu);
}

// R filter taps × V output channels, summed over every (y, x, n) in that order. `xt` is the
// padded input as [hp][wp][n][ci]; `dyp` is dy's block as [oh][ow][n][V].
template <int V, int R>
LENET_INLINE void filterTile(const float* xt, int wp, const ConvShape& c, const float* dyp, const size_t* tap, vec<V>* acc) {
  for (int r = 0; r < R; r++) acc[r] = vec<V>{};
  const size_t pixel = (size_t)c.n * c.ci;
  for (int oy = 0; oy < c.oh; oy++)
    for (int ox = 0; ox < c.ow; ox++) {
      const float* at = xt + ((size_t)oy * c.sh * wp + (size_t)ox * c.sw) * pixel;
      for (int b = 0; b < c.n; b++, at += c.ci, dyp += V) {
        vec<V> d;
        std::memcpy(&d, dyp, sizeof d);
        for (int r = 0; r < R; r++) acc[r] += at[tap[r]] * d;
      }
    }
}

template <int V>
LENET_INLINE void filterGradientLanes(const float* x, const float* dy, float* dw, const ConvShape& c) {
  const int hp = paddedHeight(c), wp = paddedWidth(c);
  // The input padded and transposed to [hp][wp][n][ci], so the batch is the innermost sum.
  Buffer<float> xt((size_t)hp * wp * c.n * c.ci);
  copyPadded(x, c, hp, wp, xt.data, [&](int b, int y, int xx) { return (((size_t)y * wp + xx) * c.n + b) * c.ci; });
  const int K = c.kh * c.kw * c.ci;
  const int blocks = (c.co + V - 1) / V;
  const size_t P = (size_t)c.oh * c.ow * c.n;
  Buffer<float> dyp(P * V);
  Buffer<size_t> tap(K);
  for (int k = 0; k < K; k++) {
    const int ch = k % c.ci, kx = (k / c.ci) % c.kw, ky = k / (c.ci * c.kw);
    tap[k] = ((size_t)ky * c.dh * wp + (size_t)kx * c.dw) * c.n * c.ci + ch;
  }
  constexpr int R = 8;
  vec<V> acc[R];
  for (int blk = 0; blk < blocks; blk++) {
    const int width = c.co - blk * V < V ? c.co - blk * V : V;
    for (int oy = 0, p = 0; oy < c.oh; oy++)
      for (int ox = 0; ox < c.ow; ox++)
        for (int b = 0; b < c.n; b++, p++) {
          const float* src = dy + (((size_t)b * c.oh + oy) * c.ow + ox) * c.co + blk * V;
          float* dst = &dyp[(size_t)p * V];
          for (int l = 0; l < V; l++) dst[l] = l < width ? src[l] : 0.f;
        }
    int k = 0;
    for (; k + R <= K; k += R) {
      filterTile<V, R>(xt.data, wp, c, dyp.data, &tap[k], acc);
      for (int r = 0; r < R; r++) std::memcpy(dw + (size_t)(k + r) * c.co + blk * V, &acc[r], width * sizeof(float));
    }
    for (; k < K; k++) {
      filterTile<V, 1>(xt.data, wp, c, dyp.data, &tap[k], acc);
      std::memcpy(dw + (size_t)k * c.co + blk * V, &acc[0], width * sizeof(float));
    }
  }
}

// The forward convolution that gives dx: dy padded by (k - 1 - pad) with the filter flipped and
// its channels swapped. Stride 1 only (the caller hands other strides to the wasm kernel).
LENET_INLINE void inputGradientByFlip(const float* dy, const float* w, float* dx, const ConvShape& c) {
  Buffer<float> flipped((size_t)c.kh * c.kw * c.co * c.ci);
  for (int ky = 0; ky < c.kh; ky++)
    for (int kx = 0; kx < c.kw; kx++)
      for (int ch = 0; ch < c.ci; ch++)
        for (int o = 0; o < c.co; o++)
          flipped[(((size_t)ky * c.kw + kx) * c.co + o) * c.ci + ch] = w[((((size_t)(c.kh - 1 - ky)) * c.kw + (c.kw - 1 - kx)) * c.ci + ch) * c.co + o];
  const ConvShape t = {c.n, c.oh, c.ow, c.co, c.kh, c.kw, c.ci, 1, 1, c.dh, c.dw,
                       (c.kh - 1) * c.dh - c.pt, (c.kw - 1) * c.dw - c.pl, c.h, c.w};
  convolve(dy, flipped.data, nullptr, dx, t, false);
}

