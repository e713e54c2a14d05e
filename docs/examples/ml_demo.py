"""The ML engineer's path on the breast-cancer demo: rules as features, as a backup predictor, and as a fallback.

    python docs/examples/ml_demo.py

Uses the demo rule set (rules_dsl/demo/breast-mass-triage) when it is there, else a small rule set written below in
the rule language. Runs offline in well under a minute.
"""
from __future__ import annotations

import random
import sys
import time
from pathlib import Path

import numpy as np
from sklearn.compose import ColumnTransformer
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import StratifiedKFold, cross_val_predict, cross_val_score
from sklearn.pipeline import FeatureUnion, make_pipeline
from sklearn.preprocessing import StandardScaler

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))  # runs from a checkout without installing

import rules_dsl  # noqa: E402
from rules_dsl.analysis import analyze, by_subgroup  # noqa: E402
from rules_dsl.demo import demo_path, reference_data  # noqa: E402
from rules_dsl.ml import (  # noqa: E402
    FallbackPredictor,  # noqa: E402
    RuleFeatures,
    RulePredictor,
)
from rules_dsl.ruleset import RuleSet, compile_rule  # noqa: E402

RAW = ["mean radius", "mean texture", "mean smoothness"]  # a deliberately small model


def small_ruleset() -> RuleSet:
    """A stand-in for the demo rule set: five rules a clinician might write."""
    vocabulary = rules_dsl.Vocabulary.from_dict({"features": {
        name: {"type": "number"} for name in ["worst radius", "worst concave points", "worst texture",
                                              "worst area", "mean concavity", "mean area"]}})
    settings = rules_dsl.Settings.from_dict({
        "title": "Breast mass triage (example)", "outcome": {"name": "diagnosis", "labels": ["benign", "malignant"]},
        "policy": "first match", "default": "benign"})
    texts = [
        'rule "Many concave points" priority 3 when worst concave points is above 0.16 '
        'then diagnosis is "malignant" with confidence 0.9',
        'rule "Large nuclei" priority 2 when worst radius is above 17 or worst area is above 1000 '
        'then diagnosis is "malignant" with confidence 0.85',
        'rule "Rough and concave" when worst texture is above 28 and mean concavity is above 0.08 '
        'then diagnosis is "malignant" with confidence 0.7',
        'rule "Small and smooth" priority 1 when worst radius is below 14 and worst concave points is below 0.11 '
        'then diagnosis is "benign" with confidence 0.9',
        'rule "Large mass" when mean area is above 700',
    ]
    return RuleSet(settings, vocabulary, [compile_rule(t, vocabulary, settings) for t in texts], id="example")


def load_ruleset() -> RuleSet:
    if demo_path().is_dir():
        return rules_dsl.load(demo_path())
    return small_ruleset()


def main() -> None:
    data = reference_data()
    X, y = data.drop(columns="diagnosis"), data["diagnosis"]
    ruleset = load_ruleset()
    print(f"{ruleset!r} on {len(X)} cases ({(y == 'malignant').sum()} malignant)\n")
    folds = StratifiedKFold(5, shuffle=True, random_state=0)

    # 1. Rule features added to a model, cross-validated.
    raw_only = make_pipeline(ColumnTransformer([("raw", StandardScaler(), RAW)]), LogisticRegression(max_iter=1000))
    with_rules = make_pipeline(
        FeatureUnion([("raw", ColumnTransformer([("raw", StandardScaler(), RAW)])),
                      ("rules", RuleFeatures(ruleset, votes=True))]),
        LogisticRegression(max_iter=1000))
    print("1. Rules as features: 5-fold cross-validated logistic regression on", ", ".join(RAW))
    for name, model in [("raw features only", raw_only), ("raw features + rules", with_rules)]:
        accuracy = cross_val_score(model, X, y, cv=folds)
        auc = cross_val_score(model, X, y, cv=folds, scoring="roc_auc")
        print(f"   {name:22s} accuracy {accuracy.mean():.3f} ± {accuracy.std():.3f}   "
              f"ROC AUC {auc.mean():.3f} ± {auc.std():.3f}")

    # 2. The rules as a backup predictor, against the model (the rules are not trained: same folds for fairness).
    backup = RulePredictor(ruleset, abstain_label="malignant")  # undecided cases are flagged for review
    rules_accuracy = cross_val_score(backup, X, y, cv=folds)
    model_accuracy = cross_val_score(with_rules, X, y, cv=folds)
    print("\n2. Backup predictor (the rules alone) against the model, same folds")
    print(f"   rules {rules_accuracy.mean():.3f}   model {model_accuracy.mean():.3f}")
    summary = analyze(ruleset, data, "diagnosis").summary
    print(f"   rules decide {summary['decided_by_rules']:.0%} of cases themselves (the rest get the default); "
          f"majority-class baseline {summary['baseline']['accuracy']:.3f}")
    backup.fit(X, y)
    explanation = backup.explain(X.iloc[[0]])[0]
    print(f"   why case 0 is {explanation.label}: {explanation.reason}")

    # 3. The fallback. The model is served elsewhere (simulated: its out-of-fold answers, 2 ms per call, but one
    #    call in five takes 50 ms); the rules answer in microseconds in this process. Deadline 10 ms.
    served = dict(zip(X.index, cross_val_predict(with_rules, X, y, cv=folds)))
    rng = random.Random(0)

    def model_server(row):
        time.sleep(0.05 if rng.random() < 0.2 else 0.002)
        return served[row["case id"]]

    rows = [dict(row, **{"case id": i}) for i, row in zip(X.index, X.to_dict("records"))]
    with FallbackPredictor(model_server, backup, deadline_ms=10, max_workers=8) as predictor:
        answers = [predictor.predict_one(row) for row in rows]
        stats = predictor.stats()
    ms = np.array([a.ms for a in answers])
    correct = np.mean([a.value == truth for a, truth in zip(answers, y)])
    print("\n3. Fallback: a model server that takes 50 ms on one call in five, deadline 10 ms")
    print(f"   answers from the backup: {stats['backup']['count'] / len(answers):.1%} "
          f"(reasons {stats['backup']['reasons']})")
    print(f"   latency p50 {np.percentile(ms, 50):.2f} ms, p99 {np.percentile(ms, 99):.2f} ms, max {ms.max():.2f} ms; "
          f"{np.mean(ms <= 12):.1%} of answers within deadline + 2 ms")
    print(f"   accuracy of the answers given: {correct:.3f} (model alone, out of fold: "
          f"{np.mean(np.array(list(served.values())) == y.to_numpy()):.3f})")

    # 4. For whom: the same figures by tumour size band (numbers are binned by the caller).
    bands = data.assign(size=np.where(data["mean radius"] < 12, "small", np.where(data["mean radius"] < 15,
                                                                                  "medium", "large")))
    groups = by_subgroup(ruleset, bands, "diagnosis", "size", figures=("accuracy", "coverage", "rule precision"))
    print("\n4. By tumour size band")
    print(groups.groups[["rows", "accuracy", "baseline_accuracy"]].round(3).to_string())
    for gap in groups.gaps[:3]:
        print(f"   gap: {gap.figure}{' of ' + gap.rule if gap.rule else ''}: {gap.high_group} {gap.high:.2f} vs "
              f"{gap.low_group} {gap.low:.2f}")


if __name__ == "__main__":
    main()
