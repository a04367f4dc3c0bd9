/**
 * Every command of `sweep`, declared once: its name, what it takes, its options with their
 * defaults, and examples. The options a command parses (args.ts), its `--help` (help.ts), the
 * overview of `sweep --help` and the shell completion (completion.ts) all come from this table,
 * so none of them can drift from another. Loading it loads no command: `sweep X --help` answers
 * without TensorFlow.js.
 */
import { DEFAULT_KEEP } from '../checkpoint/retention.js';
import { DEFAULT_DB } from '../store/paths.js';

export interface OptionSpec {
  type: 'string' | 'boolean';
  /** May be given more than once (each adds a value); any other option given twice is refused. */
  multiple?: boolean;
  short?: string;
  /** The value parseArgs fills in when the option is not given. */
  default?: string | boolean;
  /** How help names the value: PATH, N, NAME. */
  value?: string;
  /** What the option does, for help. */
  help: string;
  /** The default as help says it, where it is not a plain value (one per CPU core). */
  defaultText?: string;
  /** Values the shell completes the option with. */
  choices?: readonly string[];
  /** The shell completes the value with file names. */
  files?: boolean;
}

export type OptionSpecs = Record<string, OptionSpec>;

export interface CommandSpec<O extends OptionSpecs = OptionSpecs> {
  /** The words after `sweep`: 'export', 'runs list'; '' for `sweep FILE`. */
  name: string;
  /** What follows the name in the usage line, options left out: 'ID|best IMAGE|FOLDER...'. */
  args: string;
  /** One line for the overview (`sweep --help`). */
  summary: string;
  /** Lines said after the usage, before the options. */
  details?: string[];
  options: O;
  examples: string[];
  /** The section of the overview it is listed in. */
  section: Section;
  /** The shell completes its arguments with file names. */
  fileArgs?: boolean;
  /** The words the shell completes its arguments with. */
  argChoices?: readonly string[];
  /** It handles Ctrl-C, SIGTERM and SIGHUP itself; any other command ends on them (stop-signals.ts endOnStopSignals). */
  handlesStops?: boolean;
}

export const SECTIONS = ['run', 'check', 'results', 'models', 'machine'] as const;
export type Section = (typeof SECTIONS)[number];
export const SECTION_TITLES: Record<Section, string> = {
  run: 'Run experiments',
  check: 'Check experiment files',
  results: 'Look at results',
  models: 'Trained models',
  machine: 'This machine and its database',
};

/** A command's spec, its option types kept exact (so parse() types the values it returns). */
const command = <const O extends OptionSpecs>(spec: CommandSpec<O>): CommandSpec<O> => spec;

// Options several commands share, said alike everywhere.
const db = { type: 'string', default: DEFAULT_DB, value: 'PATH', help: 'the runs database', files: true } as const;
const sweepName = { type: 'string', value: 'NAME', help: 'the sweep (needed when the database holds several)' } as const;
const json = { type: 'boolean', default: false, help: 'JSON for programs' } as const;
const csv = { type: 'boolean', default: false, help: 'CSV for spreadsheets' } as const;
const set = { type: 'string', multiple: true, value: 'PATH=VALUE', help: 'change one config value (read as YAML), e.g. --set training.epochs=3' } as const;
const grid = { type: 'string', multiple: true, value: 'PATH=A,B', help: 'add a grid axis, e.g. --grid model.pooling=avg,max' } as const;
const yes = { type: 'boolean', default: false, help: 'allow a grid of more than 10,000 trials' } as const;
const skipBad = { type: 'boolean', default: false, help: "leave out a folder dataset's images that do not decode (and say which) instead of refusing them" } as const;
const force = { type: 'boolean', default: false, help: 'replace the output if it exists' } as const;
const epoch = { type: 'string', value: 'best|last', choices: ['best', 'last'], help: "which checkpoint: the trial's last epoch's, or its best epoch's", defaultText: 'last' } as const;
const backends = ['auto', 'tensorflow-gpu', 'webgpu', 'tensorflow', 'wasm', 'cpu'] as const;
const backend = { type: 'string', value: 'NAME', choices: backends, help: `${backends.join(' | ')}; overrides the file's backend` } as const;
const gpus = { type: 'string', value: 'LIST', help: 'WebGPU adapters to spread the workers over, by number or name (sweep backends lists them), e.g. --gpus 0,1' } as const;
/** How a queue URL is written, for the help of --queue. */
const QUEUE_URL = 'redis://[user:password@]host:port[/db] (rediss:// for TLS; the password may come from $LENET_SWEEP_QUEUE_PASSWORD)';
const formats = { json, csv } as const;
const plot = { type: 'string', value: 'FILE.png', files: true, help: 'also draw the curves as a PNG image' } as const;

