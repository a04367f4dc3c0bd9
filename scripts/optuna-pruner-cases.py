#!/usr/bin/python3
"""
Writes test/fixtures/optuna-pruner-cases.json: what Optuna's own MedianPruner and
SuccessiveHalvingPruner decide on seeded synthetic studies, for test/rules.test.ts to replay
through src/search/rules (the median and asha rules must decide the same at every call).

Run with Debian's Python, which has python3-optuna (3.1) and numpy:

    /usr/bin/python3 scripts/optuna-pruner-cases.py

Each case is a study of synthetic learning curves (rising for maximize, falling for minimize;
noise, rounding that makes ties, NaN epochs, diverged tails, trials that fail midway) run as this
project runs trials: epochs are steps 1, 2, …; after every epoch but a trial's last, the value is
reported and should_prune asked; a trial that reaches its last epoch is told its last value
(a NaN there makes Optuna fail it). Trials run one after another (sequential) or several at a
time with their epochs interleaved in a seeded order (study.ask / trial.report / should_prune /
study.tell). Every call is recorded, in order.

Fixture format: {"optuna", "numpy", "cases": [{name, rule, goal, curves, events}]}, where rule
is this project's early_terminate block, curves[i] the values of trial number i by epoch (NaN
written as null), and events, in order, either [trial, step, decision] for a should_prune call
(decision 0 or 1; asha adds the number of completed_rung_k attributes the trial has after the
call) or [trial, step, end] when a trial ends after reporting `step` epochs, end being "c"
(complete), "p" (pruned) or "f" (failed).
"""
import json
import math
import os
import random
import sys
import warnings

import numpy as np
import optuna
from optuna.trial import TrialState

optuna.logging.set_verbosity(optuna.logging.ERROR)
warnings.filterwarnings("ignore")  # "The value nan is not acceptable", all-NaN slices

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "test", "fixtures", "optuna-pruner-cases.json")


def make_pruner(rule):
    keys = {k: v for k, v in rule.items() if k != "type"}
    if rule["type"] == "median":
        return optuna.pruners.MedianPruner(**keys)
    return optuna.pruners.SuccessiveHalvingPruner(**keys)


def run_study(rule, goal, curves, fail_at, concurrency, rng):
    """Runs the trials through Optuna and returns the event list."""
    study = optuna.create_study(direction=goal, pruner=make_pruner(rule))
    asha = rule["type"] == "asha"
    events = []
    running = {}  # trial number -> [Trial, epochs reported]
    next_trial = 0
    while next_trial < len(curves) or running:
        while len(running) < concurrency and next_trial < len(curves):
            trial = study.ask()
            assert trial.number == next_trial
            running[next_trial] = [trial, 0]
            next_trial += 1
        i = rng.choice(sorted(running))
        trial, done = running[i]
        step = done + 1
        value = curves[i][step - 1]
        trial.report(value, step)
        running[i][1] = step
        if fail_at[i] == step:  # diverged or interrupted: ends without a result
            study.tell(trial, state=TrialState.FAIL)
            events.append([i, step, "f"])
            del running[i]
            continue
        if step == len(curves[i]):  # the last epoch: no should_prune, the trial completes
            study.tell(trial, value)
            state = study._storage.get_trial(trial._trial_id).state
            events.append([i, step, "c" if state == TrialState.COMPLETE else "f"])
            del running[i]
            continue
        prune = trial.should_prune()
        event = [i, step, int(prune)]
        if asha:
            attrs = study._storage.get_trial_system_attrs(trial._trial_id)
            event.append(sum(1 for k in attrs if k.startswith("completed_rung_")))
        events.append(event)
        if prune:
            study.tell(trial, state=TrialState.PRUNED)
            events.append([i, step, "p"])
            del running[i]
    return events


def make_curves(rng, goal, n_trials, epochs, vary_epochs, decimals, nan_rate, style):
    curves = []
    for _ in range(n_trials):
        n = epochs - (rng.randint(0, min(3, epochs - 1)) if vary_epochs else 0)
        quality = rng.random()
        tau = rng.uniform(0.5, 4)
        noise = rng.choice([0.0, 0.01, 0.05])
        curve = []
        for e in range(1, n + 1):
            if style == "flat":  # every trial near the same value: ties everywhere
                v = 0.5 + rng.choice([-0.1, 0.0, 0.0, 0.1])
            elif goal == "maximize":
                v = quality * (1 - math.exp(-e / tau)) + noise * rng.gauss(0, 1)
            else:
                v = (1.2 - quality) + math.exp(-e / tau) + noise * rng.gauss(0, 1)
            if decimals is not None:
                v = round(v, decimals)
            curve.append(v)
        r = rng.random()
        if nan_rate and r < nan_rate:  # NaN epochs here and there
            for e in range(n):
                if rng.random() < 0.3:
                    curve[e] = math.nan
        elif nan_rate and r < 2 * nan_rate:  # diverged: NaN from some epoch on
            start = rng.randint(0, n - 1)
            curve[start:] = [math.nan] * (n - start)
        curves.append(curve)
    return curves


