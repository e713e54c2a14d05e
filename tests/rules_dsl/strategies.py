"""Hypothesis strategies that build rule syntax trees in the shapes the grammar can write.

``rules(checked=True)`` builds rules that check clean against the test vocabulary (vocab.py), so every backend can
run them; ``rules(checked=False)`` also mixes in what only the syntax allows (wrong value kinds, unknown names,
odd units, any printable text), which is what the formatter and the structured form must carry unchanged.
"""
from __future__ import annotations

from decimal import Decimal

from hypothesis import strategies as st

from rules_dsl.syntax import AllOf, AnyOf, AtLeast, Comparison, Conclusion, Flag, Not, Quantity, Rule, Text

from .vocab import CATEGORY_DATA, NEEDLES, NOTES, NUMBERS, UNITS, VOCABULARY_DATA

FEATURES = VOCABULARY_DATA["features"]

# Printable text: no control characters (the parser refuses them) and no surrogates (not encodable).
PRINTABLE = st.characters(blacklist_categories=("Cc", "Cs"))
ANY_TEXT = st.text(PRINTABLE, max_size=12)
ONE_LINE_NAME = st.text(PRINTABLE, min_size=1, max_size=20).filter(lambda s: s.strip() != "")

# Names that the grammar reads as one feature name but the test vocabulary does not know.
ODD_NAMES = ["o'neil score", "x-ray result", "ñandú count", "age of onset", "is_flag", "Temperature",
             "HEART RATE", "history of smoking", "priority score", "contains sugar"]
ODD_UNITS = ["%", "°C", "mmHg", "kg", "e5", "µg", "percentage"]


def _spellings(name: str) -> st.SearchStrategy[str]:
    """A name as an author might type it: any letter case (names are matched without case)."""
    return st.sampled_from([name, name.upper(), name.title(), name.capitalize()])


def decimals(max_places: int = 3) -> st.SearchStrategy[Decimal]:
    return st.decimals(min_value=-10**9, max_value=10**9, places=max_places, allow_nan=False,
                       allow_infinity=False)


@st.composite
def _number(draw, feature: str) -> Quantity:
    """A number of the pool (in the feature's unit), written in one of the units the feature accepts."""
    base = draw(st.sampled_from(NUMBERS))
    unit = draw(st.sampled_from(list(UNITS[feature])))
    return Quantity(base * UNITS[feature][unit], unit)


@st.composite
def _between(draw, feature: str) -> tuple[Quantity, Quantity]:
    low, high = draw(_number(feature)), draw(_number(feature))
    if draw(st.booleans()) and high.number * 1 < low.number * 1:
        low, high = high, low
    if low.unit is None and high.unit is not None:  # the text form gives the lower limit the upper one's unit
        low = Quantity(low.number, high.unit)
    return low, high


@st.composite
def checked_comparison(draw) -> Comparison:
    """A comparison that the checker accepts against the test vocabulary."""
    name = draw(st.sampled_from(list(FEATURES)))
    spec = FEATURES[name]
    typed = draw(_spellings(draw(st.sampled_from([name, *spec.get("synonyms", [])]))))
    kind = spec["type"]
    ops = {"number": ["is", "is not", "above", "below", "at least", "at most", "between", "one of", "not one of"],
           "category": ["is", "is not", "one of", "not one of"],
           "boolean": ["is", "is not"],
           "text": ["is", "is not", "one of", "not one of", "contains", "does not contain"]}[kind]
    op = draw(st.sampled_from(ops + ["is missing", "is known"]))
    if op in ("is missing", "is known"):
        return Comparison(typed, op)
    if kind == "number":
        if op == "between":
            return Comparison(typed, op, draw(_between(name)))
        if op in ("one of", "not one of"):
            return Comparison(typed, op, tuple(draw(st.lists(_number(name), min_size=1, max_size=3))))
        return Comparison(typed, op, (draw(_number(name)),))
    if kind == "boolean":
        return Comparison(typed, op, (Flag(draw(st.booleans())),))
    if kind == "category":
        def value(v: str):
            # "grade is 2" is how people write a category code; the checker reads it as the text "2"
            if v.isdigit():
                return st.sampled_from([Text(v), Quantity(Decimal(v))])
            return _spellings(v).map(Text)
        one = st.sampled_from(spec["values"]).flatmap(value)
    elif op in ("contains", "does not contain"):
        one = st.sampled_from(NEEDLES).map(Text)
    else:
        one = st.sampled_from(NOTES + ["x"]).map(Text)
    if op in ("one of", "not one of"):
        return Comparison(typed, op, tuple(draw(st.lists(one, min_size=1, max_size=3))))
    return Comparison(typed, op, (draw(one),))