export const RUN = command({
  name: '',
  args: 'FILE',
  summary: 'run the trials of an experiment file, with a live dashboard on a terminal',
  details: [
    'Trials already completed or pruned are kept; tpe and bayes choose each trial from the results so far; early_terminate stops the laggards.',
    'On a terminal a live dashboard shows the trials (↑/↓ select, Enter detail, s sort, g group, q stop); elsewhere, one line per epoch and a leaderboard at the end.',
    'Ctrl-C stops cleanly (a second one at once). Exit codes: 0 done, 1 a trial failed, 2 bad input, 130/143/129 stopped by SIGINT/SIGTERM/SIGHUP.',
  ],

  options: {
    set,
    grid,
    workers: { type: 'string', value: 'N', help: 'trials trained at once', defaultText: 'one per CPU core on wasm and cpu, at most 4 per adapter on webgpu, one on tensorflow' },
    fuse: { type: 'string', value: 'K', help: "train up to K trials (at most 64) of the same network shape, batch size, data, backend and optimizer rule as one computation on each worker (each trial's numbers unchanged); 1 trains each alone", defaultText: 'sweep.fuse in the file, else 4 on webgpu, 1 elsewhere' },
    db: { ...db, help: 'the runs database (created if missing)' },
    backend,
    gpus,
    rerun: { type: 'boolean', default: false, help: 'train every trial again from its first epoch, completed and pruned ones included (grid, random)' },
    keep: { type: 'string', default: DEFAULT_KEEP, value: 'best|last|all', choices: ['best', 'last', 'all'], help: "the checkpoints a trial keeps once it ends: its best epoch's, also its last epoch's, or every epoch's" },
    retries: { type: 'string', default: '1', value: 'N', help: 'start a trial whose worker died again from its checkpoint, up to N times' },
    yes,
    'skip-bad': skipBad,
    'no-tui': { type: 'boolean', default: false, help: 'one line per epoch instead of the dashboard (also without a terminal, or in CI)' },
    queue: { type: 'string', value: 'URL', help: `coordinate the sweep across machines through the Redis at URL: agents (sweep agent) train its trials, this process writes the database. URL: ${QUEUE_URL}` },
  },
  examples: ['sweep experiments/pooling.yaml', 'sweep experiments/pooling.yaml --set training.epochs=3 --workers 2 --no-tui', 'sweep experiments/tpe-search.yaml --queue redis://localhost:6379'],
  section: 'run',
  fileArgs: true,
  handlesStops: true,
});

export const AGENT = command({
  name: 'agent',
  args: '--queue URL',
  summary: 'take trials of any sweep coordinated on a Redis and train them here, until stopped',
  details: ['Ctrl-C stops taking trials and lets the running ones finish; a second one hands them back to the queue.'],
  options: {
    queue: { type: 'string', value: 'URL', help: `(required) the Redis the coordinator (sweep FILE --queue URL) sends its trials through: ${QUEUE_URL}` },
    workers: { type: 'string', value: 'N', help: 'trials trained at once', defaultText: 'one per CPU core on wasm and cpu, at most 4 per adapter on webgpu' },
    fuse: { type: 'string', value: 'K', help: 'train up to K trials (at most 64) that can fuse (same network shape, batch size, data, backend and optimizer rule) as one computation on each worker; 1 trains each alone', defaultText: '4 on webgpu, 1 elsewhere' },
    backend: { ...backend, help: `${backends.join(' | ')}; overrides the trials' backend` },
    gpus,
    name: { type: 'string', value: 'NAME', help: "this agent's name in the coordinator's output and the dashboard", defaultText: 'HOST-PID' },
    data: { type: 'string', multiple: true, value: 'DIR', files: true, help: "a folder where this machine keeps the IDX datasets the trials' data.dir names" },
    'lock-seconds': { type: 'string', value: 'S', help: "how long a trial stays this agent's without a word from it; then another agent takes it over", defaultText: '30' },
  },
  examples: ['sweep agent --queue redis://coordinator.lan:6379', 'sweep agent --queue rediss://:PASSWORD@coordinator.lan:6380 --workers 4 --name gpu-box'],
  section: 'run',
  handlesStops: true,
});

