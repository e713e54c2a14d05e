"""From the rules that fired to one prediction, following the rule set's policy.

- first match: rules are tried by priority (higher first, ties by id); the first one that fires decides.
- weighted vote: each firing rule votes for its label with its confidence (1 when none is given); the label with
  the most votes wins, ties going to the label listed first in the outcome.
Rules without a conclusion are features only and never vote. When no rule decides, the default label answers,
or the prediction abstains (label None).
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from .vocabulary import Outcome, Policy


@dataclass(frozen=True)
class Voter:
    id: str
    label: str
    weight: float      # the rule's confidence, 1.0 when not given
    priority: int


@dataclass(frozen=True)
class Decision:
    label: str | None                      # None: abstained
    fired: tuple[str, ...]                 # every rule that fired, in rule order
    deciding: tuple[str, ...] = ()         # the rules that carried the winning label
    scores: dict[str, float] = field(default_factory=dict)
    reason: str = ""


def order_voters(voters: Sequence[Voter]) -> list[Voter]:
    return sorted(voters, key=lambda v: (-v.priority, v.id))


def decide(fired: Sequence[str], voters: Sequence[Voter], outcome: Outcome, policy: Policy) -> Decision:
    fired_set = set(fired)
    ordered = order_voters(voters)
    if policy.kind == "first match":
        for voter in ordered:
            if voter.id in fired_set:
                return Decision(voter.label, tuple(fired), (voter.id,), {voter.label: voter.weight},
                                f"'{voter.id}' is the first rule by priority that fired; it concludes "
                                f"{voter.label}.")
    else:
        scores: dict[str, float] = {}
        backers: dict[str, list[str]] = {}
        for voter in ordered:
            if voter.id in fired_set:
                scores[voter.label] = scores.get(voter.label, 0.0) + voter.weight
                backers.setdefault(voter.label, []).append(voter.id)
        if scores:
            best = max(outcome.labels, key=lambda label: (scores.get(label, -1.0), -outcome.labels.index(label)))
            parts = ", ".join(f"{label} {score:g}" for label, score in scores.items())
            return Decision(best, tuple(fired), tuple(backers[best]), scores,
                            f"Weighted vote ({parts}): {best} has the most.")
    if policy.default is None:
        return Decision(None, tuple(fired), (), {}, "No rule with a conclusion fired; the rules abstain.")
    return Decision(policy.default, tuple(fired), (), {},
                    f"No rule with a conclusion fired; the default is {policy.default}.")


def decide_frame(matches: pd.DataFrame, voters: Sequence[Voter], outcome: Outcome, policy: Policy) -> pd.Series:
    """The predicted label of every row of a ``RuleSet.matches`` frame (None where the rules abstain)."""
    n = len(matches)
    ordered = [v for v in order_voters(voters) if v.id in matches.columns]
    if policy.kind == "first match":
        labels = np.full(n, None, dtype=object)
        undecided = np.ones(n, dtype=bool)
        for voter in ordered:
            hit = matches[voter.id].to_numpy() & undecided
            labels[hit] = voter.label
            undecided &= ~hit
    else:
        scores = vote_scores(matches, ordered, outcome)
        best = scores.argmax(axis=1)  # argmax keeps the first maximum: the label listed first wins ties
        labels = np.array(outcome.labels, dtype=object)[best]
        undecided = ~(scores > 0).any(axis=1)
    labels[undecided] = policy.default
    return pd.Series(labels, index=matches.index, name=outcome.name, dtype=object)


def vote_scores(matches: pd.DataFrame, voters: Sequence[Voter], outcome: Outcome) -> np.ndarray:
    """(rows x labels) sum of the confidences of the firing rules voting for each label."""
    scores = np.zeros((len(matches), len(outcome.labels)))
    for voter in voters:
        if voter.id in matches.columns:
            scores[:, outcome.labels.index(voter.label)] += matches[voter.id].to_numpy() * voter.weight
    return scores
