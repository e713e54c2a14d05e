"""Labelling-function analysis, by subgroup, and the impact of a change: exact figures on hand-computed data."""
from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from rules_dsl import DataError
from rules_dsl.analysis import ABSTAIN, analyze, by_subgroup, impact, wilson_interval

from .ml_rulesets import BREAST_FEATURES, breast_data, breast_ruleset, build

FEATURES = {"temperature": {"type": "number"}, "cough": {"type": "boolean"}, "sex": {"type": "category",
                                                                                    "values": ["F", "M"]}}
OUTCOME = {"name": "illness", "labels": ["flu", "cold", "healthy"]}
RULES = {
    "high-fever": 'rule "High fever" priority 3 when temperature is above 39.5 then illness is "flu" '
                  'with confidence 0.9',
    "fever": 'rule "Fever" priority 2 when temperature is above 38 then illness is "flu" with confidence 0.8',
    "cough": 'rule "Cough" priority 1 when cough is yes then illness is "cold" with confidence 0.6',
    "chills": 'rule "Chills" when temperature is above 37.5',  # a feature only: no conclusion
}

# row:         0      1      2      3      4          5          6      7
CASES = pd.DataFrame({
    "temperature": [40.0, 38.5, 38.5, 37.0, 37.0, 36.5, np.nan, 38.2],
    "cough": [False, True, True, True, False, True, True, False],
    "sex": ["F", "F", "M", "M", "F", "M", "F", "M"],
    "illness": ["flu", "flu", "cold", "cold", "healthy", "healthy", "cold", "cold"],
})
# Fires: high-fever {0}; fever {0,1,2,7}; cough {1,2,3,5,6}; chills {0,1,2,7} (row 6 is missing: unknown).
# First match decides: 0 flu, 1 flu, 2 flu, 3 cold, 4 abstains, 5 cold, 6 cold, 7 flu -> right on 0, 1, 3, 6.


def old_version():
    return build(FEATURES, RULES, OUTCOME, id="illness", version="1" * 40)


def new_version(**changes):
    rules = dict(RULES)
    rules["fever"] = rules["fever"].replace("above 38 ", "above 38.3 ")
    del rules["cough"]
    rules["mild"] = 'rule "Mild" when temperature is below 37.2 then illness is "healthy" with confidence 0.7'
    rules["chills"] = rules["chills"] + ' because "Nurse handbook"'  # text changes, behaviour does not
    return build(FEATURES, rules, OUTCOME, id="illness", version="2" * 40, **changes)


def test_per_rule_figures():
    result = analyze(old_version(), CASES, "illness")
    rules = result.rules
    assert list(rules.index) == ["chills", "cough", "fever", "high-fever"]
    assert rules["fires"].to_dict() == {"chills": 4, "cough": 5, "fever": 4, "high-fever": 1}
    assert rules["coverage"].to_dict() == {"chills": 0.5, "cough": 0.625, "fever": 0.5, "high-fever": 0.125}
    # overlaps: firing together with another rule that has a conclusion
    assert rules["overlaps"].to_dict() == {"chills": 0.5, "cough": 0.25, "fever": 0.375, "high-fever": 0.125}
    # conflicts: firing together with a rule concluding another label (fever and cough on rows 1, 2)
    # (a feature-only rule has no conflicts, correct or precision: NaN in the frame, None in to_dict())
    assert rules["conflicts"].fillna(-1).to_dict() == {"chills": -1, "cough": 0.25, "fever": 0.25, "high-fever": 0}
    assert rules["correct"].fillna(-1).to_dict() == {"chills": -1, "cough": 3, "fever": 2, "high-fever": 1}
    assert rules["precision"].fillna(-1).to_dict() == {"chills": -1, "cough": 0.6, "fever": 0.5, "high-fever": 1}
    assert rules["label"].fillna("-").to_dict() == {"chills": "-", "cough": "cold", "fever": "flu", "high-fever": "flu"}
    assert result.fires_by_label.to_dict("index") == {
        "chills": {"flu": 2, "cold": 2, "healthy": 0},
        "cough": {"flu": 1, "cold": 3, "healthy": 1},
        "fever": {"flu": 2, "cold": 2, "healthy": 0},
        "high-fever": {"flu": 1, "cold": 0, "healthy": 0},
    }


