/** `sweep schema`: the JSON Schema of experiment files, for editors and other tools. */
import { readFileSync } from 'node:fs';
import { SCHEMA_PATH } from '../config/load.js';

export function schemaCommand(): number {
  process.stdout.write(readFileSync(SCHEMA_PATH, 'utf8'));
  return 0;
}
