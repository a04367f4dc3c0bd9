/**
 * An image's size as its header states it, read before anything is decoded. A PNG or JPEG of a
 * few kilobytes can claim 20000×20000 pixels (a 1-bit PNG of zeros compresses a thousandfold),
 * and decoding allocates for what the header claims: gigabytes, minutes, then an abort. The
 * header alone says whether an image is worth decoding.
 */

/** The most pixels an image may have: a 50-megapixel photo decodes in about a gigabyte. */
export const MAX_IMAGE_PIXELS = 50_000_000;

export type ImageFormat = 'PNG' | 'JPEG';

export interface ImageHeader {
  format: ImageFormat;
  /** Null when the header is not there (a file cut short): the decoder then says what is wrong. */
  width: number | null;
  height: number | null;
  /**
   * JPEG only, where the frame's header is followed by no scan: 'ended' when the image's end
   * (EOI) comes first, 'cut' when the bytes run out inside the header segments. Such a file has
   * a size and no pixels, and jpeg-js decodes it without a word to a gray field that reads as
   * a blank image.
   */
  noScan?: 'ended' | 'cut';
}

const PNG_SIGNATURE = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);

/** The file's format and stated size; null when it is neither PNG nor JPEG. */
export function readImageHeader(bytes: Buffer): ImageHeader | null {
  if (bytes.subarray(0, 8).equals(PNG_SIGNATURE)) return { format: 'PNG', ...pngSize(bytes) };
  if (bytes[0] === 0xff && bytes[1] === 0xd8) return { format: 'JPEG', ...jpegSize(bytes) };
  return null;
}

/** A PNG's first chunk is its IHDR: width and height as big-endian uint32s. */
function pngSize(bytes: Buffer): { width: number | null; height: number | null } {
  if (bytes.length < 24 || bytes.toString('latin1', 12, 16) !== 'IHDR') return { width: null, height: null };
  return { width: bytes.readUInt32BE(16), height: bytes.readUInt32BE(20) };
}

/**
 * A JPEG's size is in its start-of-frame segment, somewhere after the application segments:
 * walked segment by segment (each states its length) up to the first scan, which must follow.
 */
function jpegSize(bytes: Buffer): { width: number | null; height: number | null; noScan?: 'ended' | 'cut' } {
  let size: { width: number; height: number } | undefined;
  let at = 2;
  let noScan: 'ended' | 'cut' = 'cut';
  while (at + 2 <= bytes.length) {
    if (bytes[at] !== 0xff) break;
    const marker = bytes[at + 1];
    // Fill bytes before a marker, and markers without a length (restarts, TEM).
    if (marker === 0xff) {
      at++;
      continue;
    }
    if (marker === 0x01 || (marker >= 0xd0 && marker <= 0xd7)) {
      at += 2;
      continue;
    }
    // The image data (SOS): after a frame, the scan its pixels are in; before one, no size stated.
    if (marker === 0xda) return size ?? { width: null, height: null };
    // The image's end (EOI): after a frame, an image without a scan.
    if (marker === 0xd9) {
      noScan = 'ended';
      break;
    }
    if (at + 4 > bytes.length) break;
    const length = bytes.readUInt16BE(at + 2);
    // SOF0 to SOF15, less DHT (C4), JPG (C8) and DAC (CC): precision, height, width.
    if (!size && marker >= 0xc0 && marker <= 0xcf && marker !== 0xc4 && marker !== 0xc8 && marker !== 0xcc) {
      if (at + 9 > bytes.length) break;
      size = { height: bytes.readUInt16BE(at + 5), width: bytes.readUInt16BE(at + 7) };
    }
    at += 2 + length;
  }
  return size ? { ...size, noScan } : { width: null, height: null };
}
