export const USAGE = `usage:
  sweep FILE [--set PATH=VALUE]... [--grid PATH=A,B]... [--workers N] [--db PATH] [--backend NAME] [--rerun] [--yes]
      run the trials of an experiment file (those already completed in the database are kept)
  sweep validate FILE...
      check experiment files without running anything; every problem of every file
  sweep plan FILE [--json] [--db PATH] [--set ...] [--grid ...]
      the trials a file expands to, with time estimates from earlier runs
  sweep schema
      print the JSON Schema of experiment files
  sweep runs list [--db PATH] [--sweep NAME] [--json]
      list the trials in the database, best first
  sweep augment-preview FILE --out grid.png [--rows N] [--seed S] [--set PATH=VALUE]...
      draw training digits as they are and as the file's augment settings change them

options:
  --set PATH=VALUE change one config value (read as YAML), e.g. --set training.epochs=3
  --grid PATH=A,B  add a grid axis, e.g. --grid model.pooling=avg,max
  --workers N      parallel trials (default: one per CPU core on wasm/cpu, one on tensorflow backends)
  --db PATH        the runs database (default: runs/runs.db)
  --backend NAME   auto | tensorflow-gpu | tensorflow | wasm | cpu (overrides the file's backend)
  --rerun          train every trial again, completed ones included
  --yes            allow a grid of more than 10,000 trials
  --no-tui         plain line output (the default for now)
  -h, --help       this text
  -v, --version    the version`;
