"""pandas frames: the vectorized NumPy engine (backends/vectorized.py), as RuleSet.matches runs it.

Also the policy as NumPy over the fired-rule block, which the Dask engine runs per partition.
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from . import check_new_columns, decision_columns, decision_plan, match_columns


def with_matches(ruleset, frame: pd.DataFrame, prefix: str) -> pd.DataFrame:
    names = match_columns(ruleset, prefix)
    check_new_columns(frame.columns, names, prefix)
    fired = ruleset.matches(frame)
    fired.columns = names
    return pd.concat([frame, fired], axis=1)


def with_decisions(ruleset, frame: pd.DataFrame, prefix: str) -> pd.DataFrame:
    names = decision_columns(prefix)
    check_new_columns(frame.columns, names, prefix)
    fired = ruleset.matches(frame)
    decided = decisions(ruleset, {rule_id: fired[rule_id].to_numpy() for rule_id in fired.columns}, len(frame))
    out = frame.copy(deep=False)
    for name, values in zip(names, decided):
        out[name] = pd.Series(values, index=frame.index, dtype=object if values.dtype == object else "float64")
    return out


def decisions(ruleset, fired: dict[str, np.ndarray], n: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(label, deciding rule, confidence) per row from each rule's fired mask; None / NaN where no rule decided."""
    plan = decision_plan(ruleset)
    labels = np.full(n, None, dtype=object)
    deciding = np.full(n, None, dtype=object)
    confidence = np.full(n, np.nan)
    if plan.kind == "first match":
        undecided = np.ones(n, dtype=bool)
        for rule_id, label, weight in plan.voters:
            hit = fired[rule_id] & undecided
            labels[hit], deciding[hit], confidence[hit] = label, rule_id, weight
            undecided &= ~hit
    else:
        scores = np.zeros((n, len(plan.labels)))
        for rule_id, label, weight in plan.voters:  # summed in priority order, as policy.vote_scores does
            scores[:, plan.labels.index(label)] += fired[rule_id] * weight
        best = scores.argmax(axis=1)  # the first maximum: the label listed first wins ties
        undecided = ~(scores > 0).any(axis=1)
        labels = np.array(plan.labels, dtype=object)[best]
        with np.errstate(invalid="ignore", divide="ignore"):
            confidence = scores[np.arange(n), best] / scores.sum(axis=1)
        for k, label in enumerate(plan.labels):
            for rule_id, _ in reversed(plan.backers(label)):  # the first by priority is written last
                hit = (best == k) & fired[rule_id]
                deciding[hit] = rule_id
        labels[undecided], deciding[undecided], confidence[undecided] = None, None, np.nan
    labels[undecided] = plan.default
    return labels, deciding, confidence
