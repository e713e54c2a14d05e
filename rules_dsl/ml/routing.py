"""A router that learns how long the primary model takes on a case, and sends the slow ones straight to the rules.

    router = LatencyRouter(columns=["worst radius", "worst area"])
    predictor = FallbackPredictor(model, backup, deadline_ms=10, router=router)

The FallbackPredictor reports every primary call's running time (late calls included, when they finish) with
the case; after ``min_observations`` the router fits a small regression tree (scikit-learn's
DecisionTreeRegressor) on the last ``window`` observations, and refits every ``refit_every`` more. Before asking
the primary, the predictor asks the router; when the predicted time is over the deadline the backup answers at
once (reason "routed") instead of after a wasted wait. A share ``explore`` of such cases still goes to the
primary, so the router notices when the primary gets faster.

The fitted tree is read into plain lists and walked in Python: a prediction costs a few microseconds, where
``DecisionTreeRegressor.predict`` on one row costs tens (input validation).

Layer rule: this module imports scikit-learn (besides estimators.py); fallback.py does not need it.
"""
from __future__ import annotations

import math
import random
import threading
from collections import deque
from collections.abc import Mapping, Sequence

import numpy as np
from sklearn.tree import DecisionTreeRegressor

__all__ = ["LatencyRouter"]


def _number(value) -> float:
    if isinstance(value, bool):
        return float(value)
    if isinstance(value, (int, float, np.integer, np.floating)):
        return float(value)
    return math.nan  # text, missing: the tree sends NaN down the side it learnt for missing values


class LatencyRouter:
    """Predicts the primary's running time (ms) from numeric inputs of the case.

    Parameters
    ----------
    columns : the case's numeric inputs the tree may split on (others are ignored)
    min_observations : observations before the first fit (no routing before)
    refit_every : observations between fits
    window : the fit uses the last ``window`` observations
    max_depth : depth of the regression tree
    explore : share of cases predicted slow that still go to the primary, to keep learning
    seed : for the exploration draws
    """

    def __init__(self, columns: Sequence[str], min_observations: int = 200, refit_every: int = 200,
                 window: int = 5_000, max_depth: int = 4, explore: float = 0.05, seed: int | None = 0):
        if not columns:
            raise ValueError("The router needs at least one column to learn from.")
        self.columns = list(columns)
        self.min_observations = min_observations
        self.refit_every = refit_every
        self.max_depth = max_depth
        self.explore = explore
        self._observations: deque = deque(maxlen=window)
        self._since_fit = 0
        self._lock = threading.Lock()
        self._random = random.Random(seed)
        self._tree: tuple | None = None   # (left, right, feature, threshold, missing_left, value) as lists
        self.fits = 0

    # ---- learning --------------------------------------------------------------------------------------------
    def observe(self, row: Mapping, ms: float) -> None:
        """Record one primary call's running time; refit when due (in the caller's thread: a worker's)."""
        features = [_number(row.get(c)) for c in self.columns]
        with self._lock:
            self._observations.append((features, ms))
            self._since_fit += 1
            due = len(self._observations) >= self.min_observations and (
                self._tree is None or self._since_fit >= self.refit_every)
            if not due:
                return
            self._since_fit = 0
            data = list(self._observations)
        X = np.array([f for f, _ in data], dtype=float)
        y = np.array([ms for _, ms in data], dtype=float)
        tree = DecisionTreeRegressor(max_depth=self.max_depth, min_samples_leaf=5, random_state=0).fit(X, y).tree_
        walked = (tree.children_left.tolist(), tree.children_right.tolist(), tree.feature.tolist(),
                  tree.threshold.tolist(), tree.missing_go_to_left.astype(bool).tolist(),
                  tree.value[:, 0, 0].tolist())
        with self._lock:
            self._tree = walked  # swapped whole: readers see the old tree or the new one
            self.fits += 1

    # ---- predicting ------------------------------------------------------------------------------------------
    def predict_ms(self, row: Mapping) -> float | None:
        """The expected running time of the primary on this case, or None before the first fit."""
        tree = self._tree
        if tree is None:
            return None
        left, right, feature, threshold, missing_left, value = tree
        node = 0
        while left[node] != -1:
            x = _number(row.get(self.columns[feature[node]]))
            if x != x:
                node = left[node] if missing_left[node] else right[node]
            else:
                node = left[node] if x <= threshold[node] else right[node]
        return value[node]

    def too_slow(self, row: Mapping, budget_ms: float) -> bool:
        """Whether to skip the primary: predicted over budget, and this case not drawn to explore."""
        predicted = self.predict_ms(row)
        if predicted is None or predicted <= budget_ms:
            return False
        return self._random.random() >= self.explore

    def __repr__(self) -> str:
        return f"LatencyRouter(columns={self.columns!r}, fits={self.fits})"
