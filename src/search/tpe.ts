/**
 * TPE, the Tree-structured Parzen Estimator, as Optuna 3.1's TPESampler runs it with its defaults
 * (optuna/samplers/_tpe/sampler.py): independent sampling (multivariate=False), n_startup_trials
 * 10 (sweep.startup_trials overrides), n_ei_candidates 24, gamma = default_gamma, weights =
 * default_weights, no constant liar. The estimator itself is in parzen.ts.
 *
 * Our spaces are W&B's, so each axis is mapped onto the Optuna distribution that fits (axisModel
 * below); the choices Optuna does not make for us are said where they are made.
 */
import type { ParamValue } from '../sweep/grid.js';
import { draw, type Axis, type Spec } from '../sweep/space.js';
import { Random } from '../util/random.js';
import { ParzenEstimator, type Domain } from './parzen.js';
import { proposalSeed, type MethodInput, type Observation, type Proposal } from './types.js';
import { maxOf, minOf } from '../util/extremes.js';

export const DEFAULT_STARTUP_TRIALS = 10;
const N_EI_CANDIDATES = 24;
const RANDOM_TRIES = 1000;
/** Finite spaces up to this many points are enumerated when random draws find no free point. */
const ENUMERABLE = 100_000;

/** Optuna's default_gamma (sampler.py): how many of n trials form the "below" (good) group. */
export const defaultGamma = (n: number) => Math.min(Math.ceil(0.1 * n), 25);

/**
 * A trial's rank key, compared lexicographically, smaller = better (sampler.py,
 * _get_observation_pairs): a completed trial (−∞, its loss); a pruned one (−epochs reached, its
 * loss at the last epoch; +∞ if that is NaN; (1, 0) if it reached none), so every completed trial
 * ranks above every pruned one and pruned ones rank by depth first. Loss = the value, negated
 * when maximizing; a completed trial's value is its best epoch. Pending trials (Optuna's RUNNING,
 * without constant_liar) and failed ones have no key: they take no part, and neither does a
 * completed trial without a finite value (Optuna stores a NaN objective as FAIL).
 */
export function rankKey(t: Observation, goal: MethodInput['goal']): [number, number] | null {
  const sign = goal === 'minimize' ? 1 : -1;
  if (t.state === 'completed') {
    const finite = t.values.filter(Number.isFinite);
    return finite.length ? [-Infinity, sign * (goal === 'minimize' ? minOf(finite) : maxOf(finite))] : null;
  }
  if (t.state === 'pruned') {
    if (!t.values.length) return [1, 0];
    const last = t.values[t.values.length - 1];
    return [-t.values.length, Number.isNaN(last) ? Infinity : sign * last];
  }
  return null;
}

/** How an axis looks to the estimator: its domain and the maps to and from the internal space. */
type AxisModel =
  | { kind: 'constant'; value: ParamValue }
  | { kind: 'tpe'; domain: Domain; toInternal(v: ParamValue): number | null; toExternal(s: number): ParamValue; grid?: ParamValue[] };

const clip = (x: number, lo: number, hi: number) => Math.min(hi, Math.max(lo, x));
const range = (lo: number, hi: number) => Array.from({ length: hi - lo + 1 }, (_, i) => lo + i);

/**
 * Step-indexed axes (int_uniform, q_uniform, q_normal): Optuna's IntDistribution(step 1) over
 * k = value/q, its bounds widened by ½ (_calculate_parzen_bounds), draws rounded and clipped
 * (_transform_from_uniform). Values come back as draw()'s quantize writes them.
 */
