/**
 * Images from files, as gray levels: PNG (pngjs: every colour type, bit depth and interlacing)
 * and JPEG (jpeg-js: baseline and progressive), both pure JavaScript. Colour becomes luminance
 * (ITU-R BT.601, as PIL's convert('L')); transparency is laid over whichever of black or white
 * the drawn pixels stand out from.
 */
import jpeg from 'jpeg-js';
import { PNG } from 'pngjs';
import { UserError } from '../config/errors.js';
import { MAX_IMAGE_PIXELS, readImageHeader, type ImageFormat } from './image-size.js';

export interface GrayImage {
  width: number;
  height: number;
  /** 0 (black) to 255 (white), row by row. */
  pixels: Float32Array;
}

const MEGAPIXELS = MAX_IMAGE_PIXELS / 1e6;

/**
 * jpeg-js counts what it allocates (a 64-coefficient block per 8×8 pixels per colour): a
 * 50-megapixel colour JPEG needs about 1,050 MB of it, a CMYK one about 1,250.
 */
const JPEG_MEMORY_MB = 1536;

const megapixels = (pixels: number) => `${(pixels / 1e6).toLocaleString('en', { maximumFractionDigits: 1 })} megapixels`;

const tooLarge = (why: string) => `the image is too large to read: ${why}, more than the ${MEGAPIXELS} megapixels allowed; scale it down first`;

/**
 * A file that is no image we read (empty, of another format, damaged, too large): a UserError
 * naming it, of its own class so that a folder dataset can leave such files out when asked
 * (--skip-bad) and still refuse the others (a file it cannot read at all).
 */
export class UndecodableImage extends UserError {
  constructor(readonly file: string, readonly why: string) {
    super({ file, message: why });
  }
}

/** Decodes an image file's bytes; throws UndecodableImage naming the file when it is not an image we read. */
export function decodeImage(file: string, bytes: Buffer): GrayImage {
  if (bytes.length === 0) throw new UndecodableImage(file, 'the file is empty; give a PNG or JPEG image');
  const header = readImageHeader(bytes);
  if (!header) throw new UndecodableImage(file, 'not a PNG or JPEG image');
  const { format, width: statedWidth, height: statedHeight } = header;
  if (statedWidth !== null && statedHeight !== null && statedWidth * statedHeight > MAX_IMAGE_PIXELS) {
    throw new UndecodableImage(file, tooLarge(`its header states ${statedWidth}×${statedHeight} pixels (${megapixels(statedWidth * statedHeight)})`));
  }
  if (header.noScan) {
    const where = header.noScan === 'ended' ? 'it ends after its header' : 'it ends within its header';
    throw new UndecodableImage(file, `the JPEG file is cut short: ${where}, before any image data`);
  }
  let rgba: { width: number; height: number; data: Uint8Array };
  const whole = withEndMarker(format, bytes);
  try {
    rgba = format === 'PNG'
      ? PNG.sync.read(whole)
      // jpeg-js's own limits as a second guard, should a frame hide where the header walk did not look.
      : jpeg.decode(whole, { useTArray: true, formatAsRGBA: true, maxResolutionInMP: MEGAPIXELS, maxMemoryUsageInMB: JPEG_MEMORY_MB });
  } catch (err) {
    throw new UndecodableImage(file, decodeProblem(format, err));
  }
  const { width, height, data } = rgba;
  if (!width || !height) throw new UndecodableImage(file, 'the image has no pixels');
  const count = width * height;
  const luma = new Float32Array(count);
  let opaque = 0;
  let opaqueSum = 0;
  let transparent = false;
  for (let i = 0; i < count; i++) {
    const r = data[4 * i], g = data[4 * i + 1], b = data[4 * i + 2], a = data[4 * i + 3];
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

const PNG_END = Buffer.from([0, 0, 0, 0, 0x49, 0x45, 0x4e, 0x44, 0xae, 0x42, 0x60, 0x82]);
const JPEG_END = Buffer.from([0xff, 0xd9]);

/**
 * The bytes with their end marker, where only that is missing: a PNG whose last whole chunk is
 * not its IEND, a JPEG that does not end in EOI. Browsers, libpng and libjpeg read such files
 * (often written by a program that stopped before its last write); pngjs and jpeg-js refuse
 * them. A file cut inside its data still fails: the marker does not make the data whole.
 */
function withEndMarker(format: ImageFormat, bytes: Buffer): Buffer {
  if (format === 'JPEG') return bytes.subarray(-2).equals(JPEG_END) ? bytes : Buffer.concat([bytes, JPEG_END]);
  // Chunk by chunk: length, type, data, checksum; the walk must end exactly at the file's end.
  let at = 8;
  let last = '';
  let hasData = false;
  while (at + 12 <= bytes.length) {
    last = bytes.toString('latin1', at + 4, at + 8);
    hasData ||= last === 'IDAT';
    at += 12 + bytes.readUInt32BE(at);
  }
  return at === bytes.length && hasData && last !== 'IEND' ? Buffer.concat([bytes, PNG_END]) : bytes;
}

/**
 * What a decoder's failure means, in words a user can act on: the decoders' own messages name
 * their internals ("There are some read requests waitng on finished stream" is a cut-short PNG).
 */
function decodeProblem(format: ImageFormat, err: unknown): string {
  const message = err instanceof Error ? err.message : String(err);
  const code = (err as NodeJS.ErrnoException)?.code ?? '';
  if (/maxResolutionInMP/.test(message)) return tooLarge('its frame is larger than its header says');
  if (/maxMemoryUsageInMB|allocate enough memory/.test(message)) return tooLarge(`decoding it would take more than ${JPEG_MEMORY_MB} MB`);
  if (format === 'PNG') {
    if (/waitng on finished stream|waiting on finished stream|Unexpected end of input|Ran out of data|unexpected end of file/i.test(message)) {
      return 'the PNG file is cut short: its image data ends before the image does';
    }
    // pngjs stops at a chunk that fails its checksum and then reports the bytes left unread.
    if (/^Crc error|unrecognised content at end/.test(message)) return 'the PNG file is damaged: a chunk does not match its checksum, or bytes follow its end';
    if (code.startsWith('Z_') || /inflate|incorrect header check|invalid (block type|distance|stored block|code)/i.test(message)) {
      return 'the PNG file is damaged: its compressed image data does not unpack';
    }
    if (/^Unsupported|unrecognised depth|Expected IHDR/.test(message)) return 'the PNG file is damaged: its header is not one PNG defines';
    if (/extra data found/.test(message)) return 'the PNG file is damaged: it holds more image data than its header states';
    if (/palette/i.test(message)) return 'the PNG file is damaged: its palette does not fit its pixels';
    return `the PNG file is damaged and cannot be decoded (${message})`;
  }
  if (/marker was not found|unknown JPEG marker|unexpected marker|SOI not found/.test(message)) return 'the JPEG file is damaged or cut short: its data ends or breaks off early';
  if (/Huffman|huffman|ACn encoding|sampling factor|DQT/.test(message)) return 'the JPEG file is damaged: its compressed data does not decode';
  if (/only single frame/.test(message)) return 'the JPEG file holds no image frame (or several)';
  if (/color mode/.test(message)) return 'the JPEG file uses a colour model not read here; save it as an ordinary colour or gray JPEG, or a PNG';
  return `the JPEG file is damaged and cannot be decoded (${message})`;
}
