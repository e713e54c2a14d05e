"""The one canonical text form of a rule.

Every rule prints the same way whatever the author typed (synonyms, spacing, letter case of keywords, quotes), so
that a diff between two versions shows a change of meaning and nothing else. ``parse(format(rule)) == rule`` and
formatting is idempotent (tests/rules_dsl/test_formatter.py holds both, including for generated rules).

Layout: the top-level conditions go one per line ("  and ..."), anything nested stays on its line in parentheses.
A draft's blank parts (``syntax.Blank``, from the form) are written "…", so the draft reads as the form holds it.
"""
from __future__ import annotations

from decimal import Decimal

from .syntax import (
    BLANK_TEXT,
    AllOf,
    AnyOf,
    AtLeast,
    Blank,
    Comparison,
    Conclusion,
    Condition,
    Flag,
    Not,
    Quantity,
    Rule,
    Text,
)

_OP_WORDS = {
    "is": "is", "is not": "is not", "above": "is above", "below": "is below", "at least": "is at least",
    "at most": "is at most", "between": "is between", "one of": "is one of", "not one of": "is not one of",
    "contains": "contains", "does not contain": "does not contain", "is missing": "is missing",
    "is known": "is known",
}
_ATTACHED_UNITS = ("%", "°")


def format_number(number: Decimal) -> str:
    text = format(number.normalize(), "f")
    return "0" if text in ("-0", "0") else text


def quote(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _blank_or(part) -> str:
    return BLANK_TEXT if isinstance(part, Blank) else str(part)


def format_value(value) -> str:
    if isinstance(value, Blank):
        return BLANK_TEXT
    if isinstance(value, Quantity):
        number = format_number(value.number)
        if value.unit is None:
            return number
        return number + value.unit if value.unit.startswith(_ATTACHED_UNITS) else f"{number} {value.unit}"
    if isinstance(value, Text):
        return quote(value.value)
    if isinstance(value, Flag):
        return "yes" if value.value else "no"
    raise TypeError(f"not a value: {value!r}")


def format_comparison(c: Comparison) -> str:
    words = f"{_blank_or(c.feature)} {_OP_WORDS[c.op]}"
    if c.op == "between":
        return f"{words} {format_value(c.values[0])} and {format_value(c.values[1])}"
    if c.values:
        return f"{words} {', '.join(format_value(v) for v in c.values)}"
    return words


def format_condition(condition: Condition, nested: bool = False) -> str:
    """One line; groups inside other conditions are wrapped in parentheses."""
    if isinstance(condition, Blank):
        return BLANK_TEXT
    if isinstance(condition, Comparison):
        return format_comparison(condition)
    if isinstance(condition, Not):
        return f"not ({format_condition(condition.item)})"
    if isinstance(condition, AtLeast):
        items = ", ".join(format_condition(i, nested=True) for i in condition.items)
        return f"at least {_blank_or(condition.count)} of ({items})"
    joiner = " and " if isinstance(condition, AllOf) else " or "
    text = joiner.join(format_condition(i, nested=True) for i in condition.items)
    return f"({text})" if nested else text


def _format_when(condition: Condition) -> list[str]:
    if isinstance(condition, (AllOf, AnyOf)):
        joiner = "and" if isinstance(condition, AllOf) else "or"
        first, *rest = condition.items
        return ([f"when {format_condition(first, nested=True)}"]
                + [f"  {joiner} {format_condition(item, nested=True)}" for item in rest])
    if isinstance(condition, AtLeast):
        items = [f"    {format_condition(item, nested=True)}" for item in condition.items]
        head = f"when at least {_blank_or(condition.count)} of ("
        return [head] + [line + "," for line in items[:-1]] + items[-1:] + ["  )"]
    return [f"when {format_condition(condition)}"]


def format_conclusion(conclusion: Conclusion) -> str:
    label = BLANK_TEXT if isinstance(conclusion.label, Blank) else quote(conclusion.label)
    text = f"then {_blank_or(conclusion.outcome)} is {label}"
    if conclusion.confidence is not None:
        text += f" with confidence {format_number(conclusion.confidence)}"
    return text


def format_syntax(rule: Rule) -> str:
    """The canonical text of a parsed rule (no trailing newline)."""
    lines = [f"rule {quote(_blank_or(rule.name))}"]
    if rule.priority:
        lines.append(f"priority {rule.priority}")
    if not rule.enabled:
        lines.append("disabled")
    lines.extend(_format_when(rule.condition))
    if rule.conclusion is not None:
        lines.append(format_conclusion(rule.conclusion))
    if rule.because is not None:
        lines.append(f"because {quote(rule.because)}")
    return "\n".join(lines)
