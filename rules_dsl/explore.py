"""Help a person change a rule on reference data: move one threshold and see; add, drop or move one condition.

- ``explore_threshold(ruleset, rule, frame, label, condition=i)``: the rule's precision and coverage as the threshold
  of its i-th condition (a number compared with above / below / at least / at most) moves across the feature's
  range, the other conditions kept. Vectorized: the values where the other conditions hold are sorted once, and
  one ``searchsorted`` gives every threshold's count, so 100 thresholds over 100,000 cases take milliseconds
  (bench/suggest_eval.py, docs/benchmarks.md) where evaluating the rule 100 times would take ~100x longer.
- ``improve_rule(ruleset, rule, frame, label)``: candidates that drop one condition, move one threshold (to the
  best of the explorer's, rounded as suggestions are) or add one condition (a tree split among the cases the rule
  fires on), each with the cases it would gain and lose, and how many of them have the rule's label.

The top-level conditions are those joined by "and" (a rule of one condition has one). Figures are those of the
compiled rule text, like every figure in rules_dsl.analysis. Nothing is saved.
"""
from __future__ import annotations

from dataclasses import dataclass, replace
from decimal import Decimal

import numpy as np
import pandas as pd

from . import logic as L
from .analysis import _json, _truth
from .backends.vectorized import VectorizedRules
from .formatter import format_condition, format_syntax
from .ruleset import CompiledRule, RuleSet, compile_rule
from .suggest import (
    PRECISION_POINT,
    _columns,
    _comparison,
    _conditions,
    _learner_matrix,
    _number_column,
    _rounded,
    _score,
    round_threshold,
)
from .syntax import AllOf, Comparison, Quantity

__all__ = ["explore_threshold", "Exploration", "improve_rule", "Change", "NotExplorable", "MOVABLE"]

MOVABLE = {"above": "gt", "below": "lt", "at least": "ge", "at most": "le"}
MAX_POINTS = 1000


class NotExplorable(ValueError):
    """The condition asked for has no threshold to move (what and how to fix are in the message)."""

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


@dataclass
class Exploration:
    feature: str
    unit: str | None
    op: str                       # as written: above, below, at least, at most
    label: str
    current: float
    thresholds: list[float]
    precision: list[float | None]  # None where the rule would fire on no case
    coverage: list[float]
    recall: list[float]
    support: list[int]

    def to_dict(self) -> dict:
        return _json(self.__dict__)


def _compiled(ruleset: RuleSet, rule: str | CompiledRule) -> CompiledRule:
    return rule if isinstance(rule, CompiledRule) else compile_rule(rule, ruleset.vocabulary, ruleset.settings)


def _items(compiled: CompiledRule) -> tuple[tuple, tuple]:
    """The top-level conditions (joined by 'and') as syntax and as checked logic, in the same order."""
    if isinstance(compiled.syntax.condition, AllOf):
        return compiled.syntax.condition.items, compiled.logic.items
    return (compiled.syntax.condition,), (compiled.logic,)


def _wanted(ruleset: RuleSet, compiled: CompiledRule, target: str | None, label: str) -> str:
    if target is not None:
        found = ruleset.outcome.label(target)
        if found is None:
            raise NotExplorable(f"'{target}' is not one of the outcome's labels ({', '.join(ruleset.outcome.labels)}).")
        return found
    if compiled.conclusion is None:
        raise NotExplorable("This rule concludes nothing, so its precision needs a label: say which one "
                            f"({', '.join(ruleset.outcome.labels)}).")
    return compiled.conclusion.label


def _is_label(ruleset: RuleSet, frame: pd.DataFrame, label: str, wanted: str) -> np.ndarray:
    """Where the true outcome is ``wanted`` (labels matched as the outcome matches them, each distinct one once)."""
    truth = _truth(frame, label)
    codes, uniques = pd.factorize(truth)
    return np.array([ruleset.outcome.label(v) == wanted for v in uniques], dtype=bool)[codes]


