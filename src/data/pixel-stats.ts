/**
 * The mean and standard deviation of a training file's pixels (0..1): what `data.mean: auto` and
 * `data.std: auto` normalise with. A worker computes them from the images it loads and the main
 * thread from the same bytes for the trial's record, in the same order, so both are the same
 * numbers to the last bit.
 */
export interface PixelStats {
  mean: number;
  std: number;
}

export function pixelStats(pixels: Uint8Array): PixelStats {
  // Whole-number sums of bytes are exact in doubles up to 2^53 / 255² ≈ 10^11 pixels.
  let sum = 0;
  let squares = 0;
  for (let p = 0; p < pixels.length; p++) {
    sum += pixels[p];
    squares += pixels[p] * pixels[p];
  }
  const n = pixels.length;
  const mean = sum / n / 255;
  return { mean, std: Math.sqrt(Math.max(0, squares / n / (255 * 255) - mean * mean)) };
}

/** The normalisation a data section asks for: its numbers, or the training pixels' own where it says auto. */
export function normalisation(asked: { mean: number | 'auto'; std: number | 'auto' }, trainingPixels: () => PixelStats): PixelStats {
  if (asked.mean !== 'auto' && asked.std !== 'auto') return { mean: asked.mean, std: asked.std };
  const own = trainingPixels();
  return { mean: asked.mean === 'auto' ? own.mean : asked.mean, std: asked.std === 'auto' ? own.std : asked.std };
}
