import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';

/** This package's version, from its package.json. */
export function packageVersion(): string {
  return JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')).version;
}

/**
 * The installed TensorFlow.js version, from its package.json: the same string as tfjs's own
 * `version.tfjs`, without loading tfjs (about a second of start-up for a process that only
 * records it).
 */
export function tfjsVersion(): string {
  return createRequire(import.meta.url)('@tensorflow/tfjs/package.json').version;
}
