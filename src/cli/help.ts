/**
 * The help texts, made from the command table (commands.ts): `sweep --help` lists every
 * command; `sweep COMMAND --help` (or `sweep help COMMAND`) shows one command's usage, options
 * with their defaults, and examples.
 */
import { commandLine } from './args.js';
import { COMMANDS, SECTION_TITLES, SECTIONS, subcommands, type CommandSpec, type OptionSpec } from './commands.js';

/** Help lines are wrapped to the terminal, and never wider than this. */
const MAX_WIDTH = 100;

const width = () => Math.max(60, Math.min(process.stdout.columns || MAX_WIDTH, MAX_WIDTH));

/** `text` wrapped at word boundaries into lines of at most `columns` characters. */
function wrap(text: string, columns: number): string[] {
  const lines: string[] = [];
  let line = '';
  for (const word of text.split(' ')) {
    if (line && line.length + 1 + word.length > columns) {
      lines.push(line);
      line = word;
    } else {
      line = line ? `${line} ${word}` : word;
    }
  }
  return [...lines, line];
}

/** A paragraph wrapped to the terminal. */
const paragraph = (text: string) => wrap(text, width()).join('\n');

/** Two columns: names padded to the widest (at most `cap`; a longer one gets a line of its own), texts wrapped beside them. */
function columns(rows: [string, string][], cap = 28): string[] {
  const left = Math.min(cap, Math.max(...rows.map(([name]) => name.length)));
  const indent = ' '.repeat(left + 4);
  return rows.flatMap(([name, text]) => {
    const lines = wrap(text, width() - indent.length);
    const first = name.length > left ? [`  ${name}`, `${indent}${lines[0]}`] : [`  ${name.padEnd(left)}  ${lines[0]}`];
    return [...first, ...lines.slice(1).map((l) => `${indent}${l}`)];
  });
}

const optionName = (name: string, o: OptionSpec) => `${o.short ? `-${o.short}, ` : ''}--${name}${o.type === 'string' ? ` ${o.value ?? 'VALUE'}` : ''}${o.multiple ? '...' : ''}`;

function optionText(o: OptionSpec): string {
  const shown = o.defaultText ?? (typeof o.default === 'string' ? o.default : undefined);
  return `${o.help}${shown === undefined ? '' : ` (default: ${shown})`}`;
}

/** The usage line: the command, what it takes, and [options] where it has options not shown there. */
export function usageLine(spec: CommandSpec): string {
  const shown = new Set([...spec.args.matchAll(/--([\w-]+)/g)].map((m) => m[1]));
  const more = Object.keys(spec.options).some((name) => !shown.has(name));
  return [commandLine(spec), spec.args, more ? '[options]' : ''].filter(Boolean).join(' ');
}

/** One command's help. */
export function commandHelp(spec: CommandSpec): string {
  const options = Object.entries(spec.options).map(([name, o]): [string, string] => [optionName(name, o), optionText(o)]);
  options.push(['-h, --help', 'this text']);
  return [
    `usage: ${usageLine(spec)}`,
    '',
    paragraph(`${spec.summary[0].toUpperCase()}${spec.summary.slice(1)}.`),
    ...(spec.details ?? []).map(paragraph),
    '',
    'options:',
    ...columns(options),
    '',
    `example${spec.examples.length > 1 ? 's' : ''}:`,
    ...spec.examples.map((e) => `  ${e}`),
  ].join('\n');
}

/** A group's help (`sweep runs --help`): its commands, each with its summary. */
export function groupHelp(group: string): string {
  const specs = subcommands(group);
  return [
    `usage: sweep ${group} ${specs.map((s) => s.name.split(' ')[1]).join('|')} [options]`,
    '',
    ...columns(specs.map((s) => [usageLine(s).replace(/ \[options\]$/, ''), s.summary]), 40),
    '',
    `sweep ${group} COMMAND --help shows a command's options and examples.`,
  ].join('\n');
}

/** `sweep --help`: every command by section. */
export function overview(): string {
  const lines = ['usage: sweep FILE [options]', '       sweep COMMAND [options]'];
  for (const section of SECTIONS) {
    lines.push('', `${SECTION_TITLES[section]}:`);
    const specs = COMMANDS.filter((c) => c.section === section);
    lines.push(...columns(specs.map((s) => [[commandLine(s), s.args.replace(/ --(?!queue).*$/, '')].filter(Boolean).join(' '), s.summary]), 32));
  }
  lines.push(
    '',
    "sweep COMMAND --help (or sweep help COMMAND) shows a command's options, their defaults and examples.",
    '  -h, --help       this text',
    '  -v, --version    the version',
  );
  return lines.join('\n');
}
