export const USAGE = `usage:
  sweep FILE [--set PATH=VALUE]... [--grid PATH=A,B]... [--workers N] [--db PATH] [--backend NAME] [--gpus LIST] [--rerun] [--keep best|last|all] [--retries N] [--yes] [--no-tui]
      run the trials of an experiment file (those already completed or pruned are kept; tpe and
      bayes choose each trial from the results so far, early_terminate prunes the laggards);
      on a terminal a live dashboard shows them (↑/↓ select, Enter detail, s sort, g group, q stop)
  sweep FILE --queue redis://[user:password@]host:port[/db] [...]
      coordinate the sweep across machines: agents take its trials; this process writes the database
  sweep agent --queue URL [--workers N] [--backend NAME] [--gpus LIST] [--name NAME] [--data DIR]... [--lock-seconds S]
      take trials of any sweep coordinated on that Redis and train them here, until stopped
  sweep validate FILE...
      check experiment files without running anything; every problem of every file
  sweep plan FILE [--json] [--db PATH] [--set ...] [--grid ...]
      the trials a file expands to (tpe, bayes: the start-up trials fixed in advance), with time
      estimates from earlier runs
  sweep schema
      print the JSON Schema of experiment files
  sweep dashboard [--db PATH] [--sweep NAME]
      the live dashboard of a sweep in the database (one another process runs, or a finished one)
  sweep runs list [--sweep NAME] [--status S,...] [--where EXPR] [--sort KEY[:asc|:desc]] [--limit N]
      the trials, best first; e.g. --where "model.pooling = 'max' and val_acc > 0.98"
  sweep report [--sweep NAME]... [--out report.html] [--png DIR] [--force] [--db PATH]
      one self-contained HTML file of a sweep (or several side by side): leaderboard, learning
      curves, parallel coordinates, parameter importance, seeds statistics, the best model's errors
  sweep runs show ID [--plot FILE.png]   one trial: config, epoch table, curves
  sweep runs best [--sweep NAME]
      the best trial of each sweep
  sweep runs compare ID ID... [--plot FILE.png]   config differences and metrics side by side
  sweep runs sql "SELECT ..."   read-only SQL on the views trials, epochs, leaderboard, checkpoints, attempts, confusion
  sweep export ID|best --format tfjs|onnx|onnx-int8 --out PATH [--epoch best|last] [--sweep NAME] [--force]
      a trial's trained model for TensorFlow.js or ONNX Runtime (int8: per-channel quantised), with a model card
  sweep predict ID|best IMAGE|FOLDER... [--json] [--epoch best|last] [--sweep NAME]
      the top three classes of digit images (PNG or JPEG, any size or colour), prepared as MNIST's were
  sweep evaluate ID|best --data mnist|mnist-full|fashion-mnist|DIR [--json] [--epoch best|last] [--sweep NAME]
      accuracy and confusion matrix on a dataset's test split
  sweep sweeps list             the sweeps in the database
  sweep upgrade [--db PATH]      bring a database of an older lenet-sweep to this version's schema
  sweep backends [--json]       the backends this machine can run, the one auto takes, the WebGPU adapters
  sweep augment-preview FILE --out grid.png [--rows N] [--seed S] [--set PATH=VALUE]...
      draw training digits as they are and as the file's augment settings change them

options:
  --set PATH=VALUE change one config value (read as YAML), e.g. --set training.epochs=3
  --grid PATH=A,B  add a grid axis, e.g. --grid model.pooling=avg,max
  --workers N      parallel trials (default: one per CPU core on wasm/cpu and webgpu, one on tensorflow backends)
  --db PATH        the runs database (default: runs/runs.db)
  --backend NAME   auto | tensorflow-gpu | webgpu | tensorflow | wasm | cpu (overrides the file's backend)
  --gpus LIST      WebGPU adapters to spread the workers over, by number or name (sweep backends lists them), e.g. --gpus 0,1
  --rerun          train every trial again, completed and pruned ones included (grid, random)
  --keep POLICY    checkpoints a trial keeps once it ends: best (its best epoch's), last (and its last epoch's; default), all (every epoch's)
  --retries N      start a trial whose worker died (crashed thread, GPU process or device) again from its checkpoint, up to N times (default 1)
  --queue URL      Redis of a sweep across machines (rediss:// for TLS); the password may come from $LENET_SWEEP_QUEUE_PASSWORD
  --lock-seconds S how long an agent's trial stays its own without a word from it: then another agent takes it over (default 30)
  --yes            allow a grid of more than 10,000 trials
  --no-tui         one line per epoch instead of the dashboard (also without a terminal, or in CI)
  --json, --csv    output format of runs and sweeps commands (default: a table)
  -h, --help       this text
  -v, --version    the version`;