export const VALIDATE = command({
  name: 'validate',
  args: 'FILE...',
  summary: 'check experiment files without running anything: every problem of every file',
  options: { yes },
  examples: ['sweep validate experiments/*.yaml'],
  section: 'check',
  fileArgs: true,
});

export const PLAN = command({
  name: 'plan',
  args: 'FILE',
  summary: 'the trials a file expands to, with time estimates from earlier runs',
  details: ['For tpe and bayes: the start-up trials, fixed in advance.'],
  options: {
    json,
    db: { ...db, help: 'the runs database the time estimates come from' },
    set,
    grid,
    yes,
    fuse: { type: 'string', value: 'K', help: 'say how many trials would train as one with sweep FILE --fuse K', defaultText: 'sweep.fuse in the file, else 4 on webgpu, 1 elsewhere' },
  },
  examples: ['sweep plan experiments/pooling-seeds.yaml', 'sweep plan experiments/random-search.yaml --json', 'sweep plan experiments/sgd-momentum.yaml --fuse 8'],
  section: 'check',
  fileArgs: true,
});

export const SCHEMA = command({
  name: 'schema',
  args: '',
  summary: 'print the JSON Schema of experiment files (for editors and other tools)',
  options: {},
  examples: ['sweep schema > experiment.schema.json'],
  section: 'check',
});

export const DASHBOARD = command({
  name: 'dashboard',
  args: '',
  summary: 'the live dashboard of a sweep in the database (one another process runs, or a finished one)',
  options: { db, sweep: sweepName },
  examples: ['sweep dashboard --sweep pooling'],
  section: 'results',
});

export const RUNS_LIST = command({
  name: 'runs list',
  args: '',
  summary: 'the trials, best first',
  options: {
    db,
    sweep: { ...sweepName, help: 'only the trials of this sweep' },
    status: { type: 'string', value: 'S,...', help: 'only trials with these statuses: queued, running, completed, failed, diverged, pruned, interrupted' },
    where: { type: 'string', value: 'EXPR', help: "only trials that match, e.g. \"model.pooling = 'max' and val_acc > 0.98\"" },
    sort: { type: 'string', value: 'KEY[:asc|:desc]', help: 'order by a trial field or config path', defaultText: 'the rank' },
    limit: { type: 'string', value: 'N', help: 'at most N trials' },
    ...formats,
  },
  examples: ['sweep runs list --sweep pooling-seeds --limit 3', "sweep runs list --where \"model.pooling = 'max' and val_acc > 0.98\" --csv"],
  section: 'results',
});

export const RUNS_SHOW = command({
  name: 'runs show',
  args: 'ID',
  summary: "one trial: config, epoch table, curves, checkpoints",
  options: { db, json, plot, force: { ...force, help: 'replace the --plot image if it exists' } },
  examples: ['sweep runs show 9789dbe71cd6', 'sweep runs show 9789 --plot curves.png'],
  section: 'results',
});

export const RUNS_BEST = command({
  name: 'runs best',
  args: '',
  summary: 'the best completed trial of each sweep',
  options: { db, sweep: { ...sweepName, help: 'only this sweep' }, ...formats },
  examples: ['sweep runs best', 'sweep runs best --sweep pooling --json'],
  section: 'results',
});

export const RUNS_COMPARE = command({
  name: 'runs compare',
  args: 'ID ID...',
  summary: 'config differences and metrics of trials side by side',
  options: { db, ...formats, plot, force: { ...force, help: 'replace the --plot image if it exists' } },
  examples: ['sweep runs compare 9789dbe71cd6 ac5e9bed599b --plot both.png'],
  section: 'results',
});

