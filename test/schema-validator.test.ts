/**
 * The experiment schema's validator as the build compiles it (ajv's standalone code, loaded by
 * every command) against the schema compiled at run time: the same errors, the same defaults
 * filled in; a file made from another schema is not used.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { SCHEMA_PATH } from '../src/config/load.js';
import { schemaChecksum, schemaValidator, standaloneSource } from '../src/config/schema-validator.js';

const schemaText = readFileSync(SCHEMA_PATH, 'utf8');

/** Inside the project, as the build's file is: ajv's standalone code requires ajv's runtime by package name. */
const here = mkdtempSync(join(process.cwd(), 'dist', '.validator-test-'));
afterAll(() => rmSync(here, { recursive: true, force: true }));

const INPUTS: unknown[] = [
  { name: 'ok' },
  { name: 'full', training: { epochs: 3, batch_size: 32 }, model: { pooling: 'max', dropout: 0.5 }, optimizer: { name: 'sgd', lr: 0.1, momentum: 0.9 } },
  { name: 'bad', training: { epochs: 0, batch_size: 'many' }, model: { pooling: 'median', extra: 1 }, optimiser: {} },
  { training: { epochs: 2.5 }, sweep: { method: 'grid', parameters: { 'model.pooling': { values: [] } } } },
  'not a mapping',
];

function run(validate: ReturnType<typeof schemaValidator>, input: unknown) {
  const value = structuredClone(input);
  const ok = validate(value);
  return { ok, value, errors: validate.errors };
}

describe('the compiled experiment validator', () => {
  it('gives what the schema compiled at run time gives: errors and filled defaults alike', () => {
    const file = join(mkdtempSync(join(here, 'v-')), 'experiment-validator.cjs');
    writeFileSync(file, standaloneSource(schemaText));
    const precompiled = schemaValidator(schemaText, file);
    const compiledNow = schemaValidator(schemaText, join(here, 'none.cjs'));
    expect((precompiled as unknown as { schemaSha256?: string }).schemaSha256).toBe(schemaChecksum(schemaText));
    expect((compiledNow as unknown as { schemaSha256?: string }).schemaSha256).toBeUndefined();
    for (const input of INPUTS) expect(run(precompiled, input)).toEqual(run(compiledNow, input));
    expect(run(precompiled, INPUTS[2]).errors!.length).toBeGreaterThan(2);
  });

  it('is not used when it was made from another schema', () => {
    const file = join(mkdtempSync(join(here, 'v-')), 'experiment-validator.cjs');
    writeFileSync(file, standaloneSource(schemaText.replace('"description"', '"$comment": "older", "description"')));
    expect((schemaValidator(schemaText, file) as unknown as { schemaSha256?: string }).schemaSha256).toBeUndefined();
  });

  it('is in the build, made from the schema as it is', () => {
    const built = join(process.cwd(), 'dist', 'config', 'experiment-validator.cjs');
    expect(readFileSync(built, 'utf8')).toContain(`module.exports.schemaSha256 = ${JSON.stringify(schemaChecksum(schemaText))}`);
  });
});