def _fires(logic: L.Logic | None, frame: pd.DataFrame) -> np.ndarray:
    if logic is None:
        return np.ones(len(frame), dtype=bool)
    return VectorizedRules([("r", logic)]).evaluate(frame)[0]


def _rest(logics: tuple, skip: int) -> L.Logic | None:
    others = tuple(item for i, item in enumerate(logics) if i != skip)
    return None if not others else others[0] if len(others) == 1 else L.All(others)


def _curve(x: np.ndarray, y: np.ndarray, rest: np.ndarray, op: str, thresholds: np.ndarray):
    """Support and hits of "rest and x <op> t" for every t: one sort, one searchsorted."""
    keep = rest & ~np.isnan(x)
    order = np.argsort(x[keep], kind="stable")
    values, hits = x[keep][order], np.concatenate(([0], np.cumsum(y[keep][order])))
    side = "right" if op in ("gt", "le") else "left"
    below = np.searchsorted(values, thresholds, side=side)  # cases with x <= t (right) or x < t (left)
    if op in ("gt", "ge"):
        return len(values) - below, hits[-1] - hits[below]
    return below, hits[below]


def explore_threshold(ruleset: RuleSet, rule: str | CompiledRule, frame: pd.DataFrame, label: str, *,
                      condition: int = 0, target: str | None = None, points: int = 100,
                      truth: np.ndarray | None = None) -> Exploration:
    """How the rule's precision and coverage move with the threshold of its ``condition``-th top-level condition."""
    compiled = _compiled(ruleset, rule)
    items, logics = _items(compiled)
    if not 0 <= condition < len(items):
        raise NotExplorable(f"The rule has {len(items)} condition{'s' * (len(items) != 1)} joined by 'and'; "
                            f"ask for one of 0 to {len(items) - 1}.")
    item, test = items[condition], logics[condition]
    feature = ruleset.vocabulary.lookup(item.feature) if isinstance(item, Comparison) else None
    if feature is None or feature.type != "number" or item.op not in MOVABLE or not isinstance(test, L.Test):
        raise NotExplorable("Only a number compared with 'above', 'below', 'at least' or 'at most' has a threshold "
                            "to move; this condition has none.")
    if not 2 <= points <= MAX_POINTS:
        raise NotExplorable(f"Ask for 2 to {MAX_POINTS} thresholds.")
    wanted = _wanted(ruleset, compiled, target, label)
    y = _is_label(ruleset, frame, label, wanted) if truth is None else truth
    x = _number_column(frame[feature.column], feature.column)
    rest = _fires(_rest(logics, condition), frame)
    low, high = feature.range or (np.nanmin(x), np.nanmax(x))
    thresholds = np.linspace(float(low), float(high), points)
    support, hits = _curve(x, y, rest, test.op, thresholds)
    positives = max(int(y.sum()), 1)
    precision = [float(h / s) if s else None for h, s in zip(hits, support)]
    return Exploration(feature.name, feature.unit, item.op, wanted, float(test.value),
                       [float(t) for t in thresholds], precision, [float(s / len(frame)) for s in support],
                       [float(h / positives) for h in hits], [int(s) for s in support])


# ---- improve this rule ---------------------------------------------------------------------------------------------
@dataclass
class Change:
    kind: str            # drop | move | add
    description: str
    text: str
    precision: float | None
    coverage: float
    support: int
    gained: int          # cases the changed rule fires on and the rule did not
    lost: int
    gained_right: int    # of those, cases with the rule's label
    lost_right: int

    def to_dict(self) -> dict:
        return _json(self.__dict__)


