/**
 * `sweep runs show`: one trial in full: its outcome, parameters, model files and where it came
 * from, its config, its epochs as a table and as charts.
 */
import { adapterText } from '../backend/webgpu.js';
import type Database from 'better-sqlite3';
import { stringify as toYaml } from 'yaml';
import { UserError } from '../config/errors.js';
import { trialIdentity } from '../sweep/trial-id.js';
import type { Provenance } from '../sweep/provenance.js';
import { whyNone } from '../model/no-checkpoint.js';
import { dirname } from 'node:path';
import { epochsOf, findTrial, trialProvenance, type TrialRecord } from '../store/queries.js';
import { withReadOnly } from '../store/open.js';
import { lineChart } from '../view/charts.js';
import { parse } from './args.js';
import { RUNS_SHOW } from './commands.js';
import { dataSourceOf, metricValue, num, pct, rate, table } from '../view/format.js';
import { jsonText } from './json-text.js';
import { print } from './output.js';
import { checkPlot, idsOf, plotTrials } from './runs-trial-args.js';

export async function runsShow(args: string[]): Promise<number> {
  const { values, positionals } = parse(args, RUNS_SHOW);
  const [id, extra] = idsOf(positionals, 'sweep runs show', 1);
  if (extra !== undefined) throw new UserError(`sweep runs show: one trial id at a time; to put trials side by side use sweep runs compare ${positionals.join(' ')}`);
  checkPlot(values);
  const plot = withReadOnly(values.db!, (db) => {
    const trial = findTrial(db, id);
    const epochs = epochsOf(db, trial.id);
    if (values.plot !== undefined && epochs.length === 0) throw new UserError(`--plot: trial ${trial.id} has no finished epoch to plot (${trial.status})`);
    const model = modelRecords(db, trial.id);
    if (values.json) {
      // `epochs` stays the count, as in runs list --json; the per-epoch rows are `history`.
      print(jsonText({ ...trial, history: epochs, ...model }));
      return { id: trial.id, history: epochs };
    }
    const width = Math.max(40, Math.min(process.stdout.columns ?? 80, 100));
    const lines = [
      `trial ${trial.id} of sweep ${trial.sweep}: ${trial.status}${trial.error ? ` (${trial.error})` : ''}${trial.prune_reason ? ` by the rule: ${trial.prune_reason}` : ''}`,
      `params  ${Object.entries(trial.params).map(([k, v]) => `${k}=${v}`).join('  ') || '(none swept)'}`,
      `best    ${trial.metric} ${metricValue(trial.metric, trial.best_value)}${trial.best_epoch ? ` at epoch ${trial.best_epoch}` : ''}` +
        `  test_acc ${pct(trial.test_acc)}  epochs ${trial.epochs}/${trial.epochs_planned}  ${rate(trial.images_per_s)} img/s` +
        `  ${trial.backend ?? '—'}${trial.adapter ? ` on ${adapterText(trial.adapter)}` : ''}  ${trial.param_count?.toLocaleString('en') ?? '—'} parameters`,
      `time    started ${trial.started_at ?? '—'}  finished ${trial.finished_at ?? '—'}`,
      ...modelLines(db, trial, model),
      '',
      'config',
      // The trial's own settings: an experiment file of them alone trains this trial. The sweep
      // block is the same for every trial of the sweep (--json keeps it) and its values for this
      // trial are the params line.
      ...toYaml(trialIdentity(trial.config)).trimEnd().split('\n').map((l) => `  ${l}`),
      '',
      'epochs',
      epochs.length
        ? table(
            ['epoch', 'train_loss', 'train_acc', 'val_loss', 'val_acc', 'lr', 'seconds', 'img/s'],
            epochs.map((e) => [String(e.epoch), num(e.train_loss), pct(e.train_acc), num(e.val_loss), pct(e.val_acc), String(e.lr ?? '—'), e.seconds?.toFixed(1) ?? '—', rate(e.images_per_s)]),
            new Set([0, 1, 2, 3, 4, 5, 6, 7]),
          ).replace(/^/gm, '  ')
        : '  (no epoch finished)',
    ];
    if (epochs.length) {
      const charts = [
        ['loss', { label: 'train_loss', values: epochs.map((e) => e.train_loss) }, { label: 'val_loss', values: epochs.map((e) => e.val_loss) }],
        ['accuracy', { label: 'train_acc', values: epochs.map((e) => e.train_acc) }, { label: 'val_acc', values: epochs.map((e) => e.val_acc) }],
      ] as const;
      for (const [title, ...series] of charts) {
        lines.push('', title, ...lineChart([...series], { width: width - 2, height: 8, format: title === 'accuracy' ? (v) => pct(v, 1) : undefined }).map((l) => `  ${l}`.trimEnd()));
      }
    }
    print(lines.join('\n'));
    return { id: trial.id, history: epochs };
  });
  if (values.plot !== undefined) await plotTrials(values.plot, [plot]);
  return 0;
}