function stepAxis(q: number, kLo: number, kHi: number, prior?: { mu: number; sigma: number }): AxisModel {
  const value = (k: number) => (q === 1 ? k : Number((k * q).toPrecision(12)));
  if (kLo >= kHi) return { kind: 'constant', value: value(kLo) };
  const span = prior ? { low: prior.mu - 3 * prior.sigma, high: prior.mu + 3 * prior.sigma } : { low: kLo - 0.5, high: kHi + 0.5 };
  return {
    kind: 'tpe',
    domain: { kind: 'numeric', ...span, step: 1, prior },
    toInternal: (v) => {
      if (typeof v !== 'number' || !Number.isFinite(v)) return null;
      const k = Math.round(v / q);
      return Math.abs(k * q - v) <= 1e-9 * Math.max(Math.abs(v), q) && k >= kLo && k <= kHi ? k : null;
    },
    toExternal: (s) => value(clip(Math.round(s), kLo, kHi)),
    grid: Number.isFinite(kHi - kLo) ? range(kLo, kHi).map(value) : undefined,
  };
}

/** Continuous axes in the internal space x = f(value): Optuna's FloatDistribution (log when f is log). */
function floatAxis(low: number, high: number, f: (v: number) => number, inv: (s: number) => number, prior?: { mu: number; sigma: number }): AxisModel {
  if (low === high) return { kind: 'constant', value: inv(low) };
  const span = prior ? { low: prior.mu - 3 * prior.sigma, high: prior.mu + 3 * prior.sigma } : { low, high };
  return {
    kind: 'tpe',
    domain: { kind: 'numeric', ...span, step: 0, prior },
    toInternal: (v) => {
      const x = typeof v === 'number' ? f(v) : NaN;
      return Number.isFinite(x) && (prior || (x >= low && x <= high)) ? x : null;
    },
    toExternal: (s) => inv(prior ? s : clip(s, low, high)),
  };
}

/**
 * W&B's distributions as Optuna's. q_uniform and q_log_uniform_values take the multiples of q
 * that draw() produces (round(min/q)…, up to the last reached below max), which need not lie in
 * [min, max] when the range is not a multiple of q. q_log_uniform_values is Optuna's log-scale
 * IntDistribution over k = value/q (k ≥ 1: TPE never proposes 0, which draw() gives when
 * min < q/2). normal, q_normal and log_normal are unbounded, which Optuna has no distribution for:
 * the kernels are not truncated, the prior kernel is the distribution itself, N(mu, sigma) (in
 * log space for log_normal, in steps for q_normal), and the bandwidth rule measures against
 * mu ± 3 sigma (widened to the observations).
 */
function axisModel(spec: Spec): AxisModel {
  if (spec.kind === 'values') {
    const prior = spec.probabilities ?? spec.values.map(() => 1 / spec.values.length);
    const live = prior.map((p, i) => (p > 0 ? i : -1)).filter((i) => i >= 0);
    if (live.length === 1) return { kind: 'constant', value: spec.values[live[0]] };
    return {
      kind: 'tpe',
      domain: { kind: 'categorical', prior },
      // A value listed twice counts as its first place; a value of probability 0 as off the space.
      toInternal: (v) => {
        const i = spec.values.indexOf(v);
        return i >= 0 && prior[i] > 0 ? i : null;
      },
      toExternal: (i) => spec.values[i],
      grid: live.map((i) => spec.values[i]),
    };
  }
  const { min, max, q, mu, sigma } = spec;
  const id = (v: number) => v;
  // The last k with round(v/q) = k for some v < max (draw()'s uniform never reaches max).
  const lastK = (m: number) => Math.ceil(m / q + 0.5) - 1;
  switch (spec.distribution) {
    case 'uniform':
      return floatAxis(min, max, id, id);
    case 'log_uniform_values':
      return floatAxis(Math.log(min), Math.log(max), Math.log, (s) => clip(Math.exp(s), min, max));
    case 'log_uniform':
      return floatAxis(min, max, Math.log, (s) => clip(Math.exp(s), Math.exp(min), Math.exp(max)));
    case 'int_uniform':
      return stepAxis(1, Math.ceil(min), Math.max(Math.ceil(min), Math.floor(max)));
    case 'q_uniform':
      return min === max ? stepAxis(q, Math.round(min / q), Math.round(min / q)) : stepAxis(q, Math.round(min / q), lastK(max));
    case 'q_log_uniform_values': {
      const kLo = Math.max(1, Math.round(min / q));
      const kHi = min === max ? kLo : lastK(max);
      if (kHi <= kLo) return { kind: 'constant', value: Number((Math.max(0, Math.round(min / q)) * q).toPrecision(12)) };
      const value = (k: number) => Number((k * q).toPrecision(12));
      // Optuna's IntDistribution(log=True): bounds log(low − ½), log(high + ½), continuous in
      // log space, draws rounded after exp (parzen_estimator.py, _transform_from_uniform).
      return {
        kind: 'tpe',
        domain: { kind: 'numeric', low: Math.log(kLo - 0.5), high: Math.log(kHi + 0.5), step: 0 },
        toInternal: (v) => {
          if (typeof v !== 'number' || !Number.isFinite(v)) return null;
          const k = Math.round(v / q);
          return Math.abs(k * q - v) <= 1e-9 * Math.max(Math.abs(v), q) && k >= kLo && k <= kHi ? Math.log(k) : null;
        },
        toExternal: (s) => value(clip(Math.round(Math.exp(s)), kLo, kHi)),
        grid: range(kLo, kHi).map(value),
      };
    }
    case 'normal':
      return floatAxis(-Infinity, Infinity, id, id, { mu, sigma });
    case 'log_normal':
      return floatAxis(-Infinity, Infinity, Math.log, Math.exp, { mu, sigma });
    case 'q_normal':
      return stepAxis(q, -Infinity, Infinity, { mu: mu / q, sigma: sigma / q });
  }
}

