/**
 * `sweep FILE`: validate the experiment, open the database, run what still has to run on a
 * worker pool, and show it: the live dashboard on a terminal, else one line per epoch and the
 * leaderboard at the end.
 *
 * Order matters for bad input: the file is checked completely before the database is opened,
 * and the database before any training starts.
 */
import { hostname } from 'node:os';
import { version as tfjsVersion } from '@tensorflow/tfjs';
import { adapterText, AUTO_ORDER, installHint, isInstalled, isSingleThreaded, plannedBackend, type BackendChoice } from '../backend/index.js';
import { UserError } from '../config/errors.js';
import { loadExperiment, type Trial } from '../config/experiment.js';
import type { Experiment } from '../config/experiment.types.js';
import { checkSplits, prepareDataset, type PreparedDataset } from '../data/sources.js';
import { listTrials, rankAmong, searchRecords } from '../store/queries.js';
import { DatabaseFile, openForWriting } from '../store/open.js';
import { GaveUp, PATIENCE_MS, patiently } from '../store/patience.js';
import { isBetter, RunWriter } from '../store/writer.js';
import type { LiveDashboard } from '../dashboard/live.js';
import { STOPPED_BY_FULL_DISK, SweepRun, type Relayed } from '../sweep/run-sweep.js';
import { DiskFullError, sayingDiskFull } from '../util/disk-full.js';
import { checkCheckpointRoot, checkpointEpochs, checkpointName, checkpointRoot, removeTrialCheckpoints } from '../checkpoint/files.js';
import { KEEP_POLICIES, type KeepPolicy } from '../checkpoint/retention.js';
import { provenanceOf } from '../sweep/provenance.js';
import { planRun } from '../sweep/resume.js';
import { trialId } from '../sweep/trial-id.js';
import type { Assignment } from '../sweep/grid.js';
import type { WorkerEvent } from '../worker/messages.js';
import type { EpochMetrics } from '../train/metrics.js';
import { parse, positiveInt } from './args.js';
import { RUN } from './commands.js';
import { goalText, metricValue, num, paramsText, pct, rate } from '../view/format.js';
import { leaderboard } from './leaderboard.js';
import { liveTerminal } from './live-terminal.js';
import { planGpus } from '../sweep/gpu-plan.js';
import { fitToMachine, wasmProblem } from '../sweep/machine-fit.js';
import { StopSignals } from './stop-signals.js';
import { STOP_SIGNALS, type StopSignal } from '../util/signals.js';
import { packageVersion } from '../version.js';
import { parseQueueUrl } from '../queue/url.js';
import { checkConnection } from '../queue/redis.js';
import { QueuedTrials } from '../queue/queued-trials.js';
import { CoordinatorLease, LEASE_TTL_MS } from '../queue/lease.js';

const BACKENDS: BackendChoice[] = ['auto', ...AUTO_ORDER];

function backendOption(value: string | undefined): BackendChoice | undefined {
  if (value === undefined) return undefined;
  if (!BACKENDS.includes(value as BackendChoice)) throw new UserError(`--backend: expected one of ${BACKENDS.join(', ')}, found '${value}'`);
  return value as BackendChoice;
}

function keepOption(value: string): KeepPolicy {
  if (!KEEP_POLICIES.includes(value as KeepPolicy)) throw new UserError(`--keep: expected one of ${KEEP_POLICIES.join(', ')}, found '${value}'`);
  return value as KeepPolicy;
}

/** A whole number of at least 0. */
function countOption(value: string, name: string): number {
  if (!/^\d+$/.test(value)) throw new UserError(`--${name}: expected a whole number (0 or more), found '${value}'`);
  return Number(value);
}

/** The trial with its backend replaced; the backend is part of the config, so of the id too. */
function withBackend(trial: Trial, backend: BackendChoice): Trial {
  const config = { ...trial.config, backend };
  const { backend: _swept, ...params } = trial.params;
  return { id: trialId(config), params, config };
}

export async function sweepCommand(args: string[]): Promise<number> {
  // From the start: a signal while the file is checked or the data prepared ends the process at
  // once (nothing is written yet); once the database is open, it stops the run cleanly.
  const stops = new StopSignals();
  try {
    return await sweep(args, stops);
  } catch (err) {
    // Stopped while another program held the database: stopped as asked, with what is missing said.
    if (!(err instanceof GaveUp)) throw err;
    console.log(`note: ${err.message}`);
    return stops.exitCode ?? STOP_SIGNALS.SIGINT;
  } finally {
    stops.dispose();
  }
}

