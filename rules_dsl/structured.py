"""The structured (JSON) form of a rule: what the form editor sends and receives.

    {"name": "Small dark dot near the margin", "priority": 0, "enabled": true,
     "when": {"all": [
         {"feature": "lesion diameter", "op": "between", "values": [{"number": 2, "unit": "mm"}, 5]},
         {"feature": "location", "op": "one of", "values": ["margin", "border"]},
         {"any": [...]}, {"at_least": 2, "of": [...]}, {"not": {...}}]},
     "then": {"outcome": "risk", "label": "high", "confidence": 0.8},
     "because": "Triage guideline 4.2"}

A value is a JSON number, a {"number": n, "unit": "mm"} object, a string (text) or true/false (yes/no).
The form is lossless: JSON -> syntax tree -> JSON and JSON -> text -> JSON give back the same document for any
document this module produces. It only accepts what the text form can also say (a number after "above", a
name the grammar reads as one name), so the two forms never disagree. A group of one condition is the condition.

A form being filled in is a *draft*: ``draft_from_json`` reads all it can and puts a ``Blank`` where a field is
blank or cannot be read, so that the checker still finds every other problem (a wrong unit, a confidence of 1.5) and
the formatter writes the draft with "…" for the blanks. A blank field is reported as code "blank" (still to fill
in); ``rule_from_json`` refuses any document with a problem, drafts included.
"""
from __future__ import annotations

import math
import re
from decimal import Decimal
from functools import cache
from typing import Any

