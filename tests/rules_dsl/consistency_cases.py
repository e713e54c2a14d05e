"""The fixed cases of the consistency suite (test_consistency.py here, tests/server/test_consistency.py there).

Every case goes through every way Rulecraft answers (RuleSet.matches, matches_row, decide/decide_row, SQL on SQLite
and PostgreSQL, RuleFeatures, RulePredictor, the server's predict and evaluate) and must get the same answer, or
the same error naming the same column. The expected answers are written here by hand from docs/language.md ("How
data values are read and matched"), so that the suite does not only compare the backends with one another.

The rule set is the sepsis-triage fixture (its vocabulary has a category, a yes/no, text, ranges, a synonym and a
data column named unlike its feature) with the rules below added.
"""
from __future__ import annotations

import math

import numpy as np
import pandas as pd

import rules_dsl
from rules_dsl.ruleset import slugify

from .conftest import SEPSIS

RULES = [
    'rule "Hot"\nwhen temperature is above 38\nthen sepsis risk is "high"',
    'rule "Warm"\nwhen temperature is at least 38',
    'rule "Slow heart"\nwhen heart rate is at most 90',
    'rule "At margin"\nwhen location is "margin"',
    'rule "Not centre or border"\nwhen location is not one of "centre", "border"',
    'rule "No location"\nwhen location is missing',
    'rule "Smokes"\nwhen smoker is yes',
    'rule "Biopsy"\nwhen notes contains "biopsy"',
    'rule "Small"\nwhen lesion diameter is below 0.3 cm',
    'rule "No temperature"\nwhen temperature is missing',
]
NAMES = [text.split('"')[1] for text in RULES]
IDS = [slugify(name) for name in NAMES]
NEITHER = {"no-temperature", "no-location"}  # what fires when nothing is known

# (what, case, expected): the ids of the rules above that fire, or ("error", column) for a DataError naming it.
CASES = [
    ("nothing known", {}, NEITHER),
    ("NaN", {"temperature": math.nan}, NEITHER),
    ("None", {"temperature": None}, NEITHER),
    ("pd.NA", {"temperature": pd.NA}, NEITHER),
    ("numpy NaN", {"temperature": np.float64("nan")}, NEITHER),
    ("n/a in a number column", {"temperature": "n/a"}, NEITHER),
    ("NA in a number column", {"temperature": "NA"}, NEITHER),
    ("+inf", {"temperature": math.inf}, ("error", "temperature")),
    ("-inf", {"temperature": -math.inf}, ("error", "temperature")),
    ("true where a number is expected", {"temperature": True}, ("error", "temperature")),
    ("numpy false where a number is expected", {"heart rate": np.bool_(False)}, ("error", "heart rate")),
    ("a number as text", {"temperature": "38.5"}, ("error", "temperature")),
    ("exactly on the threshold", {"temperature": 38}, {"warm", "no-location"}),
    ("on the threshold as a float", {"temperature": 38.0}, {"warm", "no-location"}),
    ("just above the threshold", {"temperature": 38.000001}, {"hot", "warm", "no-location"}),
    ("at most, exactly", {"heart rate": 90}, {"slow-heart"} | NEITHER),
    ("a numpy integer", {"heart rate": np.int64(85)}, {"slow-heart"} | NEITHER),
    ("a category as written", {"location": "margin"}, {"at-margin", "not-centre-or-border", "no-temperature"}),
    ("spaces around a category", {"location": " Margin\t"}, {"at-margin", "not-centre-or-border", "no-temperature"}),
    ("a category in capitals", {"location": "MARGIN"}, {"at-margin", "not-centre-or-border", "no-temperature"}),
    ("one of, in other letter case", {"location": " Border "}, {"no-temperature"}),
    ("an unknown category", {"location": "elsewhere"}, {"not-centre-or-border", "no-temperature"}),
    ("a category code as a number", {"location": 3}, {"not-centre-or-border", "no-temperature"}),
    ("true where a category is expected", {"location": True}, ("error", "location")),
    ("yes", {"smoker": "yes"}, {"smokes"} | NEITHER),
    ("true", {"smoker": True}, {"smokes"} | NEITHER),
    ("1 for yes", {"smoker": 1}, {"smokes"} | NEITHER),
    ("No with a space", {"smoker": " No"}, NEITHER),
    ("n/a in a yes/no column", {"smoker": "n/a"}, NEITHER),
    ("neither yes nor no", {"smoker": "maybe"}, ("error", "smoker")),
    ("text contains, any case", {"notes": "BIOPSY planned"}, {"biopsy"} | NEITHER),
    ("the feature's name as key", {"lesion diameter": 2.0}, {"small"} | NEITHER),
    ("the name in other letter case", {"Lesion Diameter": 2.0}, {"small"} | NEITHER),
    ("a synonym as key", {"pulse": 80}, {"slow-heart"} | NEITHER),
    ("the data column wins over the name", {"diam_mm": 4.0, "lesion diameter": 2.0}, NEITHER),
    ("one feature under two names", {"Pulse": 80, "HEART RATE": 95}, ("error", "heart rate")),
]


def consistency_ruleset() -> rules_dsl.RuleSet:
    ruleset = rules_dsl.load(SEPSIS)
    for text, rule_id in zip(RULES, IDS):
        ruleset = ruleset.with_rule(rules_dsl.compile_rule(text, ruleset.vocabulary, ruleset.settings, rule_id))
    return ruleset


def is_error(expected) -> bool:
    return isinstance(expected, tuple)


def as_json(value):
    """A case's value as JSON can carry it: missing values of every kind are null."""
    if value is None or value is pd.NA or (isinstance(value, float) and math.isnan(value)):
        return None
    if isinstance(value, (np.bool_, np.integer, np.floating)):
        return value.item()
    return value
