/**
 * Images from files, as gray levels: PNG (pngjs: every colour type, bit depth and interlacing)
 * and JPEG (jpeg-js: baseline and progressive), both pure JavaScript. Colour becomes luminance
 * (ITU-R BT.601, as PIL's convert('L')); transparency is laid over white, as a viewer shows it.
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
  const pixels = new Float32Array(width * height);
  for (let i = 0; i < pixels.length; i++) {
    const alpha = data[4 * i + 3] / 255;
    const [r, g, b] = [data[4 * i], data[4 * i + 1], data[4 * i + 2]];
    // Gray stays exactly itself (a digit written from the dataset reads back as its bytes).
    const luma = r === g && g === b ? r : 0.299 * r + 0.587 * g + 0.114 * b;
    pixels[i] = alpha === 1 ? luma : luma * alpha + 255 * (1 - alpha);
  }
  return { width, height, pixels };
}