/** What the first stop request prints, when no dashboard shows it. */
function stoppingText(signal: StopSignal): string {
  const again = signal === 'SIGINT' ? 'Ctrl-C again' : `${signal} again`;
  return `\nstopping (${signal}): the running trials end after their current batch (${again} to stop at once)`;
}

async function sweep(args: string[], stops: StopSignals): Promise<number> {
  const { values, positionals } = parse(args, RUN);
  if (positionals.length !== 1) throw new UserError(positionals.length ? `sweep: expected one experiment file, found ${positionals.length}` : 'sweep: no experiment file given; see sweep --help');
  const requestedWorkers = positiveInt(values.workers, 'workers');
  const keep = keepOption(values.keep!);
  const retries = countOption(values.retries!, 'retries');
  const backendOverride = backendOption(values.backend);
  // Across machines: the agents choose their workers and GPUs; this process is the coordinator.
  const queueUrl = values.queue === undefined ? undefined : parseQueueUrl(values.queue);
  if (queueUrl && values.workers !== undefined) throw new UserError(`--workers: with --queue the agents train the trials; give each agent its workers (sweep agent --queue ${queueUrl.shown} --workers N)`);
  if (queueUrl && values.gpus !== undefined) throw new UserError(`--gpus: with --queue the agents train the trials; give each agent its GPUs (sweep agent --queue ${queueUrl.shown} --gpus LIST)`);

  const loaded = loadExperiment(positionals[0], { set: values.set, grid: values.grid }, { maxTrials: values.yes ? Infinity : undefined });
  const { experiment } = loaded;
  if (values.rerun && loaded.search) {
    throw new UserError(`--rerun: method ${loaded.search.method} chose its trials from the results it had; to search again from the start, use another --db or another name`);
  }
  // Trials that differed only in their backend become one under --backend.
  const trials = backendOverride ? [...new Map(loaded.trials.map((t) => withBackend(t, backendOverride)).map((t) => [t.id, t])).values()] : loaded.trials;
  const backends = [...new Set(trials.map((t) => t.config.backend))];
  const backendSource = backendOverride ? '--backend' : loaded.file;
  for (const b of backends) {
    if (b !== 'auto' && !isInstalled(b)) {
      throw new UserError(`${backendSource}: backend '${b}' is not installed: ${installHint(b)}`);
    }
  }
  const gpuPlan = await planGpus(backends, backendSource, values.gpus);

  const singleThreaded = backends.map(plannedBackend).find(isSingleThreaded);
  if (singleThreaded && requestedWorkers !== undefined && requestedWorkers > 1) {
    throw new UserError(`--workers: the ${singleThreaded} backend runs in one worker per process (tfjs-node's native addon loads in one thread); use --workers 1, or backend: wasm for parallel trials`);
  }

  // Datasets are checked before the database is opened: a faulty file is bad input.
  const datasetKey = (t: Trial) => `${t.config.data.dataset}:${t.config.data.dir ?? ''}`;
  const datasets = new Map<string, PreparedDataset>();
  for (const t of trials) {
    if (!datasets.has(datasetKey(t))) datasets.set(datasetKey(t), await prepareDataset(t.config.data));
    // Each trial's own validation fraction: one may leave a split of a small dataset empty.
    checkSplits(datasets.get(datasetKey(t))!, t.config);
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
  const fit = queueUrl ? { workers: 1, notes: [] } : fitToMachine({
    file: loaded.file,
    trials: fitting.length ? fitting : trials,
    dataset: datasetOf,
    requested: requestedWorkers,
    adapters: Math.max(1, gpuPlan.gpus.length),
    planned: loaded.search?.maxTrials,
    heaviest: corner ? [backendOverride ? withBackend(corner, backendOverride) : corner] : [],
  });
  // A proposal the wasm heap cannot hold is skipped (said, and counted), as one that breaks a rule.
  const guarded = loaded.search && {
    ...loaded.search,
    build: (params: Assignment) => {
      const trial = loaded.search!.build(params);
      const problem = typeof trial === 'string' ? null : wasmProblem(backendOverride ? withBackend(trial, backendOverride) : trial, datasetOf);
      return problem ? `${problem.need}; ${problem.fix}` : trial;
    },
  };

  // The checkpoints' folder beside the database, if it is there, must be a folder: found out when
  // the first trial starts, the sweep would be left marked running in the database.
  checkCheckpointRoot(checkpointRoot(values.db!));
  // A wrong URL or password is said before the database is opened; a Redis that does not answer too.
  if (queueUrl) await checkConnection(queueUrl);
  // One coordinator per sweep on that Redis (another would train its trials twice).
  const lease = queueUrl && (await CoordinatorLease.take(queueUrl, experiment.name, (h) => console.log(`note: sweep '${experiment.name}' was coordinated by ${h.host} (pid ${h.pid}) until a moment ago; waiting for its lease to lapse (at most ${LEASE_TTL_MS / 1000} s)`)));

  stops.defer();
  const dbPath = values.db!;
  // Every write waits out another program's lock (store/patience.ts), saying so now and then;
  // a second stop request gives up at once.
  let toldAt = -Infinity;
  const onWait = (holder: string) => {
    if (performance.now() - toldAt < 30_000) return;
    toldAt = performance.now();
    console.log(`note: waiting for ${dbPath}: it is locked by ${holder} (giving up after ${PATIENCE_MS / 1000} s)`);
  };
  // Before training starts, one stop request is enough not to wait (nothing to settle yet).
  let training = false;
  // A full disk under the database stops the sweep with the words for it (its open says its own).
  const databaseFull = { path: dbPath, holding: 'the database', fix: STOPPED_BY_FULL_DISK };
  const store = <T>(write: () => T) =>
    patiently(dbPath, () => sayingDiskFull(databaseFull, write), { onWait, giveUp: () => stops.forced || (stops.received !== undefined && !training) });
  const db = await store(() => openForWriting(dbPath));
  try {
    const file = new DatabaseFile(dbPath);
    const versions = { node: process.versions.node, 'lenet-sweep': packageVersion(), tfjs: tfjsVersion.tfjs };
    const writer = await store(() =>
      // An adaptive search records its trials as it proposes them (its start-up ones first).
      RunWriter.begin(db, loaded.file, experiment, guarded ? [] : trials, { host: hostname(), versions }, () => file.check()),
    );
    file.recordJournal();
    if (writer.takenOver) {
      const { host, updatedAt } = writer.takenOver;
      console.log(
        `note: sweep '${experiment.name}' was marked running on host ${host} (last written ${updatedAt ?? '?'}); this run takes it over. ` +
          'If it still runs there, stop one of the two: two runs of a sweep train the same trials.',
      );
    }
    const stored = searchRecords(db, writer.sweepId, experiment.metric.name);
    const adjust = backendOverride ? (t: Trial) => withBackend(t, backendOverride) : undefined;
    const { toRun, search, runnable, ended, members } = planRun({ ...loaded, search: guarded }, trials, stored, { rerun: values.rerun!, adjust });
    // Whether or not it trains anything, this run is now the search's latest.
    if (members.length) await store(() => writer.joinRun(members));
    const adaptive = loaded.search;
    const workers = Math.max(1, Math.min(fit.workers, runnable));
    for (const note of fit.notes) console.log(note);
    const endedParts = [...(ended.completed ? [`${ended.completed} already completed`] : []), ...(ended.pruned ? [`${ended.pruned} ${ended.completed ? '' : 'already '}pruned`] : [])];
    const endedText = endedParts.length ? `, ${endedParts.join(', ')}${adaptive ? '' : ' (--rerun trains them again)'}` : '';
    const size = adaptive ? `at most ${adaptive.maxTrials} trials (${adaptive.method})` : `${trials.length} trial${trials.length === 1 ? '' : 's'}`;
    console.log(
      `sweep ${experiment.name}: ${size}${endedText}` +
        (runnable
          ? queueUrl
            ? `; running ${adaptive ? 'up to ' : ''}${runnable} on the agents of ${queueUrl.shown} (sweep agent --queue ${queueUrl.shown})`
            : `; running ${adaptive ? 'up to ' : ''}${runnable} on ${workers} worker${workers === 1 ? '' : 's'} (backend ${backends.map((b) => (b === 'auto' ? `auto → ${plannedBackend(b)}` : b)).join(', ')})`
          : '') +
        ` → ${values.db}`,
    );

    let code = 0;
    // The dashboard needs a terminal to draw on; otherwise (pipes, logs, CI) one line per event.
    const tui = liveTerminal() && !values['no-tui'];
    let dashboard: LiveDashboard | undefined;
    if (runnable) {
      // A trial resumes from its newest checkpoint, unless it trains again from the start: under
      // --rerun, or after it diverged (its checkpoints would only diverge again).
      const checkpoints = checkpointRoot(dbPath);
      const statusOf = new Map(stored.map((r) => [r.id, r.status]));
      const startOver = (t: Trial) => values.rerun || statusOf.get(t.id) === 'diverged';
      const resuming = new Set(toRun.filter((t) => !startOver(t) && checkpointEpochs(checkpoints, t.id).length).map((t) => t.id));
      await store(() => {
        // Across machines the agents' workers come and go: none is recorded (the dashboard then counts trials only).
        writer.runStarted(queueUrl ? 0 : workers);
        writer.requeue(toRun.map((t) => t.id), resuming);
      });
      for (const t of toRun) if (!resuming.has(t.id)) removeTrialCheckpoints(checkpoints, t.id);
      // Epochs were stored but no checkpoint is left (its folder removed, or trained by a
      // version without checkpoints): said, since the trial loses them.
      const storedOf = new Map(stored.map((r) => [r.id, r]));
      for (const t of toRun) {
        const had = storedOf.get(t.id)?.values.length ?? 0;
        if (had && !resuming.has(t.id) && !startOver(t)) console.log(`note: trial ${t.id} has ${had} stored epoch${had === 1 ? '' : 's'} but no checkpoint to resume from; it trains again from its first epoch`);
      }
      const provenance = provenanceOf(loaded.file, versions);
      // Numbered out of what this run may train: its queue, and what an adaptive method may still propose.
      const run = new SweepRun(
        writer,
        search,
        {
          workers,
          dataDir: (t) => datasetOf(t).dir,
          store,
          ...gpuPlan,
          checkpoints,
          keep,
          retries,
          provenance: (t, backend, agent) => ({
            ...provenance({ name: t.config.data.dataset, dir: datasetOf(t).dir }, backend),
            ...(queueUrl ? { queue: queueUrl.shown, agent } : {}),
          }),
        },
        tui ? () => {} : printEvent(toRun, runnable, experiment.metric),
        {
          skipped: (params, problem) => console.log(`note: skipped the values ${paramsText(params)}: ${problem}`),
          damaged: (t, damaged, from) =>
            console.log(`note: trial ${t.id}: ${damaged.map((d) => `the checkpoint of epoch ${d.epoch} cannot be used: ${d.reason} (set aside as ${checkpointName(d.epoch)}.damaged)`).join('; ')}; it resumes ${from ? `from epoch ${from}` : 'from the start'}`),
          retrying: (t, retry, error) => console.log(`note: trial ${t.id}: ${error}; starting it again from its last checkpoint (retry ${retry} of ${retries})`),
        },
        lease && new QueuedTrials({ url: queueUrl!, sweep: experiment.name, version: versions['lenet-sweep'], trials: runnable, resumable: toRun.map((t) => t.id), checkpoints, lease, log: (line) => console.log(`note: ${line}`) }),
      );
      // The first stop request lets the running trials end after their batch; the second ends
      // them at once. Either way the run settles below and the database is closed properly.
      const onStop = (first: boolean, signal: StopSignal) => {
        if (first && !run.stopping) {
          if (!dashboard) console.log(stoppingText(signal));
          run.stop();
        } else {
          if (!dashboard) console.log(`stopping at once (${signal} again): the running trials end now, marked interrupted`);
          void run.abort();
        }
      };
      if (tui) {
        const { startDashboard } = await import('../dashboard/live.js');
        // Ctrl-C reaches the dashboard as a key (the terminal is in raw mode): a stop like SIGINT.
        dashboard = startDashboard({ dbPath: values.db!, sweep: experiment.name, mode: 'run', onStop: () => run.stop(), onInterrupt: () => stops.request('SIGINT') });
      }
      stops.handle(onStop);
      training = true;
      try {
        const outcome = await run.done.catch((err: Error) => {
          // Where the database can still take it, the sweep is marked failed, or interrupted where
          // the disk filled up (the same command resumes it); the error says why.
          try {
            writer.interruptRunning();
            writer.finish(err instanceof DiskFullError ? 'interrupted' : 'failed');
          } catch {
            // The error that stopped the run is the one to report.
          }
          throw err;
        });
        const statuses = [...outcome.statuses.values()];
        const failed = statuses.includes('failed');
        await store(() => {
          // Trials a forced stop ended mid-batch are still marked running.
          if (outcome.stopped) writer.interruptRunning();
          writer.finish(outcome.stopped ? 'interrupted' : failed ? 'failed' : 'completed');
        });
        code = outcome.stopped ? (stops.exitCode ?? STOP_SIGNALS.SIGINT) : failed ? 1 : 0;

      } finally {
        // The final leaderboard stays on the screen.
        await dashboard?.finish();
      }
    } else {
      await store(() => writer.finish('completed'));
    }
    if (search.exhausted) console.log('note: every point of the search space has been tried: the search ends before its count');
    if (search.reachedTarget) {
      const { id, value } = search.reachedTarget;
      console.log(`note: trial ${id} reached the target ${experiment.metric.name} ${metricValue(experiment.metric.name, value)} (metric.target ${experiment.metric.target}): no new trials start`);
    }
    if (!dashboard) {
      console.log(`\nleaderboard (${experiment.metric.name}, ${goalText(experiment.metric.goal)})`);
      // A grid or random file's trials; every trial of an adaptive search (they joined this run).
      const filter = adaptive ? { sweep: experiment.name, latestRun: true } : { sweep: experiment.name, ids: trials.map((t) => t.id) };
      console.log(await leaderboard(rankAmong(listTrials(db, filter))));
    }
    return code;
  } finally {
    db.close();
    await lease?.release();
  }
}

/** One line per finished epoch and per trial outcome. */
function printEvent(queue: Trial[], total: number, { name: metric, goal }: Experiment['metric']) {
  // The queue numbered in its order (the file's); trials an adaptive search chooses as it goes
  // after it, as they start.
  const index = new Map<string, number>(queue.map((t, i) => [t.id, i + 1]));
  const label = (t: Trial) => {
    if (!index.has(t.id)) index.set(t.id, index.size + 1);
    return `[${index.get(t.id)}/${total} ${t.id}${Object.keys(t.params).length ? ` ${paramsText(t.params)}` : ''}]`;
  };
  const best = new Map<string, { epoch: number; value: number }>();
  return (trial: Trial, event: WorkerEvent, resumed: EpochMetrics[] = [], relayed: Relayed = {}) => {
    // A coordinator started again stores what the agents sent while none ran: not trained now.
    const late = relayed.caughtUp ? ' (caught up)' : '';
    switch (event.type) {
      case 'started': {
        for (const m of resumed) if (isBetter(m[metric], best.get(trial.id)?.value ?? null, goal)) best.set(trial.id, { epoch: m.epoch, value: m[metric] });
        if (relayed.adopted) return console.log(`${label(trial)} adopted from agent ${event.agent ?? '?'} ${event.resumedFrom ? `at epoch ${event.resumedFrom}` : 'before its first epoch'}`);
        const from = event.resumedFrom ? `resumed after epoch ${event.resumedFrom} (its checkpoint) on` : 'started on';
        return console.log(`${label(trial)} ${from} ${event.backend}${event.adapter ? ` (${adapterText(event.adapter)})` : ''}, ${event.paramCount.toLocaleString('en')} parameters${late}`);
      }
      case 'epoch': {
        const m = event.metrics;
        const value = m[metric];
        if (isBetter(value, best.get(trial.id)?.value ?? null, goal)) best.set(trial.id, { epoch: m.epoch, value });
        const width = String(trial.config.training.epochs).length;
        return console.log(
          `${label(trial)} epoch ${String(m.epoch).padStart(width)}/${trial.config.training.epochs}` +
            `  loss ${num(m.train_loss)} acc ${pct(m.train_acc)}  val_loss ${num(m.val_loss)} val_acc ${pct(m.val_acc)}` +
            `  lr ${m.lr}  ${rate(m.images_per_s)} img/s  ${m.seconds.toFixed(1)}s${late}`,
        );
      }
      case 'finished': {
        const b = best.get(trial.id);
        const bestText = b ? `best ${metric} ${metricValue(metric, b.value)} (epoch ${b.epoch})` : 'no epoch finished';
        if (event.status === 'pruned') return console.log(`${label(trial)} pruned: ${event.pruneReason}; ${bestText}${late}`);
        return console.log(`${label(trial)} ${event.status}: ${bestText}, test_acc ${pct(event.testAcc)}${late}`);
      }
      case 'failed':
        return console.log(`${label(trial)} ${event.diskFull ? 'interrupted' : 'failed'}: ${event.error}${late}`);
      case 'progress':
      case 'skipped':
        return;
    }
  };
}