/** A trial's checkpoints, attempts and provenance (runs show). */
function modelRecords(db: Database.Database, id: string) {
  const checkpoints = db.prepare(`SELECT epoch, best, path, bytes, sha256 FROM checkpoints WHERE trial_id = ? ORDER BY epoch`).all(id) as Array<{ epoch: number; best: number; path: string; bytes: number; sha256: string }>;
  const attempts = (db.prepare(`SELECT attempt, run, from_epoch, started_at, finished_at, status, error, provenance FROM attempts WHERE trial_id = ? ORDER BY attempt`).all(id) as Array<{ attempt: number; from_epoch: number; status: string; error: string | null; provenance: string | null }>)
    .map((a) => ({ ...a, provenance: a.provenance === null ? null : (JSON.parse(a.provenance) as Provenance) }));
  return { checkpoints, attempts, provenance: trialProvenance(db, id) as Provenance | null };
}

function modelLines(db: Database.Database, trial: TrialRecord, { checkpoints, attempts, provenance }: ReturnType<typeof modelRecords>): string[] {
  const lines: string[] = [];
  if (checkpoints.length) {
    const last = checkpoints.at(-1)!;
    const named = checkpoints.map((c) => `${c.epoch}${c.best ? ' (best)' : ''}`).join(', ');
    const size = `${(last.bytes / 1e6).toFixed(2)} MB${checkpoints.length > 1 ? ' each' : ''}`;
    lines.push(`model   checkpoint${checkpoints.length > 1 ? 's' : ''} of epoch${checkpoints.length > 1 ? 's' : ''} ${named}, ${size}, in ${dirname(last.path)}; sweep export ${trial.id} --format onnx --out model.onnx`);
  } else {
    lines.push(`model   no checkpoint: ${whyNone(db, trial)}`);
  }
  if (attempts.length > 1) {
    const text = attempts.map((a) => `${a.attempt} from ${a.from_epoch ? `epoch ${a.from_epoch}` : 'the start'} (${a.status}${a.error ? `: ${a.error}` : ''})`).join('; ');
    lines.push(`starts  ${text}`);
  }
  // The last start's companions (fused trials), where it had any.
  const beside = attempts.at(-1)?.provenance?.beside;
  if (beside?.length) lines.push(`fused   trained as one computation with ${beside.length} other trial${beside.length === 1 ? '' : 's'} (${beside.join(', ')}); its numbers are those it gets alone`);
  if (provenance) {
    const git = provenance.file.git;
    const source = dataSourceOf(trial.config.data);
    lines.push(
      `source  ${provenance.file.path} (sha256 ${provenance.file.sha256.slice(0, 12)})` +
        (git ? `, git ${git.commit.slice(0, 10)}${git.dirty ? ' with uncommitted changes' : ''}` : ', not in git') +
        `; ${provenance.dataset.name}${source ? ` from ${source}` : ''} (${Object.keys(provenance.dataset.sha256).length} files checked); ${Object.entries(provenance.versions).map(([k, v]) => `${k} ${v}`).join(', ')}`,
    );
    // The classes and normalisation its readers use (recorded since class names were; older trials have none).
    const { classes, normalisation } = provenance.dataset;
    if (classes && normalisation) {
      const shown = classes.length > 12 ? `${classes.slice(0, 10).join(', ')}, … ${classes.at(-1)}` : classes.join(', ');
      const auto = (key: 'mean' | 'std') => (trial.config.data[key] === 'auto' ? ' (auto)' : '');
      lines.push(`data    ${classes.length} classes: ${shown}; normalised with mean ${+normalisation.mean.toFixed(4)}${auto('mean')}, std ${+normalisation.std.toFixed(4)}${auto('std')}`);
    }
  }
  return lines;
}
