"""Small rule sets for the ML tests, written in the rule language like an author's.

Kept here (not in a conftest) so the ML tests do not depend on the demo rule set, which lands separately.
"""
from __future__ import annotations

from functools import cache

import rules_dsl
from rules_dsl.ruleset import RuleSet, compile_rule

BREAST_FEATURES = {
    "worst radius": {"type": "number", "description": "Largest mean radius of the three worst nuclei"},
    "worst concave points": {"type": "number"},
    "worst texture": {"type": "number"},
    "worst area": {"type": "number"},
    "mean concavity": {"type": "number"},
    "mean texture": {"type": "number"},
    "mean area": {"type": "number"},
}

BREAST_RULES = {
    "many-concave-points": '''rule "Many concave points"
priority 3
when worst concave points is above 0.16
then diagnosis is "malignant" with confidence 0.9''',
    "large-nuclei": '''rule "Large nuclei"
priority 2
when worst radius is above 17 or worst area is above 1000
then diagnosis is "malignant" with confidence 0.85''',
    "rough-and-concave": '''rule "Rough and concave"
when worst texture is above 28 and mean concavity is above 0.08
then diagnosis is "malignant" with confidence 0.7''',
    "small-and-smooth": '''rule "Small and smooth"
priority 1
when worst radius is below 14 and worst concave points is below 0.11
then diagnosis is "benign" with confidence 0.9''',
    "large-mass": '''rule "Large mass"
when mean area is above 700''',
}


def build(features: dict, rules: dict[str, str], outcome: dict, policy: str = "first match",
          default: str | None = None, id: str = "test", version: str | None = None) -> RuleSet:
    vocabulary = rules_dsl.Vocabulary.from_dict({"features": features})
    settings = rules_dsl.Settings.from_dict({"title": id.replace("-", " ").title(), "outcome": outcome,
                                             "policy": policy, "default": default or "abstain"})
    compiled = [compile_rule(text, vocabulary, settings, rule_id=rule_id) for rule_id, text in rules.items()]
    return RuleSet(settings, vocabulary, compiled, id=id, version=version)


@cache
def breast_ruleset(policy: str = "first match", default: str | None = "benign") -> RuleSet:
    return build(BREAST_FEATURES, BREAST_RULES, {"name": "diagnosis", "labels": ["benign", "malignant"]},
                 policy, default, id="breast-test", version="0" * 40)


@cache
def breast_data():
    from rules_dsl.demo import reference_data

    return reference_data()


def x_ruleset(labels=("0", "1", "2", "3"), policy: str = "first match", columns: int = 2) -> RuleSet:
    """Rules over scikit-learn's names for unnamed columns (x0, x1), for the estimator checks' NumPy data."""
    rules = {"high-x0": f'rule "high x0" when x0 is above 0 then class is "{labels[1]}" with confidence 0.9'}
    if columns > 1:
        rules["low-x1"] = f'rule "low x1" when x1 is below -0.5 then class is "{labels[-1]}" with confidence 0.7'
        rules["both-known"] = 'rule "both known" when x0 is known and x1 is known'
    features = {f"x{i}": "number" for i in range(columns)}
    return build(features, rules, {"name": "class", "labels": list(labels)}, policy, labels[0], id="x-rules")