def median_rule(rng):
    rule = {"type": "median"}
    if rng.random() < 0.8:
        rule["n_startup_trials"] = rng.choice([0, 1, 2, 3, 5])
    if rng.random() < 0.5:
        rule["n_warmup_steps"] = rng.choice([0, 1, 2, 3, 4])
    if rng.random() < 0.5:
        rule["interval_steps"] = rng.choice([1, 2, 3])
    if rng.random() < 0.4:
        rule["n_min_trials"] = rng.choice([1, 2, 3, 4])
    return rule


def asha_rule(rng):
    rule = {"type": "asha"}
    if rng.random() < 0.8:
        rule["min_resource"] = rng.choice([1, 1, 2, 3, "auto"])
    if rng.random() < 0.8:
        rule["reduction_factor"] = rng.choice([2, 3, 4])
    if rng.random() < 0.4:
        rule["min_early_stopping_rate"] = rng.choice([0, 1])
    return rule


def random_case(seed, kind):
    rng = random.Random(seed)
    rule = median_rule(rng) if kind == "median" else asha_rule(rng)
    goal = rng.choice(["maximize", "minimize"])
    n_trials = rng.randint(5, 16)
    epochs = rng.randint(3, 13)
    vary = rng.random() < 0.25
    decimals = rng.choice([None, 4, 2, 1])
    nan_rate = rng.choice([0, 0, 0.05, 0.15])
    style = "flat" if rng.random() < 0.1 else "curve"
    curves = make_curves(rng, goal, n_trials, epochs, vary, decimals, nan_rate, style)
    fail_at = [rng.randint(1, len(c)) if rng.random() < 0.07 else None for c in curves]
    concurrency = rng.choice([1, 1, 2, 3, 5])
    events = run_study(rule, goal, curves, fail_at, concurrency, rng)
    mode = "sequential" if concurrency == 1 else f"interleaved x{concurrency}"
    return {"name": f"{kind} seed {seed}, {goal}, {mode}", "rule": rule, "goal": goal, "curves": curves, "events": events}


def lerp_cases():
    """
    Median cases where numpy's median of two values, b − (b − a)·0.5, differs in the last bit from
    a + (b − a)·0.5 and (a + b)/2, and the judged trial sits exactly between: only the exact
    formula decides as Optuna does.
    """
    cases = []
    for goal, (a, b) in [("minimize", (-943.3050469559873, -2.2038238595773185)),
                         ("maximize", (0.000524560164915884, 0.0391665733536887))]:
        m = float(np.nanpercentile(np.array([a, b]), 50))
        naive = a + (b - a) * 0.5
        assert m != naive
        # minimize prunes above the median, maximize below: put the judged value on the edge
        # that flips the verdict if the median is computed the naive way.
        judged = m if goal == "minimize" else naive
        curves = [[a, a], [b, b], [judged, judged], [judged, judged]]
        rule = {"type": "median", "n_startup_trials": 2}
        events = run_study(rule, goal, curves, [None] * 4, 1, random.Random(0))
        cases.append({"name": f"median lerp edge, {goal}", "rule": rule, "goal": goal, "curves": curves, "events": events})
    return cases


def long_auto_case():
    """asha with min_resource auto and 230 epochs: Optuna estimates min_resource 230 // 100 = 2."""
    rng = random.Random(99)
    curves = make_curves(rng, "maximize", 4, 230, False, 4, 0, "curve")
    rule = {"type": "asha", "min_resource": "auto", "reduction_factor": 3}
    events = run_study(rule, "maximize", curves, [None] * 4, 2, rng)
    return {"name": "asha auto over 230 epochs, interleaved x2", "rule": rule, "goal": "maximize", "curves": curves, "events": events}


def main():
    cases = []
    for seed in range(1, 51):
        cases.append(random_case(seed, "median"))
    for seed in range(1, 51):
        cases.append(random_case(1000 + seed, "asha"))
    cases += lerp_cases()
    cases.append(long_auto_case())

    def clean(x):
        if isinstance(x, float) and math.isnan(x):
            return None
        if isinstance(x, list):
            return [clean(y) for y in x]
        if isinstance(x, dict):
            return {k: clean(v) for k, v in x.items()}
        return x

    lines = [json.dumps(clean(c), separators=(",", ":"), allow_nan=False) for c in cases]
    head = json.dumps({"optuna": optuna.__version__, "numpy": np.__version__})[:-1]
    with open(OUT, "w") as f:
        f.write(head + ', "cases": [\n' + ",\n".join(lines) + "\n]}\n")
    calls = sum(1 for c in cases for e in c["events"] if not isinstance(e[2], str))
    pruned = sum(1 for c in cases for e in c["events"] if e[2] == 1)
    print(f"{len(cases)} cases, {calls} should_prune calls ({pruned} pruned), {os.path.getsize(OUT)} bytes -> {os.path.relpath(OUT)}", file=sys.stderr)


if __name__ == "__main__":
    main()
