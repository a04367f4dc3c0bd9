/**
 * Early-termination rules: hyperband against W&B's own tests (ported case by case), median and
 * asha against Debian's Optuna 3.1 (calls recorded by scripts/optuna-pruner-cases.py and replayed
 * here), and a few cases worked by hand so the semantics can be read off.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { decide, hyperbandBands, ruleText } from '../src/search/rules/index.js';
import type { EarlyTerminate } from '../src/search/types.js';
import { nanPercentile } from '../src/search/rules/median.js';
import type { Goal, RuleTrial, TrialState, Verdict } from '../src/search/types.js';
import { Random } from '../src/util/random.js';

const fixture = (name: string) => new URL(`./fixtures/${name}`, import.meta.url);

/** A trial; W&B's "running" is our pending, its "finished" our completed. */
const run = (id: string, state: 'running' | 'finished' | TrialState, values: number[], rungs?: Record<string, number>): RuleTrial => ({
  id,
  state: state === 'running' ? 'pending' : state === 'finished' ? 'completed' : state,
  values,
  ...(rungs ? { rungs } : {}),
});

/** W&B's stop_runs: the running runs the rule stops, each judged against all of them. */
function stopRuns(rule: EarlyTerminate, metric: { name: string; goal: Goal }, runs: RuleTrial[]): string[] {
  return runs.filter((r) => r.state === 'pending' && decide(rule, metric, r, runs).stop).map((r) => r.id);
}

/** A verdict's reason, or 'goes on'. */
const reasonOf = (v: Verdict) => (v.stop ? v.reason : 'goes on');
const loss = { name: 'loss', goal: 'minimize' } as const;
const range = (n: number) => Array.from({ length: n }, (_, i) => i);