/** A key per point, equal exactly when sameAssignment says the points are equal. */
const pointKey = (values: ParamValue[]) => JSON.stringify(values.map((v) => [typeof v, v === 0 ? 0 : v]));

export function proposeTpe(input: MethodInput): Proposal {
  const { axes, goal, history } = input;
  const rng = new Random(proposalSeed(input.seed, history.length));
  const paths = axes.map((a) => a.path);
  // Every trial's point, pending and failed ones included: none may be proposed again.
  const taken = new Set(
    history
      .filter((t) => Object.keys(t.params).length === paths.length && paths.every((p) => p in t.params))
      .map((t) => pointKey(paths.map((p) => t.params[p]))),
  );
  const models = axes.map((a) => axisModel(a.spec));
  const toProposal = (values: ParamValue[]) => Object.fromEntries(paths.map((p, i) => [p, values[i]]));

  // Trials that count, with their rank keys (_get_observation_pairs: COMPLETE and PRUNED only).
  const ranked = history.flatMap((t) => {
    const key = rankKey(t, goal);
    return key ? [{ t, key }] : [];
  });
  if (ranked.length >= (input.startupTrials ?? DEFAULT_STARTUP_TRIALS)) {
    // _split_observation_pairs: a stable sort by key; the best gamma(n) form "below"; both groups
    // keep chronological order (the weights ramp with age).
    const order = ranked.map((_, i) => i).sort((i, j) => ranked[i].key[0] - ranked[j].key[0] || ranked[i].key[1] - ranked[j].key[1] || i - j);
    const nBelow = defaultGamma(ranked.length);
    const isBelow = new Set(order.slice(0, nBelow));
    const below = ranked.filter((_, i) => isBelow.has(i)).map((r) => r.t);
    const above = ranked.filter((_, i) => !isBelow.has(i)).map((r) => r.t);
    const lists = axes.map((a, i) => candidates(a, models[i], below, above, rng));
    const best = bestFree(lists, (values) => taken.has(pointKey(values)));
    if (best) return toProposal(best);
  }
  const free = randomFree(axes, models, rng, (values) => taken.has(pointKey(values)));
  return free && toProposal(free);
}

interface Candidate {
  value: ParamValue;
  score: number;
}

