/**
 * Dataset checksums kept between runs: used again only while the file is the same and
 * unchanged (a rewrite with the same size and modification time is caught by the change time),
 * never kept for a file changed just before it was hashed (a coarse clock could miss a second
 * write), dropped when their file is gone, and a cache that cannot be written costs only the time.
 * The files here were just written: `fileChecksum(file, 0)` treats them as settled.
 */
import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, rmSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { fileChecksum } from '../src/data/file-checksums.js';
import { tempDir } from './helpers.js';

const sha = (text: string) => createHash('sha256').update(text).digest('hex');
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

let cache: string;
const before = process.env.LENET_SWEEP_CACHE;
beforeEach(() => {
  cache = tempDir();
  process.env.LENET_SWEEP_CACHE = cache;
});
afterEach(() => {
  if (before === undefined) delete process.env.LENET_SWEEP_CACHE;
  else process.env.LENET_SWEEP_CACHE = before;
});

/** The one kept checksum's file. */
const keptFiles = () => (existsSync(join(cache, 'checksums')) ? readdirSync(join(cache, 'checksums')).map((n) => join(cache, 'checksums', n)) : []);
const keptFile = () => keptFiles()[0];

describe('dataset checksums', () => {
  it('are kept, and used again while the file is unchanged', () => {
    const file = join(tempDir(), 'train-images-idx3-ubyte');
    writeFileSync(file, 'digits');
    expect(fileChecksum(file, 0)).toBe(sha('digits'));
    // Proof that the kept one is used: a planted value comes back.
    const kept = JSON.parse(readFileSync(keptFile(), 'utf8'));
    writeFileSync(keptFile(), JSON.stringify({ ...kept, sha256: 'f'.repeat(64) }));
    expect(fileChecksum(file, 0)).toBe('f'.repeat(64));
  });

  it('are made again when the file changes, even with its size and modification time put back', async () => {
    const file = join(tempDir(), 'train-images-idx3-ubyte');
    writeFileSync(file, 'digits');
    expect(fileChecksum(file, 0)).toBe(sha('digits'));
    const { atime, mtime } = statSync(file);
    await sleep(20);
    writeFileSync(file, 'DIGITS');
    utimesSync(file, atime, mtime);
    expect(fileChecksum(file, 0)).toBe(sha('DIGITS'));
  });

  it('are not kept for a file changed just before it was hashed (a second write in the same clock tick would go unseen)', () => {
    const file = join(tempDir(), 'train-images-idx3-ubyte');
    writeFileSync(file, 'digits');
    expect(fileChecksum(file)).toBe(sha('digits'));
    expect(keptFiles()).toEqual([]);
  });

  it('are dropped when their file is gone', () => {
    const [gone, kept] = [join(tempDir(), 'a'), join(tempDir(), 'b')];
    writeFileSync(gone, 'a');
    writeFileSync(kept, 'b');
    fileChecksum(gone, 0);
    expect(keptFiles()).toHaveLength(1);
    rmSync(gone);
    fileChecksum(kept, 0);
    expect(keptFiles().map((f) => JSON.parse(readFileSync(f, 'utf8')).path)).toEqual([kept]);
  });

  it('are right where nothing can be kept: a cache that is a file, a damaged kept file', () => {
    const file = join(tempDir(), 'labels');
    writeFileSync(file, 'labels');
    expect(fileChecksum(file, 0)).toBe(sha('labels'));
    writeFileSync(keptFile(), '{ damaged');
    expect(fileChecksum(file, 0)).toBe(sha('labels'));
    process.env.LENET_SWEEP_CACHE = file; // a file, not a folder
    expect(fileChecksum(file, 0)).toBe(sha('labels'));
  });
});
