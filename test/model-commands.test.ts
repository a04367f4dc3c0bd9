/**
 * A sweep's trained models, used as a user would: exported and run by ONNX Runtime and by
 * TensorFlow.js, asked about PNG and JPEG files, evaluated on a dataset; and every bad input.
 */
import Database from 'better-sqlite3';
import { execFileSync } from 'node:child_process';
import { copyFileSync, cpSync, existsSync, lstatSync, mkdirSync, readdirSync, readFileSync, realpathSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { crc32, deflateSync } from 'node:zlib';
import { io, loadLayersModel, tensor4d, type Tensor } from '@tensorflow/tfjs';
import jpeg from 'jpeg-js';
import { PNG } from 'pngjs';
import * as ort from 'onnxruntime-node';
import { beforeAll, describe, expect, it } from 'vitest';
import { initBackend } from '../src/backend/index.js';
import { checkpointRoot } from '../src/checkpoint/files.js';
import { gather, IDX_FILES, loadDataset, type Dataset } from '../src/data/dataset.js';
import { ensureEmbeddedMnist } from '../src/data/embedded.js';
import { readIdx, writeIdx } from '../src/data/idx.js';
import { encodeGrayPng } from '../src/util/png.js';
import { CACHE, cli, startCli } from './cli-helpers.js';
import { tempDir } from './helpers.js';

const EXPERIMENT = `name: models
training: { epochs: 2, batch_size: 32, seed: 5, limit_train: 1024 }
model: { batchnorm: true }
sweep:
  parameters:
    model.pooling: [avg, max]
`;

let dir: string;
let db: string;
let data: Dataset;
let trials: Array<{ id: string; test_acc: number; best_epoch: number; rank: number }>;

const query = <T>(sql: string, path = db): T[] => {
  const d = new Database(path, { readonly: true });
  try {
    return d.prepare(sql).all() as T[];
  } finally {
    d.close();
  }
};

beforeAll(async () => {
  dir = tempDir();
  db = join(dir, 'runs', 'runs.db');
  const file = join(dir, 'models.yaml');
  writeFileSync(file, EXPERIMENT);
  const r = await cli(file, '--db', db, '--no-tui', '--keep', 'all');
  expect(r.code, r.stderr).toBe(0);
  trials = query(`SELECT l.id, t.test_acc, t.best_epoch, l.rank FROM leaderboard l JOIN trials t USING (id) ORDER BY l.rank`);
  await initBackend('wasm');
  data = loadDataset(ensureEmbeddedMnist(join(CACHE, 'mnist-embedded')), { validation: { from: 'test' }, limitTrain: 0, mean: 0.1307, std: 0.3081 });
}, 120_000);

/** A grayscale PNG of the given header and IDAT bytes (deflated rows, each led by its filter byte). */
function pngFile(width: number, height: number, bitDepth: number, idat: Buffer): Buffer {
  const chunk = (type: string, data: Buffer) => {
    const head = Buffer.alloc(8);
    head.writeUInt32BE(data.length, 0);
    head.write(type, 4, 'ascii');
    const crc = Buffer.alloc(4);
    crc.writeUInt32BE(crc32(Buffer.concat([head.subarray(4), data])), 0);
    return Buffer.concat([head, data, crc]);
  };
  const header = Buffer.alloc(13);
  header.writeUInt32BE(width, 0);
  header.writeUInt32BE(height, 4);
  header[8] = bitDepth;
  return Buffer.concat([Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]), chunk('IHDR', header), chunk('IDAT', idat), chunk('IEND', Buffer.alloc(0))]);
}

/** The i-th test digit as a PNG file in a folder; returns its path. */
function testDigitFile(i: number, folder: string): string {
  const at = data.test.indices[i] * 784;
  const path = join(folder, `digit-${i}.png`);
  writeFileSync(path, encodeGrayPng(data.test.pixels.subarray(at, at + 784), 28, 28));
  return path;
}

/** The test split in NCHW (one channel: the same bytes as NHWC). */
const testImages = () => gather(data, data.test, null, 0, data.test.count);

async function onnxAccuracy(path: string): Promise<number> {
  const session = await ort.InferenceSession.create(readFileSync(path));
  const { images, labels } = testImages();
  const out = await session.run({ input: new ort.Tensor('float32', images, [labels.length, 1, 28, 28]) });
  const logits = out.logits.data as Float32Array;
  let correct = 0;
  labels.forEach((label, i) => {
    const row = Array.from(logits.subarray(i * 10, i * 10 + 10));
    if (row.indexOf(Math.max(...row)) === label) correct++;
  });
  return correct / labels.length;
}

