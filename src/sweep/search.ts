/**
 * The runner's side of the search: which trial a free worker takes next, and whether a running
 * trial goes on after an epoch. It keeps every trial of the sweep in memory (those stored by
 * earlier runs of the file included) and asks the pure functions of src/search with them: the
 * method (tpe, bayes) when a worker is free, the early-termination rule after each epoch. It
 * writes nothing: the runner stores what it decides, so the database keeps one writer.
 */
import type { AdaptiveSearch, Trial } from '../config/experiment.js';
import type { Experiment } from '../config/experiment.types.js';
import { propose } from '../search/methods.js';
import { decide } from '../search/rules/index.js';
import type { Observation, RuleTrial, TrialState, Verdict } from '../search/types.js';
import type { SearchRecord } from '../store/queries.js';
import type { EpochMetrics } from '../train/metrics.js';
import type { Assignment } from './grid.js';

type Rule = NonNullable<NonNullable<Experiment['sweep']>['early_terminate']>;

/** A trial of the sweep as the search keeps it. */
interface Entry extends RuleTrial {
  params: Assignment;
}

/** What the search state of a stored status is. */
function stateOf(status: string): TrialState {
  if (status === 'completed' || status === 'pruned') return status;
  return status === 'queued' || status === 'running' ? 'pending' : 'failed';
}

export type NextTrial =
  /** `proposed`: the method chose it now; the runner records it before it starts. */
  | { trial: Trial; proposed: boolean }
  /** The method's values broke a rule of the config: counted, never trained, said once. */
  | { skipped: Assignment; problem: string };

export interface SearchOptions {
  metric: Experiment['metric'];
  rule?: Rule;
  /** Set for tpe and bayes. */
  adaptive?: AdaptiveSearch;
  /** The stored trials of this search, in the order recorded (sweep/resume.ts planRun chooses them). */
  stored: SearchRecord[];
  /** The trials to train first, in order: the file's that have not completed, or an adaptive search's left unfinished. */
  queue: Trial[];
  /** Applied to each proposed trial (--backend). */
  adjust?: (trial: Trial) => Trial;
}

export class SweepSearch {
  private readonly entries = new Map<string, Entry>();
  /** The order trials were proposed in (skipped proposals too): the method's history. */
  private readonly order: Entry[] = [];
  private readonly queue: Trial[];
  /** The trial (and its value) that reached metric.target: no new trial starts after it. */
  reachedTarget: { id: string; value: number } | null = null;
  /** Set once the method has no untried point left in the space. */
  exhausted = false;

  constructor(private readonly options: SearchOptions) {
    for (const r of options.stored) this.add(r.id, r.params, stateOf(r.status), r.values, r.rungs ?? undefined);
    this.queue = [...options.queue];
    for (const t of this.queue) {
      // Trained again from its start: its earlier results no longer count.
      const entry = this.entries.get(t.id) ?? this.add(t.id, t.params, 'pending', []);
      entry.state = 'pending';
      entry.values = [];
      entry.rungs = undefined;
    }
    for (const e of this.order) this.checkTarget(e);
  }

  private add(id: string, params: Assignment, state: TrialState, values: number[], rungs?: Record<string, number>): Entry {
    const entry: Entry = { id, params, state, values, rungs };
    this.entries.set(id, entry);
    this.order.push(entry);
    return entry;
  }

  /** Whether the rule judges the trials (they wait for a verdict after each epoch but the last). */
  get judged(): boolean {
    return this.options.rule !== undefined;
  }

  /** At most how many more trials next() may name: those queued, and what an adaptive method may still propose. */
  get remaining(): number {
    if (this.reachedTarget) return 0;
    const search = this.options.adaptive;
    const proposable = search && !this.exhausted ? Math.max(0, search.maxTrials - this.order.length) : 0;
    return this.queue.length + proposable;
  }

  /** The next trial to train, or null when there is none (the search is done, or reached its target). */
  next(): NextTrial | null {
    if (this.reachedTarget) return null;
    const queued = this.queue.shift();
    if (queued) return { trial: queued, proposed: false };
    const search = this.options.adaptive;
    if (!search || this.exhausted || this.order.length >= search.maxTrials) return null;
    const history = this.history();
    const params = propose(search.method, {
      axes: search.axes,
      goal: this.options.metric.goal,
      seed: search.seed,
      startupTrials: search.startupTrials,
      history,
    });
    if (!params) {
      this.exhausted = true;
      return null;
    }
    const built = search.build(params);
    if (typeof built === 'string') {
      this.add(`skipped-${this.order.length}`, params, 'failed', []);
      return { skipped: params, problem: built };
    }
    const trial = this.options.adjust ? this.options.adjust(built) : built;
    // A proposal never repeats a trial of the history; a config equal to one (two values the
    // config treats alike) is that trial again: it is not trained twice.
    const same = this.entries.get(trial.id);
    if (same) {
      // Another spelling of a trial the search has (an edited file's trial without a parameter
      // that is now swept at its default): its result stands for these values too.
      this.add(`repeat-${this.order.length}`, params, same.state, [...same.values]);
      return this.next();
    }
    this.add(trial.id, params, 'pending', []);
    return { trial, proposed: true };
  }

  /** The method's view: every trial of this search, in the order proposed (sweep/resume.ts says which stored ones are). */
  private history(): Observation[] {
    return this.order.map((e) => ({ params: e.params, state: e.state, values: e.values }));
  }

  /** A trial (re)starts: its earlier attempt's results are dropped, as the store drops them. */
  started(id: string): void {
    const entry = this.entries.get(id);
    if (!entry) return;
    entry.state = 'pending';
    entry.values = [];
    entry.rungs = undefined;
  }

  epoch(id: string, metrics: EpochMetrics): void {
    const entry = this.entries.get(id);
    if (!entry) return;
    const value = metrics[this.options.metric.name];
    entry.values[metrics.epoch - 1] = Number.isFinite(value) ? value : Number.NaN;
    this.checkTarget(entry);
  }

  ended(id: string, status: string): void {
    const entry = this.entries.get(id);
    if (entry) entry.state = stateOf(status);
  }

  /** The rule's verdict on a running trial's latest epoch; null when the sweep has no rule. */
  judge(id: string): Verdict | null {
    const rule = this.options.rule;
    const entry = this.entries.get(id);
    if (!rule || !entry) return null;
    const verdict = decide(rule, this.options.metric, entry, this.order);
    if (verdict.rungs) entry.rungs = verdict.rungs;
    return verdict;
  }

  private checkTarget(entry: Entry): void {
    const { target, goal } = this.options.metric;
    if (target === undefined || this.reachedTarget) return;
    const hit = entry.values.find((v) => (goal === 'maximize' ? v >= target : v <= target));
    if (hit !== undefined) this.reachedTarget = { id: entry.id, value: hit };
  }
}
