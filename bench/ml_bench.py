"""Benchmarks for the scikit-learn wrappers and the fallback predictor (issue 6).

    python bench/ml_bench.py                  # 1,000,000 rows x 50 rules; about a minute on 2 cores
    python bench/ml_bench.py --rows 100000

Prints:
- RuleFeatures.transform against RuleSet.matches alone, on a seeded synthetic rule set (50 rules over 20 features,
  written in the rule language and compiled like any other rule set);
- FallbackPredictor's overhead per case with a fast primary, and the p50/p99 latency with a slow primary
  (a model that sleeps 50 ms, deadline 10 ms).
"""
from __future__ import annotations

import argparse
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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--rules", type=int, default=50)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--cases", type=int, default=20_000, help="cases for the fallback overhead")
    args = parser.parse_args()
    bench_transform(args.rows, args.rules, args.repeat)
    bench_fallback(args.cases)


if __name__ == "__main__":
    main()