describe('sweep export', () => {
  it('onnx: ONNX Runtime gives the trial its stored test accuracy; a model card beside it', async () => {
    const out = join(dir, 'best.onnx');
    const r = await cli('export', 'best', '--db', db, '--format', 'onnx', '--out', out);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain(`exported trial ${trials[0].id} of sweep models at epoch 2 (its last) as onnx: ${out}, ${join(dir, 'best.card.json')}`);
    expect(await onnxAccuracy(out)).toBe(trials[0].test_acc);
    const card = JSON.parse(readFileSync(join(dir, 'best.card.json'), 'utf8'));
    expect(card).toMatchObject({
      format: 'onnx',
      trial: { id: trials[0].id, sweep: 'models', status: 'completed', epochs: 2, epochs_planned: 2, epoch: 2, epoch_choice: 'last' },
      input: { name: 'input', shape: [null, 1, 28, 28], layout: 'NCHW', preprocessing: { size: 28, mean: 0.1307, std: 0.3081 } },
      output: { name: 'logits', shape: [null, 10] },
      metrics: { metric: 'val_acc', test_acc: trials[0].test_acc, test_images: 1002 },
      config: { model: { pooling: expect.any(String), batchnorm: true } },
      provenance: { file: { sha256: expect.stringMatching(/^[0-9a-f]{64}$/) }, backend: 'wasm' },
    });
  });

  it('onnx-int8: at least 3.5× smaller, test accuracy within 0.5 points of the float model', async () => {
    const float = join(dir, 'float.onnx');
    const int8 = join(dir, 'int8.onnx');
    expect((await cli('export', trials[1].id, '--db', db, '--format', 'onnx', '--out', float)).code).toBe(0);
    const r = await cli('export', trials[1].id, '--db', db, '--format', 'onnx-int8', '--out', int8);
    expect(r.code, r.stderr).toBe(0);
    const ratio = statSync(float).size / statSync(int8).size;
    const [a, b] = [await onnxAccuracy(float), await onnxAccuracy(int8)];
    console.log(`int8: ${statSync(int8).size} bytes (${ratio.toFixed(2)}× smaller), test accuracy ${(100 * b).toFixed(2)}% vs float ${(100 * a).toFixed(2)}%`);
    expect(ratio).toBeGreaterThanOrEqual(3.5);
    expect(Math.abs(a - b)).toBeLessThanOrEqual(0.005);
    const card = JSON.parse(readFileSync(join(dir, 'int8.card.json'), 'utf8'));
    expect(card.quantization).toMatchObject({ calibration_images: 512 });
    // The card does not pass the float model's accuracy off as the int8 model's.
    expect(card.metrics.test_acc).toBeUndefined();
    expect(card.metrics.float_test_acc).toBe(trials[1].test_acc);
  });

  it('tfjs: tf.loadLayersModel loads the folder and gives the stored test accuracy', async () => {
    const out = join(dir, 'tfjs-model');
    const r = await cli('export', trials[0].id, '--db', db, '--format', 'tfjs', '--out', out);
    expect(r.code, r.stderr).toBe(0);
    expect(readdirSync(out).sort()).toEqual(['model-card.json', 'model.json', 'weights.bin']);
    const json = JSON.parse(readFileSync(join(out, 'model.json'), 'utf8'));
    const weights = readFileSync(join(out, json.weightsManifest[0].paths[0]));
    const model = await loadLayersModel(io.fromMemory({ modelTopology: json.modelTopology, weightSpecs: json.weightsManifest[0].weights, weightData: weights.buffer.slice(weights.byteOffset, weights.byteOffset + weights.length) }));
    const { images, labels } = testImages();
    const logits = model.predict(tensor4d(images, [labels.length, 28, 28, 1])) as Tensor;
    const predicted = (await logits.argMax(1).data()) as Int32Array;
    expect(predicted.filter((p, i) => p === labels[i]).length / labels.length).toBe(trials[0].test_acc);
  });

  it('--epoch best exports the best epoch; an existing --out is refused without --force and left as it was', async () => {
    const out = join(dir, 'epoch.onnx');
    expect((await cli('export', trials[0].id, '--db', db, '--format', 'onnx', '--out', out, '--epoch', 'best')).stdout).toContain(`at epoch ${trials[0].best_epoch} (its best)`);
    const before = readFileSync(out);
    const again = await cli('export', trials[0].id, '--db', db, '--format', 'onnx', '--out', out, '--epoch', 'last');
    expect([again.code, again.stderr]).toEqual([2, `${out}: --out: already exists; give another path, or --force to replace it\n`]);
    expect(readFileSync(out).equals(before)).toBe(true);
    expect((await cli('export', trials[0].id, '--db', db, '--format', 'onnx', '--out', out, '--epoch', 'last', '--force')).code).toBe(0);
  });

  it('--force replaces only what an export writes: never a folder of other files, nor a folder for a file', async () => {
    const folder = join(dir, 'thesis');
    mkdirSync(folder);
    writeFileSync(join(folder, 'thesis.tex'), 'precious');
    const tfjs = await cli('export', trials[0].id, '--db', db, '--format', 'tfjs', '--out', folder, '--force');
    expect([tfjs.code, tfjs.stderr]).toEqual([2, `${folder}: --out: holds files other than a tfjs export's (model.json, weights.bin, model-card.json); --force replaces only an earlier export: give another --out\n`]);
    expect(readdirSync(folder)).toEqual(['thesis.tex']);
    const onnx = await cli('export', trials[0].id, '--db', db, '--format', 'onnx', '--out', folder, '--force');
    expect([onnx.code, onnx.stderr]).toEqual([2, `${folder}: --out: is a folder; give the name of the file to write\n`]);
    // A trailing slash names the same folder; an earlier export is replaced.
    const out = join(dir, 'again-tfjs');
    expect((await cli('export', trials[0].id, '--db', db, '--format', 'tfjs', '--out', `${out}/`)).code).toBe(0);
    expect((await cli('export', trials[0].id, '--db', db, '--format', 'tfjs', '--out', `${out}/`, '--force')).code).toBe(0);
    expect(readdirSync(out).sort()).toEqual(['model-card.json', 'model.json', 'weights.bin']);
    expect(readdirSync(dir).filter((n) => n.includes('.tmp'))).toEqual([]);
  });

  it('--force replaces an earlier export only: never a device, FIFO, link, or a file or folder an export did not write', async () => {
    const place = tempDir();
    const refused = async (format: string, out: string, message: string) => {
      const r = await cli('export', trials[0].id, '--db', db, '--format', format, '--out', out, '--force');
      expect([r.code, r.stdout, r.stderr], `${format} ${out}`).toEqual([2, '', `${message}\n`]);
    };
    // A FIFO (and a device, below): a rename would put a file in its place.
    const fifo = join(place, 'fifo.onnx');
    execFileSync('mkfifo', [fifo]);
    await refused('onnx', fifo, `${fifo}: --out: is a FIFO (named pipe), not a file; give another path (--force replaces only a file)`);
    expect(statSync(fifo).isFIFO()).toBe(true);
    // The card's place too: an export whose NAME.card.json would land on a FIFO.
    const cardFifo = join(place, 'beside.card.json');
    execFileSync('mkfifo', [cardFifo]);
    await refused('onnx', join(place, 'beside.onnx'), `${cardFifo}: --out: is a FIFO (named pipe), not a file; give another path (--force replaces only a file)`);
    expect(existsSync(join(place, 'beside.onnx'))).toBe(false);
    // A file of someone's: not replaced, and no card written beside it.
    const notes = join(place, 'notes.txt');
    writeFileSync(notes, 'keep\n');
    await refused('onnx-int8', notes, `${notes}: --out: is not an earlier export: no model card notes.card.json beside it; --force replaces only an earlier export: give another --out`);
    expect(readFileSync(notes, 'utf8')).toBe('keep\n');
    expect(existsSync(join(place, 'notes.card.json'))).toBe(false);
    // ... nor with a JSON file of that name beside it that is not its card.
    writeFileSync(join(place, 'notes.card.json'), '{"mine": true}\n');
    await refused('onnx', notes, `${notes}: --out: is not an earlier export: notes.card.json beside it is not the model card of an ONNX export named notes.txt; --force replaces only an earlier export: give another --out`);
    expect(readFileSync(join(place, 'notes.card.json'), 'utf8')).toBe('{"mine": true}\n');
    // An earlier export is replaced; a link to one is not (the file it points to stays as it was).
    const earlier = join(place, 'earlier.onnx');
    expect((await cli('export', trials[0].id, '--db', db, '--format', 'onnx', '--out', earlier)).code).toBe(0);
    const link = join(place, 'link.onnx');
    symlinkSync(earlier, link);
    copyFileSync(join(place, 'earlier.card.json'), join(place, 'link.card.json'));
    const before = readFileSync(earlier);
    await refused('onnx', link, `${link}: --out: is a link to ${earlier}, not a file; give another path (--force replaces only a file)`);
    expect(readFileSync(earlier).equals(before)).toBe(true);
    expect(lstatSync(link).isSymbolicLink()).toBe(true);
    // tfjs writes a folder: a link to an earlier export's folder is said as such (before: "not a file", "replaces only a file").
    const tfjsEarlier = join(place, 'earlier-tfjs');
    expect((await cli('export', trials[0].id, '--db', db, '--format', 'tfjs', '--out', tfjsEarlier)).code).toBe(0);
    const tfjsLink = join(place, 'link-tfjs');
    symlinkSync(tfjsEarlier, tfjsLink);
    await refused('tfjs', tfjsLink, `${tfjsLink}: --out: is a link to ${tfjsEarlier}, not a folder; give another path (--force replaces only the folder of an earlier tfjs export, never a link to one)`);
    expect(lstatSync(tfjsLink).isSymbolicLink()).toBe(true);
    expect(readdirSync(tfjsEarlier).sort()).toEqual(['model-card.json', 'model.json', 'weights.bin']);
    const again = await cli('export', trials[1].id, '--db', db, '--format', 'onnx-int8', '--out', earlier, '--force');
    expect(again.code, again.stderr).toBe(0);
    expect(readFileSync(earlier).equals(before)).toBe(false);
    expect(JSON.parse(readFileSync(join(place, 'earlier.card.json'), 'utf8')).trial.id).toBe(trials[1].id);
    // A file that is not ONNX, though a card beside it names it (say, the model was overwritten by hand).
    writeFileSync(earlier, 'not a model');
    await refused('onnx', earlier, `${earlier}: --out: is not an earlier export: not an ONNX file written by lenet-sweep (though earlier.card.json beside it names it); --force replaces only an earlier export: give another --out`);
    // tfjs: a folder of a tfjs export's file names, but not one (no card), is not replaced.
    const folder = join(place, 'look-alike');
    mkdirSync(folder);
    writeFileSync(join(folder, 'model.json'), '{}');
    await refused('tfjs', folder, `${folder}: --out: is not an earlier export: it holds no model card (model-card.json) of a tfjs export; --force replaces only an earlier export: give another --out`);
    expect(readdirSync(folder)).toEqual(['model.json']);
    // A file where tfjs writes a folder.
    await refused('tfjs', notes, `${notes}: --out: is a file; give the name of the folder to write`);
    expect(readdirSync(place).filter((n) => n.includes('.tmp'))).toEqual([]);
  });

  it.skipIf(process.getuid?.() !== 0)('--force never replaces a device (one made by mknod in a temp folder, never /dev)', async () => {
    const place = tempDir();
    const device = join(place, 'fakenull');
    execFileSync('mknod', ['-m', '666', device, 'c', '1', '3']);
    for (const [format, rule] of [['onnx', 'not a file; give another path (--force replaces only a file)'], ['tfjs', 'not a folder; give another path (--force replaces only the folder of an earlier tfjs export)']]) {
      const r = await cli('export', 'best', '--db', db, '--format', format, '--out', device, '--force');
      expect([r.code, r.stdout, r.stderr]).toEqual([2, '', `${device}: --out: is a character device, ${rule}\n`]);
    }
    expect(lstatSync(device).isCharacterDevice()).toBe(true);
    expect(readdirSync(place)).toEqual(['fakenull']);
  });

  it('tfjs --out is never the current folder, the home folder, a folder above either or the root, --force or not', async () => {
    const here = tempDir();
    const home = tempDir();
    const refused = async (out: string, what: string, force = true) => {
      const r = await startCli(['export', trials[0].id, '--db', db, '--format', 'tfjs', '--out', out, ...(force ? ['--force'] : [])], undefined, { HOME: home }, { cwd: here });
      // Named without its trailing slash, as export names its folder.
      const named = out.length > 1 ? out.replace(/\/$/, '') : out;
      expect([r.code, r.stdout, r.stderr], out).toEqual([2, '', `${named}: --out: ${what}; --force never replaces the current folder, the home folder or a folder above either: give a new folder for the output\n`]);
    };
    // Before: "EINVAL: invalid argument, rmdir '.'", exit 1; without --force, an offer of a --force that failed so.
    await refused('.', 'is the current folder');
    await refused('./', 'is the current folder', false);
    await refused('..', `holds the current folder (${realpathSync(here)})`);
    await refused('/', 'is the root folder');
    // Before: an empty home folder was replaced by the export.
    await refused(home, 'is the home folder');
    expect([readdirSync(here), readdirSync(home)]).toEqual([[], []]);
  });

  it('every option that writes a file refuses a name that says a folder (out/), and a name under a file: one line, exit 2', async () => {
    const place = tempDir();
    const notes = join(place, 'notes.txt');
    writeFileSync(notes, 'keep\n');
    const experiment = join(place, 'e.yaml');
    writeFileSync(experiment, 'name: e\n');
    const slash = join(place, 'newdir/');
    const cases: Array<[string[], string]> = [
      // Before: a file named newdir and newdir.card.json, exit 0.
      [['export', trials[0].id, '--db', db, '--format', 'onnx', '--out', slash], `--out: expected a file name, found '${slash}'`],
      [['export', trials[0].id, '--db', db, '--format', 'onnx-int8', '--out', `${place}/newdir/.`], `--out: expected a file name, found '${place}/newdir/.'`],
      [['report', '--db', db, '--out', slash], `--out: expected a file name, found '${slash}'`],
      [['augment-preview', experiment, '--out', slash], `--out: expected a file name, found '${slash}'`],
      [['runs', 'show', trials[0].id, '--db', db, '--plot', slash], `--plot: writes a PNG image; give a file name ending in .png, found '${slash}'`],
      // Before: fs's "ENOTDIR: not a directory, stat", exit 1.
      [['report', '--db', db, '--png', `${notes}/`], `${notes}/: --png: is a file; give a folder to write the PNG files into`],
      [['report', '--db', db, '--png', join(notes, 'charts')], `${join(notes, 'charts')}: --png: ${notes} is a file, not a folder; give another path`],
      [['report', '--db', db, '--out', join(notes, 'sub', 'r.html')], `${join(notes, 'sub', 'r.html')}: --out: ${notes} is a file, not a folder; give another path`],
      [['export', trials[0].id, '--db', db, '--format', 'tfjs', '--out', join(notes, 'sub', 'model')], `${join(notes, 'sub', 'model')}: --out: ${notes} is a file, not a folder; give another path`],
    ];
    for (const [args, message] of cases) {
      const r = await cli(...args);
      expect([r.code, r.stdout, r.stderr], args.join(' ')).toEqual([2, '', `${message}\n`]);
    }
    expect(readdirSync(place).sort()).toEqual(['e.yaml', 'notes.txt']);
  });

  it('bad input: one line each, exit 2, nothing written', async () => {
    const out = join(dir, 'never.onnx');
    const cases: Array<[string[], RegExp]> = [
      [['export', 'ffffff', '--format', 'onnx', '--out', out], /^no trial with id 'ffffff'; sweep runs list shows the ids\n$/],
      [['export', trials[0].id, '--format', 'pt', '--out', out], /^--format: expected one of tfjs, onnx, onnx-int8, found 'pt'\n$/],
      [['export', trials[0].id, '--format', 'onnx'], /^sweep export: --out PATH is required/],
      [['export', trials[0].id, '--format', 'onnx', '--out', out, '--epoch', 'first'], /^--epoch: expected best or last, found 'first'\n$/],
      [['export', 'best', '--sweep', 'nope', '--format', 'onnx', '--out', out], /^--sweep: no sweep named 'nope'/],
      [['export', trials[0].id, '--format', 'onnx', '--out', join(dir, 'no', 'such', 'x.onnx')], /: --out: the folder .*no\/such does not exist; create it first or give another path\n$/],
    ];
    for (const [args, message] of cases) {
      const r = await cli(...args, '--db', db);
      expect([r.code, r.stdout], args.join(' ')).toEqual([2, '']);
      expect(r.stderr).toMatch(message);
    }
    expect(existsSync(out)).toBe(false);
  });

  it('a damaged checkpoint is said and passed over for the one before; a trial without checkpoints is refused', async () => {
    const copy = join(tempDir(), 'runs.db');
    copyFileSync(db, copy);
    cpSync(checkpointRoot(db), checkpointRoot(copy), { recursive: true });
    const last = join(checkpointRoot(copy), trials[0].id, 'epoch-0002.ckpt');
    const bytes = readFileSync(last);
    bytes[100] ^= 1;
    writeFileSync(last, bytes);
    const out = join(dir, 'fallback.onnx');
    const r = await cli('export', trials[0].id, '--db', copy, '--format', 'onnx', '--out', out);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toBe(`note: the checkpoint of epoch 2 of trial ${trials[0].id} (${last}) cannot be used: its checksum does not match its content\n`);
    expect(r.stdout).toContain('at epoch 1 (epoch 2, its last, is damaged)');
    expect(JSON.parse(readFileSync(join(dir, 'fallback.card.json'), 'utf8')).trial).toMatchObject({ epoch: 1, epoch_choice: 'last', damaged_epoch_passed_over: 2 });

    const d = new Database(copy);
    d.prepare(`DELETE FROM checkpoint_records WHERE trial_id = ?`).run(trials[1].id);
    d.prepare(`UPDATE trial_records SET provenance = NULL WHERE id = ?`).run(trials[1].id);
    d.close();
    const none = await cli('export', trials[1].id, '--db', copy, '--format', 'onnx', '--out', join(dir, 'none.onnx'));
    expect([none.code, none.stderr]).toEqual([2, `trial ${trials[1].id} has no checkpoint: it was trained by a lenet-sweep without checkpoints; train it again with sweep FILE --rerun\n`]);
    expect((await cli('runs', 'show', trials[1].id, '--db', copy)).stdout).toContain('\nmodel   no checkpoint: it was trained by a lenet-sweep without checkpoints; train it again with sweep FILE --rerun\n');
  });
});

