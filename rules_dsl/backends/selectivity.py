"""A prior guess of how often a condition is true, from the vocabulary alone (no data).

The per-row backend uses it to order the parts of each ``and`` (the part most likely false first) and each ``or``
(the part most likely true first), so that short-circuiting skips more tests. Reordering never changes an answer:
after the values are read and normalised, a test has no side effects and cannot fail. The guess only changes how
much work is skipped:

- a number with a declared range is taken as spread evenly over it (``above 90`` in 0..100: 10%);
- a category is taken as equally likely to be any of its values (``is one of "a", "b"`` of 4 values: 50%);
- a value is taken as known 98% of the time; anything else (no range, text, yes/no) counts as a coin toss.

On data that is skewed against these guesses the order is simply less good, never wrong.
"""
from __future__ import annotations

from collections.abc import Callable

from .. import logic as L

KNOWN = 0.98


def likelihood(vocabulary) -> Callable[[L.Logic], float]:
    """A function giving the guessed probability that a condition is true."""
    features = {f.column: f for f in vocabulary.features}

    def test(t: L.Test) -> float:
        if t.op == "missing":
            return 1 - KNOWN
        if t.op == "known":
            return KNOWN
        feature = features.get(t.column)
        share = 0.5
        if feature is not None and feature.type == "number" and feature.range is not None:
            low, high = feature.range
            span = (high - low) or 1.0
            value = t.value
            if t.op in ("gt", "ge"):
                share = (high - value) / span
            elif t.op in ("lt", "le"):
                share = (value - low) / span
            elif t.op in ("eq", "ne"):
                share = 0.1
            elif t.op in ("in", "not_in"):
                share = 0.1 * len(value)
            if t.op in ("ne", "not_in"):
                share = 1 - share
        elif feature is not None and feature.type == "category" and feature.values:
            values = len(feature.values)
            count = len(t.value) if t.op in ("in", "not_in") else 1
            share = count / values if t.op in ("eq", "in") else 1 - count / values if t.op in ("ne", "not_in") \
                else 0.5
        return KNOWN * min(1.0, max(0.0, share))

    def estimate(node: L.Logic) -> float:
        if isinstance(node, L.Test):
            return test(node)
        if isinstance(node, L.Not):
            return KNOWN - estimate(node.item) if isinstance(node.item, L.Test) else 1 - estimate(node.item)
        parts = [estimate(item) for item in node.items]
        if isinstance(node, L.All):
            product = 1.0
            for p in parts:
                product *= p
            return product
        if isinstance(node, L.Any_):
            none = 1.0
            for p in parts:
                none *= 1 - p
            return 1 - none
        return min(1.0, sum(parts) / max(node.count, 1) / 2)  # at least N of: a rough middle

    return estimate
