/**
 * Search spaces in the parameter syntax of Weights & Biases Sweeps: each config path maps to a
 * list of values (our shorthand), {values, probabilities}, {value}, or {distribution, …}.
 * Parameters may be nested as W&B writes them (model: {parameters: {pooling: …}}). The checks
 * here give each mistake its own message; the schema only says which shapes exist.
 */
import { didYouMean } from '../config/suggest.js';
import { isMapping } from '../util/mapping.js';
import { Random } from '../util/random.js';
import type { Assignment, ParamValue } from './grid.js';

export const DISTRIBUTIONS = [
  'uniform', 'int_uniform', 'q_uniform', 'log_uniform_values', 'log_uniform', 'q_log_uniform_values',
  'normal', 'q_normal', 'log_normal', 'categorical', 'constant',
] as const;
type Distribution = (typeof DISTRIBUTIONS)[number];

export type Spec =
  | { kind: 'values'; values: ParamValue[]; probabilities?: number[] }
  | { kind: 'distribution'; distribution: Exclude<Distribution, 'categorical' | 'constant'>; min: number; max: number; q: number; mu: number; sigma: number };

/** A swept parameter: its dotted config path, where it is written, and what it takes. */
export interface Axis {
  path: string;
  /** Keys from `sweep.parameters` down to this parameter's spec (W&B nesting included). */
  docPath: string[];
  spec: Spec;
}

export interface SpaceProblem {
  docPath: string[];
  /** Set when the problem is the key itself (at docPath) rather than its value. */
  key?: string;
  message: string;
}

/** Values one parameter may list: more is a generated file gone wrong, not a search. */
export const MAX_VALUES = 10_000;

const isScalar = (v: unknown): v is ParamValue => ['string', 'number', 'boolean'].includes(typeof v);

const BOUNDED = new Set(['uniform', 'int_uniform', 'q_uniform', 'log_uniform_values', 'log_uniform', 'q_log_uniform_values']);

function checkSpec(name: string, raw: unknown, docPath: string[], problems: SpaceProblem[]): Spec | null {
  const fail = (message: string, at = docPath, key?: string) => {
    problems.push({ docPath: at, key, message: `sweep.parameters.${name}: ${message}` });
    return null;
  };
  const list = (v: unknown, key?: string) => {
    const at = key ? [...docPath, key] : docPath;
    if (!Array.isArray(v) || v.length === 0) return fail('needs a non-empty list of values', at);
    if (v.length > MAX_VALUES) {
      return fail(`lists ${v.length.toLocaleString('en')} values, more than ${MAX_VALUES.toLocaleString('en')}; give a range as a distribution (with method: random) instead`, at);
    }
    const bad = v.findIndex((x) => !isScalar(x));
    if (bad >= 0) return fail('values must be strings, numbers or true/false', [...at, String(bad)]);
    return v as ParamValue[];
  };
  if (Array.isArray(raw)) {
    const values = list(raw);
    return values && { kind: 'values', values };
  }
  if (!isMapping(raw)) return fail('expected a list of values, {values: [...]}, {value: x} or {distribution: ...}');
  const distribution = (raw.distribution ?? ('values' in raw ? 'categorical' : 'value' in raw ? 'constant' : undefined)) as Distribution | undefined;
  if (distribution === undefined) return fail('give values, value or distribution');
  if (!DISTRIBUTIONS.includes(distribution)) {
    return fail(`unknown distribution '${distribution}'${didYouMean(distribution, DISTRIBUTIONS)}; one of ${DISTRIBUTIONS.join(', ')}`, [...docPath, 'distribution']);
  }
  const allowed =
    distribution === 'categorical' ? ['distribution', 'values', 'probabilities']
      : distribution === 'constant' ? ['distribution', 'value']
        : BOUNDED.has(distribution) ? ['distribution', 'min', 'max', ...(distribution.startsWith('q_') ? ['q'] : [])]
          : ['distribution', 'mu', 'sigma', ...(distribution.startsWith('q_') ? ['q'] : [])];
  for (const key of Object.keys(raw)) {
    if (!allowed.includes(key)) return fail(`'${key}' does not go with distribution ${distribution}${didYouMean(key, allowed)}; it takes ${allowed.join(', ')}`, docPath, key);
  }
  if (distribution === 'categorical') {
    const values = list(raw.values, 'values');
    if (!values) return null;
    const p = raw.probabilities;
    if (p !== undefined) {
      if (!Array.isArray(p) || p.length !== values.length || p.some((x) => typeof x !== 'number' || x < 0)) {
        return fail(`probabilities: needs ${values.length} numbers ≥ 0, one per value`, [...docPath, 'probabilities']);
      }
      const sum = (p as number[]).reduce((a, b) => a + b, 0);
      if (Math.abs(sum - 1) > 1e-6) return fail(`probabilities: must add up to 1, found ${sum}`, [...docPath, 'probabilities']);
    }
    return { kind: 'values', values, probabilities: p as number[] | undefined };
  }
  if (distribution === 'constant') {
    if (!isScalar(raw.value)) return fail('value: expected a string, number or true/false', [...docPath, 'value']);
    return { kind: 'values', values: [raw.value] };
  }
  const num = (key: string, fallback?: number): number | null => {
    const v = raw[key] ?? fallback;
    if (typeof v !== 'number' || !Number.isFinite(v)) return fail(`${key}: distribution ${distribution} needs a number`, raw[key] === undefined ? docPath : [...docPath, key]);
    return v;
  };
  // W&B's defaults: q 1, mu 0, sigma 1.
  const q = distribution.startsWith('q_') ? num('q', 1) : 1;
  if (BOUNDED.has(distribution)) {
    const min = num('min');
    const max = num('max');
    if (min === null || max === null || q === null) return null;
    if (min > max) return fail(`min ${min} is greater than max ${max}`, [...docPath, 'min']);
    if ((distribution === 'log_uniform_values' || distribution === 'q_log_uniform_values') && min <= 0) {
      return fail(`min must be > 0 for ${distribution} (the values themselves, not their logarithms)`, [...docPath, 'min']);
    }
    if (q <= 0) return fail('q: must be > 0', [...docPath, 'q']);
    return { kind: 'distribution', distribution: distribution as Extract<Spec, { kind: 'distribution' }>['distribution'], min, max, q, mu: 0, sigma: 1 };
  }
  const mu = num('mu', 0);
  const sigma = num('sigma', 1);
  if (mu === null || sigma === null || q === null) return null;
  if (sigma <= 0) return fail('sigma: must be > 0', [...docPath, 'sigma']);
  return { kind: 'distribution', distribution: distribution as Extract<Spec, { kind: 'distribution' }>['distribution'], min: 0, max: 0, q, mu, sigma };
}

