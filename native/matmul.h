// Matrix products for the wasm backend's tensors: c[i, j] = bias[j] + sum over k, in order, of
// a[i, k] * b[k, j], one rounding per multiply and per add, as XNNPACK's fully connected kernels
// add them (the dense layers, and batch normalisation's per-channel scale as a product with a
// diagonal matrix, src/model/batchnorm.ts). Each vector lane is one output column j with its own
// running sum, so the bits are XNNPACK's (test/native-kernels.test.ts), NaN aside as in
// convolution.h. Included by kernels.cc inside its instruction set's namespace, after
// convolution.h (Buffer, vec, clampOutput).

// c[m, n] from a [m, k] (or [k, m] when transposeA) and b [k, n] (or [n, k]); bias [n] or null.
template <int V>
LENET_INLINE void matrixProduct(const float* a, const float* b, const float* bias, float* c, int m, int k, int n,
                                bool transposeA, bool transposeB, bool relu) {
  const int blocks = (n + V - 1) / V;
  // b as [block][k][V] (zero beyond n), and a as [m][k] where it came transposed.
  Buffer<float> bp((size_t)blocks * k * V), bb((size_t)blocks * V);
  for (int kk = 0; kk < k; kk++)
    for (int j = 0; j < n; j++)
      bp[((size_t)(j / V) * k + kk) * V + j % V] = transposeB ? b[(size_t)j * k + kk] : b[(size_t)kk * n + j];
  if (bias)
    for (int j = 0; j < n; j++) bb[j] = bias[j];
  Buffer<float> at;
  if (transposeA) {
    at.reset((size_t)m * k);
    for (int kk = 0; kk < k; kk++)
      for (int i = 0; i < m; i++) at[(size_t)i * k + kk] = a[(size_t)kk * m + i];
    a = at.data;
  }
  const float* end = c + (size_t)m * n;
  const bool whole = blocks == 1;
  constexpr int R = 8;
  for (int blk = 0; blk < blocks; blk++) {
    const int width = n - blk * V < V ? n - blk * V : V;
    const float* wb = bp.data + (size_t)blk * k * V;
    vec<V> start;
    std::memcpy(&start, bb.data + (size_t)blk * V, sizeof start);
    int i = 0;
    for (; i + R <= m; i += R) {
      vec<V> acc[R];
      for (int r = 0; r < R; r++) acc[r] = start;
      const float* row = a + (size_t)i * k;
      for (int kk = 0; kk < k; kk++) {
        vec<V> w;
        std::memcpy(&w, wb + (size_t)kk * V, sizeof w);
        for (int r = 0; r < R; r++) acc[r] += row[(size_t)r * k + kk] * w;
      }
      for (int r = 0; r < R; r++) storeOutput<V>(c + (size_t)(i + r) * n + blk * V, end, clampOutput<V>(acc[r], relu), width, whole);
    }
    for (; i < m; i++) {
      vec<V> acc = start;
      const float* row = a + (size_t)i * k;
      for (int kk = 0; kk < k; kk++) {
        vec<V> w;
        std::memcpy(&w, wb + (size_t)kk * V, sizeof w);
        acc += row[kk] * w;
      }
      storeOutput<V>(c + (size_t)i * n + blk * V, end, clampOutput<V>(acc, relu), width, whole);
    }
  }
}
