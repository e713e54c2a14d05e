"""Candidate conjunctions from decision trees: the learner half of rule suggestions (rules_dsl/suggest.py).

Why scikit-learn trees and not a rule-learning library: skope-rules and RuleFit are unmaintained against current
scikit-learn (skope-rules imports ``sklearn.externals.six``, removed in 0.23) and imodels pulls in a large stack
for the same thing: paths of shallow trees. What makes a rule readable (rounding, no implied conditions, no
duplicates, units) is done in the language half, which a library would not do anyway.

A path from a tree's root to any node is a conjunction of ``column <= t`` / ``column > t`` tests. Every node's
path is a candidate (not only leaves), so short rules compete with long ones. One tree per depth 1..max plus a
small forest of shallow trees on bootstrap samples give variety; duplicates are removed here, the rest is judged
on the data by the caller.
"""
from __future__ import annotations

import numpy as np
from sklearn.ensemble import RandomForestClassifier
from sklearn.tree import DecisionTreeClassifier

# A condition of a path: (column index, "le" or "gt", threshold)
Path = tuple[tuple[int, str, float], ...]

FOREST_TREES = 40  # enough variety on 3 data sets of 150-600 cases; 40 depth-3 trees fit in ~0.1 s
# Each forest tree sees a bootstrap sample of at most this many cases: on 20,000 cases of 30 number columns the
# 40 full-size trees took ~4 s, most of a suggestion request (docs/benchmarks.md). The single trees see them all.
FOREST_SAMPLE = 5_000


def candidate_paths(X: np.ndarray, y: np.ndarray, *, max_conditions: int, min_cases: int,
                    random_state: int = 0) -> list[Path]:
    """Paths (as tuples of (column, op, threshold)) of nodes where the share of ``y`` is above its base rate.

    ``X`` holds floats (NaN for missing), ``y`` booleans: the cases of the label wanted. Paths may repeat a column;
    the caller simplifies them. Deterministic for a given ``random_state``."""
    y = np.asarray(y, dtype=bool)
    return paths_of(fit_trees(X, y, max_conditions=max_conditions, min_cases=min_cases,
                              random_state=random_state), y)


def fit_trees(X: np.ndarray, y: np.ndarray, *, max_conditions: int, min_cases: int, random_state: int = 0) -> list:
    """The fitted trees (scikit-learn ``tree_`` objects) whose node paths are the candidates for ``y``; empty when
    ``y`` is all true or all false.

    A fit on ``~y`` gives the same trees (gini and 'balanced' class weights are symmetric in the two classes, and
    the random draws do not depend on ``y``), so a two-label outcome fits once and reads both labels' paths from
    it with ``paths_of(trees, ~y, flipped=True)`` (rules_dsl/suggest.py)."""
    y = np.asarray(y, dtype=bool)
    if y.all() or not y.any():
        return []
    leaf = max(1, min_cases)
    models = [DecisionTreeClassifier(max_depth=depth, min_samples_leaf=leaf, random_state=random_state,
                                     class_weight="balanced").fit(X, y)
              for depth in range(1, max_conditions + 1)]
    sample = FOREST_SAMPLE if len(y) > FOREST_SAMPLE else None  # leaves as large a share of a smaller sample
    forest = RandomForestClassifier(n_estimators=FOREST_TREES, max_depth=max_conditions,
                                    min_samples_leaf=leaf if sample is None else max(1, leaf * sample // len(y)),
                                    max_features=0.5, class_weight="balanced", random_state=random_state,
                                    max_samples=sample, n_jobs=1).fit(X, y)
    models.extend(forest.estimators_)
    return [model.tree_ for model in models]


def paths_of(trees: list, y: np.ndarray, *, flipped: bool = False) -> list[Path]:
    """The candidate paths for ``y`` from ``trees``: fitted on ``y`` itself, or on ``~y`` when ``flipped``."""
    y = np.asarray(y, dtype=bool)
    if not trees or y.all() or not y.any():
        return []
    base = y.mean()
    seen: set[Path] = set()
    paths: list[Path] = []
    for tree in trees:
        for path in _node_paths(tree, base, flipped):
            if path not in seen:
                seen.add(path)
                paths.append(path)
    return paths


def _node_paths(tree, base: float, flipped: bool = False) -> list[Path]:
    """Every non-root node's path whose (unweighted) share of positive cases is above ``base``."""
    found = []
    stack: list[tuple[int, Path]] = [(0, ())]
    while stack:
        node, path = stack.pop()
        if path:
            counts = tree.value[node][0][::-1] if flipped else tree.value[node][0]
            # value holds weighted class shares; undo the balancing to compare with the base rate
            if counts.sum() > 0 and _share(counts, base) > base:
                found.append(path)
        left, right = tree.children_left[node], tree.children_right[node]
        if left == right:  # a leaf
            continue
        column, threshold = int(tree.feature[node]), float(tree.threshold[node])
        stack.append((left, path + ((column, "le", threshold),)))
        stack.append((right, path + ((column, "gt", threshold),)))
    return found


def _share(weighted: np.ndarray, base: float) -> float:
    """The share of positives in a node from class weights 'balanced' (each class weighted 1 / (2 * its share))."""
    negatives = weighted[0] * 2 * (1 - base)
    positives = weighted[1] * 2 * base
    total = negatives + positives
    return float(positives / total) if total else 0.0