def test_whole_rule_set_figures():
    summary = analyze(old_version(), CASES, "illness").summary
    assert summary == {
        "rows": 8,
        "true_labels": {"flu": 2, "cold": 4, "healthy": 2},
        "predicted_labels": {"flu": 4, "cold": 3, "healthy": 0, ABSTAIN: 1},
        "coverage": 7 / 8,
        "decided_by_rules": 7 / 8,
        "accuracy": 0.5,
        "accuracy_answered": 4 / 7,
        "baseline": {"label": "cold", "accuracy": 0.5},
        "gain_over_baseline": 0.0,
    }


def test_to_dict_is_json_ready():
    result = analyze(old_version(), CASES, "illness").to_dict()
    assert json.loads(json.dumps(result, allow_nan=False)) == result
    cough = next(r for r in result["rules"] if r["id"] == "cough")
    assert cough == {"id": "cough", "name": "Cough", "label": "cold", "fires": 5, "coverage": 0.625,
                     "overlaps": 0.25, "conflicts": 0.25, "correct": 3, "precision": 0.6,
                     "fires_by_label": {"flu": 1, "cold": 3, "healthy": 1}}


def test_labels_must_be_there():
    with pytest.raises(DataError, match="no label column 'diagnosis'"):
        analyze(old_version(), CASES, "diagnosis")
    unlabelled = CASES.assign(illness=["flu", None, "cold", "cold", "healthy", "healthy", "cold", "cold"])
    with pytest.raises(DataError, match="empty in 1 of 8 rows"):
        analyze(old_version(), unlabelled, "illness")


def test_by_subgroup_figures_and_largest_gaps():
    result = by_subgroup(old_version(), CASES, "illness", "sex", min_rows=1)
    groups = result.groups
    assert groups.loc["F", ["rows", "share", "coverage", "accuracy", "baseline_accuracy"]].tolist() == \
        [4, 0.5, 0.75, 0.75, 0.5]
    assert groups.loc["M", ["rows", "share", "coverage", "accuracy", "baseline_accuracy"]].tolist() == \
        [4, 0.5, 1.0, 0.25, 0.75]
    assert result.by_group["F"].rules.loc["fever", "precision"] == 1.0
    assert result.by_group["M"].rules.loc["fever", "precision"] == 0.0
    assert np.isnan(result.by_group["M"].rules.loc["high-fever", "precision"])  # it never fires there
    gaps = [(g.figure, g.rule, g.high_group, g.low_group, round(g.gap, 4)) for g in result.gaps]
    assert gaps == [
        ("rule precision", "fever", "F", "M", 1.0),
        ("accuracy", None, "F", "M", 0.5),
        ("coverage", None, "M", "F", 0.25),
        ("rule coverage", "cough", "M", "F", 0.25),
        ("rule coverage", "high-fever", "F", "M", 0.25),
    ]
    as_dict = result.to_dict()
    assert json.loads(json.dumps(as_dict, allow_nan=False)) == as_dict
    assert as_dict["gaps"][0] == {"figure": "rule precision", "rule": "fever", "high_group": "F", "high": 1.0,
                                  "low_group": "M", "low": 0.0, "gap": 1.0}


def test_gaps_of_chosen_figures_only():
    result = by_subgroup(old_version(), CASES, "illness", "sex", min_rows=1, top=10,
                         figures=("accuracy", "rule precision"))
    assert [(g.figure, g.rule) for g in result.gaps] == [("rule precision", "fever"), ("accuracy", None),
                                                        ("rule precision", "cough")]
    with pytest.raises(ValueError, match="Unknown figures"):
        by_subgroup(old_version(), CASES, "illness", "sex", figures=("recall",))


