/**
 * `sweep plan FILE`: the trials a file expands to (id and swept values), with an estimate of
 * each trial's training time from the throughput measured in earlier runs, when the database
 * has any for the same backend.
 */
import { existsSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { autoTakesWebgpu, defaultFuse, defaultWorkers, plannedBackend } from '../backend/choice.js';
import { UserError } from '../config/errors.js';
import { loadExperiment, type Trial } from '../config/experiment.js';
import { valueText } from '../config/load.js';
import { trainImagesPerEpoch } from '../data/counts.js';
import { withReadOnly } from '../store/open.js';
import { parse } from './args.js';
import { PLAN } from './commands.js';
import { table } from '../view/format.js';
import { jsonText } from './json-text.js';
import { ruleText } from '../search/rules/index.js';
import { mostEpochs } from '../config/early-terminate.js';
import { maxOf } from '../util/extremes.js';
import { fusionKey, largestKind } from '../sweep/fusion.js';
import { fuseOption } from '../sweep/options.js';

/** Mean training throughput of earlier epochs on a backend, or null without any. */
function measuredRate(dbPath: string, backend: string): number | null {
  if (!existsSync(dbPath)) return null;
  return withReadOnly(dbPath, (db) => {
    const row = db
      .prepare(`SELECT avg(e.images_per_s) AS rate FROM epochs e JOIN trials t ON t.id = e.trial_id WHERE t.backend = ? AND e.epoch > 1`)
      .get(backend) as { rate: number | null };
    return row.rate;
  });
}

/** How many trials a sweep of this name holds in the database (0 without one). */
function storedTrials(dbPath: string, sweep: string): number {
  if (!existsSync(dbPath)) return 0;
  return withReadOnly(dbPath, (db) => db.prepare(`SELECT count(*) FROM trials WHERE sweep = ?`).pluck().get(sweep) as number);
}

const duration = (s: number) => (s < 90 ? `${Math.round(s)}s` : s < 5400 ? `${Math.round(s / 60)}m` : `${(s / 3600).toFixed(1)}h`);

export async function planCommand(args: string[]): Promise<number> {
  const { values, positionals } = parse(args, PLAN);
  if (positionals.length !== 1) throw new UserError('sweep plan: expected one experiment file; see sweep plan --help');
  const fuse = fuseOption(values.fuse);
  const { experiment, trials, search, axes } = loadExperiment(positionals[0], { set: values.set, grid: values.grid }, { maxTrials: values.yes ? Infinity : undefined });
  // auto takes webgpu only where the probe finds a GPU.
  if (trials.some((t) => t.config.backend === 'auto')) await autoTakesWebgpu();
  const rates = new Map<string, number | null>();
  const datasetFiles = new Map<string, number | null>();
  const planned = trials.map((t) => {
    const backend = plannedBackend(t.config.backend);
    if (!rates.has(backend)) rates.set(backend, measuredRate(values.db!, backend));
    const rate = rates.get(backend)!;
    const images = trainImagesPerEpoch(t.config, datasetFiles);
    const seconds = rate && images !== null ? (images * t.config.training.epochs) / rate : null;
    return { id: t.id, params: t.params, backend, epochs: t.config.training.epochs, seconds };
  });
  const rule = experiment.sweep?.early_terminate;
  // The epochs a trial may have: the space's largest (an adaptive search has not drawn them all yet).
  const epochs = search ? mostEpochs(experiment, search.axes) : maxOf(trials.map((t) => t.config.training.epochs));
  const ruleLine = rule && ruleText(rule, epochs);
  // An adaptive search continues from the trials its sweep holds in the database.
  const stored = search ? storedTrials(values.db!, experiment.name) : 0;
  if (values.json) {
    const adaptive = search && { method: search.method, max_trials: search.maxTrials, fixed: planned.length, stored, chosen_later: Math.max(0, search.maxTrials - Math.max(stored, planned.length)) };
    process.stdout.write(`${jsonText(adaptive || rule ? { ...adaptive, early_terminate: ruleLine, trials: planned } : planned)}\n`);
    return 0;
  }
  const keys = [...new Set(planned.flatMap((p) => Object.keys(p.params)))];
  console.log(table(
    ['#', 'trial', ...keys, 'epochs', 'backend', 'estimate'],
    planned.map((p, i) => [String(i + 1), p.id, ...keys.map((k) => valueText(p.params[k])), String(p.epochs), p.backend, p.seconds === null ? '—' : duration(p.seconds)]),
    new Set([0, keys.length + 2, keys.length + 4]),
  ));
  const inferred = axes.flatMap((a) => (a.inferred ? [`${a.path} ${a.inferred.distribution} (${a.inferred.why})`] : []));
  if (inferred.length) console.log(`\nmin and max without a distribution, so W&B's rule took: ${inferred.join(', ')}`);
  if (search) {
    const n = planned.length;
    console.log(
      `\n${experiment.name}: ${search.method} search of at most ${search.maxTrials} trials: the ${n === 1 ? 'start-up trial above is' : `${n} start-up trials above are`} fixed in advance` +
        (search.maxTrials > n ? `; the other ${search.maxTrials - n} ${search.maxTrials - n === 1 ? 'is' : 'are'} chosen as results come in` : '') +
        (stored ? `; ${values.db} holds ${stored} trial${stored === 1 ? '' : 's'} of it, which the next run continues from` : ''),
    );
  }
  if (ruleLine) console.log(`${search ? '' : '\n'}early termination: ${ruleLine}; trials may stop before their last epoch, so the estimate is an upper bound`);
  const known = planned.filter((p) => p.seconds !== null);
  const workers = defaultWorkers(trials.map((t) => t.config.backend), availableParallelism());
  const total = known.reduce((s, p) => s + p.seconds!, 0);
  if (search) return 0;
  console.log(
    `\n${experiment.name}: ${trials.length} trial${trials.length === 1 ? '' : 's'}` +
      (known.length ? `; about ${duration(total / Math.max(1, Math.min(workers, trials.length)))} on ${workers} worker${workers === 1 ? '' : 's'}` +
        (known.length < planned.length ? ` for the ${known.length} with an estimate` : '') : '; no estimate yet (no earlier runs on this backend in the database)') +
      fusionText(trials, fuse !== undefined ? { k: fuse, source: '--fuse' } : experiment.sweep?.fuse !== undefined ? { k: experiment.sweep.fuse, source: 'sweep.fuse' } : undefined),
  );
  return 0;
}

/**
 * What fusing would do to these trials (sweep FILE --fuse overrides it): --fuse here, the file's
 * sweep.fuse or the backend's default, and the largest group the trials can form (at most K, and
 * at most the trials of one kind), or that no two can train as one. The estimate above is of
 * trials trained alone.
 */
function fusionText(trials: Trial[], chosen: { k: number; source: string } | undefined): string {
  const { k, source } = chosen ?? { k: defaultFuse(trials.map((t) => t.config.backend)), source: 'the default here' };
  if (k <= 1 || trials.length < 2) return '';
  const largest = Math.min(k, largestKind(trials, (t) => fusionKey(t.config, `${t.config.data.dataset}:${t.config.data.dir ?? ''}`)));
  return largest > 1 ? `; up to ${largest} trials train as one on each worker (${source} ${k})` : `; no two of them can train as one (${source} ${k})`;
}