export const RUNS_SQL = command({
  name: 'runs sql',
  args: '"SELECT ..."',
  summary: 'read-only SQL on the views trials, epochs, leaderboard, checkpoints, attempts, confusion',
  details: ['Rows are printed as they are read. Ctrl-C or SIGTERM stops the statement at once, wherever it is.'],
  options: {
    db,
    ...formats,
    timeout: { type: 'string', value: 'SECONDS', help: 'stop the statement after this many seconds, with exit code 1', defaultText: 'none' },
  },
  examples: ['sweep runs sql "SELECT id, val_acc FROM leaderboard LIMIT 3"', 'sweep runs sql "SELECT * FROM epochs" --csv --timeout 60 > epochs.csv'],
  section: 'results',
  handlesStops: true,
});

export const SWEEPS_LIST = command({
  name: 'sweeps list',
  args: '',
  summary: 'the sweeps in the database',
  options: { db, ...formats },
  examples: ['sweep sweeps list --json'],
  section: 'results',
});

export const REPORT = command({
  name: 'report',
  args: '',
  summary: "one self-contained HTML file of a sweep (or several side by side): leaderboard, curves, importance, seeds, the best model's errors",
  options: {
    db,
    sweep: { type: 'string', multiple: true, value: 'NAME', help: 'a sweep to show; repeat it to put several side by side', defaultText: 'the only one' },
    out: { type: 'string', value: 'FILE', files: true, help: 'the HTML file to write', defaultText: 'report.html' },
    png: { type: 'string', value: 'DIR', files: true, help: 'also write each chart as a PNG image into this folder (without --out: only these)' },
    force: { ...force, help: 'replace the report if it exists' },
  },
  examples: ['sweep report --sweep pooling-seeds --out pooling.html', 'sweep report --sweep pooling --sweep pooling-seeds --png charts/'],
  section: 'results',
});

export const SERVE = command({
  name: 'serve',
  args: '',
  summary: 'every sweep in the database in a browser: an index, each sweep\'s report, a JSON API (read-only)',
  details: ['Listens on 127.0.0.1 unless --host says otherwise; anyone who reaches the port can read the results.'],
  options: {
    db,
    host: { type: 'string', default: '127.0.0.1', value: 'HOST', help: 'the address to listen on (0.0.0.0: every interface)' },
    port: { type: 'string', default: '8080', value: 'N', help: 'the port to listen on (0: any free one)' },
    open: { type: 'boolean', default: false, help: 'open the index in the desktop browser (xdg-open)' },
  },
  examples: ['sweep serve', 'sweep serve --db runs/runs.db --port 9000 --open'],
  section: 'results',
  handlesStops: true,
});

export const EXPORT = command({
  name: 'export',
  args: 'ID|best --format FORMAT --out PATH',
  summary: "a trial's trained model for TensorFlow.js or ONNX Runtime, with a model card",
  details: ['best: the best completed trial of the sweep.'],
  options: {
    format: { type: 'string', value: 'FORMAT', choices: ['tfjs', 'onnx', 'onnx-int8'], help: '(required) tfjs (a folder) | onnx (a file) | onnx-int8 (per-channel quantised)' },
    out: { type: 'string', value: 'PATH', files: true, help: '(required) where to write: a folder for tfjs, a file for onnx' },
    epoch,
    sweep: sweepName,
    db,
    force: { ...force, help: 'replace the output if it exists' },
  },
  examples: ['sweep export best --format onnx --out model.onnx', 'sweep export 9789dbe71cd6 --format tfjs --out model/ --epoch best'],
  section: 'models',
});

export const PREDICT = command({
  name: 'predict',
  args: 'ID|best IMAGE|FOLDER...',
  summary: 'the most likely classes of digit images (PNG or JPEG, any size or colour), by name, prepared as the training images were',
  options: { top: { type: 'string', value: 'K', help: 'print the K most likely classes of each image with their probabilities (default 3)' }, json, epoch, sweep: sweepName, db },
  examples: ['sweep predict best digit.png', 'sweep predict best letters/ --top 5', 'sweep predict 9789dbe71cd6 scans/ --json'],
  section: 'models',
  fileArgs: true,
});

export const EVALUATE = command({
  name: 'evaluate',
  args: 'ID|best --data mnist|mnist-full|fashion-mnist|DIR',
  summary: "accuracy and confusion matrix on a dataset's test split",
  options: {
    data: { type: 'string', value: 'DATASET', files: true, help: '(required) mnist | mnist-full | fashion-mnist, a folder of IDX files, or a folder of images in train/ and test/ class folders' },
    json,
    epoch,
    sweep: sweepName,
    db,
  },
  examples: ['sweep evaluate best --data fashion-mnist', 'sweep evaluate 9789dbe71cd6 --data ./my-idx-files --json'],
  section: 'models',
});