def test_small_groups_are_left_out_of_the_gaps():
    result = by_subgroup(old_version(), CASES, "illness", "sex", min_rows=5)
    assert result.gaps == []
    data = CASES.assign(sex=["F", "F", "M", "M", "F", "M", "F", None])
    assert list(by_subgroup(old_version(), data, "illness", "sex", min_rows=1).groups.index) == \
        ["F", "M", "(missing)"]


def test_impact_of_a_change():
    result = impact(old_version(), new_version(), CASES, label_column="illness", group_column="sex")
    assert (result.rows, result.changed) == (8, 5)
    assert result.changes.index.tolist() == [3, 4, 5, 6, 7]
    assert result.changes[["old", "new"]].values.tolist() == [
        ["cold", "healthy"], [ABSTAIN, "healthy"], ["cold", "healthy"], ["cold", ABSTAIN], ["flu", ABSTAIN]]
    assert result.changes["causes"].tolist() == [["cough", "mild"], ["mild"], ["cough", "mild"], ["cough"], ["fever"]]
    assert result.changes["decided_before"].tolist() == [["cough"], [], ["cough"], ["cough"], ["fever"]]
    assert result.changes["decided_after"].tolist() == [["mild"], ["mild"], ["mild"], [], []]
    nonzero = {(o, n): c for o, row in result.transitions.iterrows() for n, c in row.items() if c}
    assert nonzero == {("flu", "flu"): 3, ("cold", "healthy"): 2, (ABSTAIN, "healthy"): 1, ("cold", ABSTAIN): 1,
                       ("flu", ABSTAIN): 1}
    changes = result.rule_changes
    assert changes["kind"].to_dict() == {"chills": "changed", "cough": "removed", "fever": "changed",
                                         "mild": "added"}
    assert changes["firing_differs"].to_dict() == {"chills": 0, "cough": 5, "fever": 1, "mild": 3}
    # rows 3 and 5 changed because cough went AND mild came: several causes, counted once, not once per rule
    assert result.changes["several_causes"].tolist() == [True, False, True, False, False]
    assert changes["predictions_changed"].to_dict() == {"chills": 0, "cough": 1, "fever": 1, "mild": 1}
    assert changes["predictions_shared"].to_dict() == {"chills": 0, "cough": 2, "fever": 0, "mild": 2}
    assert result.summary.pop("caused_by") == {"cough": 1, "fever": 1, "mild": 1, "(several)": 2}
    assert result.summary == {"rows": 8, "changed": 5, "share_changed": 5 / 8, "old_version": "1" * 40,
                              "new_version": "2" * 40, "accuracy_old": 0.5, "accuracy_new": 0.5, "fixed": 2,
                              "broken": 2}
    assert result.by_group[["rows", "changed", "fixed", "broken"]].to_dict("index") == {
        "F": {"rows": 4, "changed": 2, "fixed": 1, "broken": 1},
        "M": {"rows": 4, "changed": 3, "fixed": 1, "broken": 1}}
    as_dict = result.to_dict(max_rows=2)
    assert json.loads(json.dumps(as_dict, allow_nan=False)) == as_dict
    assert len(as_dict["changes"]) == 2 and as_dict["changes_truncated"] == 3
    assert as_dict["changes"][0] == {"row": 3, "old": "cold", "new": "healthy", "causes": ["cough", "mild"],
                                     "several_causes": True, "decided_before": ["cough"], "decided_after": ["mild"],
                                     "true_label": "cold",
                                     "group": "M"}
    assert {"old": "flu", "new": ABSTAIN, "rows": 1} in as_dict["transitions_by_group"]["M"]


def test_impact_credits_only_rules_that_decided_a_changed_answer():
    """Issue 13, item 2: a feature-only rule whose firing changes on a changed case is not its cause (it concludes
    nothing), and the per-cause counts add up to the answers that changed."""
    rules = dict(RULES)
    rules["fever"] = rules["fever"].replace("above 38 ", "above 38.3 ")
    rules["chills"] = rules["chills"].replace("above 37.5", "above 38.3")  # stops firing on row 7 too
    result = impact(old_version(), build(FEATURES, rules, OUTCOME, id="illness", version="2" * 40), CASES)
    assert result.changes.index.tolist() == [7]
    assert result.rule_changes["firing_differs"].to_dict() == {"chills": 1, "fever": 1}
    assert result.changes.loc[7, "causes"] == ["fever"]
    assert result.rule_changes["predictions_changed"].to_dict() == {"chills": 0, "fever": 1}
    assert result.summary["caused_by"] == {"fever": 1}
    assert sum(result.summary["caused_by"].values()) == result.changed


