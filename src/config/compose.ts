/**
 * Composing an experiment from its file, the files it `extends` (a path or a list, relative to
 * the file; deep merge, later wins) and command-line overrides (`--set path=value`,
 * `--grid path=a,b`). Every value remembers where it was written, so that a problem found after
 * merging is still reported at its own file, line and column.
 */
import { statSync } from 'node:fs';
import { dirname, relative, resolve } from 'node:path';
import { isSeq, parse as parseYaml, parseDocument, type Document, type Node } from 'yaml';
import { setPath } from '../sweep/grid.js';
import { isMapping, type Mapping } from '../util/mapping.js';
import { statProblem } from '../util/path-problem.js';
import { notRegularKind } from '../util/regular-file.js';
import { UserError, type Problem } from './errors.js';
import { locate, readSource, YAML_OPTIONS } from './load.js';
import { Origins, type Origin, type SourceFile } from './origins.js';
import { aliasTargets, nodeIn, writtenAsInteger, type AliasTargets } from './yaml-nodes.js';

export interface Overrides {
  /** `path=value`, the value read as YAML. */
  set?: string[];
  /** `path=a,b,c`: a grid axis, each value read as YAML. */
  grid?: string[];
}

/** Merges overlay into target (mappings recursively; lists and scalars replace), noting origins. */
function merge(target: Mapping, overlay: Mapping, origin: Origin, origins: Origins, prefix: string[] = []): void {
  for (const [key, value] of Object.entries(overlay)) {
    const path = [...prefix, key];
    origins.record(path, origin);
    if (isMapping(value) && isMapping(target[key])) {
      merge(target[key] as Mapping, value, origin, origins, path);
    } else {
      target[key] = structuredClone(value);
      if (isMapping(value)) recordLeaves(value, origin, origins, path);
    }
  }
}

function recordLeaves(value: Mapping, origin: Origin, origins: Origins, prefix: string[]): void {
  for (const [key, v] of Object.entries(value)) {
    origins.record([...prefix, key], origin);
    if (isMapping(v)) recordLeaves(v, origin, origins, [...prefix, key]);
  }
}

/**
 * Top-level keys that a file keeps for itself and the config never reads, as Compose's extension
 * fields: the place for the anchors that merge keys take (`x-defaults: &defaults {…}`, then
 * `training: {<<: *defaults}`).
 */
const EXTENSION_PREFIX = 'x-';

/**
 * An experiment given as an object rather than a file (the API's startSweep): `label` names it
 * in messages (without line and column: there is no text to point into) and in the database;
 * the files it `extends` are relative to the working folder.
 */
export interface InlineExperiment {
  label: string;
  value: unknown;
}

/** Where a mapping being composed came from: a file (with its text), or an inline experiment. */
interface Composing {
  label: string;
  /** The folder its `extends` paths are relative to. */
  dir: string;
  /** The absolute paths of the files that led here, itself included (a file). */
  chain: string[];
  source?: SourceFile;
}

/**
 * Reads a file and the files it extends into target, parents first. `path` is as people will
 * read it in messages; `chain` holds the absolute paths of the files that led here.
 */
function composeFile(path: string, chain: string[], target: Mapping, origins: Origins, problems: Problem[]): SourceFile {
  const source = readSource(path);
  const absolute = resolve(path);
  composeMapping({ label: path, dir: dirname(absolute), chain: [...chain, absolute], source }, source.value as Mapping, target, origins, problems);
  return source;
}

/** An inline experiment and the files it extends into target, as a file's. */
function composeInline({ label, value }: InlineExperiment, target: Mapping, origins: Origins, problems: Problem[]): void {
  if (!isMapping(value)) throw new UserError({ file: label, message: 'expected a mapping of config sections (name, model, optimizer, …)' });
  composeMapping({ label, dir: process.cwd(), chain: [] }, plainData(value, [], label) as Mapping, target, origins, problems);
}

/**
 * A copy of an inline experiment's value as a parsed file would hold it: mappings, lists,
 * strings, finite numbers, booleans and null; a key set to undefined is left out, as if unwritten.
 */