@st.composite
def syntax_comparison(draw) -> Comparison:
    """A comparison the grammar can write, whether or not it makes sense for the feature."""
    if draw(st.integers(0, 2)) == 0:
        return draw(checked_comparison())
    name = draw(st.sampled_from(ODD_NAMES + list(FEATURES)))
    op = draw(st.sampled_from(["is", "is not", "above", "below", "at least", "at most", "between", "one of",
                               "not one of", "contains", "does not contain", "is missing", "is known"]))
    quantity = st.builds(Quantity, decimals(), st.none() | st.sampled_from(ODD_UNITS))
    text = ANY_TEXT.map(Text)
    flag = st.booleans().map(Flag)
    if op in ("is missing", "is known"):
        values = ()
    elif op in ("above", "below", "at least", "at most"):
        values = (draw(quantity),)
    elif op == "between":
        low, high = draw(quantity), draw(quantity)
        if low.unit is None and high.unit is not None:
            low = Quantity(low.number, high.unit)
        values = (low, high)
    elif op in ("contains", "does not contain"):
        values = (draw(text),)
    elif op in ("one of", "not one of"):
        values = tuple(draw(st.lists(quantity | text, min_size=1, max_size=4)))
    else:
        values = (draw(quantity | text | flag),)
    return Comparison(name, op, values)


def conditions(leaf: st.SearchStrategy, max_leaves: int = 8) -> st.SearchStrategy:
    """Conditions in every shape the grammar can write: and / or groups of two or more, not, at least N of."""
    def extend(children):
        several = st.lists(children, min_size=2, max_size=4).map(tuple)
        return st.one_of(
            several.map(AllOf),
            several.map(AnyOf),
            children.map(Not),
            st.lists(children, min_size=1, max_size=4).flatmap(
                lambda items: st.integers(0, len(items) + 1).map(lambda n: AtLeast(n, tuple(items)))),
        )
    return st.recursive(leaf, extend, max_leaves=max_leaves)


@st.composite
def rules(draw, checked: bool = True, max_leaves: int = 8) -> Rule:
    """A whole rule: name, optional priority / disabled, condition, optional conclusion and because."""
    leaf = checked_comparison() if checked else syntax_comparison()
    condition = draw(conditions(leaf, max_leaves))
    conclusion = None
    if draw(st.booleans()):
        if checked:
            outcome = draw(_spellings("risk"))
            label = draw(st.sampled_from(["low", "medium", "high", "HIGH"]))
            confidence = draw(st.none() | st.decimals(min_value=Decimal("0.01"), max_value=1, places=2))
        else:
            outcome = draw(st.sampled_from(["risk", "sepsis risk", "Diagnosis", "o'neil score"]))
            label = draw(ONE_LINE_NAME)
            confidence = draw(st.none() | decimals(4))
        conclusion = Conclusion(outcome, label, confidence)
    return Rule(
        name=draw(ONE_LINE_NAME),
        condition=condition,
        conclusion=conclusion,
        because=draw(st.none() | ONE_LINE_NAME),
        priority=draw(st.sampled_from([0, 0, 1, 2, -1, 10, 1_000_000])),
        enabled=draw(st.booleans()) if not checked else draw(st.sampled_from([True, True, True, False])),
    )