@pytest.mark.parametrize("policy", ["first match", "weighted vote"])
def test_impact_counts_add_up_on_the_breast_data(policy):
    data = breast_data()
    old = breast_ruleset(policy)
    changed = {r.id: r.text for r in old.rules}
    changed["large-nuclei"] = changed["large-nuclei"].replace("above 17", "above 15")
    changed["large-mass"] = changed["large-mass"].replace("above 700", "above 500")  # a feature only
    del changed["small-and-smooth"]
    new = build(BREAST_FEATURES, changed, {"name": "diagnosis", "labels": ["benign", "malignant"]}, policy,
                "benign", id="breast-test")
    result = impact(old, new, data, label_column="diagnosis")
    assert result.rule_changes.loc["large-mass", "firing_differs"] > 0
    assert result.rule_changes.loc["large-mass", ["predictions_changed", "predictions_shared"]].tolist() == [0, 0]
    assert result.changed > 0
    assert sum(result.summary["caused_by"].values()) == result.changed
    alone = result.rule_changes["predictions_changed"].sum()
    settings = sum(n for cause, n in result.summary["caused_by"].items() if cause.startswith("(") and
                   cause != "(several)")
    assert alone + settings + result.summary["caused_by"].get("(several)", 0) == result.changed
    for causes, decided in zip(result.changes["causes"], result.changes["decided_before"] + result.changes[
            "decided_after"]):
        assert set(causes) <= set(decided) | {"(default)", "(policy)", "(vocabulary)", "(settings)"}


def test_impact_of_a_new_default_names_the_setting():
    old = old_version()
    new = build(FEATURES, RULES, OUTCOME, id="illness", default="healthy")
    result = impact(old, new, CASES)
    assert result.changes.index.tolist() == [4]
    assert result.changes.loc[4, "causes"] == ["(default)"]
    assert result.rule_changes.empty


def test_impact_without_changes_and_on_the_breast_data():
    data = breast_data()
    same = impact(breast_ruleset(), breast_ruleset(), data, label_column="diagnosis")
    assert same.changed == 0 and same.changes.empty and same.rule_changes.empty
    vote = impact(breast_ruleset(), breast_ruleset("weighted vote"), data, label_column="diagnosis")
    assert vote.rule_changes.empty
    assert set(c for causes in vote.changes["causes"] for c in causes) <= {"(policy)"}
    assert vote.summary["accuracy_old"] == pytest.approx((breast_ruleset().decide(data) == data.diagnosis).mean())


@pytest.mark.parametrize("successes, cases, low, high", [
    (12, 15, 0.5481, 0.9295),   # 80% of 15: far from certain
    (0, 10, 0.0, 0.2775),       # 0% of 10 is not "never"
    (10, 10, 0.7225, 1.0),
    (50, 100, 0.4038, 0.5962),
])
def test_wilson_interval_against_the_formula_worked_by_hand(successes, cases, low, high):
    assert wilson_interval(successes, cases) == pytest.approx((low, high), abs=1e-4)


def test_wilson_interval_without_cases_is_none():
    assert wilson_interval(0, 0) is None


def test_counts_behind_the_figures():
    result = analyze(old_version(), CASES, "illness")
    assert result.counts("accuracy") == (4, 8)
    assert result.counts("accuracy answered") == (4, 7)
    assert result.counts("coverage") == (7, 8)
    assert result.counts("rule coverage", "cough") == (5, 8)
    assert result.counts("rule precision", "cough") == (3, 5)
    with pytest.raises(ValueError, match="no conclusion"):
        result.counts("rule precision", "chills")  # a feature-only rule has no precision
    with pytest.raises(ValueError, match="No counts"):
        result.counts("precision")
