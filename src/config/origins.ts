/**
 * Where each value of a composed experiment was written: the source files read (with their
 * parsed documents) and, for every config path, the file or option it came from. Shared by
 * composing (compose.ts, which records origins) and checking (load.ts, which reports problems
 * at them), so neither imports the other for it.
 */
import type { Document, LineCounter } from 'yaml';
import type { AliasTargets } from './yaml-nodes.js';

/** A config file in memory: the parsed document, for positions, and its plain value. */
export interface SourceFile {
  path: string;
  doc: Document.Parsed;
  /** What each alias of the document stands for, to find values merged or aliased from an anchor. */
  targets: AliasTargets;
  lines: LineCounter;
  value: unknown;
}

/** Where a value came from: a file (with its parsed document) or a command-line option. */
export interface Origin {
  label: string;
  source?: SourceFile;
  /** Where a config path is written in the source, when it is not at the same path. */
  relocate?: (path: string[]) => string[];
  /** A --set option's value as parsed, for how its numbers are written; `at` is the path it sets. */
  option?: { doc: Document; targets: AliasTargets; at: string[] };
}

/** The origin of every config path, by the deepest path recorded. */
export class Origins {
  private readonly byPath = new Map<string, Origin>();

  constructor(readonly main: Origin) {}

  record(path: string[], origin: Origin): void {
    this.byPath.set(path.join('\0'), origin);
  }

  /**
   * Records everything recorded under `from` again under `to` (a W&B file's top-level sweep keys,
   * moved into `sweep`), each still looked up where its own file writes it.
   */
  move(from: string[], to: string[]): void {
    const prefix = from.join('\0');
    for (const [key, origin] of [...this.byPath]) {
      if (key !== prefix && !key.startsWith(`${prefix}\0`)) continue;
      const rest = key.split('\0').slice(from.length);
      const written = origin.relocate ?? ((p: string[]) => p);
      this.byPath.set([...to, ...rest].join('\0'), { ...origin, relocate: (p) => written([...from, ...p.slice(to.length)]) });
    }
  }

  at(path: string[]): Origin {
    for (let depth = path.length; depth > 0; depth--) {
      const origin = this.byPath.get(path.slice(0, depth).join('\0'));
      if (origin) return origin;
    }
    return this.main;
  }
}