describe("hyperband: W&B's tests/test_hyperband_stopping.py, case by case", () => {
  it('test_hyperband_min_iter_bands', () => {
    const rule: EarlyTerminate = { type: 'hyperband', min_iter: 3, eta: 3 };
    const runs = [run('run', 'running', range(4).map(() => 10)), run('run2', 'running', range(10).map((i) => 10 - i))];
    expect(stopRuns(rule, loss, runs)[0]).toBe('run');
    expect(hyperbandBands(rule).slice(0, 3)).toEqual([3, 9, 27]);
  });

  it('test_hyperband_min_iter_bands_max', () => {
    const rule: EarlyTerminate = { type: 'hyperband', min_iter: 3, eta: 3 };
    const runs = [run('run', 'running', range(4).map(() => 10)), run('run2', 'running', range(10).map((i) => 10 + i))];
    expect(stopRuns(rule, { name: 'accuracy', goal: 'maximize' }, runs)[0]).toBe('run');
    expect(hyperbandBands(rule).slice(0, 3)).toEqual([3, 9, 27]);
  });

  it('test_hyperband_max_iter_bands', () => {
    const rule: EarlyTerminate = { type: 'hyperband', max_iter: 81, eta: 3, s: 3 };
    const runs = [run('run', 'running', range(4).map(() => 10)), run('run2', 'running', range(10).map((i) => 10 - i))];
    expect(stopRuns(rule, loss, runs)[0]).toBe('run');
    expect(hyperbandBands(rule).slice(0, 3)).toEqual([3, 9, 27]);
  });

  it('test_init_from_max_iter', () => {
    const rule: EarlyTerminate = { type: 'hyperband', max_iter: 18, eta: 3, s: 2 };
    const runs = [run('run', 'running', range(4).map(() => 10)), run('run2', 'running', range(10).map((i) => 10 - i))];
    expect(stopRuns(rule, loss, runs)[0]).toBe('run');
    expect(hyperbandBands(rule)).toEqual([2, 6]);
  });

  it('test_single_run', () => {
    const rule: EarlyTerminate = { type: 'hyperband', max_iter: 18, eta: 3, s: 2, strict: false };
    expect(stopRuns(rule, loss, [run('run', 'running', range(10).map((i) => 10 - i))])).toEqual([]);
  });

  it('test_2runs_band1_pass', () => {
    const rule: EarlyTerminate = { type: 'hyperband', max_iter: 18, eta: 3, s: 2, strict: false };
    const runs = [run('run', 'running', [10, 10, 6]), run('run2', 'running', range(10).map((i) => 10 - i))];
    expect(stopRuns(rule, loss, runs)).toEqual([]);
  });

  it('test_5runs_band1_stop_2', () => {
    const rule: EarlyTerminate = { type: 'hyperband', max_iter: 5, eta: 2, s: 2 };
    const runs = [
      run('a', 'finished', [10, 9]), // not stopped: already ended
      run('b', 'running', [10, 10]), // stopped
      run('c', 'running', [10, 8, 8]),
      run('d', 'running', [10, 7, 7]),
      run('e', 'finished', [10, 6, 6]),
    ];
    expect(stopRuns(rule, loss, runs)).toEqual(['b']);
  });

  it('test_5runs_band1_stop_2_1stnoband', () => {
    const rule: EarlyTerminate = { type: 'hyperband', max_iter: 5, eta: 2, s: 2 };
    const runs = [
      run('a', 'finished', [10]),
      run('b', 'running', [11]), // stopped
      run('c', 'running', [10, 8, 8]), // passes band 1, not band 2
      run('d', 'running', [10, 7, 7]),
      run('e', 'finished', [10, 6, 6]),
    ];
    expect(stopRuns(rule, loss, runs)).toEqual(['b', 'c']);
  });

  it('test_eta_3', () => {
    const rule: EarlyTerminate = { type: 'hyperband', max_iter: 9, eta: 3, s: 2, strict: false };
    const runs = [
      run('a', 'finished', [9, 8]),
      run('b', 'running', [11, 11]), // stopped
      run('c', 'running', [10, 8, 3]), // fails the first cutoff but its best by band 3 passes
      run('d', 'running', [10, 7, 4]),
      run('e', 'running', [10, 6, 6]), // passes band 1, not band 3
    ];
    // Bands 1 and 3, cutoffs 7 and 4.
    expect(stopRuns(rule, loss, runs)).toEqual(['b', 'e']);
  });

  it('test_eta_3_max', () => {
    const rule: EarlyTerminate = { type: 'hyperband', max_iter: 9, eta: 3, s: 2, strict: false };
    const runs = [
      run('a', 'finished', [-10, -9]),
      run('b', 'running', [-11, -11]),
      run('c', 'running', [-10, -8, -5, -3]),
      run('d', 'running', [-10, -6, -2]),
      run('e', 'running', [-10, -6, -6, -6]),
    ];
    expect(stopRuns(rule, { name: 'loss', goal: 'maximize' }, runs)).toEqual(['b', 'e']);
  });

  it('test_hyperband_runs_with_bad_config', () => {
    // W&B raises for `early_terminate: hyperband` (a string, not a block); so do we, and for a
    // block with neither max_iter nor min_iter.
    expect(() => decide('hyperband' as unknown as EarlyTerminate, loss, run('a', 'running', [1]), [])).toThrow();
    expect(() => decide({ type: 'hyperband' }, loss, run('a', 'running', [1]), [])).toThrow(/max_iter|min_iter/);
  });

  it('test_hyperband_runs_with_nan_metrics', () => {
    const d = [
      6.214405059814453, 6.050266265869141, 5.525775909423828, 5.143455982208252, 4.64034366607666, 4.741260528564453, 4.611443519592285,
      4.968087673187256, 4.743710517883301, 4.415197849273682, 4.741386413574219, 5.067233085632324, 4.5482563972473145, 4.0536723136901855,
      4.09683895111084, 4.25504732131958, 4.438877582550049, 4.651344299316406, 3.8646578788757324, 4.26999568939209, 4.551799774169922,
      4.867758274078369, 4.54986572265625, 4.639401912689209, 4.570009231567383, 4.1927008628845215, 4.218729496002197, 4.279715538024902,
      4.14383602142334, 4.373849391937256, 4.477828025817871, 4.309680461883545, 4.336307048797607, 4.2981953620910645, 4.259463310241699,
      4.340827465057373, 4.13071870803833, 4.145589351654053, 4.247255802154541, 4.490720272064209, 4.3509697914123535, 4.2368855476379395,
      3.785416841506958, 4.1248555183410645, 4.16594123840332, 4.210123062133789, 4.134521007537842, 4.481637954711914, 3.8986079692840576,
      4.7607035636901855, 4.429342746734619, 4.2787957191467285, 4.423038482666016, 4.479197978973389, 4.2208333015441895, 4.325165748596191,
      4.398067951202393, 4.34964656829834, 4.7197394371032715, 4.056498050689697, 4.42212438583374,
    ];
    const e = [
      6.784717559814453, 5.467315196990967, 4.862574577331543, 5.149237155914307, 4.713217258453369, 4.645257472991943, 4.654730319976807,
      4.218390464782715, 4.540946960449219, 4.710428714752197, 4.327051162719727, 4.395434379577637, 4.212771892547607, 4.131608963012695,
      4.5795159339904785, 4.4573750495910645, 4.383418560028076, 4.822948455810547, 4.4155707359313965, 4.176084995269775, 4.340216636657715,
      4.1993794441223145, 4.623438835144043, 4.61974573135376, 4.306433200836182, 4.174667835235596, 4.4847493171691895, 3.8551318645477295,
      4.469892978668213, 4.2765727043151855, 4.316288948059082, 4.273141384124756, 4.58651876449585, 4.162075519561768, 4.0801591873168945,
      4.499518871307373, 4.574384689331055, 4.025749683380127, 4.137139320373535, 4.478872299194336, 4.130046367645264, 4.551371097564697,
      4.507683753967285, 4.316148281097412, 4.449378490447998, 4.43292236328125, 3.856088876724243, 3.8799805641174316, 4.233527660369873,
      4.096866607666016, 4.5571112632751465, 4.188418865203857, 3.938608407974243, 4.292693138122559, 4.055037021636963, 4.307272434234619,
      4.0329108238220215, 4.152763366699219, 4.2551350593566895, 3.7090814113616943, 4.495356559753418,
    ];
    // W&B's run c logs "NaN" 56 times after one value; ours are NaN numbers, dropped the same way.
    const runs = [
      run('c', 'running', [19.68895149230957, ...range(56).map(() => NaN)]),
      run('d', 'finished', d),
      run('e', 'finished', e),
    ];
    const rule: EarlyTerminate = { type: 'hyperband', s: 2, eta: 3, max_iter: 300 };
    expect(stopRuns(rule, { name: 'overall_eval_loss', goal: 'minimize' }, runs)).toEqual([]);
  });

  const data: number[][] = (parse(readFileSync(fixture('wandb-hyper-data.yaml'), 'utf8')) as { data: { metric: number }[][] }).data.map(
    (r) => r.map((d) => d.metric),
  );
  const metric = { name: 'metric', goal: 'maximize' } as const;

  it('test_hyperband_extensive_relaxed', () => {
    const rule: EarlyTerminate = { type: 'hyperband', min_iter: 30, eta: 1.5, strict: false };
    expect(hyperbandBands(rule).slice(0, 3)).toEqual([30, 45, 67]);
    const stopped = new Set<string>();
    const round = (length: number) => {
      const runs = data.flatMap((r, i) => (stopped.has(`${i}`) ? [] : [run(`${i}`, 'running', r.slice(0, length))]));
      const now = stopRuns(rule, metric, runs);
      now.forEach((n) => stopped.add(n));
      return now.length;
    };
    expect(round(30 + 2)).toBe(15);
    expect(round(45 + 2)).toBe(10);
    expect(round(Infinity)).toBe(5);
    expect(stopped.size).toBe(30);
  });

  // W&B's parametrized test: forward, and randomized (a seeded shuffle here) to show that order does not matter.
  for (const randomized of [false, true]) {
    it(`test_hyperband_extensive_strict[${randomized ? 'randomized' : 'forward'}]`, () => {
      let runsData = data;
      if (randomized) {
        const order = Float64Array.from(range(data.length));
        new Random(7).shuffle(order);
        runsData = Array.from(order, (i) => data[i]);
        expect(runsData).not.toEqual(data);
      }
      const eta = 1.5;
      const rule: EarlyTerminate = { type: 'hyperband', min_iter: 30, eta, strict: true };
      const correctStopped = (n: number) => Math.trunc(n * (1 - 1 / eta));
      let totalCorrect = 0;
      const stopped = new Set<string>();
      for (const band of [30, 45, 67]) {
        const runs = runsData.flatMap((r, i) => (stopped.has(`${i}`) ? [] : [run(`${i}`, 'running', r.slice(0, band + 5))]));
        const now = stopRuns(rule, metric, runs);
        const correct = correctStopped(runs.length);
        totalCorrect += correct;
        // W&B writes this check without an assert; it holds, so we assert it.
        expect(Math.abs(now.length - correct)).toBeLessThanOrEqual(1);
        now.forEach((n) => stopped.add(n));
      }
      expect(Math.abs(stopped.size - totalCorrect)).toBeLessThanOrEqual(1);
    });
  }
});

