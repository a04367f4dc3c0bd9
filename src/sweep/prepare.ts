/**
 * What a sweep will run, checked before anything is written: the experiment and its overrides,
 * the backends (installed, a GPU where one is named), the datasets (prepared: a faulty file is bad
 * input), and the workers fitted to this machine (a trial too large for the wasm heap refused).
 * Every problem here is the user's (UserError) or this machine's; the database is not opened yet.
 */
import { defaultFuse, installHint, isInstalled, isSingleThreaded, plannedBackend, type BackendChoice } from '../backend/choice.js';
import { UserError } from '../config/errors.js';
import type { InlineExperiment } from '../config/compose.js';
import { loadExperiment, type AdaptiveSearch, type LoadedExperiment, type Trial } from '../config/experiment.js';
import { checkSplits, prepareDataset, splitOptions, type PreparedDataset } from '../data/sources.js';
import type { Assignment } from './grid.js';
import { planGpus, type GpuPlan } from './gpu-plan.js';
import { fusionKey } from './fusion.js';
import { fitFuse, fitToMachine, wasmProblem } from './machine-fit.js';
import type { CheckedOptions } from './options.js';
import { trialId } from './trial-id.js';

export interface PreparedSweep {
  loaded: LoadedExperiment;
  /** The experiment's trials, each on the backend option's backend where one is given. */
  trials: Trial[];
  /** The backends the trials name. */
  backends: BackendChoice[];
  gpuPlan: GpuPlan;
  /** Each trial's dataset, prepared. */
  datasetOf: (t: Trial) => PreparedDataset;
  /** The workers this machine can hold for these trials, and what was said about them and about the data. */
  fit: { workers: number; notes: string[] };
  /** The most trials a worker trains as one computation (sweep/fusion.ts); 1: each alone. */
  fuse: number;
  /** An adaptive search whose proposals the wasm heap cannot hold are skipped, said as a rule broken is. */
  search: AdaptiveSearch | undefined;
  /** The backend option applied to a trial an adaptive search proposes. */
  adjust: ((t: Trial) => Trial) | undefined;
}

/** The trial with its backend replaced; the backend is part of the config, so of the id too. */
function withBackend(trial: Trial, backend: BackendChoice): Trial {
  const config = { ...trial.config, backend };
  const { backend: _swept, ...params } = trial.params;
  return { id: trialId(config), params, config };
}

export async function prepareSweep(from: string | InlineExperiment, options: CheckedOptions): Promise<PreparedSweep> {
  const loaded = loadExperiment(from, options.overrides, { maxTrials: options.yes ? Infinity : undefined });
  if (options.rerun && loaded.search) {
    throw new UserError(`--rerun: method ${loaded.search.method} chose its trials from the results it had; to search again from the start, use another --db or another name`);
  }
  const override = options.backend;
  const adjust = override ? (t: Trial) => withBackend(t, override) : undefined;
  // Trials that differed only in their backend become one under --backend.
  const trials = adjust ? [...new Map(loaded.trials.map(adjust).map((t) => [t.id, t])).values()] : loaded.trials;
  const backends = [...new Set(trials.map((t) => t.config.backend))];
  const backendSource = override ? '--backend' : loaded.file;
  for (const b of backends) {
    if (b !== 'auto' && !isInstalled(b)) {
      throw new UserError(`${backendSource}: backend '${b}' is not installed: ${installHint(b)}`);
    }
  }
  const gpuPlan = await planGpus(backends, backendSource, options.gpus);

  const singleThreaded = backends.map(plannedBackend).find(isSingleThreaded);
  if (singleThreaded && options.workers !== undefined && options.workers > 1) {
    throw new UserError(`--workers: the ${singleThreaded} backend runs in one worker per process (tfjs-node's native addon loads in one thread); use --workers 1, or backend: wasm for parallel trials`);
  }

  // What a dataset is prepared from is in its data section (a folder, files, the classes chosen…).
  const datasetKey = (t: Trial) => JSON.stringify(t.config.data);
  const datasets = new Map<string, PreparedDataset>();
  const checkedSplits = new Set<string>();
  for (const t of trials) {
    if (!datasets.has(datasetKey(t))) datasets.set(datasetKey(t), await prepareDataset(t.config.data, { skipBad: options.skipBad }));
    // Each trial's own validation fraction: one may leave a split of a small dataset empty (checked once per split).
    const split = `${datasetKey(t)}:${JSON.stringify(splitOptions(t.config))}`;
    if (!checkedSplits.has(split)) checkSplits(datasets.get(datasetKey(t))!, t.config);
    checkedSplits.add(split);
  }
  const datasetOf = (t: Trial) => {
    const prepared = datasets.get(datasetKey(t));
    // Every trial a run trains has the file's data (an adaptive search cannot sweep it).
    if (!prepared) throw new Error(`trial ${t.id}: its data (${datasetKey(t)}) was not prepared for this run`);
    return prepared;
  };
  // Trials too large for the backend, workers beyond the free memory: refused before anything is written.
  // An adaptive search proposes its trials as it goes: its workers are bounded by count, and each
  // may have to hold the heaviest point of the space.
  const corner = loaded.search?.corner;
  // Its start-up trials are proposals too: one the wasm heap cannot hold is skipped when it comes
  // up, like any other, unless none of them fits (then the space is wrong, and refused).
  const fitting = loaded.search ? trials.filter((t) => !wasmProblem(t, datasetOf)) : trials;
  const fromFile = loaded.experiment.sweep?.fuse;
  const fuse = fitFuse({
    trials: fitting.length ? fitting : trials,
    dataset: datasetOf,
    planned: loaded.search?.maxTrials ?? trials.length,
    fuse: options.fuse !== undefined ? { k: options.fuse, source: `--fuse ${options.fuse}` }
      : fromFile !== undefined ? { k: fromFile, source: `${loaded.file}: sweep.fuse ${fromFile}` }
      : { k: defaultFuse(backends) },
    // Known in advance (no adaptive search): a group holds at most the trials of one kind.
    keyOf: loaded.search ? undefined : (t) => fusionKey(t.config, datasetOf(t).dir),
  });
  // What preparing the data had to say comes first: it was done first.
  const dataNotes = [...datasets.values()].flatMap((d) => d.notes.map((n) => `note: ${n}`));
  const fitted = options.queue
    ? { workers: 1, notes: [] }
    : fitToMachine({
        file: loaded.file,
        trials: fitting.length ? fitting : trials,
        dataset: datasetOf,
        requested: options.workers,
        adapters: Math.max(1, gpuPlan.gpus.length),
        planned: loaded.search?.maxTrials,
        heaviest: corner ? [adjust ? adjust(corner) : corner] : [],
        fuse,
      });
  const fit = { workers: fitted.workers, notes: [...dataNotes, ...fitted.notes] };
  // A proposal the wasm heap cannot hold is skipped (said, and counted), as one that breaks a rule.
  const adaptive = loaded.search;
  const search = adaptive && {
    ...adaptive,
    build: (params: Assignment) => {
      const trial = adaptive.build(params);
      const problem = typeof trial === 'string' ? null : wasmProblem(adjust ? adjust(trial) : trial, datasetOf);
      return problem ? `${problem.need}; ${problem.fix}` : trial;
    },
  };
  return { loaded, trials, backends, gpuPlan, datasetOf, fit, fuse, search, adjust };
}