export const BACKENDS = command({
  name: 'backends',
  args: '',
  summary: 'the backends this machine can run, the one auto takes, the WebGPU adapters',
  options: { json },
  examples: ['sweep backends'],
  section: 'machine',
});

export const UPGRADE = command({
  name: 'upgrade',
  args: '',
  summary: "bring a database of an older lenet-sweep to this version's schema",
  options: { db: { ...db, help: 'the database to upgrade' } },
  examples: ['sweep upgrade --db old-runs.db'],
  section: 'machine',
});

export const AUGMENT_PREVIEW = command({
  name: 'augment-preview',
  args: 'FILE --out grid.png',
  summary: "draw training digits as they are and as the file's augment settings change them",
  details: [
    "Where the file sweeps augment settings, each is drawn at the largest value its trials take (the most augmentation the sweep trains with); --trial draws one trial's.",
  ],
  options: {
    out: { type: 'string', value: 'FILE.png', files: true, help: '(required) the PNG image to write' },
    force: { ...force, help: 'replace the image if it exists' },
    rows: { type: 'string', value: 'N', help: 'digits drawn, one per row, at most 100', defaultText: '8' },
    trial: { type: 'string', value: 'N|ID', help: 'draw this trial\'s augment settings: its number in sweep plan FILE, or its id', defaultText: 'the most augmented' },
    seed: { type: 'string', value: 'S', help: 'the seed of the augmentations drawn', defaultText: "the file's training.seed" },
    set,
  },
  examples: ['sweep augment-preview experiments/augmentation.yaml --out augment.png', 'sweep augment-preview experiments/augmentation.yaml --out no-rotation.png --trial 4'],
  section: 'machine',
  fileArgs: true,
});

export const DATA_INSPECT = command({
  name: 'data inspect',
  args: 'FILE',
  summary: "what the file's data section resolves to (prepared as a sweep prepares it): classes with their images per split, size, mean and std, where it is cached; --out draws a few images of each class as the network gets them",
  options: {
    out: { type: 'string', value: 'FILE.png', files: true, help: 'also draw a contact sheet: a row of training images per class' },
    force: { ...force, help: 'replace the image if it exists' },
    'per-class': { type: 'string', value: 'N', help: 'images per class on the contact sheet, at most 32', defaultText: '10' },
    set, 'skip-bad': skipBad,
  },
  examples: ['sweep data inspect experiments/fashion-mnist.yaml', 'sweep data inspect own.yaml --out own-data.png'],
  section: 'machine',
  fileArgs: true,
});

export const COMPLETION = command({
  name: 'completion',
  args: 'bash|zsh',
  summary: 'a shell completion script for sweep',
  details: ['Load it in your shell\'s start-up file, e.g. for bash: source <(sweep completion bash)'],
  options: {},
  examples: ['sweep completion bash > ~/.local/share/bash-completion/completions/sweep', 'echo \'source <(sweep completion zsh)\' >> ~/.zshrc'],
  section: 'machine',
  argChoices: ['bash', 'zsh'],
});

/** Every command, in the order the overview lists them. */
export const COMMANDS: readonly CommandSpec[] = [
  RUN, AGENT, VALIDATE, PLAN, SCHEMA, DASHBOARD, RUNS_LIST, RUNS_SHOW, RUNS_BEST, RUNS_COMPARE, RUNS_SQL, SWEEPS_LIST, REPORT, SERVE,
  EXPORT, PREDICT, EVALUATE, BACKENDS, UPGRADE, AUGMENT_PREVIEW, DATA_INSPECT, COMPLETION,
];

/** The words that name a command (or a group of them, `runs`) rather than an experiment file. */
export const COMMAND_WORDS: readonly string[] = [...new Set(COMMANDS.filter((c) => c.name).map((c) => c.name.split(' ')[0]))];

/** The commands of a group: `runs` → list, show, best, compare, sql. */
export function subcommands(group: string): CommandSpec[] {
  return COMMANDS.filter((c) => c.name.startsWith(`${group} `));
}