describe('hyperband, by hand', () => {
  const acc = { name: 'val_acc', goal: 'maximize' } as const;

  it('computes the bands from max_iter and s, or min_iter and eta (W&B makes 100 from min_iter)', () => {
    expect(hyperbandBands({ type: 'hyperband', max_iter: 10, s: 5 })).toEqual([1, 3]); // 10/3 = 3.3, 10/9 = 1.1, then below 1
    expect(hyperbandBands({ type: 'hyperband', min_iter: 1 }).slice(0, 4)).toEqual([1, 3, 9, 27]);
    expect(hyperbandBands({ type: 'hyperband', min_iter: 1 })).toHaveLength(100);
    expect(hyperbandBands({ type: 'hyperband', min_iter: 2, eta: 1.5 }).slice(0, 5)).toEqual([2, 3, 4, 6, 10]); // 2, 3, 4.5, 6.75, 10.125
    expect(hyperbandBands({ type: 'hyperband', max_iter: 27, min_iter: 1, s: 2 })).toEqual([3, 9]); // max_iter wins
    expect(() => hyperbandBands({ type: 'hyperband', max_iter: 27 })).toThrow(/needs s/);
    // No band, or eta below 1: W&B raises, and so do the rule and its summary.
    expect(hyperbandBands({ type: 'hyperband', max_iter: 2, s: 2, eta: 3 })).toEqual([]);
    expect(() => decide({ type: 'hyperband', max_iter: 2, s: 2, eta: 3 }, loss, run('a', 'running', [1]), [])).toThrow(/no band/);
    expect(() => ruleText({ type: 'hyperband', min_iter: 2, eta: 0.5 })).toThrow(/eta/);
  });

  it('cuts at sorted(values at the band)[int(len / eta)], counting every trial in any state', () => {
    // Band 3 (bands 1, 3, 9). At epoch 3, best first: 0.96 0.95 0.94 | 0.93 0.92 0.91; int(6/3) = 2
    // picks 0.94: a trial at band 3 goes on with 0.94 or better.
    const rule: EarlyTerminate = { type: 'hyperband', min_iter: 1 };
    const others = [
      run('a', 'completed', [0.5, 0.7, 0.96, 0.97]),
      run('b', 'pruned', [0.5, 0.7, 0.95]),
      run('c', 'failed', [0.5, 0.7, 0.92]),
      run('d', 'running', [0.5, 0.7, 0.91]),
    ];
    const judged = (v: number) => run('x', 'running', [0.5, 0.7, v]);
    const verdict = (v: number) => {
      const x = judged(v);
      const trials = [...others, x, run('y', 'running', [0.5, 0.7, v === 0.94 ? 0.93 : 0.94])];
      return decide(rule, acc, x, trials);
    };
    expect(verdict(0.94).stop).toBe(false);
    expect(verdict(0.93)).toEqual({ stop: true, reason: 'val_acc 0.93 at epoch 3 below the band cutoff 0.94 (band 3)' });
    // Only running trials are stopped: c (failed) is behind the cutoff like d, and stays as it is.
    expect(decide(rule, acc, others[3], others).stop).toBe(true);
    expect(decide(rule, acc, others[2], others).stop).toBe(false);
  });

  it('judges at the last band reached; strict compares the value there, not strict the best so far', () => {
    const rule: EarlyTerminate = { type: 'hyperband', min_iter: 1, eta: 2 }; // bands 1, 2, 4, 8
    const vloss = { name: 'val_loss', goal: 'minimize' } as const;
    const a = run('a', 'completed', [1.0, 0.5, 0.45, 0.4, 0.38]);
    const x = run('x', 'running', [0.9, 0.41, 0.6]); // at band 2 (epoch 3 is before band 4)
    expect(decide(rule, vloss, x, [a, x]).stop).toBe(false); // 0.41 ≤ cutoff sorted([0.5, 0.41])[1] = 0.5
    const y = run('y', 'running', [0.9, 0.41, 0.6, 0.45]); // band 4: sorted([0.4, 0.45])[1] = 0.45
    expect(decide(rule, vloss, y, [a, y]).stop).toBe(false);
    const z = run('z', 'running', [0.9, 0.41, 0.6, 0.46]);
    expect(reasonOf(decide(rule, vloss, z, [a, z, y]))).toBe('val_loss 0.46 at epoch 4 above the band cutoff 0.45 (band 4)');
    // Not strict: z's best value by now, 0.41 (epoch 2), against the same cutoff 0.45: goes on.
    const loose: EarlyTerminate = { ...rule, strict: false };
    expect(decide(loose, vloss, z, [a, z, y]).stop).toBe(false);
    // Two more trials at band 4: sorted([0.4, 0.46, 0.38, 0.39])[int(4/2)] = 0.4, and 0.41 is worse.
    const w = run('w', 'running', [0.9, 0.41, 0.6, 0.38]);
    const v = run('v', 'running', [0.9, 0.41, 0.6, 0.39]);
    expect(reasonOf(decide(loose, vloss, z, [a, z, w, v]))).toBe('best val_loss 0.41 by epoch 4 above the band cutoff 0.4 (band 4)');
  });

  it('drops NaN epochs before indexing, as W&B filters invalid values', () => {
    const rule: EarlyTerminate = { type: 'hyperband', min_iter: 2, eta: 2 }; // bands 2, 4, …
    const a = run('a', 'completed', [0.5, 0.9, 0.9]);
    const b = run('b', 'completed', [0.5, 0.8]);
    const x = run('x', 'running', [0.5, NaN, 0.6]); // its 2nd finite value is epoch 3's
    // Band 2: 0.9, 0.8, 0.6; int(3/2) = 1 picks 0.8.
    expect(decide(rule, acc, x, [a, b, x])).toEqual({
      stop: true,
      reason: 'val_acc 0.6 at epoch 3 below the band cutoff 0.8 (band 2, the 2nd finite value: 1 non-finite skipped)',
    });
    const y = run('y', 'running', [0.1, NaN]); // one finite value: no band reached yet
    expect(decide(rule, acc, y, [a, b, y]).stop).toBe(false);
  });
});

