/**
 * Where an export's files go, and how an earlier export is recognised: `sweep export --force`
 * replaces one and nothing else (not a file that happens to have the name, nor a folder of
 * someone's work). An earlier export is known by its model card, which names the files it
 * was written with, and by the files themselves:
 * - ONNX: the file starts as our exporter writes it (ModelProto's ir_version, then producer
 *   name "lenet-sweep"), and NAME.card.json beside it is a card of an ONNX export naming it;
 * - tfjs: a folder holding model-card.json of a tfjs export and nothing but model.json and
 *   weights.bin besides, each a file (or an empty folder: nothing in it is lost).
 */
import { closeSync, lstatSync, openSync, readdirSync, readFileSync, readSync } from 'node:fs';
import { basename, dirname, extname, join } from 'node:path';
import { WEIGHTS_FILE } from '../export/tfjs-layers.js';
import type { ExportFormat } from './model-card.js';

const TFJS_CARD = 'model-card.json';
/** What a tfjs export's folder holds. */
export const TFJS_FILES = ['model.json', WEIGHTS_FILE, TFJS_CARD];
/** Far more than a model card takes (about 4 kB). */
const MAX_CARD_BYTES = 1_000_000;
/** How --force is limited, said at the end of each refusal. */
const ONLY = '--force replaces only an earlier export: give another --out';

/** Where the card goes: inside a tfjs folder, else beside the file (model.onnx → model.card.json). */
export function cardPath(format: ExportFormat, out: string): string {
  return format === 'tfjs' ? join(out, TFJS_CARD) : join(dirname(out), `${basename(out, extname(out))}.card.json`);
}

/** Why the file at `out` and its card are not an earlier ONNX export (either may be missing, not both), or undefined if they are one. */
export function notEarlierOnnxExport(out: string): string | undefined {
  const card = cardPath('onnx', out);
  const cardName = basename(card);
  if (lstatSync(card, { throwIfNoEntry: false })?.isFile() !== true) return `is not an earlier export: no model card ${cardName} beside it; ${ONLY}`;
  const parsed = readCard(card);
  if (!parsed || (parsed.format !== 'onnx' && parsed.format !== 'onnx-int8') || !parsed.files.includes(basename(out))) {
    return `is not an earlier export: ${cardName} beside it is not the model card of an ONNX export named ${basename(out)}; ${ONLY}`;
  }
  const model = lstatSync(out, { throwIfNoEntry: false });
  if (model && !(model.isFile() && startsAsOurOnnx(out))) return `is not an earlier export: not an ONNX file written by lenet-sweep (though ${cardName} beside it names it); ${ONLY}`;
  return undefined;
}

/** Why the folder `out` is not an earlier tfjs export, or undefined if it is one (or empty). */
export function notEarlierTfjsExport(out: string): string | undefined {
  const names = readdirSync(out);
  if (names.length === 0) return undefined;
  if (names.some((n) => !TFJS_FILES.includes(n))) return `holds files other than a tfjs export's (${TFJS_FILES.join(', ')}); ${ONLY}`;
  const notFile = names.find((n) => !lstatSync(join(out, n)).isFile());
  if (notFile !== undefined) return `is not an earlier export: its ${notFile} is not a file; ${ONLY}`;
  if (readCard(join(out, TFJS_CARD))?.format !== 'tfjs') return `is not an earlier export: it holds no model card (${TFJS_CARD}) of a tfjs export; ${ONLY}`;
  return undefined;
}

/** A model card's format and files, or null when the file is not one (not JSON, or without them). */
function readCard(path: string): { format: unknown; files: unknown[] } | null {
  // A card is a few kilobytes: a big file of the name is not read whole to find that out.
  if ((lstatSync(path, { throwIfNoEntry: false })?.size ?? 0) > MAX_CARD_BYTES) return null;
  try {
    const card = JSON.parse(readFileSync(path, 'utf8'));
    return card && typeof card === 'object' && typeof card.lenet_sweep === 'string' && Array.isArray(card.files) ? card : null;
  } catch {
    return null;
  }
}

/**
 * The first bytes of our ModelProto: field 1 (ir_version, a varint), then field 2
 * (producer_name) "lenet-sweep". Only these bytes are read, whatever the file's size.
 */
function startsAsOurOnnx(path: string): boolean {
  const head = Buffer.alloc(32);
  const fd = openSync(path, 'r');
  let length: number;
  try {
    length = readSync(fd, head, 0, head.length, 0);
  } finally {
    closeSync(fd);
  }
  if (head[0] !== 0x08) return false;
  let i = 1;
  while (i < length && head[i] & 0x80) i++;
  const producer = Buffer.from('lenet-sweep');
  return head[i + 1] === 0x12 && head[i + 2] === producer.length && head.subarray(i + 3, i + 3 + producer.length).equals(producer);
}
