import { createHash } from 'node:crypto';
import type { Experiment } from '../config/experiment.types.js';

/** JSON with sorted keys, so that key order in the file never changes an id. */
export function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  if (value && typeof value === 'object') {
    const entries = Object.entries(value).filter(([, v]) => v !== undefined).sort(([a], [b]) => (a < b ? -1 : 1));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(',')}}`;
  }
  return JSON.stringify(value);
}

/** The part of a resolved config that decides what a trial computes (the sweep name included). */
export function trialIdentity(config: Experiment): Omit<Experiment, 'description' | 'sweep'> {
  const { description: _description, sweep: _sweep, ...rest } = config;
  return rest;
}

/** A stable id: 12 hex digits of the SHA-256 of the canonical resolved config. */
export function trialId(config: Experiment): string {
  return createHash('sha256').update(canonicalJson(trialIdentity(config))).digest('hex').slice(0, 12);
}
