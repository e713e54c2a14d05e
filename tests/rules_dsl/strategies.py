"""Hypothesis strategies that build rule syntax trees in the shapes the grammar can write.

``rules(checked=True)`` builds rules that check clean against the test vocabulary (vocab.py), so every backend can
run them; ``rules(checked=False)`` also mixes in what only the syntax allows (wrong value kinds, unknown names,
odd units, any printable text), which is what the formatter and the structured form must carry unchanged.
"""
from __future__ import annotations

from decimal import Decimal
from functools import cache

from hypothesis import strategies as st

from rules_dsl.syntax import AllOf, AnyOf, AtLeast, Comparison, Conclusion, Flag, Not, Quantity, Rule, Text

from .vocab import NEEDLES, NOTES, NUMBERS, UNITS, VOCABULARY_DATA

FEATURES = VOCABULARY_DATA["features"]

# Printable text: no control characters (the parser refuses them) and no surrogates (not encodable).
PRINTABLE = st.characters(blacklist_categories=("Cc", "Cs"))
ANY_TEXT = st.text(PRINTABLE, max_size=12)
# names and reasons are visible text: no format characters (direction marks, zero-width), separators or private use
VISIBLE = st.characters(blacklist_categories=("Cc", "Cs", "Cf", "Zl", "Zp", "Co"))
ONE_LINE_NAME = st.text(VISIBLE, min_size=1, max_size=20).filter(lambda s: s.strip() != "")

# Names that the grammar reads as one feature name but the test vocabulary does not know.
ODD_NAMES = ["o'neil score", "x-ray result", "ñandú count", "age of onset", "is_flag", "Temperature",
             "HEART RATE", "history of smoking", "priority score", "contains sugar"]
ODD_UNITS = ["%", "°C", "mmHg", "kg", "e5", "µg", "percentage"]


def _spellings(name: str) -> list[str]:
    """A name as an author might type it: any letter case (names are matched without case)."""
    return [name, name.upper(), name.title(), name.capitalize()]


def decimals(max_places: int = 3) -> st.SearchStrategy[Decimal]:
    return st.decimals(min_value=-10**9, max_value=10**9, places=max_places, allow_nan=False,
                       allow_infinity=False)


# Strategies are built once, here: building them inside a draw makes hypothesis validate them on every example,
# which costs more than the tests themselves.

def _pool_number(feature: str) -> st.SearchStrategy[Quantity]:
    """A number of the pool (in the feature's unit), written in one of the units the feature accepts."""
    return st.sampled_from([Quantity(base * factor, unit) for base in NUMBERS
                            for unit, factor in UNITS[feature].items()])


def _limits(pair: tuple[Quantity, Quantity]) -> tuple[Quantity, Quantity]:
    low, high = pair
    if low.unit is None and high.unit is not None:  # the text form gives the lower limit the upper one's unit
        low = Quantity(low.number, high.unit)
    return low, high


def _one(values: st.SearchStrategy) -> st.SearchStrategy[tuple]:
    return values.map(lambda v: (v,))


def _several(values: st.SearchStrategy, most: int = 3) -> st.SearchStrategy[tuple]:
    return st.lists(values, min_size=1, max_size=most).map(tuple)


def _values_by_op(name: str, spec: dict) -> dict[str, st.SearchStrategy[tuple]]:
    """For one feature of the test vocabulary: op -> the values the checker accepts with it."""
    kind = spec["type"]
    by_op: dict[str, st.SearchStrategy[tuple]] = {"is missing": st.just(()), "is known": st.just(())}
    if kind == "number":
        number = _pool_number(name)
        for op in ("is", "is not", "above", "below", "at least", "at most"):
            by_op[op] = _one(number)
        by_op["between"] = st.tuples(number, number).map(_limits)
        by_op["one of"] = by_op["not one of"] = _several(number)
    elif kind == "boolean":
        by_op["is"] = by_op["is not"] = _one(st.booleans().map(Flag))
    elif kind == "category":
        # "grade is 2" is how people write a category code; the checker reads it as the text "2"
        one = st.sampled_from([Text(s) for v in spec["values"] for s in _spellings(v)]
                              + [Quantity(Decimal(v)) for v in spec["values"] if v.isdigit()])
        by_op["is"] = by_op["is not"] = _one(one)
        by_op["one of"] = by_op["not one of"] = _several(one)
    else:
        one = st.sampled_from([Text(v) for v in NOTES + ["x"]])
        by_op["is"] = by_op["is not"] = _one(one)
        by_op["one of"] = by_op["not one of"] = _several(one)
        by_op["contains"] = by_op["does not contain"] = _one(st.sampled_from([Text(v) for v in NEEDLES]))
    return by_op


