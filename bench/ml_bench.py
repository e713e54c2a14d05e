"""Benchmarks for the scikit-learn wrappers and the fallback predictor (issues 6 and 12).

    python bench/ml_bench.py                  # 1,000,000 rows x 50 rules; a few minutes on 2 cores
    python bench/ml_bench.py --rows 100000
    python bench/ml_bench.py --only deadline --deadline-cases 2000 --deadline-ms 20

Prints:
- RuleFeatures.transform against RuleSet.matches alone, on a seeded synthetic rule set (50 rules over 20 features,
  written in the rule language and compiled like any other rule set);
- FallbackPredictor's overhead per case with a fast primary, and the p50/p99 latency with a slow primary
  (a model that sleeps 50 ms, deadline 10 ms);
- "deadline": the fallback rate and answer p50/p99 under a deadline (default 20 ms) for three primaries, each with
  the share of its own calls slower than the deadline (the least fallback rate possible): an I/O-bound primary
  (sleeps a log-normal time, median 6 ms), a scikit-learn pipeline (one-hot + HistGradientBoosting, one-row
  predict) on threads with the defaults (and with a 1 ms GIL switch interval), and the same pipeline in worker
  processes (processes=2). One caller,
  cases back to back, after a warm-up. Target, when the primary's median is below the deadline: fallback rate
  within 2 points of that share, p99 at most deadline + 2 ms.
"""
from __future__ import annotations

import argparse
import math
import random
import statistics
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import rules_dsl  # noqa: E402
from rules_dsl.ml import (  # noqa: E402
    FallbackPredictor,  # noqa: E402
    LatencyRouter,  # noqa: E402
    RuleFeatures,
    RulePredictor,
)
from rules_dsl.ruleset import RuleSet, compile_rule  # noqa: E402

NUMBERS = [f"f{i:02d}" for i in range(1, 16)]          # 15 numeric features, values 0..100
CATEGORIES = [f"c{i:02d}" for i in range(1, 6)]       # 5 categorical features, values a..e
VALUES = ["a", "b", "c", "d", "e"]


def synthetic_ruleset(n_rules: int = 50, seed: int = 0) -> RuleSet:
    """A seeded rule set over 20 features (15 numbers, 5 categories), built from rule texts like an author's."""
    rng = random.Random(seed)
    vocabulary = rules_dsl.Vocabulary.from_dict({"features": {
        **{name: {"type": "number", "range": [0, 100]} for name in NUMBERS},
        **{name: {"type": "category", "values": VALUES} for name in CATEGORIES},
    }})
    settings = rules_dsl.Settings.from_dict({"title": "Synthetic", "outcome": {"name": "risk",
                                             "labels": ["low", "medium", "high"]},
                                             "policy": "weighted vote", "default": "low"})

    def comparison() -> str:
        if rng.random() < 0.7:
            name, threshold = rng.choice(NUMBERS), rng.randint(5, 95)
            kind = rng.choice(["above", "below", "at least", "at most", "between"])
            if kind == "between":
                return f"{name} is between {threshold - 5} and {min(threshold + 20, 100)}"
            return f"{name} is {kind} {threshold}"
        name = rng.choice(CATEGORIES)
        if rng.random() < 0.5:
            return f'{name} is "{rng.choice(VALUES)}"'
        return f"{name} is one of " + ", ".join(f'"{v}"' for v in rng.sample(VALUES, 2))

    rules = []
    for i in range(n_rules):
        shape = rng.random()
        if shape < 0.5:
            condition = " and ".join(comparison() for _ in range(rng.randint(1, 3)))
        elif shape < 0.8:
            condition = f"({comparison()} or {comparison()}) and {comparison()}"
        else:
            condition = f"at least 2 of ({comparison()}, {comparison()}, {comparison()})"
        label = rng.choice(["low", "medium", "high"])
        text = (f'rule "Synthetic rule {i:02d}"\nwhen {condition}\n'
                f'then risk is "{label}" with confidence {rng.choice([0.6, 0.7, 0.8, 0.9])}')
        rules.append(compile_rule(text, vocabulary, settings, rule_id=f"rule-{i:02d}"))
    return RuleSet(settings, vocabulary, rules, id="synthetic")


def synthetic_data(rows: int, seed: int = 0, missing: float = 0.02) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    data = {}
    for name in NUMBERS:
        x = rng.uniform(0, 100, rows)
        x[rng.random(rows) < missing] = np.nan
        data[name] = x
    for name in CATEGORIES:
        codes = rng.integers(0, len(VALUES), rows)
        data[name] = pd.Categorical.from_codes(codes, VALUES)
    return pd.DataFrame(data)


def best_of(function, repeat: int) -> float:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        function()
        times.append(time.perf_counter() - start)
    return min(times)


