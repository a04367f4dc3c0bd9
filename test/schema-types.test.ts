import { readFileSync } from 'node:fs';
import { expect, it } from 'vitest';
// @ts-expect-error: a plain ES module script
import { generate } from '../scripts/gen-types.mjs';

it('the committed TypeScript types are generated from the committed schema', async () => {
  const committed = readFileSync(new URL('../src/config/experiment.types.ts', import.meta.url), 'utf8');
  expect(await generate(), 'schema and types drifted apart: run npm run gen-types').toBe(committed);
});

it('every property of the schema says what it is for', () => {
  const schema = JSON.parse(readFileSync(new URL('../schemas/experiment.schema.json', import.meta.url), 'utf8'));
  const missing: string[] = [];
  interface Node { description?: string; properties?: Record<string, Node> }
  const walk = (node: Node, prefix: string) => {
    for (const [key, sub] of Object.entries(node.properties ?? {})) {
      if (!sub.description) missing.push(`${prefix}${key}`);
      walk(sub, `${prefix}${key}.`);
    }
  };
  walk(schema, '');
  expect(missing).toEqual([]);
});
