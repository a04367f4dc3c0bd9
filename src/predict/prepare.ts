/**
 * An image of a digit made to look like the dataset's digits, as MNIST made its own (LeCun et
 * al.): ink light on a black background, the digit cropped, scaled with anti-aliasing to fit a
 * 20×20 box (for 28×28 inputs) keeping its aspect ratio, and placed in the 28×28 field so that
 * its centre of mass is at the centre. An image already in that form (the model's size, on a
 * dark background) is taken as it is: a digit of the dataset written to a file predicts as the
 * dataset's own did.
 */
import type { GrayImage } from './decode.js';

/** Ink below this share of the image's strongest is background (noise, paper grain) when cropping. */
const INK_THRESHOLD = 0.2;

/** The digit as pixel values 0 to 255 (ink light on black), `side`×`side`; null when the image holds no ink (blank). */
export function prepareDigit(image: GrayImage, side: number): Float32Array | null {
  const { width, height, pixels } = image;
  const background = median(borderOf(image));
  let darkest = 255;
  let lightest = 0;
  for (const v of pixels) {
    darkest = Math.min(darkest, v);
    lightest = Math.max(lightest, v);
  }
  // The ink is whichever side of the background reaches further: dark ink on paper of any
  // shade (a dim photo's gray paper too), or light ink on a dark ground.
  const lightInk = lightest - background >= background - darkest;
  if (width === side && height === side && lightInk && background < 128) return Float32Array.from(pixels);
  // Ink: how far each pixel is from the background, towards the ink's side.
  // A plain loop: Float32Array.from with a map function takes 40 s for a 50-megapixel photo.
  const ink = new Float32Array(pixels.length);
  let strongest = 0;
  for (let i = 0; i < pixels.length; i++) {
    ink[i] = Math.max(0, lightInk ? pixels[i] - background : background - pixels[i]);
    strongest = Math.max(strongest, ink[i]);
  }
  if (strongest < 16) return null;
  for (let i = 0; i < ink.length; i++) ink[i] /= strongest;
  // The digit's box: rows and columns with ink above the threshold.
  let top = height, bottom = -1, left = width, right = -1;
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      if (ink[y * width + x] < INK_THRESHOLD) continue;
      top = Math.min(top, y);
      bottom = Math.max(bottom, y);
      left = Math.min(left, x);
      right = Math.max(right, x);
    }
  }
  const boxW = right - left + 1;
  const boxH = bottom - top + 1;
  const fit = Math.round((side * 20) / 28);
  const scale = fit / Math.max(boxW, boxH);
  const outW = Math.max(1, Math.round(boxW * scale));
  const outH = Math.max(1, Math.round(boxH * scale));
  const digit = resample(ink, width, { left, top, width: boxW, height: boxH }, outW, outH);
  // Centre of mass to the field's centre (whole pixels, as MNIST's were placed).
  let mass = 0, cx = 0, cy = 0;
  for (let y = 0; y < outH; y++) {
    for (let x = 0; x < outW; x++) {
      const v = digit[y * outW + x];
      mass += v;
      cx += v * (x + 0.5);
      cy += v * (y + 0.5);
    }
  }
  const dx = Math.round(side / 2 - cx / mass);
  const dy = Math.round(side / 2 - cy / mass);
  const field = new Float32Array(side * side);
  for (let y = 0; y < outH; y++) {
    for (let x = 0; x < outW; x++) {
      const fx = x + dx;
      const fy = y + dy;
      if (fx >= 0 && fy >= 0 && fx < side && fy < side) field[fy * side + fx] = 255 * Math.min(1, digit[y * outW + x]);
    }
  }
  return field;
}

/**
 * Area resampling of a box of the image to outW×outH: each output pixel is the mean of the source
 * area it covers (fractional pixels weighted), which anti-aliases when shrinking and interpolates
 * piecewise when enlarging. A CSV dataset's images are resized to data.size with it too (data/csv.ts).
 */
export function resample(src: Float32Array, srcWidth: number, box: { left: number; top: number; width: number; height: number }, outW: number, outH: number): Float32Array {
  const out = new Float32Array(outW * outH);
  const sx = box.width / outW;
  const sy = box.height / outH;
  for (let oy = 0; oy < outH; oy++) {
    const y0 = oy * sy;
    const y1 = y0 + sy;
    for (let ox = 0; ox < outW; ox++) {
      const x0 = ox * sx;
      const x1 = x0 + sx;
      let sum = 0;
      for (let y = Math.floor(y0); y < Math.ceil(y1); y++) {
        const wy = Math.min(y + 1, y1) - Math.max(y, y0);
        for (let x = Math.floor(x0); x < Math.ceil(x1); x++) {
          const wx = Math.min(x + 1, x1) - Math.max(x, x0);
          sum += wx * wy * src[(box.top + y) * srcWidth + box.left + x];
        }
      }
      out[oy * outW + ox] = sum / (sx * sy);
    }
  }
  return out;
}

function borderOf({ width, height, pixels }: GrayImage): number[] {
  const values: number[] = [];
  for (let x = 0; x < width; x++) values.push(pixels[x], pixels[(height - 1) * width + x]);
  for (let y = 1; y < height - 1; y++) values.push(pixels[y * width], pixels[y * width + width - 1]);
  return values;
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[sorted.length >> 1];
}