describe("median and asha: Optuna 3.1's own decisions, replayed", () => {
  interface Case {
    name: string;
    rule: EarlyTerminate;
    goal: Goal;
    curves: (number | null)[][];
    events: [number, number, number | string, number?][];
  }
  const file = JSON.parse(readFileSync(fixture('optuna-pruner-cases.json'), 'utf8')) as { optuna: string; cases: Case[] };
  const ends: Record<string, TrialState> = { c: 'completed', p: 'pruned', f: 'failed' };

  /** Replays a study: every should_prune call through decide(); returns the calls that differ. */
  function replay(c: Case): { calls: number; pruned: number; differences: string[] } {
    const curves = c.curves.map((curve) => curve.map((v) => (v === null ? NaN : v)));
    const trials: RuleTrial[] = [];
    const byNumber = new Map<number, RuleTrial>();
    const differences: string[] = [];
    let calls = 0;
    let pruned = 0;
    for (const [number, step, what, rungCount] of c.events) {
      let trial = byNumber.get(number);
      if (!trial) {
        trial = { id: `trial ${number}`, state: 'pending', values: [] };
        byNumber.set(number, trial);
        trials.push(trial);
      }
      trial.values = curves[number].slice(0, step);
      if (typeof what === 'string') {
        trial.state = ends[what];
        continue;
      }
      calls++;
      pruned += what;
      const before = { ...trial.rungs };
      const verdict = decide(c.rule, { name: 'metric', goal: c.goal }, trial, trials);
      if (verdict.rungs) trial.rungs = verdict.rungs;
      const at = `trial ${number} epoch ${step}`;
      if (Number(verdict.stop) !== what) differences.push(`${at}: Optuna ${what ? 'prunes' : 'goes on'}, decide() ${verdict.stop ? 'stops' : 'goes on'}`);
      if (verdict.stop && !verdict.reason.includes(`epoch ${step}`)) differences.push(`${at}: reason "${verdict.reason}"`);
      if (rungCount !== undefined) {
        const rungs = trial.rungs ?? {};
        if (Object.keys(rungs).length !== rungCount) differences.push(`${at}: Optuna has ${rungCount} rungs, decide() ${Object.keys(rungs).length}`);
        // What a call records is the value at the epoch it was asked at.
        for (const [k, v] of Object.entries(rungs)) {
          if (!(k in before) && v !== trial.values[step - 1]) differences.push(`${at}: rung ${k} recorded ${v}`);
        }
      }
    }
    return { calls, pruned, differences };
  }

  it(`reads ${file.cases.length} studies recorded with Optuna ${file.optuna}`, () => {
    expect(file.cases.length).toBeGreaterThanOrEqual(100);
    const kinds = new Set(file.cases.map((c) => `${c.rule.type} ${c.goal} ${c.name.includes('interleaved') ? 'interleaved' : 'sequential'}`));
    expect(kinds.size).toBe(8);
  });

  for (const c of file.cases) {
    it(c.name, () => {
      const { calls, pruned, differences } = replay(c);
      expect(differences).toEqual([]);
      expect(calls).toBeGreaterThan(0);
      // Every case is replayed in full; most prune something.
      expect(pruned).toBeLessThanOrEqual(calls);
    });
  }

  it('prunes in a good share of the calls across the cases (the replay tests something)', () => {
    const totals = file.cases.map(replay).reduce((a, r) => ({ calls: a.calls + r.calls, pruned: a.pruned + r.pruned }), { calls: 0, pruned: 0 });
    expect(totals.pruned).toBeGreaterThan(100);
    expect(totals.calls - totals.pruned).toBeGreaterThan(1000);
  });
});

