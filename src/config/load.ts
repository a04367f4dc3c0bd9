/**
 * Reading an experiment file: YAML with source positions, validation against
 * schemas/experiment.schema.json (ajv, filling defaults), and problems reported at the line and
 * column they come from. Every problem of a file is collected before anything is thrown.
 */
import { closeSync, readFileSync, readSync } from 'node:fs';
import type { ErrorObject, ValidateFunction } from 'ajv';
import { LineCounter, parseDocument, type Node } from 'yaml';
import type { Origins, SourceFile } from './origins.js';
import type { Experiment } from './experiment.types.js';
import { UserError, type Problem } from './errors.js';
import { schemaValidator } from './schema-validator.js';
import { didYouMean } from './suggest.js';
import { aliasTargets, keyNodeIn, nodeIn } from './yaml-nodes.js';
import { valueAt } from '../util/mapping.js';
import { pathProblem } from '../util/path-problem.js';
import { NotRegularFileError, openRegularFile } from '../util/regular-file.js';

export const SCHEMA_PATH = new URL('../../schemas/experiment.schema.json', import.meta.url);

interface JsonSchema {
  type?: string | string[];
  enum?: unknown[];
  properties?: Record<string, JsonSchema>;
  [key: string]: unknown;
}

const schemaText = readFileSync(SCHEMA_PATH, 'utf8');
export const schema: JsonSchema = JSON.parse(schemaText);

let compiled: ValidateFunction<Experiment> | undefined;
function validator(): ValidateFunction<Experiment> {
  compiled ??= schemaValidator(schemaText);
  return compiled;
}


/**
 * How experiment files are read: merge keys on (`<<: *defaults`, as CI and Compose files write
 * them), a key written twice refused.
 */
export const YAML_OPTIONS = { merge: true, uniqueKeys: true, prettyErrors: false } as const;

/** The schema of the config key at a dotted path, or undefined when there is no such key. */
export function schemaAt(path: string): JsonSchema | undefined {
  let node: JsonSchema | undefined = schema;
  for (const key of path.split('.')) node = node?.properties?.[key];
  return node;
}

/** Every leaf key of the config ('model.pooling', …), for suggestions. */
export function configPaths(node: JsonSchema = schema, prefix = ''): string[] {
  return Object.entries(node.properties ?? {}).flatMap(([key, sub]) =>
    sub.properties ? configPaths(sub, `${prefix}${key}.`) : [`${prefix}${key}`],
  );
}

/**
 * The config paths whose values differ between some of the given configs (in schema order). One
 * pass, keeping only the first config's values: the configs may stream from a database cursor.
 */
export function differingPaths(configs: Iterable<unknown>): string[] {
  const differing = new DifferingPaths();
  for (const config of configs) differing.add(config);
  return differing.paths();
}

/** differingPaths a config at a time, for a pass that is not one loop (an asynchronous one). */
export class DifferingPaths {
  private readonly all = configPaths();
  private first: string[] | undefined;
  private readonly differs = new Set<string>();

  add(config: unknown): void {
    const at = (path: string) => JSON.stringify(valueAt(config, path.split('.')) ?? null);
    if (!this.first) this.first = this.all.map(at);
    else this.all.forEach((p, i) => this.differs.has(p) || (at(p) !== this.first![i] && this.differs.add(p)));
  }

  paths(): string[] {
    return this.all.filter((p) => this.differs.has(p));
  }
}

/**
 * The settings that tell trials apart, as columns: the swept parameters, then any other config
 * path whose value differs between them (trials kept from a run of an earlier version of the
 * file), so that rows that look alike are alike. The description and the sweep block, which
 * say nothing about what a trial computes, are left out. One pass over the trials.
 */
export function distinguishingPaths(trials: Iterable<{ params: Record<string, unknown>; config: unknown }>): string[] {
  const distinguishing = new DistinguishingPaths();
  for (const t of trials) distinguishing.add(t);
  return distinguishing.paths();
}

/** distinguishingPaths a trial at a time, for a pass that is not one loop (an asynchronous one). */
export class DistinguishingPaths {
  private readonly swept = new Set<string>();
  private readonly differing = new DifferingPaths();

  add(trial: { params: Record<string, unknown>; config: unknown }): void {
    for (const key of Object.keys(trial.params)) this.swept.add(key);
    this.differing.add(trial.config);
  }

