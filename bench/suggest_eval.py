"""How good are suggested rules on cases they never saw, against a depth-3 decision tree (issue 18)?

    python bench/suggest_eval.py            # ~10 s on 2 cores

For scikit-learn's breast cancer, diabetes (target above its median: "high") and wine (class 0 against the rest),
with 30% of the cases held out (stratified, seed 0) and the search on the other 70%:

- the held-out precision of the top 5 suggestions (mean and lowest), each a rule of at most 3 conditions;
- the held-out accuracy of a rule set made of the top k suggestions (first match in their order, the training
  majority label when none fires) against a depth-3 decision tree fitted on the same 70%; target: within 3 points;
- the most conditions and significant digits in those rules.

Then the threshold explorer: 100 thresholds over 100,000 cases (median of 5 calls, labels read included).
"""
from __future__ import annotations

import re
import statistics
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import rules_dsl  # noqa: E402
from rules_dsl.explore import explore_threshold  # noqa: E402
from rules_dsl.ruleset import RuleSet, compile_rule  # noqa: E402
from rules_dsl.suggest import suggest_rules  # noqa: E402
from rules_dsl.vocabulary import is_rule_name  # noqa: E402

TOP = 5
SIZES = (3, 5, 10)


def datasets() -> dict[str, tuple[pd.DataFrame, list[str]]]:
    from sklearn.datasets import load_breast_cancer, load_diabetes, load_wine

    cancer = load_breast_cancer(as_frame=True)
    frame = cancer.data.copy()
    frame["outcome"] = [str(cancer.target_names[t]) for t in cancer.target]
    diabetes = load_diabetes(as_frame=True, scaled=False)
    d = diabetes.data.copy()
    d["outcome"] = np.where(diabetes.target > np.median(diabetes.target), "high", "low")
    wine = load_wine(as_frame=True)
    w = wine.data.copy()
    w["outcome"] = np.where(wine.target == 0, "class 0", "other")
    return {"breast cancer": (frame, ["benign", "malignant"]), "diabetes": (d, ["high", "low"]),
            "wine": (w, ["class 0", "other"])}


def feature_name(column: str, i: int) -> str:
    name = " ".join(re.sub(r"[^A-Za-z0-9]+", " ", column).split())
    return name if name and is_rule_name(name) else f"measure {i}"


def ruleset_for(frame: pd.DataFrame, labels: list[str]) -> RuleSet:
    features = {feature_name(c, i): {"type": "number", "column": c}
                for i, c in enumerate(frame.columns) if c != "outcome"}
    vocabulary = rules_dsl.Vocabulary.from_dict({"features": features})
    settings = rules_dsl.Settings.from_dict({"title": "Bench", "outcome": {"name": "outcome", "labels": labels}})
    return RuleSet(settings, vocabulary, [], id="bench")


def digits(text: str) -> int:
    conditions = text.split("\n", 1)[-1].split("\nthen")[0]  # not the name, not the conclusion
    numbers = re.findall(r"(?<![\w.])-?\d+(?:\.\d+)?", conditions)
    return max((len(n.lstrip("-").replace(".", "").lstrip("0").rstrip("0") or "0") for n in numbers), default=0)


def evaluate(name: str, frame: pd.DataFrame, labels: list[str]) -> dict:
    from sklearn.model_selection import train_test_split
    from sklearn.tree import DecisionTreeClassifier

    train, test = train_test_split(frame, test_size=0.3, stratify=frame["outcome"], random_state=0)
    rs = ruleset_for(frame, labels)
    started = time.perf_counter()
    suggestions = suggest_rules(rs, train, "outcome", max_conditions=3, max_suggestions=max(SIZES))
    seconds = time.perf_counter() - started
    truth = test["outcome"].to_numpy()
    precisions = []
    for s in suggestions[:TOP]:
        fired = rs.with_rule(compile_rule(s.text, rs.vocabulary, rs.settings, rule_id="s")).matches(test)["s"]
        precisions.append(float((truth[fired.to_numpy()] == s.label).mean()) if fired.any() else float("nan"))
    majority = train["outcome"].mode()[0]
    accuracy = {}
    for k in SIZES:
        rules = [compile_rule(s.text.replace(f'rule "{s.rule["name"]}"',
                                             f'rule "{s.rule["name"]}"\npriority {100 - i}', 1),
                              rs.vocabulary, rs.settings, rule_id=f"s{i}") for i, s in enumerate(suggestions[:k])]
        chosen = RuleSet(rs.settings, rs.vocabulary, rules, id="bench")
        predicted = chosen.decide(test).fillna(majority).to_numpy()
        accuracy[k] = float((predicted == truth).mean())
    columns = [c for c in frame.columns if c != "outcome"]
    tree = DecisionTreeClassifier(max_depth=3, random_state=0).fit(train[columns], train["outcome"])
    return {"name": name, "cases": len(frame), "suggestions": len(suggestions), "seconds": seconds,
            "precision_mean": float(np.nanmean(precisions)), "precision_min": float(np.nanmin(precisions)),
            "accuracy": accuracy, "tree": float((tree.predict(test[columns]) == truth).mean()),
            "max_conditions": max(s.conditions for s in suggestions[:max(SIZES)]),
            "max_digits": max(digits(s.text) for s in suggestions[:max(SIZES)]),
            "two_digits": float(np.mean([digits(s.text) <= 2 for s in suggestions[:max(SIZES)]])),
            "first": suggestions[0].text}


def explorer_seconds(rows: int = 100_000, points: int = 100) -> float:
    frame, labels = datasets()["breast cancer"]
    rng = np.random.default_rng(0)
    big = frame.sample(rows, replace=True, random_state=0).reset_index(drop=True)
    big["worst radius"] = big["worst radius"] * rng.normal(1, 0.02, rows)
    rs = ruleset_for(frame, labels)
    text = 'rule "r" when worst radius is above 17 and worst concave points is above 0.14 then outcome is "malignant"'
    rule = compile_rule(text, rs.vocabulary, rs.settings)
    times = []
    for _ in range(5):
        started = time.perf_counter()
        explore_threshold(rs, rule, big, "outcome", condition=0, points=points)
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def main() -> None:
    print(f"{'data set':<14}{'cases':>6}{'top-5 held-out precision':>26}  "
          + "  ".join(f"{'rules x' + str(k):>9}" for k in SIZES)
          + f"{'depth-3 tree':>14}{'conds':>7}{'digits':>8}{'<=2 digits':>12}{'search s':>10}")
    for name, (frame, labels) in datasets().items():
        r = evaluate(name, frame, labels)
        print(f"{name:<14}{r['cases']:>6}{r['precision_mean']:>17.1%} (min {r['precision_min']:.0%})  "
              + "  ".join(f"{r['accuracy'][k]:>9.1%}" for k in SIZES)
              + f"{r['tree']:>14.1%}{r['max_conditions']:>7}{r['max_digits']:>8}{r['two_digits']:>12.0%}"
              + f"{r['seconds']:>10.2f}")
        print("   first: " + r["first"].replace("\n", " | "))
    print(f"\nthreshold explorer, 100 thresholds x 100,000 cases: {explorer_seconds() * 1000:.0f} ms (median of 5)")


if __name__ == "__main__":
    main()
