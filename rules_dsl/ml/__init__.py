"""Rules for ML engineers: scikit-learn features, a backup predictor, and a fallback under a slow or failing model.

    from rules_dsl.ml import RuleFeatures, RulePredictor, FallbackPredictor

Layer rule: this package is the only part of rules_dsl that imports scikit-learn (estimators.py, routing.py, and
rule_learner.py, the trees behind rules_dsl.suggest);
``import rules_dsl`` does not load it. See docs/ml-guide.md.
"""
from .estimators import Explanation, FiredRule, RuleFeatures, RulePredictor
from .fallback import Answer, FallbackPredictor
from .routing import LatencyRouter

__all__ = ["RuleFeatures", "RulePredictor", "Explanation", "FiredRule", "FallbackPredictor", "Answer",
           "LatencyRouter"]
