"""bench/suggest_eval.py keeps working: the wine data set (seconds), with the issue's targets on it."""
from __future__ import annotations

from bench import suggest_eval


def test_suggested_rules_stay_within_three_points_of_a_depth_3_tree_on_wine():
    frame, labels = suggest_eval.datasets()["wine"]
    result = suggest_eval.evaluate("wine", frame, labels)
    assert result["accuracy"][5] >= result["tree"] - 0.03
    assert result["max_conditions"] <= 3 and result["precision_mean"] > 0.8


def test_significant_digits_are_counted_in_conditions_only():
    assert suggest_eval.digits('rule "a 12345"\nwhen x is above 0.0514\n  and y is at most 115\nthen o is "1"') == 3
