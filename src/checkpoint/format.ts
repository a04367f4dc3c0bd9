/**
 * The checkpoint file: a trial's whole training state after an epoch, in one self-checking file.
 *
 *   "LSWCKPT1"  magic and format version (8 bytes)
 *   u32 LE      length of the header
 *   header      JSON: trial, epoch, the scalar state, the epoch history, and where each tensor lies
 *   padding     to a multiple of 4, so tensors can be read in place
 *   tensors     float32 and uint32 arrays, little-endian, one after another
 *   sha256      32 bytes, of everything before it
 *
 * Pure functions on bytes: the worker encodes, the main thread and the exports decode; a file
 * whose checksum fails never decodes (it is reported, never loaded).
 */
import { createHash } from 'node:crypto';
import type { EpochMetrics } from '../train/metrics.js';

const MAGIC = 'LSWCKPT1';
/** The SHA-256 every checkpoint ends with. */
export const DIGEST_BYTES = 32;

export type TensorData = { dtype: 'float32'; shape: number[]; values: Float32Array } | { dtype: 'uint32'; shape: number[]; values: Uint32Array };

/** What training needs, besides the tensors, to continue exactly where it stopped. */
export interface ScalarState {
  /** The trial's generators (util/random.ts): shuffling and dropout, augmentation. */
  rng: number;
  augmentRng: number;
  /** Steps the optimizer has taken (Adam's bias correction counts them). */
  optimizerSteps: number;
  /** The learning-rate schedule's own state (plateau's counters), or null. */
  schedule: unknown;
  /** The first epoch's training loss, which divergence is judged against. */
  firstTrainLoss: number | null;
}

export interface Checkpoint {
  trialId: string;
  /** The epoch whose end this is (1-based). */
  epoch: number;
  /** The side of the square images the model takes (28 for MNIST). */
  inputSize: number;
  state: ScalarState;
  /** Every epoch's metrics up to this one, so a database behind the files can be completed. */
  history: EpochMetrics[];
  /**
   * By name: `model.<LeNet variable>` (model/lenet.ts NamedVariables), `optimizer.<i>` (its state
   * vectors), `order` (the shuffled order of the training images, shuffled again each epoch).
   */
  tensors: Map<string, TensorData>;
}

interface TensorEntry {
  name: string;
  dtype: TensorData['dtype'];
  shape: number[];
  /** Byte offset from the start of the tensor section. */
  offset: number;
}

interface Header {
  trialId: string;
  epoch: number;
  inputSize: number;
  state: ScalarState;
  history: EpochMetrics[];
  tensors: TensorEntry[];
}

/** What training saves and restores; the checkpoint adds whose it is. */
export type TrainingState = Omit<Checkpoint, 'trialId'>;

/** A file that is not a whole, intact checkpoint; `message` says what is wrong with it. */
export class CheckpointError extends Error {}

export function encodeCheckpoint(c: Checkpoint): Uint8Array {
  const entries: TensorEntry[] = [];
  let offset = 0;
  for (const [name, t] of c.tensors) {
    entries.push({ name, dtype: t.dtype, shape: t.shape, offset });
    offset += t.values.byteLength;
  }
  const header: Header = { trialId: c.trialId, epoch: c.epoch, inputSize: c.inputSize, state: c.state, history: c.history, tensors: entries };
  const json = Buffer.from(JSON.stringify(header), 'utf8');
  const start = align4(MAGIC.length + 4 + json.length);
  const bytes = new Uint8Array(start + offset + DIGEST_BYTES);
  bytes.set(Buffer.from(MAGIC, 'latin1'), 0);
  new DataView(bytes.buffer).setUint32(MAGIC.length, json.length, true);
  bytes.set(json, MAGIC.length + 4);
  for (const [i, [, t]] of [...c.tensors].entries()) {
    // Typed arrays are little-endian on every platform Node runs on.
    bytes.set(new Uint8Array(t.values.buffer, t.values.byteOffset, t.values.byteLength), start + entries[i].offset);
  }
  bytes.set(digest(bytes.subarray(0, bytes.length - DIGEST_BYTES)), bytes.length - DIGEST_BYTES);
  return bytes;
}

/** The checksum a file carries (hex), as the database records it; not checked here. */
export function storedDigest(bytes: Uint8Array): string {
  return Buffer.from(bytes.subarray(bytes.length - DIGEST_BYTES)).toString('hex');
}

/** Decodes a checkpoint, after checking its checksum; throws CheckpointError on anything torn or foreign. */
export function decodeCheckpoint(bytes: Uint8Array): Checkpoint {
  if (bytes.length < MAGIC.length + 4 + DIGEST_BYTES || Buffer.from(bytes.subarray(0, MAGIC.length)).toString('latin1') !== MAGIC) {
    throw new CheckpointError('not a lenet-sweep checkpoint (or one of another format version)');
  }
  const body = bytes.subarray(0, bytes.length - DIGEST_BYTES);
  if (!Buffer.from(digest(body)).equals(Buffer.from(bytes.subarray(bytes.length - DIGEST_BYTES)))) {
    throw new CheckpointError('its checksum does not match its content');
  }
  const length = new DataView(bytes.buffer, bytes.byteOffset).getUint32(MAGIC.length, true);
  const header = JSON.parse(Buffer.from(bytes.subarray(MAGIC.length + 4, MAGIC.length + 4 + length)).toString('utf8')) as Header;
  const start = align4(MAGIC.length + 4 + length);
  const tensors = new Map<string, TensorData>();
  for (const e of header.tensors) {
    const count = e.shape.reduce((a, b) => a * b, 1);
    // A copy: aligned whatever the buffer's own offset, and independent of the file's bytes.
    const raw = bytes.slice(start + e.offset, start + e.offset + count * 4);
    tensors.set(
      e.name,
      e.dtype === 'float32'
        ? { dtype: 'float32', shape: e.shape, values: new Float32Array(raw.buffer, raw.byteOffset, count) }
        : { dtype: 'uint32', shape: e.shape, values: new Uint32Array(raw.buffer, raw.byteOffset, count) },
    );
  }
  return { trialId: header.trialId, epoch: header.epoch, inputSize: header.inputSize, state: header.state, history: header.history, tensors };
}

function digest(bytes: Uint8Array): Uint8Array {
  return createHash('sha256').update(bytes).digest();
}

const align4 = (n: number) => (n + 3) & ~3;