/** The axes of a `parameters` block, nested W&B parameters flattened to dotted paths. */
export function axesOf(parameters: Record<string, unknown>, problems: SpaceProblem[], prefix = '', docPrefix: string[] = []): Axis[] {
  return Object.entries(parameters).flatMap(([key, raw]) => {
    const path = `${prefix}${key}`;
    const docPath = [...docPrefix, key];
    if (isMapping(raw) && isMapping(raw.parameters)) return axesOf(raw.parameters, problems, `${path}.`, [...docPath, 'parameters']);
    const spec = checkSpec(path, raw, docPath, problems);
    return spec ? [{ path, docPath, spec }] : [];
  });
}

function normal(rng: Random): number {
  // Box–Muller; 1 − u keeps the logarithm finite.
  return Math.sqrt(-2 * Math.log(1 - rng.next())) * Math.cos(2 * Math.PI * rng.next());
}

/** One draw from a spec, as W&B defines its distributions. */
export function draw(spec: Spec, rng: Random): ParamValue {
  if (spec.kind === 'values') {
    if (!spec.probabilities) return spec.values[Math.floor(rng.next() * spec.values.length)];
    let u = rng.next();
    const i = spec.probabilities.findIndex((p) => (u -= p) < 0);
    return spec.values[i < 0 ? spec.values.length - 1 : i];
  }
  const { min, max, q, mu, sigma } = spec;
  // Rounded to 12 significant digits: 3 × 0.0001 should read 0.0003, not 0.00030000000000000003.
  const quantize = (v: number) => Number((Math.round(v / q) * q).toPrecision(12));
  switch (spec.distribution) {
    case 'uniform':
      return rng.uniform(min, max);
    case 'int_uniform':
      return Math.floor(rng.uniform(Math.ceil(min), Math.floor(max) + 1));
    case 'q_uniform':
      return quantize(rng.uniform(min, max));
    case 'log_uniform_values':
      return Math.exp(rng.uniform(Math.log(min), Math.log(max)));
    case 'q_log_uniform_values':
      return quantize(Math.exp(rng.uniform(Math.log(min), Math.log(max))));
    case 'log_uniform':
      return Math.exp(rng.uniform(min, max));
    case 'normal':
      return mu + sigma * normal(rng);
    case 'q_normal':
      return quantize(mu + sigma * normal(rng));
    case 'log_normal':
      return Math.exp(mu + sigma * normal(rng));
  }
}

export interface SweepSettings {
  method: 'grid' | 'random' | 'bayes';
  count?: number;
  run_cap?: number;
  seed: number;
}

/** The assignments of a search space: every combination (grid) or `count` seeded draws (random). */
export function assignments(axes: Axis[], sweep: SweepSettings): Assignment[] {
  if (sweep.method === 'random') {
    const rng = new Random(sweep.seed);
    const n = Math.min(sweep.count ?? sweep.run_cap ?? 0, sweep.run_cap ?? Infinity);
    return Array.from({ length: n }, () => Object.fromEntries(axes.map((a) => [a.path, draw(a.spec, rng)])));
  }
  const grid = axes.reduce<Assignment[]>(
    (combos, a) => combos.flatMap((c) => (a.spec as Extract<Spec, { kind: 'values' }>).values.map((v) => ({ ...c, [a.path]: v }))),
    [{}],
  );
  return sweep.run_cap ? grid.slice(0, sweep.run_cap) : grid;
}