describe('median, by hand', () => {
  const acc = { name: 'val_acc', goal: 'maximize' } as const;
  const rule: EarlyTerminate = { type: 'median' };
  /** Completed trials whose epoch-3 values are `at3` (epochs 1 and 2 at 0.5). */
  const completed = (at3: number[]) => at3.map((v, i) => run(`c${i}`, 'completed', [0.5, 0.5, v, 0.99]));

  it('prunes when the best value so far is worse than the median of the completed trials at that epoch', () => {
    const done = completed([0.91, 0.93, 0.94, 0.95, 0.96]); // median 0.94
    const x = run('x', 'running', [0.2, 0.935, 0.93]); // best 0.935
    expect(decide(rule, acc, x, [...done, x])).toEqual({
      stop: true,
      reason: 'best val_acc 0.935 by epoch 3 below the median 0.94 of 5 completed trials at epoch 3',
    });
    const y = run('y', 'running', [0.2, 0.94, 0.1]); // the best counts, not the latest: 0.94 is not below
    expect(decide(rule, acc, y, [...done, y]).stop).toBe(false);
  });

  it('counts completed trials only, and waits for n_startup_trials of them', () => {
    const done = completed([0.91, 0.93, 0.94, 0.95]);
    const others = [run('p', 'pruned', [0.9, 0.99, 0.99]), run('r', 'running', [0.9, 0.99, 0.99])];
    const x = run('x', 'running', [0.2, 0.3, 0.4]);
    expect(decide(rule, acc, x, [...done, ...others, x]).stop).toBe(false); // 4 completed < 5
    expect(decide({ ...rule, n_startup_trials: 4 }, acc, x, [...done, ...others, x]).stop).toBe(true);
  });

  it('checks from epoch n_warmup_steps, then every interval_steps epochs', () => {
    const done = range(5).map((i) => run(`c${i}`, 'completed', range(10).map(() => 0.9)));
    const checked = (settings: Partial<EarlyTerminate>) =>
      range(9)
        .map((e) => e + 1)
        .filter((epoch) => {
          const x = run('x', 'running', range(epoch).map(() => 0.1));
          return decide({ ...rule, ...settings }, acc, x, [...done, x]).stop;
        });
    expect(checked({})).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9]);
    expect(checked({ n_warmup_steps: 2, interval_steps: 3 })).toEqual([2, 5, 8]);
    // Optuna's grid starts at step 0, and a trial's first report is the first in its interval [0, 4).
    expect(checked({ n_warmup_steps: 0, interval_steps: 4 })).toEqual([1, 4, 8]);
  });

  it('needs n_min_trials completed trials that reached the epoch', () => {
    const done = [...completed([0.91, 0.93, 0.94]), run('short1', 'completed', [0.9, 0.9]), run('short2', 'completed', [0.9, 0.9])];
    const x = run('x', 'running', [0.2, 0.3, 0.4]);
    expect(decide({ ...rule, n_min_trials: 3 }, acc, x, [...done, x]).stop).toBe(true);
    expect(decide({ ...rule, n_min_trials: 4 }, acc, x, [...done, x]).stop).toBe(false);
  });

  it('ignores NaN in the median; prunes a trial whose every value is NaN', () => {
    const done = completed([0.91, NaN, 0.95, 0.96, NaN]); // median of 0.91 0.95 0.96
    const x = run('x', 'running', [NaN, 0.5, 0.94]);
    expect(reasonOf(decide(rule, acc, x, [...done, x]))).toBe('best val_acc 0.94 by epoch 3 below the median 0.95 of 3 completed trials at epoch 3');
    const y = run('y', 'running', [NaN, NaN, NaN]);
    expect(reasonOf(decide(rule, acc, y, [...done, y]))).toBe('no val_acc value yet: NaN at every epoch up to epoch 3');
  });

  it("takes numpy's median: linear interpolation, with _lerp's t >= 0.5 branch", () => {
    expect(nanPercentile([0.4, 0.1, 0.3, 0.2], 50)).toBe(0.25);
    expect(nanPercentile([3, NaN, 1, 2], 50)).toBe(2);
    expect(nanPercentile([7], 50)).toBe(7);
    expect(nanPercentile([NaN], 50)).toBeNaN();
    expect(nanPercentile([1, 2, 3, 4, 5], 10)).toBeCloseTo(1.4, 12);
    // b − (b − a)·0.5, which is neither a + (b − a)·0.5 nor (a + b)/2 here (numpy 1.24 gives ...823).
    const [a, b] = [-943.3050469559873, -2.2038238595773185];
    expect(nanPercentile([a, b], 50)).toBe(-472.7544354077823);
    expect(a + (b - a) * 0.5).toBe(-472.75443540778235);
  });

  it('for a minimize metric, prunes above the median', () => {
    const vloss = { name: 'val_loss', goal: 'minimize' } as const;
    const done = completed([0.3, 0.4, 0.5, 0.6, 0.7, 0.8]); // median 0.55
    const x = run('x', 'running', [0.9, 0.7, 0.56]);
    expect(reasonOf(decide(rule, vloss, x, [...done, x]))).toBe('best val_loss 0.56 by epoch 3 above the median 0.55 of 6 completed trials at epoch 3');
  });
});

