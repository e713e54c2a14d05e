"""The threshold explorer and "improve this rule": curves equal to evaluating the rule at each threshold."""
from __future__ import annotations

import numpy as np
import pytest

from rules_dsl.explore import NotExplorable, explore_threshold, improve_rule
from rules_dsl.ruleset import compile_rule

from .test_suggest import planted, ruleset


def fires(rs, text, frame):
    return rs.with_rule(compile_rule(text, rs.vocabulary, rs.settings, rule_id="x")).matches(frame)["x"].to_numpy()


@pytest.mark.parametrize("op", ["above", "below", "at least", "at most"])
def test_the_curve_is_the_rule_evaluated_at_each_threshold(op):
    frame = planted(n=800)
    frame.loc[::7, "age"] = np.nan  # missing values never fire
    rs = ruleset()
    text = f'rule "r" when age is {op} 60 and systolic pressure is at most 100 then risk is "high"'
    curve = explore_threshold(rs, text, frame, "risk", condition=0, points=12)
    assert curve.current == 60 and curve.op == op and curve.label == "high" and curve.unit == "years"
    assert curve.thresholds[0] == 0 and curve.thresholds[-1] == 110  # the vocabulary's range
    right = (frame["risk"] == "high").to_numpy()
    for k, t in enumerate(curve.thresholds):
        mask = fires(rs, f'rule "r" when age is {op} {t!r} and systolic pressure is at most 100 then risk is "high"',
                     frame)
        assert curve.support[k] == mask.sum()
        assert curve.coverage[k] == pytest.approx(mask.sum() / len(frame))
        if mask.sum():
            assert curve.precision[k] == pytest.approx((mask & right).sum() / mask.sum())
        else:
            assert curve.precision[k] is None


@pytest.mark.parametrize("text, condition, words", [
    ('rule "r" when sex is "F" then risk is "high"', 0, "Only a number"),
    ('rule "r" when age is above 3 then risk is "high"', 2, "ask for one of 0 to 0"),
    ('rule "r" when age is above 3', 0, "concludes nothing"),
])
def test_a_condition_without_a_threshold_is_refused_in_plain_words(text, condition, words):
    with pytest.raises(NotExplorable, match=words):
        explore_threshold(ruleset(), text, planted(n=100), "risk", condition=condition)


def test_improving_a_rule_lists_drops_moves_and_additions_with_what_they_gain_and_lose():
    frame = planted(n=1500)
    rs = ruleset()
    text = 'rule "Old" when age is above 70 and heart rate is above 60 then risk is "high"'
    before = fires(rs, text, frame)
    right = (frame["risk"] == "high").to_numpy()
    changes = improve_rule(rs, text, frame, "risk")
    assert {"drop", "move", "add"} <= {c.kind for c in changes}
    assert any(c.kind == "add" and "systolic pressure" in c.text for c in changes)
    for c in changes:
        after = fires(rs, c.text, frame)
        assert (c.gained, c.lost) == ((after & ~before).sum(), (before & ~after).sum())
        assert (c.gained_right, c.lost_right) == ((after & ~before & right).sum(), (before & ~after & right).sum())
        assert c.text.startswith('rule "Old"')
    best = changes[0]
    assert best.kind == "add" and best.precision > 0.9
