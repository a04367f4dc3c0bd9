/**
 * An image file made into the network's input as a digit of the dataset looks (prepare.ts):
 * read, decoded to gray (decode.ts), ink light on black, fitted and centred. `sweep predict`
 * prepares the images it is given this way, and a folder dataset its training and test images,
 * so that what a model is trained on and what it is asked about are made alike.
 */
import { readFileSync } from 'node:fs';
import { UserError } from '../config/errors.js';
import { decodeImage } from './decode.js';
import { prepareDigit } from './prepare.js';

/** An image file's bytes; a file that cannot be read is named, with why. */
function readImageFile(file: string): Buffer {
  try {
    return readFileSync(file);
  } catch (err) {
    throw new UserError({ file, message: `cannot read it (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})` });
  }
}

/**
 * The digit of an image file, `side`×`side` pixel values 0 to 255; a file that is no image is a
 * UserError naming it. A blank image is one too (`blank: 'refuse'`: a digit to predict was asked
 * for), or an image of nothing, all black (`'empty'`: a dataset's image of an empty cell).
 * `sized` hears the image's own width and height.
 */
export function digitFromFile(file: string, side: number, { blank = 'refuse', sized }: { blank?: 'refuse' | 'empty'; sized?: (width: number, height: number) => void } = {}): Float32Array {
  const image = decodeImage(file, readImageFile(file));
  sized?.(image.width, image.height);
  const digit = prepareDigit(image, side);
  if (digit) return digit;
  if (blank === 'empty') return new Float32Array(side * side);
  throw new UserError({ file, message: 'the image is blank: no digit found on it' });
}
