/**
 * The shape of src/ as docs/ARCHITECTURE.md draws it: the command layer (src/cli) is the top
 * floor, which nothing else imports, and no import circle exists anywhere (type-only imports
 * count: a circle of types is a boundary drawn in the wrong place).
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { circles, importGraph, sourceFiles } from './import-graph.js';

const graph = importGraph(process.cwd());

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
    const direct = /^import (?!type )[^;]*?from '@tensorflow\/tfjs[\w-]*'|import\('@tensorflow\/tfjs[\w-]*'\)/m;
    const offenders = sourceFiles('src', '.').filter((file) => file !== 'src/backend/tfjs.ts' && direct.test(readFileSync(file, 'utf8')));
    expect(offenders).toEqual([]);
    expect(direct.test("import { tidy, type Tensor } from '@tensorflow/tfjs';")).toBe(true);
    expect(direct.test("await import('@tensorflow/tfjs-backend-wasm')")).toBe(true);
    expect(direct.test("import type * as tfjs from '@tensorflow/tfjs';")).toBe(false);
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