from .errors import Problem, RuleError
from .parser import MAX_DEPTH, MAX_SIGNIFICANT_DIGITS, check_limits, find_control_character, lark_parser
from .syntax import (
    LIST_OPS,
    NO_VALUE_OPS,
    OPERATORS,
    TWO_VALUE_OPS,
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

_NUMERIC_OPS = ("above", "below", "at least", "at most", "between")
_TEXT_OPS = ("contains", "does not contain")
_RULE_KEYS = {"name", "priority", "enabled", "when", "then", "because"}
_CONDITION_KEYS = {"feature": {"feature", "op", "values"}, "all": {"all"}, "any": {"any"}, "not": {"not"},
                   "at_least": {"at_least", "of"}}


# ---- syntax tree -> JSON -----------------------------------------------------------------------------------------

def number_to_json(number: Decimal) -> int | float:
    return int(number) if number == number.to_integral_value() else float(number)


def value_to_json(value) -> Any:
    if isinstance(value, Quantity):
        number = number_to_json(value.number)
        return number if value.unit is None else {"number": number, "unit": value.unit}
    if isinstance(value, Text):
        return value.value
    return value.value  # Flag


def condition_to_json(condition: Condition) -> dict:
    if isinstance(condition, Comparison):
        return {"feature": condition.feature, "op": condition.op,
                "values": [value_to_json(v) for v in condition.values]}
    if isinstance(condition, Not):
        return {"not": condition_to_json(condition.item)}
    items = [condition_to_json(i) for i in condition.items]
    if isinstance(condition, AtLeast):
        return {"at_least": condition.count, "of": items}
    return {"all" if isinstance(condition, AllOf) else "any": items}


def rule_to_json(rule: Rule) -> dict:
    then = None
    if rule.conclusion is not None:
        c = rule.conclusion
        then = {"outcome": c.outcome, "label": c.label,
                "confidence": None if c.confidence is None else number_to_json(c.confidence)}
    return {"name": rule.name, "priority": rule.priority, "enabled": rule.enabled,
            "when": condition_to_json(rule.condition), "then": then, "because": rule.because}


# ---- JSON -> syntax tree -----------------------------------------------------------------------------------------

@cache
def _terminal(name: str) -> re.Pattern:
    pattern = next(t.pattern for t in lark_parser().terminals if t.name == name)
    return re.compile(pattern.to_regexp())


class _Reader:
    """Walks a JSON document, collecting every problem with the path of the field it concerns."""

    def __init__(self):
        self.problems: list[Problem] = []

    def fail(self, path: str, message: str, code: str = "bad-field") -> None:
        self.problems.append(Problem(code, message, field=path))

    def unexpected(self, data: dict, allowed: set[str], path: str, what: str) -> None:
        """Report each field the object does not have, at its own path (a typo must not be silently dropped)."""
        for key in sorted(set(data) - allowed, key=str):
            self.fail(f"{path}.{key}" if path else str(key),
                      f"Unexpected field {key!r} in {what}; it has {', '.join(sorted(allowed))}.")

    def text(self, data: Any, path: str, what: str, *, required: bool = True, one_line: bool = True) -> str | None:
        if data is None and not required:
            return None
        if data is None:
            self.fail(path, f"{what} is required.", "blank")
            return None
        if not isinstance(data, str):
            self.fail(path, f"{what} must be text.")
            return None
        if not data.strip():
            if required:
                self.fail(path, f"{what} is required.", "blank")
            else:
                self.fail(path, f"{what} is empty: write it, or leave it out.")
            return None
        if one_line and ("\n" in data or "\r" in data):
            self.fail(path, f"{what} must fit on one line.")
            return None
        if not self.printable(data, path):
            return None
        return data

    def printable(self, data: str, path: str) -> bool:
        """Refuse what the text form refuses: invisible control characters and broken (surrogate) characters."""
        if find_control_character(data) is None:
            return True
        self.fail(path, "This text holds an invisible control character or a broken character; remove it.",
                  "control-character")
        return False

    def name(self, data: Any, path: str, what: str) -> str | None:
        name = self.text(data, path, what)
        if name is None:
            return None
        name = " ".join(name.split())
        if not _terminal("NAME").fullmatch(name):
            self.fail(path, f"'{name}' cannot be used as {what.lower()}: a name is made of words (letters first) and "
                            "must not contain words the rules use, such as 'is', 'and', 'or', 'above', 'between'.")
            return None
        return name

    def number(self, data: Any, path: str) -> Decimal | None:
        if isinstance(data, bool) or not isinstance(data, (int, float)):
            self.fail(path, "Expected a number.")
            return None
        if isinstance(data, float) and not math.isfinite(data):
            self.fail(path, "Expected an ordinary number (not infinity or NaN).")
            return None
        number = Decimal(repr(data)) if isinstance(data, float) else Decimal(data)
        digits = number.normalize().as_tuple().digits
        if len(digits) > MAX_SIGNIFICANT_DIGITS or abs(number) >= Decimal(10) ** MAX_SIGNIFICANT_DIGITS:
            self.fail(path, f"The number has too many digits; use at most {MAX_SIGNIFICANT_DIGITS} significant digits.")
            return None
        return number + 0 if number else Decimal(0)

    def value(self, data: Any, path: str, op: str):
        if isinstance(data, dict):
            unexpected = set(data) - {"number", "unit"}
            if unexpected or "number" not in data:
                self.fail(path, 'A number with a unit is written {"number": 2, "unit": "mm"}.')
                return None
            number = self.number(data["number"], f"{path}.number")
            unit = data.get("unit")
            if unit is not None:
                unit = self.text(unit, f"{path}.unit", "The unit")
                if unit is not None and unit.lower() == "percent":
                    unit = "%"
                if unit is not None and not _terminal("UNIT").fullmatch(unit):
                    self.fail(f"{path}.unit", f"'{unit}' is not a unit the rules can write (e.g. mm, kg, %).")
                    unit = None
            return None if number is None else Quantity(number, unit)
        if isinstance(data, bool):
            value = Flag(data)
        elif isinstance(data, (int, float)):
            number = self.number(data, path)
            if number is None:
                return None
            value = Quantity(number)
        elif isinstance(data, str):
            if "\n" in data or "\r" in data:
                self.fail(path, "A text value must fit on one line.")
                return None
            if not self.printable(data, path):
                return None
            value = Text(data)
        else:
            self.fail(path, "Expected a number, a text, or yes/no (true/false).",
                      "blank" if data is None else "bad-field")
            return None
        if op in _NUMERIC_OPS and not isinstance(value, Quantity):
            self.fail(path, f"'{op}' compares numbers: give a number here.")
            return None
        if op in LIST_OPS and isinstance(value, Flag):
            self.fail(path, "yes / no cannot be put in a list: use 'is' (or 'is not') with true or false.")
            return None
        if op in _TEXT_OPS and not isinstance(value, Text):
            self.fail(path, f"'{op}' looks for text: give the text to look for.")
            return None
        return value

    def condition(self, data: Any, path: str, depth: int = 1) -> Condition | Blank:
        """The condition; a Blank (after reporting the problem) for one that cannot be read."""
        if depth > MAX_DEPTH:
            self.fail(path, f"The conditions are nested too deeply (more than {MAX_DEPTH} levels).", "too-deep")
            return Blank()
        if not isinstance(data, dict):
            self.fail(path, "Expected a condition.")
            return Blank()
        kinds = [k for k in ("feature", "all", "any", "at_least", "not") if k in data]
        if len(kinds) != 1:
            self.fail(path, "A condition is either a comparison (feature, op, values) or a group "
                            "(all, any, at_least + of, not).")
            return Blank()
        kind = kinds[0]
        self.unexpected(data, _CONDITION_KEYS[kind], path, "a condition")
        if kind == "feature":
            return self.comparison(data, path)
        if kind == "not":
            return Not(self.condition(data["not"], f"{path}.not", depth + 1))
        key = "of" if kind == "at_least" else kind
        items = data.get(key)
        if not isinstance(items, list) or not items:
            self.fail(f"{path}.{key}", "A group needs at least one condition.", "blank" if items == [] else "bad-field")
            return Blank()
        conditions = [self.condition(item, f"{path}.{key}[{i}]", depth + 1) for i, item in enumerate(items)]
        if kind == "at_least":
            count = data["at_least"]
            if isinstance(count, bool) or not isinstance(count, int) or not 0 <= count < 10 ** MAX_SIGNIFICANT_DIGITS:
                # (the text form holds numbers of at most 15 digits)
                self.fail(f"{path}.at_least", "'at least' needs a whole number, such as 2.",
                          "blank" if count is None else "bad-field")
                count = Blank()
            return AtLeast(count, tuple(conditions))
        if len(conditions) == 1:
            return conditions[0]
        return (AllOf if kind == "all" else AnyOf)(tuple(conditions))

    def comparison(self, data: dict, path: str) -> Comparison | Blank:
        feature = self.name(data.get("feature"), f"{path}.feature", "The feature") or Blank()
        op = data.get("op")
        if op not in OPERATORS:
            self.fail(f"{path}.op", "Choose a comparison: " + ", ".join(OPERATORS) + ".")
            return Blank()
        values = data.get("values", [])
        wanted = 0 if op in NO_VALUE_OPS else 2 if op in TWO_VALUE_OPS else None if op in LIST_OPS else 1
        blanks = (Blank(),) * (1 if wanted is None else wanted)  # for values that cannot be read at all
        if not isinstance(values, list):
            self.fail(f"{path}.values", "Expected a list of values.")
            return Comparison(feature, op, blanks)
        if wanted is not None and len(values) != wanted:
            need = {0: "no value", 1: "one value", 2: "two values (the lower and the upper limit)"}[wanted]
            self.fail(f"{path}.values", f"'{op}' takes {need}.")
            return Comparison(feature, op, blanks)
        if wanted is None and not values:
            self.fail(f"{path}.values", f"'{op}' needs at least one value.", "blank")
            return Comparison(feature, op, blanks)
        parsed = [self.value(v, f"{path}.values[{i}]", op) or Blank() for i, v in enumerate(values)]
        if op == "between" and all(isinstance(v, Quantity) for v in parsed) and parsed[0].unit is None \
                and parsed[1].unit is not None:
            parsed[0] = Quantity(parsed[0].number, parsed[1].unit)  # as in the text: "between 2 and 5 mm"
        return Comparison(feature, op, tuple(parsed))

    def conclusion(self, data: Any, path: str) -> Conclusion | None:
        if not isinstance(data, dict):
            self.fail(path, 'The conclusion is written {"outcome": "risk", "label": "high"}.')
            return None
        self.unexpected(data, {"outcome", "label", "confidence"}, path, "the conclusion")
        outcome = self.name(data.get("outcome"), f"{path}.outcome", "The outcome") or Blank()
        label = self.text(data.get("label"), f"{path}.label", "The label") or Blank()
        confidence = None
        if data.get("confidence") is not None:
            confidence = self.number(data["confidence"], f"{path}.confidence")
        return Conclusion(outcome, label, confidence)


def draft_from_json(data: Any) -> tuple[Rule | None, list[Problem]]:
    """Read the structured form as far as it goes: the rule, with a ``Blank`` for each part that is blank or cannot
    be read, and every problem found (each with its field; a blank one has code "blank"). The rule is None only
    when the document is not a rule at all (not an object, too large). A draft with problems is not a rule:
    check it to find the other problems, format it to show it, never save or compile it."""
    reader = _Reader()
    if not isinstance(data, dict):
        return None, [Problem("bad-field", "A rule is a JSON object with name, when, then and because.")]
    reader.unexpected(data, _RULE_KEYS, "", "a rule")
    name = reader.text(data.get("name"), "name", "The rule's name") or Blank()
    priority = data.get("priority", 0)
    if isinstance(priority, bool) or not isinstance(priority, int) or abs(priority) > 1_000_000:
        reader.fail("priority", "The priority must be a whole number, such as 0 or 2.")
        priority = 0
    enabled = data.get("enabled", True)
    if not isinstance(enabled, bool):
        reader.fail("enabled", "'enabled' is true or false.")
        enabled = True
    if "when" in data:
        when = reader.condition(data.get("when"), "when")
    else:
        reader.fail("when", "The rule needs at least one condition.", "blank")
        when = Blank()
    then = reader.conclusion(data["then"], "then") if data.get("then") is not None else None
    because = reader.text(data.get("because"), "because", "The reason", required=False)
    try:
        check_limits(when)
    except RuleError as e:
        return None, reader.problems + e.problems
    rule = Rule(name=name, condition=when, conclusion=then, because=because, priority=priority, enabled=enabled)
    return rule, reader.problems


def rule_from_json(data: Any) -> Rule:
    """Build a syntax tree from the structured form; every problem found is reported at once, with its field."""
    rule, problems = draft_from_json(data)
    if problems:
        raise RuleError(problems)
    return rule