  paths(): string[] {
    const others = this.differing.paths().filter((p) => !this.swept.has(p) && p !== 'description' && !p.startsWith('sweep.'));
    return [...this.swept, ...others];
  }
}

/**
 * A setting's value as a table cell or a label shows it ('' when unset). A fraction drawn by a
 * random search (0.00404775585579162) shows 6 significant digits (0.00404776): two draws agreeing
 * that far are practically impossible, and the stored config keeps every digit.
 */
export function valueText(v: unknown): string {
  if (typeof v === 'number' && !Number.isInteger(v)) return String(Number(v.toPrecision(6)));
  return v === undefined || v === null ? '' : typeof v === 'object' ? JSON.stringify(v) : String(v);
}

/** A config's value at a dotted path, as valueText shows it. */
export function settingText(config: unknown, path: string): string {
  return valueText(valueAt(config, path.split('.')));
}

/**
 * An experiment file is a few kilobytes; anything near this is a mistake or an attack, and would
 * take minutes and gigabytes to expand before any check could speak.
 */
export const MAX_FILE_BYTES = 1024 * 1024;

/**
 * The file's text, read up to MAX_FILE_BYTES: a bigger file is refused before it is parsed.
 * Only a regular file is opened: a FIFO would block the open until a writer came (deaf to
 * SIGTERM meanwhile), a device such as /dev/zero would never end.
 */
function readText(path: string): string {
  let fd: number;
  try {
    fd = openRegularFile(path);
  } catch (err) {
    if (err instanceof NotRegularFileError) {
      throw new UserError({ file: path, message: `is ${err.kind}, not ${err.kind === 'a directory' ? 'an experiment file' : 'a regular file'}; give an experiment file (YAML)` });
    }
    throw new UserError({ file: path, message: pathProblem(err) });
  }
  try {
    const buffer = Buffer.alloc(MAX_FILE_BYTES + 1);
    let length = 0;
    for (let n = -1; n !== 0 && length < buffer.length; length += n) n = readSync(fd, buffer, length, buffer.length - length, null);
    if (length > MAX_FILE_BYTES) {
      throw new UserError({ file: path, message: `is larger than ${MAX_FILE_BYTES / 1024 / 1024} MB; an experiment file is a few kilobytes (give long value lists as a distribution with method: random)` });
    }
    return buffer.toString('utf8', 0, length);
  } catch (err) {
    if (err instanceof UserError) throw err;
    throw new UserError({ file: path, message: `cannot read (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})` });
  } finally {
    closeSync(fd);
  }
}

export function readSource(path: string): SourceFile {
  const text = readText(path);
  const lines = new LineCounter();
  const doc = parseDocument(text, { ...YAML_OPTIONS, lineCounter: lines });
  const problems: Problem[] = doc.errors.map((e) => ({
    file: path,
    ...position(lines, e.pos[0]),
    message: e.code === 'DUPLICATE_KEY' ? 'duplicate key: each key may appear once in a mapping' : yamlMessage(firstLine(e.message)),
  }));
  if (problems.length) throw new UserError(problems);
  let found: ReturnType<typeof aliasTargets>;
  let value: unknown;
  try {
    // Before the expansion, which would refuse a missing anchor or a bad merge without saying where.
    found = aliasTargets(doc);
    if (found.problems.length) throw new UserError(found.problems.map((p) => ({ file: path, ...position(lines, p.offset), message: p.message })));
    value = doc.toJS();
  } catch (err) {
    if (err instanceof UserError) throw err;
    // The yaml package refuses aliases that expand to more than about 100 values each ("billion
    // laughs"), and a nesting deeper than the stack: the file's fault, not ours.
    throw new UserError({ file: path, message: yamlMessage((err as Error).message) });
  }
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    throw new UserError({ file: path, line: 1, col: 1, message: 'expected a mapping of config sections (name, model, optimizer, …)' });
  }
  return { path, doc, targets: found.targets, lines, value };
}

/** The yaml package's words for inputs it refuses to expand, as what to change. */
function yamlMessage(message: string): string {
  // Merge keys (<<: *name) expand aliases too, and are counted with them.
  if (/Excessive alias count/.test(message)) return 'its aliases (*name) expand to too many values (a "billion laughs" file); write the values out';
  if (/Maximum call stack size exceeded/.test(message)) return 'nests too deeply to read (lists or mappings inside each other hundreds of levels down)';
  return message;
}

