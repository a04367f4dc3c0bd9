// Matrix products for the wasm backend's tensors: c[i, j] = bias[j] + sum over k, in order, of
// a[i, k] * b[k, j], one rounding per multiply and per add, as XNNPACK's fully connected kernels
// add them (the dense layers, and batch normalisation's per-channel scale as a product with a
// diagonal matrix, src/model/batchnorm.ts). That is a 1×1 convolution over one row of m pixels
// with k channels and n filters, whose sums run over the same k in the same order: convolution.h
// computes it, so the bits are XNNPACK's (test/native-kernels.test.ts), NaN aside as there.
// Included by kernels.cc inside its instruction set's namespace, after convolution.h.

// c[m, n] from a [m, k] (or [k, m] when transposeA) and b [k, n] (or [n, k]); bias [n] or null.
LENET_INLINE void matrixProduct(const float* a, const float* b, const float* bias, float* c, int m, int k, int n,
                                bool transposeA, bool transposeB, bool relu) {
  // A transposed operand is copied the right way round first.
  Buffer<float> at, bt;
  if (transposeA) {
    at.reset((size_t)m * k);
    for (int kk = 0; kk < k; kk++)
      for (int i = 0; i < m; i++) at[(size_t)i * k + kk] = a[(size_t)kk * m + i];
    a = at.data;
  }
  if (transposeB) {
    bt.reset((size_t)k * n);
    for (int j = 0; j < n; j++)
      for (int kk = 0; kk < k; kk++) bt[(size_t)kk * n + j] = b[(size_t)j * k + kk];
    b = bt.data;
  }
  // One image of 1 × m pixels, k channels; a 1 × 1 filter [1, 1, k, n]; outputs 1 × m. Channels
  // in the lanes, as rows of a: the row-lanes layout would first copy a into k planes.
  const ConvShape row = {1, 1, m, k, 1, 1, n, 1, 1, 1, 1, 0, 0, 1, m};
  if (n <= 8) forwardChannelLanes<8>(a, b, bias, c, row, relu);
  else forwardChannelLanes<16>(a, b, bias, c, row, relu);
}
