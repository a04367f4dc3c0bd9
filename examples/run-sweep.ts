import { startSweep, type ExperimentFile } from 'lenet-sweep';

// Two trials (average and max pooling), one short epoch each on 256 images.
const experiment: ExperimentFile = {
  name: 'from-typescript',
  training: { epochs: 1, limit_train: 256 },
  sweep: { parameters: { 'model.pooling': ['avg', 'max'] } },
};

const session = await startSweep(experiment, { db: process.argv[2] ?? 'runs/runs.db', workers: 1 });
console.log(`sweep ${session.plan.sweep}: training ${session.plan.runnable} of ${session.plan.trials.length} trials`);
for await (const event of session.events) {
  if (event.type === 'epoch') {
    console.log(`trial ${event.trial.id} (model.pooling=${event.trial.params['model.pooling']}) epoch ${event.metrics.epoch}: val_acc ${event.metrics.val_acc.toFixed(4)}`);
  }
}
const outcome = await session.done;
const [best] = outcome.ranked();
console.log(`${outcome.status}; best: trial ${best.id} (model.pooling=${best.params['model.pooling']}), val_acc ${best.best_value?.toFixed(4)} at epoch ${best.best_epoch}`);
