"""Rules suggested from data (issue 18): planted-rule recovery, human-grade output, honest figures."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from rules_dsl import DataError
from rules_dsl.ruleset import compile_rule
from rules_dsl.suggest import COVERED, SAME_CASES, round_threshold, suggest_rules

from .ml_rulesets import build

FEATURES = {
    "systolic pressure": {"type": "number", "unit": "mmHg", "range": [60, 220]},
    "age": {"type": "number", "unit": "years", "range": [0, 110]},
    "heart rate": {"type": "number", "range": [30, 200]},
    "lactate": {"type": "number", "unit": "mmol/L"},
    "smoker": {"type": "boolean"},
    "sex": {"type": "category", "values": ["F", "M"]},
}
OUTCOME = {"name": "risk", "labels": ["high", "low"]}


def planted(n: int = 3000, noise: float = 0.02, seed: int = 1) -> pd.DataFrame:
    """'age above 60 and systolic pressure at most 100' decides the label, then 2% of the labels are flipped."""
    rng = np.random.default_rng(seed)
    frame = pd.DataFrame({
        "systolic pressure": rng.uniform(70, 200, n).round(0),
        "age": rng.uniform(18, 95, n).round(0),
        "heart rate": rng.uniform(40, 160, n).round(0),
        "lactate": rng.gamma(2.0, 1.0, n).round(1),
        "smoker": rng.random(n) < 0.3,
        "sex": rng.choice(["F", "M"], n),
    })
    high = (frame["age"] > 60) & (frame["systolic pressure"] <= 100)
    flip = rng.random(n) < noise
    frame["risk"] = np.where(high ^ flip, "high", "low")
    return frame


def ruleset(rules: dict[str, str] | None = None):
    return build(FEATURES, rules or {}, OUTCOME, id="shock")


def numbers(suggestion) -> dict[str, tuple[str, float]]:
    """{feature: (op, threshold)} of a suggestion's conditions (one value each)."""
    found = {}
    for item in suggestion.rule["when"].get("all", [suggestion.rule["when"]]):
        value = item["values"][0]
        found[item["feature"]] = (item["op"], value["number"] if isinstance(value, dict) else value)
    return found


def test_the_first_suggestion_recovers_a_planted_two_condition_rule():
    suggestions = suggest_rules(ruleset(), planted(), "risk", target="high")
    first = numbers(suggestions[0])
    assert set(first) == {"age", "systolic pressure"}
    assert first["age"][0] == "above" and abs(first["age"][1] - 60) <= 0.05 * 60
    assert first["systolic pressure"][0] == "at most" and abs(first["systolic pressure"][1] - 100) <= 5
    assert suggestions[0].precision > 0.9 and suggestions[0].heldout_precision > 0.9
    assert suggestions[0].text.endswith('then risk is "high"')


def test_suggestions_compile_in_the_rule_set_and_read_like_a_person_wrote_them():
    rs = ruleset()
    suggestions = suggest_rules(rs, planted(), "risk", max_conditions=2)
    assert suggestions and {s.label for s in suggestions} <= {"high", "low"}
    for s in suggestions:
        compiled = compile_rule(s.text, rs.vocabulary, rs.settings)
        assert compiled.text == s.text  # canonical
        assert s.conditions <= 2
        features = [c["feature"] for c in s.rule["when"].get("all", [s.rule["when"]])]
        assert len(features) == len(set(features))  # one condition per feature: none implied by another
        for _op, value in numbers(s).values():
            if isinstance(value, float):
                assert len(f"{value:g}".replace(".", "").replace("-", "").strip("0")) <= 4
    assert "mmHg" in next(s.text for s in suggestions if "systolic pressure" in s.text)


def test_rounding_keeps_the_fewest_digits_that_hold_the_precision():
    assert round_threshold(0.0005039822281105444, 1) == 0.0005
    assert round_threshold(17.34, 2) == 17.0
    assert round_threshold(1234.5, 2) == 1200.0
    # the planted threshold is an integer: the 1-digit rounding (60) already holds the precision
    s = suggest_rules(ruleset(), planted(), "risk", target="high")[0]
    assert numbers(s)["age"][1] == 60


def test_no_two_suggestions_fire_on_nearly_the_same_cases():
    frame = planted()
    rs = ruleset()
    suggestions = suggest_rules(rs, frame, "risk", max_suggestions=10)
    fires = [rs.with_rule(compile_rule(s.text, rs.vocabulary, rs.settings, rule_id="s")).matches(frame)["s"]
             .to_numpy() for s in suggestions]
    for i in range(len(fires)):
        for j in range(i):
            union = (fires[i] | fires[j]).sum()
            assert (fires[i] & fires[j]).sum() / union < SAME_CASES


def test_a_suggestion_an_existing_rule_already_covers_is_left_out():
    frame = planted()
    existing = {"planted": 'rule "Old and hypotensive" when age is above 60 and systolic pressure is at most 100 '
                           'then risk is "high"'}
    rs = ruleset(existing)
    suggestions = suggest_rules(rs, frame, "risk", target="high")
    fired = rs.matches(frame)["planted"].to_numpy()
    for s in suggestions:
        mine = rs.with_rule(compile_rule(s.text, rs.vocabulary, rs.settings, rule_id="s")).matches(frame)["s"]
        mine = mine.to_numpy()
        assert (mine & fired).sum() < COVERED * mine.sum()
        assert s.overlaps and s.overlaps[0]["rule"] == "planted" or not (mine & fired).any()