function plainData(value: unknown, path: string[], label: string): unknown {
  if (Array.isArray(value)) return value.map((v, i) => plainData(v, [...path, String(i)], label));
  if (isMapping(value) && [Object.prototype, null].includes(Object.getPrototypeOf(value))) {
    const copy: Mapping = {};
    for (const [key, v] of Object.entries(value)) if (v !== undefined) copy[key] = plainData(v, [...path, key], label);
    return copy;
  }
  if (value === null || typeof value === 'string' || typeof value === 'boolean' || (typeof value === 'number' && Number.isFinite(value))) return value;
  const found = typeof value === 'number' ? String(value) : typeof value === 'object' ? `a ${value.constructor?.name ?? 'object'}` : `a ${typeof value}`;
  throw new UserError({ file: label, message: `${path.join('.') || '(top level)'}: expected a string, a finite number, true or false, a list or a mapping, found ${found}` });
}

/** Merges a file's or an inline experiment's mapping into target, after the files it extends. */
function composeMapping(from: Composing, raw: Mapping, target: Mapping, origins: Origins, problems: Problem[]): void {
  const { label: path, source } = from;
  const parents = raw.extends;
  if (parents !== undefined) {
    const list = typeof parents === 'string' ? [parents] : Array.isArray(parents) && parents.every((p) => typeof p === 'string') ? parents : null;
    const written = source ? nodeIn(source.doc, source.targets, ['extends']) : { found: false, node: null };
    const extendsNode = written.found ? (written.node ?? undefined) : undefined;
    const at = (node: Node | null) => ({ file: path, ...(source ? locate(source, node) : {}) });
    if (!list) {
      problems.push({ ...at(extendsNode ?? null), message: 'extends: expected a file path or a list of file paths' });
    } else {
      list.forEach((rel, i) => {
        const node = isSeq(extendsNode) ? (extendsNode.items[i] as Node) : (extendsNode ?? null);
        const parent = resolve(from.dir, rel);
        const seen = from.chain;
        const problem = statProblem(parent, statSync);
        const kind = problem ? null : notRegularKind(statSync(parent));
        if (seen.includes(parent)) {
          const cycle = [...seen.slice(seen.indexOf(parent)), parent].map((p) => relative(process.cwd(), p)).join(' → ');
          problems.push({ ...at(node), message: `extends: '${rel}' makes a cycle: ${cycle}` });
        } else if (problem) {
          problems.push({ ...at(node), message: `extends: '${rel}': ${problem} (${relative(process.cwd(), parent)})` });
        } else if (kind) {
          // Never opened: a FIFO would block the open until a writer came.
          problems.push({ ...at(node), message: `extends: '${rel}' is ${kind}, not a regular file; extend an experiment file (YAML)` });
        } else {
          composeFile(relative(process.cwd(), parent), seen, target, origins, problems);
        }
      });
    }
  }
  const { extends: _extends, ...own } = raw;
  for (const key of Object.keys(own)) if (key.startsWith(EXTENSION_PREFIX)) delete own[key];
  merge(target, own, { label: path, source }, origins);
}

/** An option's text as messages quote it: a list of thousands of values would make a line of kilobytes. */
function shown(text: string): string {
  return text.length > 60 ? `${text.slice(0, 57)}…` : text;
}

/** Splits `path=value` of a command-line override, or says what is wrong with it. */
function splitOverride(option: string, text: string): [string, string] {
  const eq = text.indexOf('=');
  if (eq <= 0) throw new UserError(`${option} ${shown(text)}: expected path=value, for example ${option === '--grid' ? 'model.pooling=avg,max' : 'training.epochs=3'}`);
  return [text.slice(0, eq), text.slice(eq + 1)];
}

function scalar(option: string, text: string, value: string): unknown {
  try {
    return parseYaml(value);
  } catch {
    throw new UserError(`${option} ${shown(text)}: '${shown(value)}' is not a YAML value`);
  }
}

/** A --set value read as YAML, as files are read, with its document (see Origin.option). */
function setValue(text: string, value: string): { value: unknown; doc: Document; targets: AliasTargets } {
  const doc = parseDocument(value, YAML_OPTIONS);
  try {
    if (doc.errors.length) throw doc.errors[0];
    return { value: doc.toJS(), doc, targets: aliasTargets(doc).targets };
  } catch {
    throw new UserError(`--set ${shown(text)}: '${shown(value)}' is not a YAML value`);
  }
}