def _comparisons(names: st.SearchStrategy[str], by_op: dict[str, st.SearchStrategy[tuple]]):
    return st.one_of([st.builds(lambda feature, values, op=op: Comparison(feature, op, values), names, values)
                      for op, values in by_op.items()])


CHECKED_COMPARISON = st.one_of([
    _comparisons(st.sampled_from([s for n in (name, *spec.get("synonyms", [])) for s in _spellings(n)]),
                 _values_by_op(name, spec))
    for name, spec in FEATURES.items()])

_QUANTITY = st.builds(Quantity, decimals(), st.none() | st.sampled_from(ODD_UNITS))
_TEXT = ANY_TEXT.map(Text)
_ANY_OP_VALUES = {
    "is missing": st.just(()), "is known": st.just(()),
    **{op: _one(_QUANTITY) for op in ("above", "below", "at least", "at most")},
    "between": st.tuples(_QUANTITY, _QUANTITY).map(_limits),
    "contains": _one(_TEXT), "does not contain": _one(_TEXT),
    "one of": _several(_QUANTITY | _TEXT, 4), "not one of": _several(_QUANTITY | _TEXT, 4),
    "is": _one(_QUANTITY | _TEXT | st.booleans().map(Flag)),
    "is not": _one(_QUANTITY | _TEXT | st.booleans().map(Flag)),
}
# A comparison the grammar can write, whether or not it makes sense for the feature.
SYNTAX_COMPARISON = CHECKED_COMPARISON | _comparisons(st.sampled_from(ODD_NAMES + list(FEATURES)), _ANY_OP_VALUES) \
    | _comparisons(st.sampled_from(ODD_NAMES), _ANY_OP_VALUES)


def conditions(leaf: st.SearchStrategy, max_leaves: int = 8) -> st.SearchStrategy:
    """Conditions in every shape the grammar can write: and / or groups of two or more, not, at least N of."""
    def extend(children):
        several = st.lists(children, min_size=2, max_size=4).map(tuple)
        return st.one_of(
            several.map(AllOf),
            several.map(AnyOf),
            children.map(Not),
            st.tuples(st.lists(children, min_size=1, max_size=4), st.integers(0, 5)).map(
                lambda p: AtLeast(min(p[1], len(p[0]) + 1), tuple(p[0]))),
        )
    return st.recursive(leaf, extend, max_leaves=max_leaves)


@cache
def _conditions(checked: bool, max_leaves: int) -> st.SearchStrategy:
    return conditions(CHECKED_COMPARISON if checked else SYNTAX_COMPARISON, max_leaves)


_CONFIDENCE = st.none() | st.decimals(min_value=Decimal("0.01"), max_value=1, places=2)
_ANY_CONFIDENCE = st.none() | decimals(4)
_NAME_OR_NONE = st.none() | ONE_LINE_NAME


@st.composite
def rules(draw, checked: bool = True, max_leaves: int = 8) -> Rule:
    """A whole rule: name, optional priority / disabled, condition, optional conclusion and because."""
    condition = draw(_conditions(checked, max_leaves))
    conclusion = None
    if draw(st.booleans()):
        if checked:
            outcome = draw(st.sampled_from(_spellings("risk")))
            label = draw(st.sampled_from(["low", "medium", "high", "HIGH"]))
            confidence = draw(_CONFIDENCE)
        else:
            outcome = draw(st.sampled_from(["risk", "sepsis risk", "Diagnosis", "o'neil score"]))
            label = draw(ONE_LINE_NAME)
            confidence = draw(_ANY_CONFIDENCE)
        conclusion = Conclusion(outcome, label, confidence)
    return Rule(
        name=draw(ONE_LINE_NAME),
        condition=condition,
        conclusion=conclusion,
        because=draw(_NAME_OR_NONE),
        priority=draw(st.sampled_from([0, 0, 1, 2, -1, 10, 1_000_000])),
        enabled=draw(st.sampled_from([True, True, True, False])),
    )
