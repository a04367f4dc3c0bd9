import { readFileSync } from 'node:fs';
import { expect, it } from 'vitest';
// @ts-expect-error: a plain ES module script
import { generate } from '../scripts/gen-types.mjs';

it('the committed TypeScript types are generated from the committed schema', async () => {
  const committed = readFileSync(new URL('../src/config/experiment.types.ts', import.meta.url), 'utf8');
  expect(await generate(), 'schema and types drifted apart: run npm run gen-types').toBe(committed);
});