/**
 * One axis's candidates, best first (sampler.py, sample_independent and _compare): 24 draws from
 * l(x), the estimator of the below group, scored log l(x) − log g(x) at the value as proposed
 * (rounded to its step), distinct values only. Observations whose value is missing or off the
 * space are left out of that axis's estimators (Optuna's param_mask).
 */
function candidates(axis: Axis, model: AxisModel, below: Observation[], above: Observation[], rng: Random): Candidate[] {
  if (model.kind === 'constant') return [{ value: model.value, score: 0 }];
  const internal = (ts: Observation[]) => ts.flatMap((t) => {
    const x = axis.path in t.params ? model.toInternal(t.params[axis.path]) : null;
    return x === null ? [] : [x];
  });
  const l = new ParzenEstimator(model.domain, internal(below));
  const g = new ParzenEstimator(model.domain, internal(above));
  const seen = new Set<ParamValue>();
  const out: Candidate[] = [];
  for (const s of l.sample(rng, N_EI_CANDIDATES)) {
    const value = model.toExternal(s);
    if (seen.has(value)) continue;
    seen.add(value);
    const x = model.toInternal(value) ?? s;
    const score = l.logPdf(x) - g.logPdf(x);
    out.push({ value, score: Number.isNaN(score) ? -Infinity : score });
  }
  // Stable: among equal scores the earlier draw wins, as np.argmax takes the first maximum.
  return out.sort((a, b) => (b.score === a.score ? 0 : b.score > a.score ? 1 : -1));
}

/**
 * The best combination of the axes' candidates that is not taken. Univariate TPE scores a point
 * by the sum of its axes' log-ratios (the estimators are independent), and its own proposal is
 * each axis's best candidate; when that point is taken we walk the combinations in order of
 * falling sum (best-first over the sorted lists) to the first free one.
 */
function bestFree(lists: Candidate[][], isTaken: (values: ParamValue[]) => boolean): ParamValue[] | null {
  const sum = (idx: number[]) => idx.reduce((acc, k, j) => acc + lists[j][k].score, 0);
  const frontier: { idx: number[]; score: number }[] = [{ idx: lists.map(() => 0), score: sum(lists.map(() => 0)) }];
  const visited = new Set([frontier[0].idx.join()]);
  while (frontier.length) {
    // The frontier stays small (≤ 1 + axes × pops), so a linear scan for the best is enough.
    let b = 0;
    for (let i = 1; i < frontier.length; i++) if (frontier[i].score > frontier[b].score) b = i;
    const { idx } = frontier.splice(b, 1)[0];
    const values = idx.map((k, j) => lists[j][k].value);
    if (!isTaken(values)) return values;
    idx.forEach((k, j) => {
      if (k + 1 >= lists[j].length) return;
      const next = idx.map((x, jj) => (jj === j ? x + 1 : x));
      const key = next.join();
      if (visited.has(key)) return;
      visited.add(key);
      frontier.push({ idx: next, score: sum(next) });
    });
  }
  return null;
}

/**
 * Random search's point (the start-up trials, and TPE's fallback): draw() on each axis, retried
 * while the point is taken; then, in a finite space small enough, a free point picked at random
 * from the whole list; null when there is none.
 */
function randomFree(axes: Axis[], models: AxisModel[], rng: Random, isTaken: (values: ParamValue[]) => boolean): ParamValue[] | null {
  for (let i = 0; i < RANDOM_TRIES; i++) {
    const values = axes.map((a) => draw(a.spec, rng));
    if (!isTaken(values)) return values;
  }
  const grids = models.map((m) => (m.kind === 'constant' ? [m.value] : m.grid));
  if (grids.some((g) => !g) || grids.reduce((n, g) => n * g!.length, 1) > ENUMERABLE) return null;
  const free = grids
    .reduce<ParamValue[][]>((points, g) => points.flatMap((p) => g!.map((v) => [...p, v])), [[]])
    .filter((values) => !isTaken(values));
  return free.length ? free[Math.floor(rng.next() * free.length)] : null;
}