def bench_transform(rows: int, n_rules: int, repeat: int) -> None:
    ruleset = synthetic_ruleset(n_rules)
    frame = synthetic_data(rows)
    print(f"== RuleFeatures.transform, {rows:,} rows x {len(ruleset.rule_ids)} rules over 20 features "
          f"(best of {repeat}, interleaved, rotated)")
    cases = {"RuleSet.matches": lambda: ruleset.matches(frame)}
    for label, features in [("RuleFeatures.transform", RuleFeatures(ruleset)),
                            ("  .set_output(transform='pandas')", RuleFeatures(ruleset).set_output(transform="pandas")),
                            ("  counts=True, votes=True (float64)", RuleFeatures(ruleset, counts=True, votes=True))]:
        features.fit(frame.iloc[:10])
        cases[label] = lambda features=features: features.transform(frame)
    best = {label: float("inf") for label in cases}
    labels = list(cases)
    for round_ in range(repeat):  # interleaved and rotated, so neither load nor order favours a case
        for label in labels[round_ % len(labels):] + labels[:round_ % len(labels)]:
            start = time.perf_counter()
            cases[label]()
            best[label] = min(best[label], time.perf_counter() - start)
    base = best["RuleSet.matches"]
    for label, t in best.items():
        print(f"{label:38s}  {t:7.3f} s   {rows / t / 1e6:5.2f} M rows/s   ratio to matches {t / base:4.2f}")


def bench_fallback(cases: int) -> None:
    ruleset = synthetic_ruleset(50)
    rows = synthetic_data(2_000, seed=1).to_dict("records")
    backup = RulePredictor(ruleset).fit(synthetic_data(100, seed=2))

    def fast(row):
        return "low"

    print(f"\n== FallbackPredictor, {cases:,} cases")
    t = time.perf_counter()
    for i in range(cases):
        backup.predict_row(rows[i % len(rows)])
    print(f"backup alone (RulePredictor.predict_row, 50 rules)    {(time.perf_counter() - t) / cases * 1e6:7.1f} us")
    with FallbackPredictor(fast, backup, deadline_ms=10) as predictor:
        for row in rows[:200]:
            predictor.predict_one(row)  # warm up: workers started
        overhead = []
        for _ in range(5):
            t = time.perf_counter()
            for i in range(cases):
                predictor.predict_one(rows[i % len(rows)])
            wrapped = (time.perf_counter() - t) / cases
            t = time.perf_counter()
            for i in range(cases):
                fast(rows[i % len(rows)])
            overhead.append(wrapped - (time.perf_counter() - t) / cases)
        stats = predictor.stats()["primary"]
    print(f"fast primary: overhead per case (median of 5 runs)     {statistics.median(overhead) * 1e6:7.1f} us   "
          f"answer p50 {stats['p50_ms'] * 1000:.0f} us, p99 {stats['p99_ms'] * 1000:.0f} us")

    def slow(row):
        time.sleep(0.05)
        return "low"

    n = min(cases, 300)
    # Enough workers that every case waits out the deadline (about 5 late calls run at any time).
    with FallbackPredictor(slow, backup, deadline_ms=10, max_workers=8) as predictor:
        answers = [predictor.predict_one(rows[i % len(rows)]) for i in range(n)]
    ms = np.array([a.ms for a in answers])
    paths = {p: sum(a.path == p for a in answers) for p in ("primary", "backup")}
    print(f"slow primary (50 ms), deadline 10 ms, {n} cases: p50 {np.percentile(ms, 50):.2f} ms, "
          f"p99 {np.percentile(ms, 99):.2f} ms, max {ms.max():.2f} ms; answers {paths}")
    router = LatencyRouter(NUMBERS, min_observations=1000)
    noise = np.random.default_rng(3).exponential(2.0, 1000)
    for i, row in enumerate(rows[:1000]):  # a latency that depends on two inputs, with noise: a full tree
        router.observe(row, 1 + 30 * (row["f01"] > 50) + 10 * (row["f02"] > 70) + noise[i])
    t = time.perf_counter()
    for i in range(cases):
        router.too_slow(rows[i % len(rows)], 10.0)
    per_case = (time.perf_counter() - t) / cases * 1e6
    print(f"LatencyRouter.too_slow per case (depth-4 tree, 15 inputs)  {per_case:7.1f} us")
    with FallbackPredictor(slow, backup, deadline_ms=10) as predictor:  # default bound: 3 abandoned calls
        answers = [predictor.predict_one(rows[i % len(rows)]) for i in range(n)]
        reasons = predictor.stats()["backup"]["reasons"]
    ms = np.array([a.ms for a in answers])
    print(f"  same with the default bound on abandoned calls: p50 {np.percentile(ms, 50):.3f} ms, "
          f"p99 {np.percentile(ms, 99):.2f} ms; backup reasons {reasons}")


