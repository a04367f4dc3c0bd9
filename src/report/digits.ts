/**
 * Misclassified test digits of a trial, drawn as small PNGs for the report: its model is rebuilt
 * from the checkpoint of its last epoch (the one whose confusion matrix the database holds) and
 * run over its test split on wasm, as `sweep evaluate` does.
 */
import { tensor4d, tidy } from '../backend/tfjs.js';
import { gather } from '../data/dataset.js';
import { encodeGrayPng } from '../util/png.js';
import { readTrainedModel, trainedData, withModel } from '../model/trained-model.js';
import type { ReportConfusion } from './data.js';

const CHUNK = 500;
/** Digits of one confused pair shown before the next pair's. */
const PER_PAIR = 3;

/** Up to `count` misclassified test digits, the most confused pairs first; or why none could be drawn. */
export async function misclassifiedDigits(dbPath: string, trialId: string, pairs: ReportConfusion['pairs'], count = 12): Promise<Pick<ReportConfusion, 'digits' | 'digitsNote'>> {
  let model;
  let note: string | null = null;
  try {
    model = readTrainedModel(dbPath, trialId, { epoch: 'last' });
  } catch (err) {
    // A sweep run with --keep best keeps no checkpoint of the last epoch: the best one still shows what the model gets wrong.
    try {
      model = readTrainedModel(dbPath, trialId, { epoch: 'best' });
      note = `the last epoch's checkpoint is not kept (the sweep ran with --keep best): these are the digits the model of epoch ${model.epoch} misclassifies; the matrix is of the last epoch's`;
    } catch {
      return { digits: [], digitsNote: `misclassified digits not drawn: ${(err as Error).message}` };
    }
  }
  let data;
  try {
    let changed: string[];
    ({ data, notes: changed } = await trainedData(model));
    if (changed.length) note = [note, ...changed].filter(Boolean).join('; ');
  } catch (err) {
    return { digits: [], digitsNote: `misclassified digits not drawn: the trial's test images are not here (${(err as Error).message})` };
  }
  const { test, height, width } = data;
  const size = height * width;
  const wrong: { item: number; actual: number; predicted: number }[] = [];
  await withModel(model, data, async (net) => {
    for (let start = 0; start < test.count; start += CHUNK) {
      const n = Math.min(CHUNK, test.count - start);
      // Normalised as in training and evaluation.
      const { images } = gather(data, test, null, start, n);
      const predicted = tidy(() => net.forward(tensor4d(images, [n, height, width, 1]), false).argMax(1));
      const classes = (await predicted.data()) as Int32Array;
      predicted.dispose();
      classes.forEach((c, k) => {
        if (c !== test.labels[start + k]) wrong.push({ item: start + k, actual: test.labels[start + k], predicted: c });
      });
    }
  });
  // The most confused pairs first, so the pictures show what the matrix says goes wrong most,
  // but at most PER_PAIR of each while others are left: a dozen 9 → 4 would show one mistake.
  const pairRank = (w: { actual: number; predicted: number }) => {
    const i = pairs.findIndex((p) => p.actual === w.actual && p.predicted === w.predicted);
    return i < 0 ? pairs.length : i;
  };
  const seen = new Map<string, number>();
  const turn = (w: { actual: number; predicted: number }) => {
    const key = `${w.actual}>${w.predicted}`;
    const n = seen.get(key) ?? 0;
    seen.set(key, n + 1);
    return Math.floor(n / PER_PAIR);
  };
  const ordered = wrong.sort((a, b) => pairRank(a) - pairRank(b) || a.actual - b.actual || a.predicted - b.predicted || a.item - b.item);
  const turns = new Map(ordered.map((w) => [w, turn(w)]));
  const chosen = ordered.sort((a, b) => turns.get(a)! - turns.get(b)! || pairRank(a) - pairRank(b) || a.item - b.item).slice(0, count);
  const digits = chosen.map(({ item, actual, predicted }) => {
    const from = test.indices[item] * size;
    const png = encodeGrayPng(test.pixels.subarray(from, from + size), width, height);
    return { actual, predicted, src: `data:image/png;base64,${png.toString('base64')}` };
  });
  return { digits, digitsNote: wrong.length === 0 ? 'every test digit was classified correctly' : note };
}
