"""A vocabulary with every feature type, units, synonyms and data columns that differ from the feature names.

The generated rules (strategies.py) and the parity tests use it; the values pools are chosen so that generated rules
and generated data meet often (equalities hit, thresholds fall between data values, text contains a needle).
"""
from __future__ import annotations

from decimal import Decimal

import rules_dsl
from rules_dsl.ruleset import CompiledRule, RuleSet

VOCABULARY_DATA = {
    "features": {
        "temperature": {"type": "number", "unit": "°C", "range": [30, 45], "description": "Body temperature"},
        "heart rate": {"type": "number", "synonyms": ["pulse"], "column": "hr"},
        "lesion diameter": {"type": "number", "unit": "mm", "column": "diam_mm"},
        "age at diagnosis": {"type": "number", "unit": "years", "column": "age"},
        "white cell count": {"type": "number"},
        "location": {"type": "category", "values": ["margin", "border", "centre"]},
        "grade": {"type": "category", "values": ["1", "2", "3"]},
        "history of smoking": {"type": "boolean", "synonyms": ["smoker"], "column": "smoker"},
        "notes": {"type": "text"},
    }
}
SETTINGS_DATA = {"title": "Test rules", "outcome": {"name": "risk", "labels": ["low", "medium", "high"]},
                 "policy": "first match", "default": "abstain"}

TEST_VOCABULARY = rules_dsl.Vocabulary.from_dict(VOCABULARY_DATA)
TEST_SETTINGS = rules_dsl.Settings.from_dict(SETTINGS_DATA)

# The units each number feature may be written in, and how many of that unit make one of the feature's own unit
# (so a number in the feature's unit is written exactly as number * factor: 0.3 cm for 3 mm, 6 months for 0.5 years).
UNITS: dict[str, dict[str | None, Decimal]] = {
    "temperature": {None: Decimal(1), "°C": Decimal(1)},
    "heart rate": {None: Decimal(1)},
    "lesion diameter": {None: Decimal(1), "mm": Decimal(1), "cm": Decimal("0.1"), "µm": Decimal(1000)},
    "age at diagnosis": {None: Decimal(1), "years": Decimal(1), "months": Decimal(12), "days": Decimal("365.25")},
    "white cell count": {None: Decimal(1)},
}
# Numbers (in each feature's own unit) that rules compare with and data holds.
NUMBERS = [Decimal(x) for x in ("-1", "0", "0.5", "2", "2.5", "5", "12", "37.5", "38", "90", "100")]
OTHER_NUMBERS = [-3.25, 1.0, 3.0, 37.9, 38.1, 1000.0]  # only in data
# Category data as people type it: other letter cases and surrounding spaces match (docs/language.md), "elsewhere"
# and "4" are outside the allowed values.
CATEGORY_DATA = {"location": ["margin", "border", "centre", "Margin", "elsewhere", " BORDER", "Centre\t", "margin "],
                 "grade": ["1", "2", "3", "4", " 2"]}
NOTES = ["fever", "Biopsy done", "BIOPSY", "no biopsy", "", "cough and fever", "50% better", "under_score"]
NEEDLES = ["biopsy", "fever", "", "BI", "and", "%", "_", "50% b", "x"]

NUMBER_FEATURES = [n for n, f in VOCABULARY_DATA["features"].items() if f["type"] == "number"]


def feature_names(kind: str) -> list[str]:
    return [n for n, f in VOCABULARY_DATA["features"].items() if f["type"] == kind]


def build_ruleset(rules, vocabulary=TEST_VOCABULARY, settings=TEST_SETTINGS) -> RuleSet:
    """A RuleSet from rule texts or syntax trees, ids r0, r1, ... (checked: raises RuleError on errors)."""
    compiled: list[CompiledRule] = []
    for i, rule in enumerate(rules):
        compiled.append(rules_dsl.compile_rule(rule, vocabulary, settings, rule_id=f"r{i:03d}"))
    return RuleSet(settings, vocabulary, compiled, id="test")
