// Made-up trials for the benches that need large databases without training (bench/report.mjs,
// bench/serve.mjs): each trial's val_acc climbs towards a ceiling set by its learning rate; a
// quarter are pruned after 2 to 4 epochs, the rest complete 10, with a test confusion matrix
// when asked for.
export function writeMadeUpTrials(writer, trials, { confusion = false } = {}) {
  trials.forEach((t, i) => {
    const ceiling = 0.985 - 0.02 * Math.abs(Math.log10(t.params['optimizer.lr']) + 3);
    const epochs = i % 4 === 1 ? 2 + (i % 3) : 10;
    writer.trialStarted(t.id, 1, 'wasm', null, 61_706, 100);
    for (let e = 1; e <= epochs; e++) {
      const acc = ceiling - 0.3 * Math.exp(-e / 1.5);
      writer.epoch(t.id, { epoch: e, train_loss: 2 / (e + 2), train_acc: acc + 0.01, val_loss: 1 - acc, val_acc: acc, lr: 0.001, seconds: 2, images_per_s: 2000 });
    }
    const matrix = confusion && epochs === 10 ? Array.from({ length: 10 }, (_, a) => Array.from({ length: 10 }, (_, p) => (a === p ? 95 : (a + p + i) % 7 === 0 ? 2 : 0))) : null;
    writer.trialFinished(t.id, epochs < 10 ? 'pruned' : 'completed', { loss: 0.1, acc: epochs < 10 ? null : ceiling }, epochs < 10 ? 'below the median' : null, matrix);
  });
}
