/**
 * Images from files, as gray levels: PNG (pngjs: every colour type, bit depth and interlacing)
 * and JPEG (jpeg-js: baseline and progressive), both pure JavaScript. Colour becomes luminance
 * (ITU-R BT.601, as PIL's convert('L')); transparency is laid over whichever of black or white
 * the drawn pixels stand out from.
 */
import jpeg from 'jpeg-js';
import { PNG } from 'pngjs';
import { UserError } from '../config/errors.js';

export interface GrayImage {
  width: number;
  height: number;
  /** 0 (black) to 255 (white), row by row. */
  pixels: Float32Array;
}

const PNG_SIGNATURE = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);

/** Decodes an image file's bytes; throws UserError naming the file when it is not an image we read. */
export function decodeImage(file: string, bytes: Buffer): GrayImage {
  if (bytes.length === 0) throw new UserError({ file, message: 'the file is empty; give a PNG or JPEG image' });
  let rgba: { width: number; height: number; data: Uint8Array };
  try {
    if (bytes.subarray(0, 8).equals(PNG_SIGNATURE)) rgba = PNG.sync.read(bytes);
    else if (bytes[0] === 0xff && bytes[1] === 0xd8) rgba = jpeg.decode(bytes, { useTArray: true, formatAsRGBA: true, maxMemoryUsageInMB: 512 });
    else throw new UserError({ file, message: 'not a PNG or JPEG image' });
  } catch (err) {
    if (err instanceof UserError) throw err;
    throw new UserError({ file, message: `not a readable image (${err instanceof Error ? err.message : String(err)})` });
  }
  const { width, height, data } = rgba;
  if (!width || !height) throw new UserError({ file, message: 'the image has no pixels' });
  const count = width * height;
  const luma = new Float32Array(count);
  let opaque = 0;
  let opaqueSum = 0;
  let transparent = false;
  for (let i = 0; i < count; i++) {
    const [r, g, b, a] = [data[4 * i], data[4 * i + 1], data[4 * i + 2], data[4 * i + 3]];
    // Gray stays exactly itself (a digit written from the dataset reads back as its bytes).
    luma[i] = r === g && g === b ? r : 0.299 * r + 0.587 * g + 0.114 * b;
    if (a < 255) transparent = true;
    if (a >= 128) {
      opaque++;
      opaqueSum += luma[i];
    }
  }
  if (!transparent) return { width, height, pixels: luma };
  // Transparency is laid over a background the drawn pixels stand out from: white ink on a
  // transparent sheet is a white digit, black ink a black one.
  const under = opaque && opaqueSum / opaque > 127 ? 0 : 255;
  const pixels = new Float32Array(count);
  for (let i = 0; i < count; i++) {
    const alpha = data[4 * i + 3] / 255;
    pixels[i] = luma[i] * alpha + under * (1 - alpha);
  }
  return { width, height, pixels };
}
