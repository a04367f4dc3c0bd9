/**
 * docs/ARCHITECTURE.md stays true: its code map names every folder of src/ (a folder added
 * without a word there fails), and every path of src/ it names still exists (a file moved or
 * removed without updating it fails).
 */
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { sourceFiles } from './import-graph.js';

const doc = readFileSync('docs/ARCHITECTURE.md', 'utf8');
const codeMap = doc.slice(doc.indexOf('## Code map'), doc.indexOf('\n## ', doc.indexOf('## Code map') + 1));
const mapped = new Set([...codeMap.matchAll(/^### (src\/[\w/-]+)$/gm)].map((m) => m[1]));

describe('the files of src/', () => {
  it("are none over 400 lines (the schema's generated types aside)", () => {
    const long = sourceFiles('src', '.')
      .filter((f) => f !== 'src/config/experiment.types.ts')
      .map((f) => [f, readFileSync(f, 'utf8').split('\n').length - 1] as const)
      .filter(([, lines]) => lines > 400);
    expect(long).toEqual([]);
  });
});

describe('docs/ARCHITECTURE.md', () => {
  it('has a code map', () => {
    expect(codeMap.length).toBeGreaterThan(1000);
    expect(mapped.size).toBeGreaterThan(10);
  });

  it('maps every folder of src/', () => {
    const folders = readdirSync('src')
      .filter((name) => statSync(join('src', name)).isDirectory())
      .map((name) => `src/${name}`);
    expect(folders.filter((f) => !mapped.has(f))).toEqual([]);
  });

  it('names only paths that exist', () => {
    const named = [...new Set([...doc.matchAll(/`((?:src|schemas|test|docs)\/[\w./-]+)`/g)].map((m) => m[1]))];
    expect(named.length).toBeGreaterThan(20);
    // A bare file name in a folder's entry is that folder's file.
    const sections = [...codeMap.matchAll(/^### (src\/[\w/-]+)\n([\s\S]*?)(?=^### |$(?![\s\S]))/gm)];
    const files = sections.flatMap(([, folder, text]) => [...text.matchAll(/`([\w-]+\.tsx?)`/g)].map((m) => `${folder}/${m[1]}`));
    expect(files.length).toBeGreaterThan(20);
    expect([...named, ...files, ...mapped].filter((p) => !existsSync(p.replace(/\/$/, '')))).toEqual([]);
  });
});