/**
 * The classes predicted for the first 60 test digits as PNG files (the folder `originals`, which
 * the photos test writes): asked once, read by each test that compares other renderings to them.
 */
let originals: Promise<number[]> | undefined;
function originalsPredicted(): Promise<number[]> {
  originals ??= (async () => {
    const r = await cli('predict', trials[0].id, join(dir, 'originals'), '--db', db, '--json');
    expect(r.code, r.stderr).toBe(0);
    return (JSON.parse(r.stdout) as Array<{ class: number }>).map((p) => p.class);
  })();
  return originals;
}

describe('sweep predict', () => {
  it('the embedded test digits written out as PNG files give the trial its stored test accuracy', async () => {
    const folder = join(dir, 'digits');
    mkdirSync(folder);
    for (let i = 0; i < data.test.count; i++) {
      const at = data.test.indices[i] * 784;
      writeFileSync(join(folder, `${String(i).padStart(4, '0')}-${data.test.labels[i]}.png`), encodeGrayPng(data.test.pixels.subarray(at, at + 784), 28, 28));
    }
    const r = await cli('predict', 'best', folder, '--db', db, '--json');
    expect(r.code, r.stderr).toBe(0);
    const predictions = JSON.parse(r.stdout) as Array<{ file: string; class: number; name: string; probability: number; top: Array<{ class: number; name: string; probability: number }> }>;
    expect(predictions).toHaveLength(data.test.count);
    const correct = predictions.filter((p) => p.class === Number(/-(\d)\.png$/.exec(p.file)![1])).length;
    expect(correct / predictions.length).toBe(trials[0].test_acc);
    for (const p of predictions.slice(0, 20)) {
      expect(p.top).toHaveLength(3);
      // The digits' names are their numbers.
      expect(p.top[0]).toEqual({ class: p.class, name: String(p.class), probability: p.probability });
      expect(p.top[0].probability).toBeGreaterThanOrEqual(p.top[1].probability);
    }
  });

  it('photos of digits: any size and colour, dark on light, PNG or JPEG, are prepared as MNIST digits', async () => {
    const folder = join(dir, 'photos');
    mkdirSync(folder);
    const count = 60;
    const labels: number[] = [];
    const originals = join(dir, 'originals');
    mkdirSync(originals);
    for (let i = 0; i < count; i++) {
      const at = data.test.indices[i] * 784;
      const digit = data.test.pixels.subarray(at, at + 784);
      labels.push(data.test.labels[i]);
      writeFileSync(join(originals, `${String(i).padStart(2, '0')}.png`), encodeGrayPng(digit, 28, 28));
      // Blown up 3×, off centre on a wider sheet, dark ink on light paper, in colour.
      const [w, h, zoom, ox, oy] = [120, 100, 3, 10 + (i % 20), 5 + (i % 7)];
      const rgba = Buffer.alloc(w * h * 4, 0);
      for (let y = 0; y < h; y++) {
        for (let x = 0; x < w; x++) {
          const sx = Math.floor((x - ox) / zoom);
          const sy = Math.floor((y - oy) / zoom);
          const ink = sx >= 0 && sy >= 0 && sx < 28 && sy < 28 ? digit[sy * 28 + sx] : 0;
          const k = 4 * (y * w + x);
          rgba[k] = 250 - ink * 0.9;
          rgba[k + 1] = 245 - ink * 0.9;
          rgba[k + 2] = 235 - ink * 0.8;
          rgba[k + 3] = 255;
        }
      }
      writeFileSync(join(folder, `${String(i).padStart(2, '0')}.jpg`), jpeg.encode({ data: rgba, width: w, height: h }, 95).data);
    }
    const run = async (path: string) => (JSON.parse((await cli('predict', trials[0].id, path, '--db', db, '--json')).stdout) as Array<{ class: number }>).map((p) => p.class);
    const [asPhotos, asDigits] = [await run(folder), await originalsPredicted()];
    const agree = asPhotos.filter((c, i) => c === asDigits[i]).length / count;
    const photoAcc = asPhotos.filter((c, i) => c === labels[i]).length / count;
    const digitAcc = asDigits.filter((c, i) => c === labels[i]).length / count;
    console.log(`photos: ${(100 * agree).toFixed(0)}% agree with the digits themselves; accuracy ${(100 * photoAcc).toFixed(0)}% vs ${(100 * digitAcc).toFixed(0)}%`);
    expect(agree).toBeGreaterThanOrEqual(0.85);
    expect(photoAcc).toBeGreaterThanOrEqual(digitAcc - 0.1);
  });

  it('dark ink on dim gray paper, and white ink on a transparent sheet, read as the digits they are', async () => {
    const gray = join(dir, 'gray-paper');
    const sheet = join(dir, 'transparent');
    mkdirSync(gray);
    mkdirSync(sheet);
    const count = 30;
    for (let i = 0; i < count; i++) {
      const at = data.test.indices[i] * 784;
      const digit = data.test.pixels.subarray(at, at + 784);
      const [w, h, zoom] = [70, 64, 2];
      const paper = new PNG({ width: w, height: h });
      const film = new PNG({ width: w, height: h });
      for (let y = 0; y < h; y++) {
        for (let x = 0; x < w; x++) {
          const sx = Math.floor((x - 7) / zoom);
          const sy = Math.floor((y - 4) / zoom);
          const ink = sx >= 0 && sy >= 0 && sx < 28 && sy < 28 ? digit[sy * 28 + sx] / 255 : 0;
          const k = 4 * (y * w + x);
          // Paper at 110, ink down to 25; a white digit whose only trace is its opacity.
          paper.data.fill(Math.round(110 - 85 * ink), k, k + 3);
          paper.data[k + 3] = 255;
          film.data.fill(255, k, k + 3);
          film.data[k + 3] = Math.round(255 * ink);
        }
      }
      writeFileSync(join(gray, `${String(i).padStart(2, '0')}.png`), PNG.sync.write(paper));
      writeFileSync(join(sheet, `${String(i).padStart(2, '0')}.png`), PNG.sync.write(film));
    }
    const run = async (path: string) => {
      const r = await cli('predict', trials[0].id, path, '--db', db, '--json');
      expect(r.code, r.stderr).toBe(0);
      return (JSON.parse(r.stdout) as Array<{ class: number }>).map((p) => p.class);
    };
    const originals = (await originalsPredicted()).slice(0, count);
    for (const folder of [gray, sheet]) {
      const classes = await run(folder);
      expect(classes.filter((c, i) => c === originals[i]).length / count, folder).toBeGreaterThanOrEqual(0.85);
    }
  });

  it('prints the top three classes of each image', async () => {
    const r = await cli('predict', trials[0].id, join(dir, 'originals', '00.png'), '--db', db);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/^\S+00\.png {2}\d {2} +\d+\.\d% {3}\(then \d \d+\.\d%, \d \d+\.\d%\)\n$/);
  });

  it('bad input: not an image, an empty file, a blank image, a folder without images, a missing file: one line, exit 2, nothing printed', async () => {
    const bad = tempDir();
    writeFileSync(join(bad, 'notes.png'), 'hello');
    writeFileSync(join(bad, 'empty.png'), '');
    writeFileSync(join(bad, 'blank.png'), encodeGrayPng(new Uint8Array(40 * 30).fill(255), 40, 30));
    mkdirSync(join(bad, 'nothing'));
    const cases: Array<[string, string]> = [
      [join(bad, 'notes.png'), 'not a PNG or JPEG image'],
      [join(bad, 'empty.png'), 'the file is empty; give a PNG or JPEG image'],
      [join(bad, 'blank.png'), 'the image is blank: no digit found on it'],
      [join(bad, 'nothing'), 'the folder holds no images (.png, .jpg, .jpeg)'],
      [join(bad, 'missing.png'), 'no such file or folder'],
    ];
    for (const [path, message] of cases) {
      const r = await cli('predict', trials[0].id, join(dir, 'originals', '00.png'), path, '--db', db);
      expect([r.code, r.stdout, r.stderr]).toEqual([2, '', `${path}: ${message}\n`]);
    }
  });
});