def hist_gradient_boosting_pipeline(ruleset: RuleSet):
    """A typical tabular model: one-hot categories beside the numbers, HistGradientBoosting (100 trees), trained on
    the rules' own labels for 5,000 synthetic rows."""
    from sklearn.compose import ColumnTransformer
    from sklearn.ensemble import HistGradientBoostingClassifier
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import OneHotEncoder

    train = synthetic_data(5_000, seed=4)
    y = RulePredictor(ruleset).fit(train).predict(train)
    columns = ColumnTransformer([("categories", OneHotEncoder(handle_unknown="ignore"), CATEGORIES)],
                                remainder="passthrough")
    return make_pipeline(columns, HistGradientBoostingClassifier(max_iter=100, random_state=0)).fit(train, y)


class LogNormalSleep:
    """An I/O-bound primary (a model behind the network): sleeps a seeded log-normal time, median ``median_ms``."""

    def __init__(self, median_ms: float = 6.0, sigma: float = 0.6, seed: int = 5):
        self.median_ms, self.sigma = median_ms, sigma
        self._rng = random.Random(seed)

    def __call__(self, row):
        time.sleep(self.median_ms * math.exp(self._rng.gauss(0, self.sigma)) / 1000)
        return "low"


def bench_deadline(cases: int, deadline_ms: float, processes: int) -> None:
    ruleset = synthetic_ruleset(50)
    rows = synthetic_data(max(cases, 500), seed=1).to_dict("records")
    backup = RulePredictor(ruleset).fit(synthetic_data(100, seed=2))
    model = hist_gradient_boosting_pipeline(ruleset)
    print(f"\n== FallbackPredictor under a {deadline_ms:g} ms deadline, {cases:,} cases back to back, one caller "
          f"(after a warm-up of 50)")
    print(f"{'primary, route':58s} {'own p50':>8s} {'own>dl':>7s} {'fallback':>9s} {'p50':>7s} {'p99':>7s} "
          f"{'max':>7s}  target")
    routes = [
        ("I/O-bound (sleeps, median 6 ms), threads, defaults", LogNormalSleep(), {}),
        ("HistGradientBoosting pipeline, threads, defaults", model, {}),
        ("  the same, the defaults before issue 12 (every late call", model, {"hang_ms": 0, "max_abandoned": 3}),
        ("    counted at once: hang_ms=0, max_abandoned=3)", None, {}),
        ("  the same, sys.setswitchinterval(0.001)", model, {"switch": 0.001}),
        (f"HistGradientBoosting pipeline, processes={processes}", model, {"processes": processes}),
    ]
    default_switch = sys.getswitchinterval()
    for label, primary, options in routes:
        if primary is None:  # the second line of a label
            print(label)
            continue
        sys.setswitchinterval(options.pop("switch", default_switch))
        with FallbackPredictor(primary, backup, deadline_ms=deadline_ms, **options) as predictor:
            predictor.warm_up(rows[-50:])
            answers = [predictor.predict_one(rows[i % len(rows)]) for i in range(cases)]
            own = predictor.stats()["primary_own_time"]
            reasons = {k: v for k, v in predictor.stats()["backup"]["reasons"].items() if v}
        sys.setswitchinterval(default_switch)
        ms = np.array([a.ms for a in answers])
        fallback = float(np.mean([a.path == "backup" for a in answers]))
        p50, p99 = np.percentile(ms, [50, 99])
        late = own.get("over_deadline", 0.0)
        if own.get("p50_ms", math.inf) < deadline_ms:
            met = abs(fallback - late) <= 0.02 and p99 <= deadline_ms + 2
            target = f"{'met' if met else 'NOT met'} (fallback - own>dl {100 * (fallback - late):+.1f} pts)"
        else:
            target = "n/a: the primary's median is over the deadline"
        print(f"{label:58s} {own.get('p50_ms', math.nan):6.2f}ms {100 * late:6.1f}% {100 * fallback:8.1f}% "
              f"{p50:5.2f}ms {p99:5.2f}ms {ms.max():5.1f}ms  {target}  {reasons}", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--rules", type=int, default=50)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--cases", type=int, default=20_000, help="cases for the fallback overhead")
    parser.add_argument("--only", choices=["transform", "fallback", "deadline"], action="append",
                        help="run only these parts (repeatable); default all")
    parser.add_argument("--deadline-cases", type=int, default=1_000, help="cases per route for 'deadline'")
    parser.add_argument("--deadline-ms", type=float, default=20.0)
    parser.add_argument("--processes", type=int, default=2, help="worker processes for the process route")
    args = parser.parse_args()
    parts = set(args.only or ["transform", "fallback", "deadline"])
    if "transform" in parts:
        bench_transform(args.rows, args.rules, args.repeat)
    if "fallback" in parts:
        bench_fallback(args.cases)
    if "deadline" in parts:
        bench_deadline(args.deadline_cases, args.deadline_ms, args.processes)


if __name__ == "__main__":
    main()