def test_figures_are_those_of_the_rule_text_and_by_subgroup():
    frame = planted()
    rs = ruleset()
    s = suggest_rules(rs, frame, "risk", target="high", group="sex")[0]
    fires = rs.with_rule(compile_rule(s.text, rs.vocabulary, rs.settings, rule_id="s")).matches(frame)["s"]
    right = frame["risk"] == "high"
    assert s.support + s.heldout_support == int(fires.sum())
    total_hits = round(s.precision * s.support) + round(s.heldout_precision * s.heldout_support)
    assert total_hits == int((fires & right).sum())
    assert set(s.subgroups) == {"F", "M"}
    assert sum(g["support"] for g in s.subgroups.values()) == int(fires.sum())
    body = s.to_dict()
    assert body["text"] == s.text and body["subgroups"]["F"]["cases"] == int((frame["sex"] == "F").sum())
    assert len(s.near_misses_by_condition) == s.conditions and s.near_misses == sum(s.near_misses_by_condition)


def test_the_same_seed_gives_the_same_suggestions():
    frame = planted(n=1000)
    assert [s.text for s in suggest_rules(ruleset(), frame, "risk", random_state=3)] == \
        [s.text for s in suggest_rules(ruleset(), frame, "risk", random_state=3)]


def test_categories_and_yes_no_features_are_suggested_in_words():
    rng = np.random.default_rng(0)
    frame = planted(n=1500)
    frame["risk"] = np.where((frame["smoker"] & (frame["sex"] == "M")) ^ (rng.random(len(frame)) < 0.01),
                             "high", "low")
    first = suggest_rules(ruleset(), frame, "risk", target="high")[0]
    assert "smoker is yes" in first.text and 'sex is "M"' in first.text


@pytest.mark.parametrize("kwargs, words", [
    ({"target": "medium"}, "not one of the outcome's labels"),
    ({"label": "outcome"}, "no label column 'outcome'"),
])
def test_data_that_does_not_fit_is_refused_in_plain_words(kwargs, words):
    args = {"label": "risk", **kwargs}
    with pytest.raises(DataError, match=words):
        suggest_rules(ruleset(), planted(n=200), args.pop("label"), **args)


def test_large_data_is_searched_on_a_sample_that_the_answer_states(monkeypatch):
    import rules_dsl.suggest as suggest

    frame, rs = planted(), ruleset()
    whole = suggest_rules(rs, frame, "risk", target="high")
    assert whole.searched == whole.search_cases == 2100  # 70% of 3,000: no sample
    monkeypatch.setattr(suggest, "MAX_SEARCH_CASES", 1000)
    sampled = suggest_rules(rs, frame, "risk", target="high")
    assert (sampled.searched, sampled.search_cases) == (1000, 2100)
    first = numbers(sampled[0])
    assert set(first) == {"age", "systolic pressure"}
    # the figures still use every case: support and held-out support add up to where the rule fires
    fires = rs.with_rule(compile_rule(sampled[0].text, rs.vocabulary, rs.settings, rule_id="s")).matches(frame)["s"]
    assert sampled[0].support + sampled[0].heldout_support == int(fires.sum())
    assert sampled[0].coverage == pytest.approx(sampled[0].support / 2100)


def test_a_two_label_outcome_reads_the_second_label_from_the_first_labels_trees():
    from rules_dsl.ml.rule_learner import fit_trees, paths_of

    rng = np.random.default_rng(3)
    X = rng.normal(size=(6000, 4))  # above FOREST_SAMPLE: the forest's trees draw a smaller bootstrap
    X[rng.random(X.shape) < 0.05] = np.nan
    y = (X[:, 0] > 0.3) & ~(X[:, 2] < -1) ^ (rng.random(6000) < 0.05)
    options = {"max_conditions": 3, "min_cases": 60, "random_state": 0}
    assert paths_of(fit_trees(X, y, **options), ~y, flipped=True) == paths_of(fit_trees(X, ~y, **options), ~y)


def test_thresholds_rounded_down_or_up_keep_their_few_digits():
    from rules_dsl.suggest import _on_grid

    assert 4.8 * 10 / 10 != 48 * 0.1  # the float noise a rounding to decimals kept (4.800000000000001)
    for value, digits in ((4.85, 2), (0.0123456, 3), (115.3, 2), (9.96, 2), (-4.85, 2)):
        for rounded in _on_grid(value, digits):
            assert len(repr(abs(rounded)).replace(".", "").strip("0")) <= digits, (value, rounded)


def test_diabetes_low_suggestions_compile():
    """It once failed: 'The number 4.800000000000001 has too many digits' (a threshold rounded down to decimals)."""
    from sklearn.datasets import load_diabetes
    from sklearn.model_selection import train_test_split

    data = load_diabetes(as_frame=True, scaled=False)
    frame = data.data.copy()
    frame["outcome"] = np.where(data.target > np.median(data.target), "high", "low")
    train, _ = train_test_split(frame, test_size=0.3, stratify=frame["outcome"], random_state=0)
    rs = build({c: {"type": "number"} for c in data.data.columns}, {}, {"name": "outcome", "labels": ["high", "low"]})
    found = suggest_rules(rs, train, "outcome", target="low")
    assert found and all(s.text.endswith('then outcome is "low"') for s in found)
