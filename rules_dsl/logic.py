"""The checked form of a condition: what every backend compiles.

The checker turns a syntax tree into this small language of tests on data columns, with values already converted
to the vocabulary's units and spellings. Backends never see names, synonyms or units.

Semantics (the same in every backend, DESIGN.md): three-valued Kleene logic. A test on a missing value is unknown;
``not unknown`` is unknown; ``and``/``or`` follow Kleene's tables; ``at least N of`` is true when N items are true,
false when fewer than N can still be true, unknown otherwise. A rule fires only when its condition is true.
Backends compute it with two two-valued "rails" per node: T (surely true) and F (surely false):

    T(not a) = F(a)            F(not a) = T(a)
    T(all)   = and of T        F(all)   = or of F
    T(any)   = or of T         F(any)   = and of F
    T(at least n of k) = count(T) >= n      F(at least n of k) = count(not F) < n
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

# Test operators. Numbers: eq ne gt ge lt le in not_in; categories and text: eq ne in not_in (+ contains,
# not_contains for text); booleans: eq. Every kind: missing, known.


@dataclass(frozen=True)
class Test:
    """One comparison on one data column; hashable, so backends evaluate each distinct test once."""

    column: str
    kind: str     # number | category | boolean | text
    op: str
    value: Any = None  # float, str, bool, or a tuple of them for in / not_in


@dataclass(frozen=True)
class All:
    items: tuple[Logic, ...]


@dataclass(frozen=True)
class Any_:
    items: tuple[Logic, ...]


@dataclass(frozen=True)
class AtLeast:
    count: int
    items: tuple[Logic, ...]


@dataclass(frozen=True)
class Not:
    item: Logic


Logic = Test | All | Any_ | AtLeast | Not


def tests(logic: Logic) -> list[Test]:
    """Every test in a condition, in order, without recursion."""
    out, stack = [], [logic]
    while stack:
        node = stack.pop()
        if isinstance(node, Test):
            out.append(node)
        elif isinstance(node, Not):
            stack.append(node.item)
        else:
            stack.extend(reversed(node.items))
    return out


def evaluate(logic: Logic, value_of) -> bool | None:
    """Reference evaluator, slow and obviously right: True, False or None (unknown).

    ``value_of(test)`` gives the test's own three-valued result. Tests compare backends against this.
    """
    if isinstance(logic, Test):
        return value_of(logic)
    if isinstance(logic, Not):
        inner = evaluate(logic.item, value_of)
        return None if inner is None else not inner
    results = [evaluate(item, value_of) for item in logic.items]
    if isinstance(logic, All):
        return False if False in results else None if None in results else True
    if isinstance(logic, Any_):
        return True if True in results else None if None in results else False
    true, false = results.count(True), results.count(False)
    if true >= logic.count:
        return True
    return False if len(results) - false < logic.count else None
