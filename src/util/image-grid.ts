/**
 * Small gray images laid out in a grid and written as one PNG file: a row of digits as augmented
 * (augment-preview), a row of training images per class (data inspect). Each image is drawn
 * `zoom` times larger, the cells apart by grey lines.
 */
import { UserError } from '../config/errors.js';
import { diskFull, isDiskFull } from './disk-full.js';
import { outputFull } from './output-path.js';
import { encodeGrayPng } from './png.js';
import { writeFileAtomic } from './write-atomic.js';

export interface ImageGrid {
  rows: number;
  columns: number;
  /** Each image's size in pixels, before zooming. */
  height: number;
  width: number;
  zoom: number;
  /** The grey lines between cells, in pixels. */
  gap: number;
  /** The image of a cell as its pixel (0 to 255) at row y, column x; null leaves the cell grey. */
  cell(row: number, column: number): ((y: number, x: number) => number) | null;
}

/** Draws the grid and writes it to `out` as a PNG, whole or not at all; a full disk is said as everywhere, another failure as the file's. */
export function writeImageGrid(out: string, grid: ImageGrid): void {
  const { rows, columns, height: h, width: w, zoom, gap } = grid;
  const cellW = w * zoom + gap;
  const cellH = h * zoom + gap;
  const width = columns * cellW + gap;
  const height = rows * cellH + gap;
  const pixels = new Uint8Array(width * height).fill(96); // grey grid lines
  for (let r = 0; r < rows; r++) {
    for (let c = 0; c < columns; c++) {
      const pixel = grid.cell(r, c);
      if (!pixel) continue;
      for (let y = 0; y < h * zoom; y++) {
        for (let x = 0; x < w * zoom; x++) pixels[(gap + r * cellH + y) * width + gap + c * cellW + x] = pixel(Math.floor(y / zoom), Math.floor(x / zoom));
      }
    }
  }
  const png = encodeGrayPng(pixels, width, height);
  try {
    writeFileAtomic(out, png);
  } catch (err) {
    // A full disk is no mistake in the command: a runtime failure (exit 1), said as everywhere.
    if (isDiskFull(err)) throw diskFull(outputFull(out, [png]));
    throw new UserError({ file: out, message: `cannot write the image (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})` });
  }
}