describe('asha, by hand', () => {
  const acc = { name: 'val_acc', goal: 'maximize' } as const;
  // Rungs at 1, 4, 16 epochs.
  const rule: EarlyTerminate = { type: 'asha', min_resource: 1 };

  it('records the value at each rung reached and keeps the top 1/reduction_factor', () => {
    // Seven trials (any state) recorded these at rung 1 (epoch 4); with the judged one, 8: the top 2 go on.
    const atRung1 = [0.9, 0.91, 0.92, 0.93, 0.94, 0.955, 0.96];
    const others = atRung1.map((v, i) => run(`t${i}`, i % 2 ? 'completed' : 'pruned', [0.5, 0.6, 0.7, v], { 0: 0.5, 1: v }));
    const x = run('x', 'running', [0.5, 0.6, 0.7, 0.95], { 0: 0.5 });
    expect(decide(rule, acc, x, [...others, x])).toEqual({
      stop: true,
      reason: 'val_acc 0.95 at epoch 4 not in the top 1/4 of rung 1 (needed 0.955 among 8 trials)',
      rungs: { 0: 0.5, 1: 0.95 },
    });
    const y = run('y', 'running', [0.5, 0.6, 0.7, 0.96], { 0: 0.5 });
    expect(decide(rule, acc, y, [...others, y])).toEqual({ stop: false, rungs: { 0: 0.5, 1: 0.96 } });
    // Between rungs nothing is recorded or judged.
    const z = run('z', 'running', [0.5, 0.6, 0.1], { 0: 0.5 });
    expect(decide(rule, acc, z, [...others, z])).toEqual({ stop: false });
  });

  it('while fewer than reduction_factor trials reached a rung, only the best so far goes on', () => {
    const a = run('a', 'completed', [0.8, 0.9], { 0: 0.8 });
    const x = run('x', 'running', [0.7]);
    expect(decide(rule, acc, x, [a, x])).toEqual({
      stop: true,
      reason: 'val_acc 0.7 at epoch 1 not the best at rung 0 (needed 0.8 among 2 trials, fewer than 4)',
      rungs: { 0: 0.7 },
    });
  });

  it('passes several rungs in one call when it is asked late, recording the current value at each', () => {
    const loose: EarlyTerminate = { type: 'asha', min_resource: 1, reduction_factor: 2 }; // rungs at 1, 2, 4
    const a = run('a', 'completed', [0.1, 0.2, 0.3, 0.4, 0.5]); // no rungs: it ran before the rule was on
    const x = run('x', 'running', [0.3, 0.4, 0.5, 0.6]);
    expect(decide(loose, acc, x, [a, x])).toEqual({ stop: false, rungs: { 0: 0.6, 1: 0.6, 2: 0.6 } });
  });

  it("min_resource auto: max(1, epochs of the longest completed trial // 100); none completed: no pruning, nothing recorded", () => {
    const auto: EarlyTerminate = { type: 'asha' };
    const x = run('x', 'running', [0.1]);
    const y = run('y', 'running', [0.9], { 0: 0.9 });
    expect(decide(auto, acc, x, [y, x])).toEqual({ stop: false });
    const done = run('d', 'completed', range(250).map(() => 0.5)); // min_resource 2: rungs at 2, 8, …
    expect(decide(auto, acc, x, [y, done, x])).toEqual({ stop: false });
    const x2 = run('x', 'running', [0.1, 0.2]);
    expect(decide(auto, acc, x2, [y, done, x2]).stop).toBe(true);
  });

  it('min_early_stopping_rate moves the first rung to min_resource × reduction_factor^rate; NaN there prunes', () => {
    const later: EarlyTerminate = { type: 'asha', min_resource: 1, reduction_factor: 3, min_early_stopping_rate: 1 }; // rungs at 3, 9
    const x = run('x', 'running', [NaN, NaN]);
    expect(decide(later, acc, x, [x])).toEqual({ stop: false });
    const y = run('y', 'running', [NaN, NaN, NaN]);
    expect(decide(later, acc, y, [y])).toEqual({ stop: true, reason: 'val_acc NaN at epoch 3, reaching rung 0' });
  });

  it('for a minimize metric, keeps the lowest', () => {
    const vloss = { name: 'val_loss', goal: 'minimize' } as const;
    const others = range(3).map((i) => run(`t${i}`, 'completed', [0.3 + i / 10], { 0: 0.3 + i / 10 }));
    const x = run('x', 'running', [0.45]);
    expect(reasonOf(decide(rule, vloss, x, [...others, x]))).toBe('val_loss 0.45 at epoch 1 not in the top 1/4 of rung 0 (needed 0.3 among 4 trials)');
  });
});

