/**
 * The import graph of src/, read from the sources with TypeScript's own pre-processor (static
 * imports, `export … from`, `import type` and dynamic `import()` alike): every module a file
 * names, resolved to a file of src/. For the layering checks in imports.test.ts.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import ts from 'typescript';

/** Every .ts/.tsx file under `root`, as paths relative to `base`. */
export function sourceFiles(root: string, base: string): string[] {
  const out: string[] = [];
  for (const name of readdirSync(root).sort()) {
    const path = join(root, name);
    if (statSync(path).isDirectory()) out.push(...sourceFiles(path, base));
    else if (/\.tsx?$/.test(name) && !name.endsWith('.d.ts')) out.push(relative(base, path));
  }
  return out;
}

/** file → the files of src/ it imports (paths relative to `base`, e.g. "src/cli/format.ts"). */
export function importGraph(base: string): Map<string, string[]> {
  const files = sourceFiles(join(base, 'src'), base);
  const known = new Set(files);
  const graph = new Map<string, string[]>();
  for (const file of files) {
    const info = ts.preProcessFile(readFileSync(join(base, file), 'utf8'), true, true);
    const targets = new Set<string>();
    for (const { fileName } of info.importedFiles) {
      if (!fileName.startsWith('.')) continue;
      const target = relative(base, resolve(base, dirname(file), fileName));
      const found = [target.replace(/\.js$/, '.ts'), target.replace(/\.js$/, '.tsx'), `${target}.ts`, join(target, 'index.ts')].find((t) => known.has(t));
      if (!found) throw new Error(`${file}: cannot resolve the import '${fileName}'`);
      targets.add(found);
    }
    graph.set(file, [...targets].sort());
  }
  return graph;
}

/** The import circles: strongly connected components of more than one file, or a file importing itself (Tarjan). */
export function circles(graph: Map<string, string[]>): string[][] {
  let index = 0;
  const indexOf = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const onStack = new Set<string>();
  const found: string[][] = [];
  const visit = (v: string) => {
    indexOf.set(v, index);
    low.set(v, index++);
    stack.push(v);
    onStack.add(v);
    for (const w of graph.get(v) ?? []) {
      if (!indexOf.has(w)) {
        visit(w);
        low.set(v, Math.min(low.get(v)!, low.get(w)!));
      } else if (onStack.has(w)) low.set(v, Math.min(low.get(v)!, indexOf.get(w)!));
    }
    if (low.get(v) === indexOf.get(v)) {
      const component: string[] = [];
      let w: string;
      do {
        w = stack.pop()!;
        onStack.delete(w);
        component.push(w);
      } while (w !== v);
      if (component.length > 1 || (graph.get(v) ?? []).includes(v)) found.push(component.sort());
    }
  };
  for (const v of graph.keys()) if (!indexOf.has(v)) visit(v);
  return found;
}