/**
 * Whether the number at a config path was written as an integer (`0`, not `0.0`) in the file or
 * option that gave it; undefined where that is not known.
 */
export function numberWrittenAsInteger(origins: Origins, path: string[]): boolean | undefined {
  const origin = origins.at(path);
  const { source, option } = origin;
  const written = source
    ? { doc: source.doc, targets: source.targets, at: origin.relocate ? origin.relocate(path) : path }
    : option && option.at.every((key, i) => path[i] === key) ? { ...option, at: path.slice(option.at.length) } : undefined;
  if (!written) return undefined;
  const { node, found } = nodeIn(written.doc, written.targets, written.at);
  return found ? writtenAsInteger(written.doc, node) : undefined;
}

export interface Composed {
  value: Mapping;
  origins: Origins;
  /** The experiment file (none for an inline experiment). */
  main?: SourceFile;
  /** The paths given with --set, and the option that gave each, as messages name it. */
  set: Map<string, string>;
}

export function compose(from: string | InlineExperiment, overrides: Overrides = {}): Composed {
  const value: Mapping = {};
  const problems: Problem[] = [];
  const origins = new Origins({ label: typeof from === 'string' ? from : from.label });
  let main: SourceFile | undefined;
  if (typeof from === 'string') main = composeFile(from, [], value, origins, problems);
  else composeInline(from, value, origins, problems);
  if (problems.length) throw new UserError(problems);
  // Before the overrides, so that --grid and --set sweep.… apply to a W&B file's sweep too.
  liftWandbSweep(value, origins);
  const set = new Map<string, string>();
  for (const text of overrides.set ?? []) {
    const [key, raw] = splitOverride('--set', text);
    // The files are merged by now: an `extends` set here would be stored but never read.
    if (key.split('.')[0] === 'extends') throw new UserError(`--set ${shown(text)}: extends can only be written in the experiment file (files are merged before the command line applies)`);
    const overlay: Mapping = {};
    const given = setValue(text, raw);
    setPath(overlay, key, given.value);
    const label = `--set ${shown(text)}`;
    merge(value, overlay, { label, option: { doc: given.doc, targets: given.targets, at: key.split('.') } }, origins);
    set.set(key, label);
  }
  const gridded = new Map<string, string>();
  for (const text of overrides.grid ?? []) {
    const [key, raw] = splitOverride('--grid', text);
    // One axis, one option: a second one would silently replace the first.
    const earlier = gridded.get(key);
    if (earlier !== undefined) {
      throw new UserError(`--grid ${shown(text)}: ${key} is already swept by --grid ${shown(earlier)}; give every value in one option: --grid ${shown(`${key}=${[earlier.slice(key.length + 1), raw].join(',')}`)}`);
    }
    gridded.set(key, text);
    const values = raw.split(',').map((v) => scalar('--grid', text, v.trim()));
    merge(value, { sweep: { parameters: { [key]: values } } }, { label: `--grid ${shown(text)}` }, origins);
  }
  if (main) origins.main.source = main;
  return { value, origins, main, set };
}

/** W&B sweep keys this project has no use for (they say how W&B runs a program). */
const WANDB_ONLY = ['program', 'command', 'project', 'entity'];

/**
 * A Weights & Biases sweep file writes method, parameters, count, run_cap and early_terminate at
 * the top level; they become this project's `sweep` section, remembering where they were written.
 */
function liftWandbSweep(value: Mapping, origins: Origins): void {
  if (!('parameters' in value) && !('method' in value)) return;
  const sweep = (isMapping(value.sweep) ? value.sweep : (value.sweep = {})) as Mapping;
  for (const key of ['method', 'parameters', 'count', 'run_cap', 'early_terminate']) {
    if (!(key in value)) continue;
    sweep[key] = value[key];
    delete value[key];
    origins.move([key], ['sweep', key]);
  }
  for (const key of WANDB_ONLY) delete value[key];
}
