/**
 * The shape of src/ as docs/ARCHITECTURE.md draws it: the command layer (src/cli) is the top
 * floor, which nothing else imports, and no import circle exists anywhere (type-only imports
 * count: a circle of types is a boundary drawn in the wrong place).
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { circles, importGraph } from './import-graph.js';

const graph = importGraph(process.cwd());

/** Every .js file under a folder of the build. */
function jsFiles(root: string): string[] {
  return readdirSync(root).flatMap((name) => {
    const path = join(root, name);
    return statSync(path).isDirectory() ? jsFiles(path) : name.endsWith('.js') ? [path] : [];
  });
}

describe('the imports of src/', () => {
  it('are read from every source file', () => {
    expect(graph.size).toBeGreaterThan(100);
    expect(graph.get('src/cli/main.ts')).toContain('src/cli/commands.ts');
  });

  it('never reach up into the command layer from outside it', () => {
    const upwards = [...graph].flatMap(([file, targets]) => (file.startsWith('src/cli/') ? [] : targets.filter((t) => t.startsWith('src/cli/')).map((t) => `${file} imports ${t}`)));
    expect(upwards).toEqual([]);
  });

  it('form no circle', () => {
    expect(circles(graph).map((c) => c.join(' ↔ '))).toEqual([]);
  });

  it('take tfjs values from src/backend/tfjs.ts alone (it loads tfjs with require, skipping the ES module loader\'s parse)', () => {
    // Read from the build, where type-only imports are gone: any import of a @tensorflow package
    // left there loads it through the ES module loader (a second path to the same engine).
    const loads = /^\s*(?:import|export)\b[^;]*?\bfrom\s*['"]@tensorflow\/|^\s*import\s*['"]@tensorflow\/|\bimport\s*\(\s*['"]@tensorflow\//m;
    const offenders = jsFiles('dist').filter((file) => file !== 'dist/backend/tfjs.js' && loads.test(readFileSync(file, 'utf8')));
    expect(offenders).toEqual([]);
    expect(jsFiles('dist').length).toBeGreaterThan(100);
    for (const line of ["import { tidy } from '@tensorflow/tfjs';", 'import { tidy } from "@tensorflow/tfjs";', "export { tidy } from '@tensorflow/tfjs';", "import '@tensorflow/tfjs-backend-webgpu';", "await import('@tensorflow/tfjs-backend-wasm')"]) {
      expect(loads.test(line), line).toBe(true);
    }
    expect(loads.test("const tf = require('@tensorflow/tfjs');")).toBe(false);
  });

  it('a circle is found where there is one (the check can fail)', () => {
    const looped = new Map([
      ['a.ts', ['b.ts']],
      ['b.ts', ['c.ts']],
      ['c.ts', ['a.ts', 'd.ts']],
      ['d.ts', []],
      ['e.ts', ['e.ts']],
    ]);
    expect(circles(looped)).toEqual([['a.ts', 'b.ts', 'c.ts'], ['e.ts']]);
  });
});

/**
 * The names the benchmarks and build scripts take from the build: `{ a, b } = await
 * import(join(root, 'dist/x.js'))` and `import { a } from '../dist/x.js'`. No test runs the
 * benchmarks, so a module's export renamed or moved would break them unseen.
 */
function distImports(source: string): Array<{ module: string; names: string[] }> {
  const found: Array<{ module: string; names: string[] }> = [];
  const patterns = [/const\s*\{([^}]*)\}\s*=\s*await\s+import\(\s*join\(\s*root\s*,\s*'(dist\/[^']+)'\s*\)\s*\)/g, /import\s*\{([^}]*)\}\s*from\s*'\.\.\/(dist\/[^']+)'/g];
  for (const pattern of patterns) {
    for (const [, names, module] of source.matchAll(pattern)) {
      found.push({ module, names: names.split(',').map((n) => n.trim().split(/\s*(?::|\bas\b)\s*/)[0]).filter(Boolean) });
    }
  }
  return found;
}

describe('the benchmarks and build scripts', () => {
  const files = ['bench', 'scripts'].flatMap((dir) => readdirSync(dir).filter((n) => n.endsWith('.mjs')).map((n) => join(dir, n)));

  it('take only names the build exports', async () => {
    const missing: string[] = [];
    let checked = 0;
    for (const file of files) {
      for (const { module, names } of distImports(readFileSync(file, 'utf8'))) {
        const exported = await import(join(process.cwd(), module));
        for (const name of names) {
          checked++;
          if (!(name in exported)) missing.push(`${file}: ${name} from ${module}`);
        }
      }
    }
    expect(missing).toEqual([]);
    expect(checked).toBeGreaterThan(10);
  });

  it('a name the build lacks is found (the check can fail)', () => {
    expect(distImports("const { probeWebgpu, x: y } = await import(join(root, 'dist/backend/index.js'));\nimport { a as b, c } from '../dist/config/load.js';")).toEqual([
      { module: 'dist/backend/index.js', names: ['probeWebgpu', 'x'] },
      { module: 'dist/config/load.js', names: ['a', 'c'] },
    ]);
  });
});