describe('sweep predict: image bombs and damaged images', () => {
  it('a header stating more than 50 megapixels is refused before decoding: the file named, exit 2, at once', async () => {
    const bombs = tempDir();
    // 48 KB that decode to 400 megapixels: before, 100 s and 5 GB, then V8 aborted.
    const bomb = join(bombs, 'bomb.png');
    writeFileSync(bomb, pngFile(20000, 20000, 1, deflateSync(Buffer.alloc(20000 * 2501))));
    const huge = join(bombs, 'huge.png');
    writeFileSync(huge, pngFile(100000, 100000, 1, deflateSync(Buffer.alloc(10))));
    // A frame header after an application segment, as cameras write them.
    const jpegBomb = join(bombs, 'huge.jpg');
    writeFileSync(jpegBomb, Buffer.from([0xff, 0xd8, 0xff, 0xe0, 0, 16, 0x4a, 0x46, 0x49, 0x46, 0, 1, 1, 0, 0, 1, 0, 1, 0, 0, 0xff, 0xc0, 0, 11, 8, 0xff, 0xff, 0xff, 0xff, 1, 1, 0x11, 0, 0xff, 0xd9]));
    const cases: Array<[string, string]> = [
      [bomb, '20000×20000 pixels (400 megapixels)'],
      [huge, '100000×100000 pixels (10,000 megapixels)'],
      [jpegBomb, '65535×65535 pixels (4,294.8 megapixels)'],
    ];
    for (const [path, size] of cases) {
      const started = performance.now();
      const r = await cli('predict', trials[0].id, testDigitFile(0, bombs), path, '--db', db);
      expect([r.code, r.stdout, r.stderr]).toEqual([2, '', `${path}: the image is too large to read: its header states ${size}, more than the 50 megapixels allowed; scale it down first\n`]);
      expect(performance.now() - started).toBeLessThan(20_000);
    }
  });

  it('damaged images are said in our words, not the decoders\'', async () => {
    const bad = tempDir();
    const good = encodeGrayPng(new Uint8Array(28 * 28).fill(200, 300, 500), 28, 28);
    writeFileSync(join(bad, 'cut.png'), good.subarray(0, good.length - 30));
    const crc = Buffer.from(good);
    // A byte of the image data: the IDAT chunk's checksum no longer matches.
    crc[45] ^= 0xff;
    writeFileSync(join(bad, 'crc.png'), crc);
    const photo = jpeg.encode({ data: Buffer.alloc(60 * 50 * 4, 200), width: 60, height: 50 }, 90).data;
    const scan = Buffer.from(photo).indexOf(Buffer.from([0xff, 0xda]));
    // Cut in the middle of its scan: pixels begin, then break off.
    writeFileSync(join(bad, 'cut.jpg'), photo.subarray(0, scan + ((photo.length - scan) >> 1)));
    // Cut in its tables, before the scan.
    writeFileSync(join(bad, 'cut-header.jpg'), photo.subarray(0, scan >> 1));
    // Its header and tables, then the end of the image: no scan, no pixels (it read as a blank image).
    writeFileSync(join(bad, 'header-only.jpg'), Buffer.concat([photo.subarray(0, scan), Buffer.from([0xff, 0xd9])]));
    const cases: Array<[string, string]> = [
      ['cut.png', 'the PNG file is cut short: its image data ends before the image does'],
      ['crc.png', 'the PNG file is damaged: a chunk does not match its checksum, or bytes follow its end'],
      ['cut.jpg', 'the JPEG file is damaged or cut short: its data ends or breaks off early'],
      ['cut-header.jpg', 'the JPEG file is cut short: it ends within its header, before any image data'],
      ['header-only.jpg', 'the JPEG file is cut short: it ends after its header, before any image data'],
    ];
    for (const [name, message] of cases) {
      const r = await cli('predict', trials[0].id, join(bad, name), '--db', db);
      expect([r.code, r.stdout, r.stderr]).toEqual([2, '', `${join(bad, name)}: ${message}\n`]);
    }
  });

  it('an image missing only its end marker (a PNG without IEND, a JPEG without EOI) reads as the whole file does', async () => {
    const dir = tempDir();
    const digit = new Uint8Array(28 * 28).fill(255);
    for (let y = 6; y < 22; y++) digit.fill(0, y * 28 + 12, y * 28 + 16);
    const png = encodeGrayPng(digit, 28, 28);
    const rgba = Buffer.alloc(28 * 28 * 4);
    digit.forEach((v, i) => rgba.fill(v, 4 * i, 4 * i + 3).writeUInt8(255, 4 * i + 3));
    const photo = jpeg.encode({ data: rgba, width: 28, height: 28 }, 95).data;
    const files: Array<[string, Buffer]> = [
      ['whole.png', png],
      ['no-iend.png', png.subarray(0, png.length - 12)],
      ['whole.jpg', photo],
      ['no-eoi.jpg', photo.subarray(0, photo.length - 2)],
    ];
    for (const [name, bytes] of files) writeFileSync(join(dir, name), bytes);
    // One command for the four files: each image is read and answered on its own.
    const r = await cli('predict', trials[0].id, ...files.map(([name]) => join(dir, name)), '--db', db, '--json');
    expect([r.code, r.stderr]).toEqual([0, '']);
    const answers = JSON.parse(r.stdout) as Array<{ file: string }>;
    expect(answers.map((p) => p.file)).toEqual(files.map(([name]) => join(dir, name)));
    const answer = (name: string) => [{ ...answers[files.findIndex(([n]) => n === name)], file: undefined }];
    expect(answer('no-iend.png')).toEqual(answer('whole.png'));
    expect(answer('no-eoi.jpg')).toEqual(answer('whole.jpg'));
  });
});

