"""The syntax tree of a rule: small frozen dataclasses that carry their position in the source text.

Positions are kept for error messages but ignored by equality, so ``parse(format(rule)) == rule`` compares meaning.
Operators are stored in their canonical spelling (``"above"`` whatever synonym was typed); feature names, units and
numbers are stored as typed, so the canonical text still reads like the author's.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal

# Canonical operator spellings, grouped by how many values they take.
NO_VALUE_OPS = ("is missing", "is known")
ONE_VALUE_OPS = ("is", "is not", "above", "below", "at least", "at most", "contains", "does not contain")
TWO_VALUE_OPS = ("between",)
LIST_OPS = ("one of", "not one of")
OPERATORS = NO_VALUE_OPS + ONE_VALUE_OPS + TWO_VALUE_OPS + LIST_OPS


@dataclass(frozen=True)
class Span:
    """Where a piece of a rule sits in its text: 1-based line and column, end exclusive."""

    line: int
    column: int
    end_line: int
    end_column: int


def _span() -> Span | None:
    return field(default=None, compare=False, repr=False)


@dataclass(frozen=True)
class Quantity:
    """A number, with the unit the author wrote (or none)."""

    number: Decimal
    unit: str | None = None
    span: Span | None = _span()


@dataclass(frozen=True)
class Text:
    """A quoted text value."""

    value: str
    span: Span | None = _span()


@dataclass(frozen=True)
class Flag:
    """yes / no."""

    value: bool
    span: Span | None = _span()


@dataclass(frozen=True)
class Blank:
    """A part of a draft rule that is not filled in yet (or could not be read), in a rule read from the form with
    ``structured.draft_from_json``: the checker passes over it and the formatter writes it as "…". It never reaches
    a saved rule, a compiled rule or the parser's output."""

    span: Span | None = _span()


BLANK_TEXT = "…"

Value = Quantity | Text | Flag


@dataclass(frozen=True)
class Comparison:
    """``<feature> <op> <values>``, e.g. ``age is between 18 and 65``."""

    feature: str
    op: str
    values: tuple[Value, ...] = ()
    span: Span | None = _span()
    feature_span: Span | None = _span()


@dataclass(frozen=True)
class AllOf:
    items: tuple[Condition, ...]
    span: Span | None = _span()


@dataclass(frozen=True)
class AnyOf:
    items: tuple[Condition, ...]
    span: Span | None = _span()


@dataclass(frozen=True)
class AtLeast:
    """``at least N of (a, b, c)``."""

    count: int
    items: tuple[Condition, ...]
    span: Span | None = _span()


@dataclass(frozen=True)
class Not:
    item: Condition
    span: Span | None = _span()


Condition = Comparison | AllOf | AnyOf | AtLeast | Not
GROUPS = (AllOf, AnyOf, AtLeast)


@dataclass(frozen=True)
class Conclusion:
    """``then <outcome> is "<label>" [with confidence X]``."""

    outcome: str
    label: str
    confidence: Decimal | None = None
    span: Span | None = _span()
    outcome_span: Span | None = _span()
    label_span: Span | None = _span()
    confidence_span: Span | None = _span()


@dataclass(frozen=True)
class Rule:
    name: str
    condition: Condition
    conclusion: Conclusion | None = None
    because: str | None = None
    priority: int = 0
    enabled: bool = True
    span: Span | None = _span()
    name_span: Span | None = _span()
    priority_span: Span | None = _span()


def children(condition: Condition) -> tuple[Condition, ...]:
    """The direct sub-conditions of a condition (none for a comparison)."""
    if isinstance(condition, Not):
        return (condition.item,)
    if isinstance(condition, GROUPS):
        return condition.items
    return ()


def walk(condition: Condition):
    """Every condition in the tree, parents before children, without recursion."""
    stack = [condition]
    while stack:
        node = stack.pop()
        yield node
        stack.extend(reversed(children(node)))