function firstLine(message: string): string {
  return message.split('\n')[0].replace(/ at line \d+, column \d+:?$/, '');
}

function position(lines: LineCounter, offset: number): { line: number; col: number } {
  const { line, col } = lines.linePos(offset);
  return { line, col };
}

export function locate(source: SourceFile, node: Node | null): { line?: number; col?: number } {
  return node?.range ? position(source.lines, node.range[0]) : {};
}

function describe(value: unknown): string {
  if (typeof value === 'string') return `'${value}'`;
  if (Array.isArray(value)) return 'a list';
  if (value === null) return 'nothing';
  if (typeof value === 'object') return 'a mapping';
  return String(value);
}

const jsonTypeNames: Record<string, string> = { object: 'a mapping', array: 'a list', integer: 'an integer', number: 'a number', string: 'a string', boolean: 'true or false' };

/** Turns one ajv error into a message that names the config path, what was expected and what was found. */
function explain(e: ErrorObject, found: unknown): { path: string[]; message: string; atKey?: string } {
  const path = e.instancePath.split('/').slice(1).map((s) => s.replace(/~1/g, '/').replace(/~0/g, '~'));
  const dotted = path.join('.') || '(top level)';
  const p = e.params as Record<string, unknown>;
  switch (e.keyword) {
    case 'enum': {
      const allowed = p.allowedValues as unknown[];
      return { path, message: `${dotted}: expected one of ${allowed.join(', ')}, found ${describe(found)}${didYouMean(found, allowed)}` };
    }
    case 'additionalProperties': {
      const key = p.additionalProperty as string;
      const known = Object.keys(schemaAt(path.join('.'))?.properties ?? schema.properties ?? {});
      const at = path.length ? `${dotted}.${key}` : key;
      return { path, atKey: key, message: `${at}: unknown key${didYouMean(key, known)}${known.length ? `; known keys: ${known.join(', ')}` : ''}` };
    }
    case 'required':
      return { path, message: `${dotted}: missing required key '${p.missingProperty}'` };
    case 'type': {
      const types = ([] as string[]).concat(p.type as string | string[]).map((t) => jsonTypeNames[t] ?? t);
      // YAML reads 10 as a number: a name written as digits wants quotes.
      const quote = types.length === 1 && types[0] === 'a string' && typeof found === 'number' ? `; write it in quotes ('${found}') for a name`
        // And the other way: a number written in quotes is a string to YAML.
        : types.some((t) => t === 'a number' || t === 'an integer') && typeof found === 'string' && found.trim() !== '' && Number.isFinite(Number(found)) ? `; write the number without quotes (${found.trim()})` : '';
      return { path, message: `${dotted}: expected ${types.join(' or ')}, found ${describe(found)}${quote}` };
    }
    case 'minimum':
    case 'maximum':
    case 'exclusiveMinimum':
    case 'exclusiveMaximum':
      return { path, message: `${dotted}: must be ${p.comparison} ${p.limit}, found ${describe(found)}` };
    case 'minItems': {
      const n = Array.isArray(found) ? found.length : 0;
      return { path, message: n === 0 ? `${dotted}: the list is empty; give at least ${p.limit} value${p.limit === 1 ? '' : 's'}` : `${dotted}: give at least ${p.limit} values, found ${n}` };
    }
    case 'uniqueItems':
      return { path, message: `${dotted}: ${describe((found as unknown[])[p.j as number])} is listed twice; list each value once` };
    case 'pattern':
      // The only pattern of the schema's names: something other than spaces.
      if (p.pattern === '\\S') return { path, message: `${dotted}: is blank; give a name` };
      return { path, message: `${dotted}: ${e.message}, found ${describe(found)}` };
    case 'minProperties':
      return { path, message: `${dotted}: is empty; give at least ${p.limit} entry` };
    default:
      return { path, message: `${dotted}: ${e.message}, found ${describe(found)}` };
  }
}

/** A place in a file (or a command-line option, then without line and column). */
export type Place = Omit<Problem, 'message'>;