describe('sweep predict FOLDER', () => {
  it('reads links to images; says in one note what it passed over and why; a FIFO or a dangling link given by name is refused', async () => {
    const folder = join(tempDir(), 'mixed');
    mkdirSync(folder);
    const elsewhere = tempDir();
    copyFileSync(testDigitFile(0, elsewhere), join(folder, 'a.png'));
    copyFileSync(testDigitFile(1, elsewhere), join(folder, 'b.png'));
    symlinkSync(testDigitFile(2, elsewhere), join(folder, 'link-out.png'));
    symlinkSync('a.png', join(folder, 'link-in.png'));
    symlinkSync(join(folder, 'nowhere.png'), join(folder, 'gone.png'));
    execFileSync('mkfifo', [join(folder, 'pipe.png')]);
    mkdirSync(join(folder, 'sub'));
    symlinkSync(join(folder, 'sub'), join(folder, 'linkdir'));
    writeFileSync(join(folder, 'notes.txt'), 'labels');
    const r = await cli('predict', trials[0].id, folder, '--db', db, '--json');
    expect(r.code, r.stderr).toBe(0);
    expect((JSON.parse(r.stdout) as Array<{ file: string }>).map((p) => p.file)).toEqual(['a.png', 'b.png', 'link-in.png', 'link-out.png'].map((n) => join(folder, n)));
    expect(r.stderr).toBe(`note: ${folder}: passed over 1 link to nothing (gone.png), 2 subfolders (linkdir, sub), 1 file not named .png, .jpg or .jpeg (notes.txt), 1 FIFO (pipe.png)\n`);
    // A folder of no images says what it held instead.
    const none = join(tempDir(), 'none');
    mkdirSync(join(none, 'sub'), { recursive: true });
    writeFileSync(join(none, 'notes.txt'), 'labels');
    const empty = await cli('predict', trials[0].id, none, '--db', db);
    expect([empty.code, empty.stdout, empty.stderr]).toEqual([2, '', `${none}: the folder holds no images (.png, .jpg, .jpeg); passed over 1 file not named .png, .jpg or .jpeg (notes.txt), 1 subfolder (sub)\n`]);
    // Named on the command line: a FIFO would be read until a writer closes it, which may be never.
    for (const [name, message] of [['pipe.png', 'not a regular file; give a PNG or JPEG image'], ['gone.png', 'a link to nothing (its target is gone)']]) {
      const named = await cli('predict', trials[0].id, join(folder, name), '--db', db);
      expect([named.code, named.stdout, named.stderr]).toEqual([2, '', `${join(folder, name)}: ${message}\n`]);
    }
  });
});

