/** Downloads against HTTP servers on the loopback address: mirrors, checksums, atomicity. */
import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { download, DownloadError, type RemoteFile } from '../src/data/download.js';
import { cli } from './cli-helpers.js';
import { tempDir, writeExperiment } from './helpers.js';

const CONTENT: Record<string, Buffer> = {
  'a.gz': Buffer.from('first file '.repeat(1000)),
  'b.gz': Buffer.from('second file '.repeat(500)),
};
const FILES: RemoteFile[] = Object.entries(CONTENT).map(([name, bytes]) => ({ name, md5: createHash('md5').update(bytes).digest('hex') }));

type Behaviour = 'serve' | 'missing' | 'corrupt' | 'cut';
const servers: Server[] = [];
const hits: Record<string, number> = {};

/** A mirror on 127.0.0.1 that serves, 404s, corrupts or cuts off every file. */
async function mirror(behaviour: Behaviour): Promise<string> {
  const server = createServer((req, res) => {
    const name = req.url!.split('/').pop()!;
    hits[behaviour] = (hits[behaviour] ?? 0) + 1;
    const body = CONTENT[name];
    if (!body || behaviour === 'missing') return res.writeHead(404).end();
    if (behaviour === 'corrupt') return res.end(Buffer.concat([body.subarray(0, body.length - 1), Buffer.from('!')]));
    if (behaviour === 'cut') {
      res.writeHead(200, { 'content-length': body.length });
      res.write(body.subarray(0, 100));
      return setTimeout(() => res.destroy(), 20);
    }
    res.end(body);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  servers.push(server);
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}/data/`;
}

let good: string, missing: string, corrupt: string, cut: string;
beforeAll(async () => {
  [good, missing, corrupt, cut] = await Promise.all([mirror('serve'), mirror('missing'), mirror('corrupt'), mirror('cut')]);
});
afterAll(() => servers.forEach((s) => s.close()));

describe('download', () => {
  it('takes each file from the first mirror that serves it with the right checksum', async () => {
    const dir = join(tempDir(), 'cache');
    await download({ files: FILES, mirrors: [missing, corrupt, good] }, dir);
    for (const [name, bytes] of Object.entries(CONTENT)) expect(readFileSync(join(dir, name)).equals(bytes)).toBe(true);
    expect(readdirSync(dir).sort()).toEqual(['a.gz', 'b.gz']);
    // Present and verified: nothing is fetched again.
    const before = hits.serve;
    await download({ files: FILES, mirrors: [good] }, dir);
    expect(hits.serve).toBe(before);
  });

  it('fails with every mirror named and leaves no partial file when none serves a good copy', async () => {
    const dir = join(tempDir(), 'cache');
    const attempt = download({ files: FILES, mirrors: [missing, corrupt, cut] }, dir);
    await expect(attempt).rejects.toBeInstanceOf(DownloadError);
    await expect(attempt).rejects.toThrow(new RegExp(
      `could not download a\\.gz: ${missing}a\\.gz: HTTP 404; ${corrupt}a\\.gz: checksum mismatch \\(md5 [0-9a-f]{32}, expected ${FILES[0].md5}\\); ${cut}a\\.gz: `));
    expect(existsSync(dir) ? readdirSync(dir) : []).toEqual([]);
  });
});

describe('dataset: mnist-full', () => {
  it('a failed download is a runtime error (exit 1) that names the mirrors; nothing half-written in the cache', async () => {
    const dir = join(tempDir(), 'mnist');
    const file = writeExperiment(`name: full\ndata: { dataset: mnist-full, dir: ${dir}, mirrors: ['${missing}', '${corrupt}'] }\n`);
    const db = join(tempDir(), 'runs.db');
    const r = await cli(file, '--db', db);
    expect(r.code).toBe(1);
    expect(r.stderr).toBe(`error: could not download train-images-idx3-ubyte.gz: ${missing}train-images-idx3-ubyte.gz: HTTP 404; ${corrupt}train-images-idx3-ubyte.gz: HTTP 404\n`);
    expect(existsSync(dir) ? readdirSync(dir) : []).toEqual([]);
    expect(existsSync(db)).toBe(false);
    expect(r.stdout).toBe(`downloading ${missing}train-images-idx3-ubyte.gz\ndownloading ${corrupt}train-images-idx3-ubyte.gz\n`);
  });

  it('mirrors belong to mnist-full only', async () => {
    const r = await cli(writeExperiment(`name: x\ndata: { mirrors: ['${good}'] }\n`), '--db', join(tempDir(), 'x.db'));
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/:2:\d+: data\.mirrors: only dataset: mnist-full downloads; remove it/);
  });
});
