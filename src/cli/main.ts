#!/usr/bin/env node
/**
 * The `sweep` command. User mistakes (bad files, bad options) print one line per problem and
 * exit with 2; runtime failures print one line and exit with 1. No stack traces unless
 * LENET_SWEEP_DEBUG is set.
 */
import { UserError } from '../config/errors.js';
import { didYouMean } from '../config/suggest.js';
import { asksForHelp } from './args.js';
import { COMMAND_WORDS, COMMANDS, RUN, subcommands, type CommandSpec } from './commands.js';
import { commandHelp, groupHelp, overview } from './help.js';
import { runCommandLine } from './entry.js';
import { checkOpenFiles } from '../util/process-limits.js';
import { endOnStopSignals } from './stop-signals.js';
import { packageVersion } from '../version.js';

type Command = (args: string[]) => number | Promise<number>;

/** Each command's code, loaded on demand: `sweep runs …` should not pay for loading TensorFlow.js. */
const LOADERS: Record<string, () => Promise<Command>> = {
  agent: async () => (await import('./agent-command.js')).agentCommand,
  runs: async () => (await import('./runs-command.js')).runsCommand,
  sweeps: async () => (await import('./sweeps-command.js')).sweepsCommand,
  upgrade: async () => (await import('./upgrade-command.js')).upgradeCommand,
  dashboard: async () => (await import('./dashboard-command.js')).dashboardCommand,
  validate: async () => (await import('./validate-command.js')).validateCommand,
  plan: async () => (await import('./plan-command.js')).planCommand,
  schema: async () => (await import('./schema-command.js')).schemaCommand,
  backends: async () => (await import('./backends-command.js')).backendsCommand,
  export: async () => (await import('./export-command.js')).exportCommand,
  predict: async () => (await import('./predict-command.js')).predictCommand,
  report: async () => (await import('./report-command.js')).reportCommand,
  serve: async () => (await import('./serve-command.js')).serveCommand,
  evaluate: async () => (await import('./evaluate-command.js')).evaluateCommand,
  'augment-preview': async () => (await import('./augment-preview-command.js')).augmentPreviewCommand,
  data: async () => (await import('./data-command.js')).dataCommand,
  completion: async () => (await import('./completion.js')).completionCommand,
};

const HELP_WORDS = ['-h', '--help', 'help'];

/** The spec of the command the words name (`runs list`, `export`), the group they name (`runs`), or undefined. */
function specOf(words: string[]): CommandSpec | string | undefined {
  const [first, second] = words;
  if (first === 'run') return RUN;
  if (!COMMAND_WORDS.includes(first)) return undefined;
  const group = subcommands(first);
  if (!group.length) return COMMANDS.find((c) => c.name === first);
  return group.find((c) => c.name === `${first} ${second}`) ?? first;
}

/** `sweep help [COMMAND...]`: the overview, or a command's (or group's) help; an unknown name is an error. */
function help(words: string[]): number {
  const spec = words.length ? specOf(words) : undefined;
  if (words.length && spec === undefined) {
    throw new UserError(`sweep help: no command '${words[0]}'${didYouMean(words[0], [...COMMAND_WORDS, 'run'])}; sweep --help lists them`);
  }
  console.log(spec === undefined ? overview() : typeof spec === 'string' ? groupHelp(spec) : commandHelp(spec));
  return 0;
}

async function main(argv: string[]): Promise<number> {
  // React (under the Ink dashboard) checks this when it loads: its development build is several
  // times slower per frame, which the training running next to it would pay for.
  process.env.NODE_ENV ??= 'production';
  const [first, ...rest] = argv;
  if (first === undefined) {
    console.error(overview());
    return 2;
  }
  // `sweep help --help`, `sweep help help`: the overview, as `sweep help`.
  if (HELP_WORDS.includes(first)) return help(rest.filter((w) => !HELP_WORDS.includes(w)));
  if (first === '-v' || first === '--version') {
    console.log(packageVersion());
    return 0;
  }
  const spec = specOf(argv) ?? RUN;
  // `sweep runs --help`: the group's commands. A group without a known command goes on to its
  // own error (`sweep runs lst`), unless help was asked for.
  if (typeof spec === 'string') {
    if (rest.length === 0 || !HELP_WORDS.includes(rest[0])) return (await LOADERS[spec]())(rest);
    console.log(groupHelp(spec));
    return 0;
  }
  // Help is answered before anything else is checked or loaded.
  const words = spec === RUN ? (first === 'run' ? 1 : 0) : spec.name.split(' ').length;
  const args = argv.slice(words);
  if (asksForHelp(args, spec.options)) {
    console.log(commandHelp(spec));
    return 0;
  }
  // Before the command's modules load (Node opens their files many at a time).
  checkOpenFiles();
  // A sweep, an agent and a query handle stop signals themselves; every other command ends at once.
  if (!spec.handlesStops) endOnStopSignals();
  if (spec === RUN) return (await import('./sweep-command.js')).sweepCommand(args);
  const top = spec.name.split(' ')[0];
  return (await LOADERS[top]())(subcommands(top).length ? argv.slice(1) : args);
}

runCommandLine(() => main(process.argv.slice(2)));