describe('sweep evaluate', () => {
  it('on the trial\'s own dataset: its stored test accuracy and confusion matrix', async () => {
    const r = await cli('evaluate', trials[1].id, '--data', 'mnist', '--db', db, '--json');
    expect(r.code, r.stderr).toBe(0);
    const result = JSON.parse(r.stdout);
    // A row of the matrix a line, not a number a line (130 lines).
    expect(r.stdout.split('\n').filter((l) => /^ {4}\[\d+(, \d+){9}\],?$/.test(l))).toHaveLength(10);
    expect(r.stdout.trim().split('\n')).toHaveLength(24);
    expect(result.classes).toEqual(['0', '1', '2', '3', '4', '5', '6', '7', '8', '9']);
    expect(result.data_classes).toEqual(result.classes);
    expect(result.accuracy).toBe(trials[1].test_acc);
    expect(result.images).toBe(1002);
    const stored = query<{ actual: number; predicted: number; count: number }>(`SELECT actual, predicted, count FROM confusion WHERE trial_id = '${trials[1].id}'`);
    for (const { actual, predicted, count } of stored) expect(result.confusion[actual][predicted]).toBe(count);
    expect(stored.reduce((n, s) => n + s.count, 0)).toBe(1002);
  });

  it('on a folder of IDX files, as a table', async () => {
    const r = await cli('evaluate', trials[0].id, '--data', join(CACHE, 'mnist-embedded'), '--db', db);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/on the test split of \S+mnist-embedded: 2,004 images\naccuracy \d+\.\d+%  loss \d\.\d{4}\n\nconfusion matrix \(rows: actual class, columns: predicted\)\n/);
    expect(r.stdout.trim().split('\n')).toHaveLength(3 + 1 + 1 + 10);
  });

  it('Ctrl-C while a large test split is evaluated ends it at once with 130, no result printed', async () => {
    // The embedded test images 12 times over: 24,048 images, seconds of evaluation.
    const from = join(CACHE, 'mnist-embedded');
    const dir = join(tempDir(), 'large');
    mkdirSync(dir);
    IDX_FILES.forEach(([images, labels], split) => {
      const times = split === 0 ? 1 : 12;
      const pixels = readIdx(join(from, images));
      const classes = readIdx(join(from, labels));
      const count = pixels.dims[0];
      const tiled = new Uint8Array(count * times * 784);
      const tiledLabels = new Uint8Array(count * times);
      for (let t = 0; t < times; t++) {
        tiled.set(pixels.data, t * count * 784);
        tiledLabels.set(classes.data, t * count);
      }
      writeIdx(join(dir, images), [count * times, 28, 28], tiled);
      writeIdx(join(dir, labels), [count * times], tiledLabels);
    });
    const started = performance.now();
    const whole = await cli('evaluate', trials[0].id, '--data', dir, '--db', db);
    expect(whole.stdout).toMatch(/24,048 images/);
    // Half way through, whatever this machine's speed: while the split is evaluated. On a loaded
    // machine a run may take less than the one measured and end before the signal, or just
    // after it with its last chunk (then Node exits before it reads the signal, or reads it with
    // the result already printed, exit 130): that says nothing either way, and it runs again with
    // the signal sooner. Without the stop, the rest
    // of the split takes seconds after the signal.
    let delay = (performance.now() - started) / 2;
    for (let attempt = 0; ; attempt++) {
      let sent = 0;
      const r = await startCli(['evaluate', trials[0].id, '--data', dir, '--db', db], undefined, {}, {
        onStart: (child) => {
          const timer = setTimeout(() => {
            sent = performance.now();
            child.kill('SIGINT');
          }, delay);
          child.on('exit', () => clearTimeout(timer));
        },
      });
      const seconds = (performance.now() - sent) / 1000;
      // Ended with its whole result (printed before the signal took effect, whatever the exit code): too late to say.
      if ((!sent || ((r.code === 0 || r.stdout !== '') && seconds < 1)) && attempt < 3) {
        delay /= 2;
        continue;
      }
      expect([r.code, r.stdout, r.stderr]).toEqual([130, '', '']);
      // It stops at its next chunk (within WIND_DOWN_MS), not after the split's end.
      expect(seconds).toBeLessThan(3);
      break;
    }
  });

  it('an unknown dataset: one line, exit 2', async () => {
    const r = await cli('evaluate', trials[0].id, '--data', 'kmnist', '--db', db);
    expect([r.code, r.stderr]).toEqual([2, `--data: 'kmnist' is neither a dataset (mnist, mnist-full, fashion-mnist) nor a folder (of IDX files, or of train/ and test/ class folders of images)\n`]);
  });
});
