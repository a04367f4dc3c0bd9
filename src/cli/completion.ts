/**
 * `sweep completion bash|zsh`: a completion script made from the command table (commands.ts),
 * so it knows every command, option and choice this version has. zsh runs the bash script
 * through its bashcompinit.
 */
import { UserError } from '../config/errors.js';
import { didYouMean } from '../config/suggest.js';
import { parse } from './args.js';
import { COMMAND_WORDS, COMMANDS, COMPLETION, subcommands, type CommandSpec } from './commands.js';
import { packageVersion } from '../version.js';

const SHELLS = ['bash', 'zsh'] as const satisfies typeof COMPLETION.argChoices;

export function completionCommand(args: string[]): number {
  const { positionals } = parse(args, COMPLETION);
  const [shell, extra] = positionals;
  if (shell === undefined || !(SHELLS as readonly string[]).includes(shell)) {
    throw new UserError(`sweep completion: expected the shell, one of ${SHELLS.join(', ')}${shell === undefined ? '' : `, found '${shell}'${didYouMean(shell, SHELLS)}`}`);
  }
  if (extra !== undefined) throw new UserError(`sweep completion: one shell at a time, found '${extra}'`);
  process.stdout.write(completionScript(shell as (typeof SHELLS)[number]));
  return 0;
}

/** The name a command has in the script's case: `run` for `sweep FILE`. */
const key = (spec: CommandSpec) => spec.name || 'run';

/** Words joined for a bash word list (none of ours need quoting beyond this). */
const words = (list: Iterable<string>) => [...list].join(' ');

export function completionScript(shell: 'bash' | 'zsh'): string {
  const groups = COMMAND_WORDS.filter((w) => subcommands(w).length);
  const singles = COMMAND_WORDS.filter((w) => !groups.includes(w));
  const valueCases: string[] = [];
  const commandCases: string[] = [];
  for (const spec of COMMANDS) {
    const names = Object.entries(spec.options);
    for (const [name, o] of names) {
      if (o.type !== 'string') continue;
      const reply = o.choices ? `COMPREPLY=($(compgen -W "${words(o.choices)}" -- "$cur"))` : o.files ? 'compopt -o filenames 2>/dev/null; COMPREPLY=($(compgen -f -- "$cur"))' : 'COMPREPLY=()';
      valueCases.push(`    "${key(spec)}|--${name}") ${reply}; return ;;`);
    }
    const options = [...names.map(([name]) => `--${name}`), '--help'];
    commandCases.push(`    "${key(spec)}") opts="${words(options)}"; files=${spec.fileArgs ? 1 : 0}; choices="${words(spec.argChoices ?? [])}" ;;`);
  }
  const script = `# ${shell} completion for sweep (lenet-sweep ${packageVersion()}); load it with: source <(sweep completion ${shell})
_sweep_complete() {
  local cur=\${COMP_WORDS[COMP_CWORD]} prev=\${COMP_WORDS[COMP_CWORD-1]} key opts files choices
  if [[ $COMP_CWORD -eq 1 ]]; then
    COMPREPLY=($(compgen -W "${words([...COMMAND_WORDS, 'help', '--help', '--version'])}" -- "$cur") $(compgen -f -X '!*.yaml' -- "$cur") $(compgen -f -X '!*.yml' -- "$cur") $(compgen -d -- "$cur"))
    compopt -o filenames 2>/dev/null
    return
  fi
  case \${COMP_WORDS[1]} in
${groups.map((g) => `    ${g})
      if [[ $COMP_CWORD -eq 2 ]]; then COMPREPLY=($(compgen -W "${words(subcommands(g).map((s) => s.name.split(' ')[1]))}" -- "$cur")); return; fi
      key="${g} \${COMP_WORDS[2]}" ;;`).join('\n')}
    ${singles.join('|')}) key=\${COMP_WORDS[1]} ;;
    help) COMPREPLY=($(compgen -W "${words(COMMAND_WORDS)}" -- "$cur")); return ;;
    *) key=run ;;
  esac
  case "$key|$prev" in
${valueCases.join('\n')}
  esac
  case "$key" in
${commandCases.join('\n')}
    *) return ;;
  esac
  if [[ $cur == -* ]]; then
    COMPREPLY=($(compgen -W "$opts" -- "$cur"))
  elif [[ -n $choices ]]; then
    COMPREPLY=($(compgen -W "$choices" -- "$cur"))
  elif [[ $files -eq 1 ]]; then
    compopt -o filenames 2>/dev/null
    COMPREPLY=($(compgen -f -- "$cur"))
  fi
}
complete -F _sweep_complete sweep
`;
  return shell === 'zsh' ? `autoload -U +X bashcompinit && bashcompinit\n${script}` : script;
}
