/**
 * The experiment schema's validator (ajv: every error collected, defaults filled in). Compiling
 * the schema takes about 0.2 s, loading ajv's compiler and generating its code, at the start of
 * every command that reads an experiment; so the build compiles it once into ajv's standalone
 * code (scripts/gen-validator.mjs writes dist/config/experiment-validator.cjs from
 * standaloneSource) and commands load that. The file carries the checksum of the schema it was
 * made from: where it is missing (the sources run directly, as the tests run them) or was made
 * from another schema, the schema is compiled here, with the same options.
 */
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import type { Ajv as AjvClass, Options, ValidateFunction } from 'ajv';
import type { Experiment } from './experiment.types.js';

export const AJV_OPTIONS: Options = { allErrors: true, useDefaults: true, strict: true, allowUnionTypes: true };

/** Where the build puts the compiled validator: beside this module in dist/. */
export const PRECOMPILED = fileURLToPath(new URL('./experiment-validator.cjs', import.meta.url));

const require = createRequire(import.meta.url);

export const schemaChecksum = (schemaText: string) => createHash('sha256').update(schemaText).digest('hex');

/** ajv's compiler, loaded only when the schema is compiled here (ajv is CommonJS). */
const newAjv = (options: Options): AjvClass => new (require('ajv') as { Ajv: new (o: Options) => AjvClass }).Ajv(options);

/** The validator of the schema whose text is given: the build's, when it was made from this text, else compiled now. */
export function schemaValidator(schemaText: string, precompiled = PRECOMPILED): ValidateFunction<Experiment> {
  if (existsSync(precompiled)) {
    try {
      const made = require(precompiled) as ValidateFunction<Experiment> & { schemaSha256?: string };
      if (made.schemaSha256 === schemaChecksum(schemaText)) return made;
    } catch {
      // A damaged file (a build cut short): the schema is compiled below, and the experiment
      // file is not blamed for the build's fault.
    }
  }
  return newAjv(AJV_OPTIONS).compile<Experiment>(JSON.parse(schemaText));
}

/** The validator as a CommonJS module of ajv's standalone code, stamped with the schema's checksum. */
export function standaloneSource(schemaText: string): string {
  const ajv = newAjv({ ...AJV_OPTIONS, code: { source: true } });
  const standalone = (require('ajv/dist/standalone/index.js') as { default: (ajv: AjvClass, validate: ValidateFunction) => string }).default;
  return `${standalone(ajv, ajv.compile(JSON.parse(schemaText)))}\nmodule.exports.schemaSha256 = ${JSON.stringify(schemaChecksum(schemaText))};\n`;
}