def improve_rule(ruleset: RuleSet, rule: str | CompiledRule, frame: pd.DataFrame, label: str, *,
                 target: str | None = None, most: int = 8, random_state: int = 0) -> list[Change]:
    """Candidates one step away from the rule, each with what it gains and loses; the better first."""
    compiled = _compiled(ruleset, rule)
    wanted = _wanted(ruleset, compiled, target, label)
    y = _is_label(ruleset, frame, label, wanted)
    items, logics = _items(compiled)
    before = _fires(compiled.logic, frame)
    changes: list[Change] = []
    tried: list[np.ndarray] = []  # a change firing on the same cases as one listed says nothing new

    def add(kind: str, description: str, new_items: tuple) -> None:
        condition = new_items[0] if len(new_items) == 1 else AllOf(tuple(new_items))
        text = format_syntax(replace(compiled.syntax, condition=condition))
        new = compile_rule(text, ruleset.vocabulary, ruleset.settings)
        after = _fires(new.logic, frame)
        if np.array_equal(after, before) or any(np.array_equal(after, seen) for seen in tried):
            return
        tried.append(after)
        support = int(after.sum())
        gained, lost = after & ~before, before & ~after
        changes.append(Change(kind, description, new.text, float((after & y).sum() / support) if support else None,
                              support / len(frame), support, int(gained.sum()), int(lost.sum()),
                              int((gained & y).sum()), int((lost & y).sum())))

    if len(items) > 1:
        for i, item in enumerate(items):
            add("drop", f"drop '{format_condition(item)}'", items[:i] + items[i + 1:])
    for i, item in enumerate(items):
        try:
            curve = explore_threshold(ruleset, compiled, frame, label, condition=i, target=wanted, truth=y)
        except NotExplorable:
            continue
        best = max(range(len(curve.thresholds)),
                   key=lambda k: _score(round((curve.precision[k] or 0) * curve.support[k]), curve.support[k],
                                        max(int(y.sum()), 1)))
        value = _round_like_suggestions(curve, best)
        if value != curve.current:
            feature = ruleset.vocabulary.lookup(item.feature)
            moved = replace(item, values=(Quantity(Decimal(repr(value)).normalize(), feature.unit or None),))
            add("move", f"'{format_condition(item)}' becomes '{format_condition(moved)}'",
                items[:i] + (moved,) + items[i + 1:])
    for cond in _added_conditions(ruleset, compiled, frame, y, before, random_state):
        added = _comparison(cond)
        add("add", f"add '{format_condition(added)}'", items + (added,))
    changes.sort(key=lambda c: -_score(round((c.precision or 0) * c.support), c.support, max(int(y.sum()), 1)))
    return changes[:most]


def _round_like_suggestions(curve: Exploration, best: int) -> float:
    """The best threshold with the fewest significant digits that keep the precision within a point."""
    exact, reference = curve.thresholds[best], curve.precision[best] or 0.0
    grid = np.asarray(curve.thresholds)
    for digits in range(1, 7):
        value = round_threshold(exact, digits)
        nearest = int(np.abs(grid - value).argmin())
        if abs((curve.precision[nearest] or 0.0) - reference) < PRECISION_POINT:
            return value
    return round_threshold(exact, 6)


def _added_conditions(ruleset, compiled, frame, y, before, random_state, most: int = 3) -> list:
    """One-condition splits, among the cases the rule fires on, on features the rule does not use yet."""
    from .ml.rule_learner import candidate_paths  # scikit-learn only when asked

    used = {t.column for t in L.tests(compiled.logic)}
    features, columns = _columns(ruleset, frame, used)
    if not features or before.sum() < 10 or y[before].all() or not y[before].any():
        return []
    fired = {c: v[before] for c, v in columns.items()}
    matrix, meaning = _learner_matrix(features, fired)
    n, yy = int(before.sum()), y[before]
    found = []
    for path in candidate_paths(matrix, yy, max_conditions=1, min_cases=max(3, n // 50),
                                random_state=random_state):
        conds = _conditions(path, meaning, fired)
        if conds:
            found.extend(_rounded(conds, fired, yy, n))
    unique = list({(c.feature.name, c.op, repr(c.value)): c for c in found}.values())
    return unique[:most]
