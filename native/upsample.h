// Nearest-neighbour upsampling by whole factors: out[n, y, x, c] = in[n, y / fy, x / fx, c], the
// pooling gradients' spreading of each value over its window (src/backend/fast-gradients.ts). A
// copy, so its bits are the input's. Included by kernels.cc inside its instruction set's namespace.

LENET_INLINE void upsampleNearest(const float* in, float* out, int n, int h, int w, int c, int fy, int fx) {
  const size_t pixel = (size_t)c * sizeof(float);
  for (int b = 0; b < n; b++)
    for (int y = 0; y < h; y++) {
      const float* row = in + ((size_t)b * h + y) * w * c;
      float* first = out + ((size_t)b * h * fy + (size_t)y * fy) * w * fx * c;
      // One output row, every input pixel repeated fx times; then the row repeated fy - 1 times.
      float* o = first;
      for (int x = 0; x < w; x++)
        for (int r = 0; r < fx; r++, o += c) std::memcpy(o, row + (size_t)x * c, pixel);
      const size_t rowBytes = (size_t)w * fx * pixel;
      for (int r = 1; r < fy; r++) std::memcpy(first + (size_t)r * w * fx * c, first, rowBytes);
    }
}