describe('reasons and summaries', () => {
  it('each reason names the metric, the epoch and the figures compared', () => {
    const cases: [EarlyTerminate, RuleTrial[], RegExp][] = [
      [{ type: 'hyperband', min_iter: 2 }, [run('a', 'completed', [0.1, 0.95, 0.2]), run('b', 'completed', [0.1, 0.9]), run('x', 'running', [0.1, 0.123456])], /^acc 0\.1235 at epoch 2 below the band cutoff 0\.9 \(band 2\)$/],
      [{ type: 'median', n_startup_trials: 1 }, [run('a', 'completed', [0.912345678, 0.9]), run('x', 'running', [0.9123])], /^best acc 0\.9123 by epoch 1 below the median 0\.91235 of 1 completed trial at epoch 1$/],
      [{ type: 'asha', min_resource: 1 }, [run('a', 'completed', [12345.6], { 0: 12345.6 }), run('x', 'running', [9.87654])], /^acc 9\.877 at epoch 1 not the best at rung 0 \(needed 12350 among 2 trials, fewer than 4\)$/],
    ];
    for (const [rule, trials, reason] of cases) {
      const verdict = decide(rule, { name: 'acc', goal: 'maximize' }, trials[trials.length - 1], trials);
      expect(reasonOf(verdict)).toMatch(reason);
    }
  });

  it('sums up each rule with its defaults filled in', () => {
    expect(ruleText({ type: 'hyperband', min_iter: 1 })).toBe('hyperband (bands 1, 3, 9, 27, …; eta 3, strict)');
    expect(ruleText({ type: 'hyperband', max_iter: 27, s: 2, strict: false })).toBe('hyperband (bands 3, 9; eta 3, not strict: best value so far)');
    expect(ruleText({ type: 'median' })).toBe('median (n_startup_trials 5, n_warmup_steps 0, interval_steps 1, n_min_trials 1)');
    expect(ruleText({ type: 'median', n_warmup_steps: 2 })).toBe('median (n_startup_trials 5, n_warmup_steps 2, interval_steps 1, n_min_trials 1)');
    expect(ruleText({ type: 'asha' })).toBe('asha (min_resource auto, reduction_factor 4, min_early_stopping_rate 0)');
    expect(ruleText({ type: 'asha', min_resource: 2, reduction_factor: 3 })).toBe('asha (min_resource 2, reduction_factor 3, min_early_stopping_rate 0)');
    expect(() => ruleText({ type: 'asha', reduction_factor: 1 })).toThrow(/reduction_factor/);
  });
});