/** Where the value at a config path was written; for `atKey`, where that key of it was. */
export function placeOf(origins: Origins, path: string[], atKey?: string): Place {
  const origin = origins.at(atKey ? [...path, atKey] : path);
  const source = origin.source;
  if (!source) return { file: origin.label };
  const at = origin.relocate ? origin.relocate(path) : path;
  const node = atKey ? keyNodeIn(source.doc, source.targets, at, atKey) : nodeIn(source.doc, source.targets, at).node;
  return { file: source.path, ...locate(source, node) };
}

/**
 * A value that may be of one type or another (data.test: a file or a fraction) is said as the
 * type it has: ajv reports each branch of an anyOf and the anyOf itself, which for 0.9 is "expected a
 * string", "must be <= 0.5" and "must match a schema in anyOf". Where every branch but one was
 * of another type, that one's errors are said alone; where every branch was, one "expected a
 * string or a number". Any other anyOf (a sweep parameter's forms) is said as ajv says it.
 */
function sayAnyOfAsItsType(errors: ErrorObject[]): ErrorObject[] {
  let out = errors;
  for (const any of errors.filter((e) => e.keyword === 'anyOf')) {
    // schemaPath is a JSON pointer into the schema: '#/properties/data/properties/test/anyOf'.
    const branches = (valueAt(schema, any.schemaPath.split('/').slice(1)) as unknown[] | undefined)?.length ?? 0;
    const within = out.filter((e) => e !== any && e.schemaPath.startsWith(`${any.schemaPath}/`));
    // A branch of another type, or a constant it is not (std: 'auto' beside numbers), is a branch the value is not of.
    const wrongType = within.filter((e) => (e.keyword === 'type' || e.keyword === 'const') && e.instancePath === any.instancePath);
    const rest = within.filter((e) => !wrongType.includes(e));
    const restBranches = new Set(rest.map((e) => e.schemaPath.slice(any.schemaPath.length).split('/')[1]));
    if (wrongType.length === branches && rest.length === 0) {
      const types = wrongType.flatMap((e) => (e.keyword === 'const' ? [`'${(e.params as { allowedValue: unknown }).allowedValue}'`] : ([] as string[]).concat((e.params as { type: string | string[] }).type)));
      out = out.filter((e) => e === wrongType[0] || (!within.includes(e) && e !== any));
      wrongType[0].keyword = 'type';
      wrongType[0].params = { type: types };
    } else if (wrongType.length === branches - 1 && restBranches.size === 1) {
      out = out.filter((e) => e !== any && !wrongType.includes(e));
    }
  }
  return out;
}

/**
 * Validates a config value against the schema, filling its defaults in place. Problems are
 * placed where the value was written, or by `pin` when it places them (swept values).
 */
export function validate(origins: Origins, value: unknown, pin?: (path: string[]) => Place | null, skip?: (path: string[]) => boolean): Problem[] {
  const check = validator();
  if (check(value)) return [];
  const errors = sayAnyOfAsItsType(check.errors ?? []).filter((e) => !skip?.(e.instancePath.split('/').slice(1)));
  return errors.map((e) => {
    const { path, message, atKey } = explain(e, valueAt(value, e.instancePath.split('/').slice(1)));
    return { ...(pin?.(path) ?? placeOf(origins, path, atKey)), message };
  });
}

/**
 * Checks a config that arrived without its file (a trial's resolved config, sent to an agent):
 * each problem as `path: message`; none when it is valid.
 */
export function configProblems(value: unknown): string[] {
  const check = validator();
  if (check(value)) return [];
  return sayAnyOfAsItsType(check.errors ?? []).map((e) => {
    const { message } = explain(e, valueAt(value, e.instancePath.split('/').slice(1)));
    return message;
  });
}

/** A problem about the value at a config path, placed where it is written (or pinned). */
export function problemAt(origins: Origins, path: string[], message: string, pin?: (path: string[]) => Place | null): Problem {
  return { ...(pin?.(path) ?? placeOf(origins, path)), message };
}

/** Problems once each, in the order of the file. */
export function inFileOrder(problems: Problem[]): Problem[] {
  const seen = new Set<string>();
  return problems
    .filter((p) => {
      const key = `${p.line}:${p.col}:${p.message}`;
      return !seen.has(key) && seen.add(key) !== undefined;
    })
    .sort((a, b) => (a.line ?? 0) - (b.line ?? 0) || (a.col ?? 0) - (b.col ?? 0));
}
