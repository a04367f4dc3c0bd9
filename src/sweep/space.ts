/**
 * Search spaces in the parameter syntax of Weights & Biases Sweeps: each config path maps to a
 * list of values (our shorthand), {values, probabilities}, {value}, {min, max} or
 * {distribution, …}. Parameters may be nested as W&B writes them (model: {parameters: {pooling:
 * …}}). A parameter without a distribution takes the one W&B infers (wandb/sweeps' schema.json,
 * filled in by its fill_parameter). The checks here give each mistake its own message; the
 * schema only says which shapes exist.
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
  /** Set when the file gives min and max without a distribution: the one W&B's rule took, and why. */
  inferred?: Inferred;
}

/**
 * Whether the number at a place in `sweep.parameters` was written as an integer (`0`, not
 * `0.0`), which parsing loses; undefined where that is not known (then its value decides).
 */
export type WrittenAsInteger = (docPath: string[]) => boolean | undefined;

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

export interface Inferred {
  distribution: 'int_uniform' | 'uniform';
  why: string;
}

/** The distributions that take a key, for a key written without one. */
const TAKERS: Record<string, string[]> = {
  q: ['q_uniform', 'q_log_uniform_values', 'q_normal'],
  mu: ['normal', 'q_normal', 'log_normal'],
  sigma: ['normal', 'q_normal', 'log_normal'],
};
const takers = (key: string) => TAKERS[key]?.join(', ').replace(/, ([^,]*)$/, ' or $1');

/**
 * W&B's distribution for min and max without one: int_uniform when both are written as integers,
 * uniform otherwise (one float is enough: `{min: 0, max: 1.0}` is uniform), as the anyOf of its
 * param_int_uniform and param_uniform schemas decides, and why, in words.
 */
function inferFromBounds(raw: Record<string, unknown>, docPath: string[], written: WrittenAsInteger): Inferred {
  const integer = (key: string) => written([...docPath, key]) ?? Number.isInteger(raw[key]);
  const [min, max] = [integer('min'), integer('max')];
  if (min && max) return { distribution: 'int_uniform', why: 'min and max are integers' };
  const floats = [...(min ? [] : ['min']), ...(max ? [] : ['max'])];
  return { distribution: 'uniform', why: floats.length > 1 ? 'min and max are written as floats' : `${floats[0]} is written as a float` };
}

function checkSpec(name: string, raw: unknown, docPath: string[], problems: SpaceProblem[], written: WrittenAsInteger): { spec: Spec; inferred?: Inferred } | null {
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
    return values && { spec: { kind: 'values', values } };
  }
  if (!isMapping(raw)) return fail('expected a list of values, {values: [...]}, {value: x}, {min: a, max: b} or {distribution: ...}');
  // W&B's defaults: values make categorical, value constant, min and max int_uniform or uniform.
  const bounds = raw.distribution === undefined && !('values' in raw) && !('value' in raw) && 'min' in raw && 'max' in raw ? inferFromBounds(raw, docPath, written) : undefined;
  const distribution = (raw.distribution ?? ('values' in raw ? 'categorical' : 'value' in raw ? 'constant' : bounds?.distribution)) as Distribution | undefined;
  if (distribution === undefined) {
    const half = ['min', 'max'].find((k) => !(k in raw) && ['min', 'max'].some((other) => other in raw));
    if (half) return fail(`${half}: missing; give min and max (W&B then takes int_uniform or uniform from them) or a distribution`);
    const hinted = Object.keys(raw).find((k) => TAKERS[k]);
    return fail(`give values, value, min and max, or a distribution${hinted ? ` (${hinted} goes with ${takers(hinted)})` : ''}`);
  }
  if (!DISTRIBUTIONS.includes(distribution)) {
    return fail(`unknown distribution '${distribution}'${didYouMean(distribution, DISTRIBUTIONS)}; one of ${DISTRIBUTIONS.join(', ')}`, [...docPath, 'distribution']);
  }
  const allowed =
    distribution === 'categorical' ? ['distribution', 'values', 'probabilities']
      : distribution === 'constant' ? ['distribution', 'value']
        : BOUNDED.has(distribution) ? ['distribution', 'min', 'max', ...(distribution.startsWith('q_') ? ['q'] : [])]
          : ['distribution', 'mu', 'sigma', ...(distribution.startsWith('q_') ? ['q'] : [])];
  for (const key of Object.keys(raw)) {
    if (allowed.includes(key)) continue;
    // Without a distribution, a key of another one (q, mu, sigma) means that one was meant.
    if (bounds) return fail(`'${key}' needs a distribution${TAKERS[key] ? ` (${takers(key)})` : ''}${didYouMean(key, allowed)}; min and max alone make ${distribution}, as W&B reads them`, docPath, key);
    return fail(`'${key}' does not go with distribution ${distribution}${didYouMean(key, allowed)}; it takes ${allowed.join(', ')}`, docPath, key);
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
    return { spec: { kind: 'values', values, probabilities: p as number[] | undefined } };
  }
  if (distribution === 'constant') {
    if (!isScalar(raw.value)) return fail('value: expected a string, number or true/false', [...docPath, 'value']);
    return { spec: { kind: 'values', values: [raw.value] } };
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
    const spec: Spec = { kind: 'distribution', distribution: distribution as Extract<Spec, { kind: 'distribution' }>['distribution'], min, max, q, mu: 0, sigma: 1 };
    return bounds ? { spec, inferred: bounds } : { spec };
  }
  const mu = num('mu', 0);
  const sigma = num('sigma', 1);
  if (mu === null || sigma === null || q === null) return null;
  if (sigma <= 0) return fail('sigma: must be > 0', [...docPath, 'sigma']);
  return { spec: { kind: 'distribution', distribution: distribution as Extract<Spec, { kind: 'distribution' }>['distribution'], min: 0, max: 0, q, mu, sigma } };
}

/**
 * The axes of a `parameters` block, nested W&B parameters flattened to dotted paths. `written`
 * says how a number was written, for W&B's rule on min and max without a distribution.
 */
export function axesOf(parameters: Record<string, unknown>, problems: SpaceProblem[], written: WrittenAsInteger = () => undefined): Axis[] {
  return axesUnder(parameters, problems, written, '', []);
}

function axesUnder(parameters: Record<string, unknown>, problems: SpaceProblem[], written: WrittenAsInteger, prefix: string, docPrefix: string[]): Axis[] {
  return Object.entries(parameters).flatMap(([key, raw]) => {
    const path = `${prefix}${key}`;
    const docPath = [...docPrefix, key];
    if (isMapping(raw) && isMapping(raw.parameters)) {
      // W&B's param_dict: a group holds its parameters and nothing else, at least one of them.
      const other = Object.keys(raw).find((k) => k !== 'parameters');
      if (other !== undefined) {
        problems.push({ docPath, key: other, message: `sweep.parameters.${path}: '${other}' does not go with parameters; a group of nested parameters takes only parameters` });
        return [];
      }
      if (Object.keys(raw.parameters).length === 0) {
        problems.push({ docPath: [...docPath, 'parameters'], message: `sweep.parameters.${path}.parameters: is empty; give at least one parameter` });
        return [];
      }
      return axesUnder(raw.parameters, problems, written, `${path}.`, [...docPath, 'parameters']);
    }
    const checked = checkSpec(path, raw, docPath, problems, written);
    return checked ? [{ path, docPath, ...checked }] : [];
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
