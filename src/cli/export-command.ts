/**
 * `sweep export ID|best --format tfjs|onnx|onnx-int8 --out PATH`: a trial's trained model in a
 * form others run (TensorFlow.js in Node or a browser, ONNX Runtime anywhere), with its model
 * card beside it. Nothing is written unless all of it can be: files go in under temporary names
 * and are renamed into place at the end.
 */
import { renameSync, rmSync, writeFileSync } from 'node:fs';
import { basename, join, normalize } from 'node:path';
import { UserError } from '../config/errors.js';
import { toOnnx } from '../export/onnx.js';
import { toOnnxInt8 } from '../export/onnx-int8.js';
import { toTfjsLayers, WEIGHTS_FILE } from '../export/tfjs-layers.js';
import { weightsOfCheckpoint } from '../export/weights.js';
import { makeFolder } from '../util/make-folder.js';
import { sayingDiskFull } from '../util/disk-full.js';
import { writeFilesAtomic } from '../util/write-atomic.js';
import { parse } from './args.js';
import { EXPORT } from './commands.js';
import { cardPath, notEarlierOnnxExport, notEarlierTfjsExport } from './earlier-export.js';
import { pct } from '../view/format.js';
import { modelCard, type ExportFormat } from './model-card.js';
import { checkFileName, checkParent, checkReplaceable, outputFull } from '../util/output-path.js';
import { epochChoice, evaluateTrained, readTrainedModel } from '../model/trained-model.js';

const FORMATS: ExportFormat[] = ['tfjs', 'onnx', 'onnx-int8'];
/** Training images the int8 export calibrates its activation ranges on. */
const CALIBRATION_IMAGES = 512;

export async function exportCommand(args: string[]): Promise<number> {
  const { values, positionals } = parse(args, EXPORT);
  if (positionals.length !== 1) throw new UserError(`sweep export: expected one trial id or 'best', found ${positionals.length ? positionals.join(' ') : 'none'}; e.g. sweep export best --format onnx --out model.onnx`);
  const format = values.format as ExportFormat | undefined;
  if (!format || !FORMATS.includes(format)) throw new UserError(`--format: expected one of ${FORMATS.join(', ')}${format ? `, found '${format}'` : ' (required)'}`);
  if (!values.out) throw new UserError(`sweep export: --out PATH is required (a folder for tfjs, a file for onnx)`);
  // A file format's --out names a file: `out/` says a folder, and is refused as other writers refuse it.
  if (format !== 'tfjs') checkFileName(values.out, '--out');
  // Without a trailing slash: the temporary names are made beside it, not in it.
  const out = normalize(values.out).replace(/(.)\/+$/, '$1');
  const card = cardPath(format, out);
  checkParent(out, '--out');
  // An --out that exists is replaced only with --force, and only if it is an earlier export
  // (earlier-export.ts); a device, FIFO or link never.
  const force = values.force!;
  if (format === 'tfjs') checkReplaceable(out, '--out', { force, writes: 'folder', notEarlierOutput: () => notEarlierTfjsExport(out), replaces: 'the folder of an earlier tfjs export' });
  else for (const path of [out, card]) checkReplaceable(path, '--out', { force, writes: 'file', notEarlierOutput: () => notEarlierOnnxExport(out) });

  const model = readTrainedModel(values.db!, positionals[0], { sweep: values.sweep, epoch: epochChoice(values.epoch) });
  for (const note of model.notes) console.error(`note: ${note}`);
  if (model.trial.status !== 'completed') {
    console.error(`note: trial ${model.trial.id} ${model.trial.status === 'running' ? 'is still running' : `ended ${model.trial.status}`} after ${model.trial.epochs} of ${model.trial.epochs_planned} epochs; its model is exported as it is (the card says so)`);
  }
  const weights = weightsOfCheckpoint(model.checkpoint, model.trial.config.model);
  const { test, calibration, provenance, notes } = await evaluateTrained(model, format === 'onnx-int8' ? CALIBRATION_IMAGES : 0);
  for (const note of notes) console.error(`note: ${note}`);

  let written: string[];
  if (format === 'tfjs') {
    const { modelJson, weightData } = await toTfjsLayers(weights, { trial: model.trial.id, epoch: model.epoch, ...model.normalisation, classes: model.classes });
    const cardJson = modelCard(model, format, ['model.json', WEIGHTS_FILE, 'model-card.json'], test, provenance);
    const files = { 'model.json': Buffer.from(JSON.stringify(modelJson)), [WEIGHTS_FILE]: weightData, 'model-card.json': Buffer.from(`${JSON.stringify(cardJson, null, 2)}\n`) };
    // The folder is made whole under a temporary name, then renamed into place.
    const tmp = `${out}.${process.pid}.tmp`;
    sayingDiskFull(outputFull(out, Object.values(files)), () => {
      makeFolder(tmp);
      try {
        for (const [name, data] of Object.entries(files)) writeFileSync(join(tmp, name), data);
        if (values.force) rmSync(out, { recursive: true, force: true });
        renameSync(tmp, out);
      } finally {
        rmSync(tmp, { recursive: true, force: true });
      }
    });
    written = [join(out, 'model.json'), join(out, WEIGHTS_FILE), card];
  } else {
    // So that the file alone says how to feed it and what its outputs are.
    const metadata = {
      'lenet-sweep.trial': model.trial.id,
      'lenet-sweep.epoch': String(model.epoch),
      'lenet-sweep.mean': String(model.normalisation.mean),
      'lenet-sweep.std': String(model.normalisation.std),
      'lenet-sweep.classes': JSON.stringify(model.classes),
    };
    const bytes = format === 'onnx' ? toOnnx(weights, metadata) : toOnnxInt8(weights, calibration!, metadata);
    const cardJson = modelCard(model, format, [basename(out), basename(card)], test, provenance, calibration?.count);
    // The model and its card together: a full disk leaves neither (not a model without its card).
    const files = [{ path: out, data: bytes }, { path: card, data: Buffer.from(`${JSON.stringify(cardJson, null, 2)}\n`) }];
    sayingDiskFull(outputFull(out, files.map((f) => f.data)), () => writeFilesAtomic(files));
    written = [out, card];
  }
  const { trial, epoch, choice, passedOver } = model;
  const which = passedOver === undefined ? `its ${choice}` : `epoch ${passedOver}, its ${choice}, is damaged`;
  console.log(
    `exported trial ${trial.id} of sweep ${trial.sweep} at epoch ${epoch} (${which}) as ${format}: ${written.join(', ')}` +
      `\n  test_acc ${pct(test.acc)} on the trial's test split (${format === 'onnx-int8' ? 'with the float weights; export does not run the int8 model' : 'these weights'})`,
  );
  return 0;
}
