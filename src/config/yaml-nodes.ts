/**
 * Where a config path is written in a parsed YAML document, through aliases (`*name`) and merge
 * keys (`<<: *name`): a value that a mapping takes from an anchor is written at the anchor, and
 * that is where a problem with it is reported. Also how a number was written (0 or 0.0), which
 * W&B's rules read and the parsed value has lost.
 */
import { isAlias, isMap, isScalar, isSeq, visit, type Alias, type Document, type Node, type Pair, type YAMLMap } from 'yaml';

/** The node each alias of a document stands for. */
export type AliasTargets = Map<Alias, Node>;

/** A problem of a document's aliases or merge keys, at an offset in its text. */
export interface YamlNodeProblem {
  offset: number;
  message: string;
}

/** A merge key (`<<`, unquoted), once the document is parsed with merge keys on. */
const isMergeKey = (key: unknown): boolean => isScalar(key) && typeof key.value === 'symbol' && key.value.description === '<<';

function kindOf(node: unknown): string {
  if (isSeq(node)) return 'a list';
  if (!isScalar(node) || node.value === null) return 'nothing';
  return typeof node.value === 'string' ? `'${node.value}'` : String(node.source ?? node.value);
}

/**
 * One pass over a document in its order: the node each alias stands for (the last anchor of its
 * name before it, as YAML and the yaml package have it), and the aliases and merge keys that
 * cannot be expanded, each at its place. The yaml package would refuse those too, but without
 * saying where.
 */
export function aliasTargets(doc: Document): { targets: AliasTargets; problems: YamlNodeProblem[] } {
  const anchors = new Map<string, Node>();
  const targets: AliasTargets = new Map();
  const problems: YamlNodeProblem[] = [];
  const merges: Pair[] = [];
  visit(doc, {
    Node(_key, node) {
      if (isAlias(node)) {
        const target = anchors.get(node.source);
        if (target) targets.set(node, target);
        else problems.push({ offset: node.range?.[0] ?? 0, message: `*${node.source}: no anchor &${node.source} before it (an anchor is written before its aliases)` });
      } else if (node.anchor) {
        anchors.set(node.anchor, node as Node);
      }
    },
    Pair(_key, pair) {
      if (isMergeKey(pair.key)) merges.push(pair as Pair);
    },
  });
  for (const pair of merges) {
    const value = pair.value as Node | null;
    const sources = isSeq(value) ? (value.items as Node[]) : [value];
    for (const source of sources) {
      if (isAlias(source) && !targets.has(source)) continue;
      const map = isAlias(source) ? targets.get(source) : source;
      if (!isMap(map)) {
        const at = source?.range?.[0] ?? (pair.key as Node).range?.[0] ?? 0;
        problems.push({ offset: at, message: `<<: a merge key takes a mapping or a list of mappings (*name of an anchored mapping), found ${kindOf(map)}` });
      }
    }
  }
  return { targets, problems: problems.sort((a, b) => a.offset - b.offset) };
}

const deref = (node: unknown, targets: AliasTargets): unknown => (isAlias(node) ? targets.get(node) : node);

/**
 * The pair that gives a mapping's key its value once merges are expanded: the mapping's own pair
 * wherever it is written, else the first merged mapping that has the key (YAML's merge rule, and
 * the yaml package's).
 */
function pairOf(map: YAMLMap, key: string, targets: AliasTargets, seen = new Set<YAMLMap>()): Pair | undefined {
  if (seen.has(map)) return undefined;
  seen.add(map);
  let merged: Pair | undefined;
  for (const pair of map.items as Pair[]) {
    if (isMergeKey(pair.key)) {
      if (merged) continue;
      const value = deref(pair.value, targets);
      for (const source of isSeq(value) ? value.items : [value]) {
        const from = deref(source, targets);
        merged ??= isMap(from) ? pairOf(from, key, targets, seen) : undefined;
      }
    } else if (isScalar(pair.key) ? String(pair.key.value) === key : false) {
      return pair;
    }
  }
  return merged;
}

/** The pair (in a mapping) or the item (in a list) at one key below a node. */
function childOf(node: unknown, key: string, targets: AliasTargets): { pair?: Pair; node: Node | undefined } {
  const at = deref(node, targets);
  if (isMap(at)) {
    const pair = pairOf(at, key, targets);
    return { pair, node: pair ? (deref(pair.value, targets) as Node | undefined) : undefined };
  }
  if (isSeq(at) && /^\d+$/.test(key)) return { node: deref(at.items[Number(key)], targets) as Node | undefined };
  return { node: undefined };
}

const positioned = (node: unknown): node is Node => node !== null && typeof node === 'object' && 'range' in node && Boolean((node as Node).range);

/**
 * The node at a path of keys, or the nearest ancestor that exists (found: false). A value that
 * came from an anchor is the anchor's node; a mapping from an alias is the anchored mapping.
 */
export function nodeIn(doc: Document, targets: AliasTargets, path: string[]): { node: Node | null; found: boolean } {
  let node = deref(doc.contents, targets) as Node | undefined;
  let last: Node | null = positioned(node) ? node : null;
  for (const key of path) {
    node = childOf(node, key, targets).node;
    if (!positioned(node)) return { node: last, found: false };
    last = node;
  }
  return { node: last, found: true };
}

/** Where a key of the mapping at `parent` is written (for problems with the key itself), or null. */
export function keyNodeIn(doc: Document, targets: AliasTargets, parent: string[], key: string): Node | null {
  const { node, found } = nodeIn(doc, targets, parent);
  if (!found) return null;
  const { pair } = childOf(node, key, targets);
  return positioned(pair?.key) ? pair.key : null;
}

const INT_TAG = 'tag:yaml.org,2002:int';

/**
 * Whether a number was written as an integer (`0`, `0x10`), not a float (`0.0`, `1e-3`), by the
 * tag the document's schema resolves its text to (or its explicit `!!int`); undefined for a
 * node that is not a number.
 */
export function writtenAsInteger(doc: Document, node: Node | null | undefined): boolean | undefined {
  if (!isScalar(node) || typeof node.value !== 'number') return undefined;
  if (node.tag) return node.tag === INT_TAG;
  const source = node.source ?? String(node.value);
  const tag = doc.schema.tags.find((t) => t.default === true && 'test' in t && t.test instanceof RegExp && t.test.test(source));
  return tag?.tag === INT_TAG;
}
