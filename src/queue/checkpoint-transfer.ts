/**
 * An epoch's checkpoint on its way through Redis (under protocol.ts's keys). An agent uploads
 * each epoch's checkpoint under a key of its own before it sends the epoch, so the coordinator
 * stores an epoch only with its state; once stored, the upload becomes the trial's `resume`
 * checkpoint, the one an agent taking the trial over starts from. A trial the coordinator hands
 * out is offered the checkpoint its database resumes it from the same way, and none when it has
 * none. Uploads no attempt takes (stale, sent twice, of an ended trial) are dropped; the rest
 * lapse with their time to live.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { ChainableCommander, Redis } from 'ioredis';
import { checkpointName, trialFolder, writeCheckpointFile } from '../checkpoint/files.js';
import { decodeCheckpoint, type Checkpoint } from '../checkpoint/format.js';
import { inBatches } from './redis.js';
import { CHECKPOINT_TTL_S, keys, MAX_CHECKPOINT_BYTES, type StreamEntry } from './protocol.js';

// The agent's side.

/** Uploads an epoch's checkpoint (the agent's file of it) for the coordinator; answers the key it is under. */
export async function uploadCheckpoint(redis: Redis, root: string, sweep: string, trialId: string, attempt: number, epoch: number): Promise<string> {
  const bytes = readFileSync(join(trialFolder(root, trialId), checkpointName(epoch)));
  if (bytes.length > MAX_CHECKPOINT_BYTES) throw new Error(`the checkpoint of epoch ${epoch} is ${bytes.length} bytes, more than the ${MAX_CHECKPOINT_BYTES} a queue carries`);
  const upload = keys.upload(sweep, trialId, attempt, epoch);
  await redis.set(upload, bytes, 'EX', CHECKPOINT_TTL_S);
  return upload;
}

/**
 * The trial's latest checkpoint the coordinator holds (its offer), written where the agent's
 * worker reads it; its epoch, or 0.
 */
export async function fetchOffer(redis: Redis, root: string, sweep: string, trialId: string): Promise<number> {
  const got = await redis.getBuffer(keys.resume(sweep, trialId));
  if (!got) return 0;
  // Copied: ioredis may hand back a view at an offset the checkpoint's float arrays cannot start at.
  const bytes = new Uint8Array(got);
  try {
    const checkpoint = decodeCheckpoint(bytes);
    if (checkpoint.trialId !== trialId) return 0;
    writeCheckpointFile(root, trialId, checkpoint.epoch, bytes);
    return checkpoint.epoch;
  } catch {
    // Damaged on the way: the trial starts over, which ends the same.
    return 0;
  }
}

// The coordinator's side.

/** A checkpoint stored here becomes the one an agent taking the trial starts from. */
export async function offerCheckpoint(redis: Redis, sweep: string, trialId: string, root: string, epoch: number): Promise<void> {
  const bytes = readFileSync(join(trialFolder(root, trialId), checkpointName(epoch)));
  await redis.set(keys.resume(sweep, trialId), bytes, 'EX', CHECKPOINT_TTL_S);
}

/** The trial's offered checkpoint goes: an agent taking it starts from none. */
export async function withdrawOffer(redis: Redis, sweep: string, trialId: string): Promise<void> {
  await redis.del(keys.resume(sweep, trialId));
}

/** withdrawOffer for many trials, a batch of keys per command. */
export async function withdrawOffers(redis: Redis, sweep: string, trialIds: string[]): Promise<void> {
  await inBatches(
    trialIds.map((trial) => keys.resume(sweep, trial)),
    (batch) => redis.del(...batch),
  );
}

/** A stale epoch's checkpoint is not kept. */
export async function dropUpload(redis: Redis, entry: StreamEntry): Promise<void> {
  if (entry.upload) await redis.del(entry.upload).catch(() => {});
}

/** An epoch's uploaded checkpoint, checked to be that epoch of that trial; else why it cannot be stored. */
export async function fetchUpload(redis: Redis, upload: string | undefined, trialId: string, epoch: number): Promise<{ bytes: Uint8Array; checkpoint: Checkpoint } | { problem: string }> {
  const got = upload ? await redis.getBuffer(upload) : null;
  if (!got) return { problem: 'its checkpoint is no longer in Redis (expired)' };
  // (Copied: ioredis may hand back a view at an offset the checkpoint's float arrays cannot start at.)
  const bytes = new Uint8Array(got);
  let checkpoint: Checkpoint;
  try {
    checkpoint = decodeCheckpoint(bytes);
  } catch (err) {
    return { problem: `its checkpoint is damaged (${(err as Error).message})` };
  }
  if (checkpoint.trialId !== trialId || checkpoint.epoch !== epoch) return { problem: `its checkpoint is epoch ${checkpoint.epoch} of trial ${checkpoint.trialId}` };
  return { bytes, checkpoint };
}

/** Adds to `write` (a MULTI): the stored epoch's upload becomes the trial's resume checkpoint. */
export function keepAsResume(write: ChainableCommander, sweep: string, trialId: string, upload: string): ChainableCommander {
  return write.rename(upload, keys.resume(sweep, trialId));
}
