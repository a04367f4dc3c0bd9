import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { UserError } from '../src/config/errors.js';

export function tempDir(prefix = 'lenet-sweep-'): string {
  return mkdtempSync(join(tmpdir(), prefix));
}

/** Writes an experiment file into a fresh temp folder and returns its path. */
export function writeExperiment(text: string, name = 'exp.yaml'): string {
  const path = join(tempDir(), name);
  writeFileSync(path, text);
  return path;
}

/** The formatted problems a function throws as a UserError, with the file path replaced by FILE. */
export function problemsOf(fn: () => unknown, file?: string): string[] {
  try {
    fn();
  } catch (err) {
    if (!(err instanceof UserError)) throw err;
    return err.message.split('\n').map((l) => (file ? l.split(file).join('FILE') : l));
  }
  throw new Error('expected a UserError');
}
