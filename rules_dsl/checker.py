"""Check a rule against its rule set's vocabulary and outcome.

The checker resolves every name (synonyms and letter case to the vocabulary's spelling), converts units, and
returns three things: the rule in canonical words (what the store saves), the checked logic the backends compile,
and the problems found, errors and warnings, each with its position in the text and its field in the form.

A draft from the form (``structured.draft_from_json``) may hold ``Blank`` parts: the checker passes over them
silently (the reader has reported them) and checks everything else; such a rule never gets logic.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field, replace
from decimal import Decimal

from . import logic as L
from .errors import ERROR, WARNING, Problem, RuleError, normalize_name, quote_list
from .formatter import format_comparison, format_number
from .syntax import AllOf, AtLeast, Blank, Comparison, Conclusion, Flag, Not, Quantity, Rule, Span, Text
from .units import UnitProblem, convert
from .vocabulary import Feature, Outcome, Vocabulary

MAX_NAME_LENGTH = 200
_OPS_BY_TYPE = {
    "number": ("is", "is not", "above", "below", "at least", "at most", "between", "one of", "not one of",
               "is missing", "is known"),
    "category": ("is", "is not", "one of", "not one of", "is missing", "is known"),
    "boolean": ("is", "is not", "is missing", "is known"),
    "text": ("is", "is not", "one of", "not one of", "contains", "does not contain", "is missing", "is known"),
}
_NUMBER_OPS = {"is": "eq", "is not": "ne", "above": "gt", "below": "lt", "at least": "ge", "at most": "le"}


@dataclass
class Checked:
    rule: Rule                         # names and values in the vocabulary's spelling
    logic: L.Logic | None              # None when there are errors
    problems: list[Problem] = field(default_factory=list)

    @property
    def errors(self) -> list[Problem]:
        return [p for p in self.problems if p.is_error]

    @property
    def warnings(self) -> list[Problem]:
        return [p for p in self.problems if not p.is_error]

    def raise_errors(self) -> None:
        if self.errors:
            raise RuleError(self.problems)


def check(rule: Rule, vocabulary: Vocabulary, outcome: Outcome | None = None) -> Checked:
    checker = _Checker(vocabulary)
    if isinstance(rule.name, str) and len(rule.name) > MAX_NAME_LENGTH:
        checker.problem(rule.name_span, "name-too-long", f"The rule's name is too long ({len(rule.name)} "
                        f"characters); keep it under {MAX_NAME_LENGTH}.", "name")
    condition, logic = checker.condition(rule.condition, "when")
    conclusion = rule.conclusion
    if conclusion is not None:
        conclusion = checker.conclusion(conclusion, outcome)
    resolved = replace(rule, condition=condition, conclusion=conclusion)
    has_errors = any(p.is_error for p in checker.problems) or checker.incomplete or isinstance(rule.name, Blank)
    return Checked(resolved, None if has_errors else logic, checker.problems)


class _Checker:
    def __init__(self, vocabulary: Vocabulary):
        self.vocabulary = vocabulary
        self.problems: list[Problem] = []
        self.incomplete = False  # a draft's Blank was met: no logic, whatever else is found

    def problem(self, span: Span | None, code: str, message: str, path: str, severity: str = ERROR,
                suggestion: str | None = None) -> None:
        self.problems.append(Problem.at(span, code, message, severity=severity, field=path, suggestion=suggestion))

    # -- conditions ---------------------------------------------------------------------------------------------
    def condition(self, node, path: str):
        if isinstance(node, Blank):
            self.incomplete = True
            return node, None
        if isinstance(node, Comparison):
            return self.comparison(node, path)
        if isinstance(node, Not):
            item, logic = self.condition(node.item, f"{path}.not")
            return replace(node, item=item), L.Not(logic)
        key = "of" if isinstance(node, AtLeast) else "all" if isinstance(node, AllOf) else "any"
        pairs = [self.condition(item, f"{path}.{key}[{i}]") for i, item in enumerate(node.items)]
        items = tuple(p[0] for p in pairs)
        logics = tuple(p[1] for p in pairs)
        if isinstance(node, AtLeast):
            if isinstance(node.count, Blank):
                self.incomplete = True
            elif node.count > len(items):
                self.problem(node.span, "never-true", f"'at least {node.count} of' a list of {len(items)} can "
                             "never be true; lower the number or add conditions.", f"{path}.at_least", WARNING)
            elif node.count == 0:
                self.problem(node.span, "always-true", "'at least 0 of' is always true; did you mean at least 1?",
                             f"{path}.at_least", WARNING)
            return replace(node, items=items), L.AtLeast(node.count, logics)
        if isinstance(node, AllOf):
            self.contradictions(items, path)
            return replace(node, items=items), L.All(logics)
        return replace(node, items=items), L.Any_(logics)

    def comparison(self, c: Comparison, path: str):
        if isinstance(c.feature, Blank):
            self.incomplete = True
            return c, None
        feature = self.vocabulary.lookup(c.feature)
        if feature is None:
            suggestion = self.vocabulary.suggest(c.feature)
            hint = (f" Did you mean '{suggestion}'?" if suggestion
                    else " Check the spelling, or add it to the vocabulary.")
            self.problem(c.feature_span or c.span, "unknown-feature",
                         f"There is no feature called '{c.feature}' in this rule set's vocabulary.{hint}",
                         f"{path}.feature", suggestion=suggestion)
            return c, None
        resolved = replace(c, feature=feature.name)
        allowed = _OPS_BY_TYPE[feature.type]
        if c.op not in allowed:
            self.problem(c.span, "wrong-comparison",
                         f"'{c.op}' does not apply to '{feature.name}', which is {_a(feature.type)}. "
                         f"Use {quote_list(allowed)}.", f"{path}.op")
            return resolved, None
        values = []
        for i, value in enumerate(c.values):
            values.append(self.value(feature, c.op, value, f"{path}.values[{i}]"))
        if any(v is None for v in values):
            return resolved, None
        resolved = replace(resolved, values=tuple(v[0] for v in values))
        converted = [v[1] for v in values]
        if c.op == "between" and converted[0] > converted[1]:
            self.problem(c.span, "never-true", f"'between {format_number(c.values[0].number)} and "
                         f"{format_number(c.values[1].number)}' can never be true: the lower limit comes first, "
                         "for example: between 2 and 5.", f"{path}.values", WARNING)
        return resolved, _test(feature, c.op, converted)

    def value(self, feature: Feature, op: str, value, path: str):
        """(value in canonical spelling, value for the backends), or None after reporting a problem (or for a
        draft's Blank, reported by the reader)."""
        if isinstance(value, Blank):
            self.incomplete = True
            return None
        kind = feature.type
        if kind == "number":
            if not isinstance(value, Quantity):
                example = f"{feature.name} is above {format_number(Decimal(str(feature.range[0])))}" if \
                    feature.range else f"{feature.name} is above 10"
                self.problem(value.span, "wrong-type", f"'{feature.name}' is a number, so compare it with a "
                             f"number, for example: {example}", path)
                return None
            try:
                number = convert(value.number, value.unit, feature.unit, feature.name)
            except UnitProblem as e:
                self.problem(value.span, "unit", e.message, path, suggestion=e.suggestion)
                return None
            x = float(number)
            if feature.range and not (feature.range[0] <= x <= feature.range[1]):
                lo, hi = (format_number(Decimal(repr(b))) for b in feature.range)
                unit = f" {feature.unit}" if feature.unit else ""
                self.problem(value.span, "out-of-range", f"{format_number(number)}{unit} is outside the usual "
                             f"range of '{feature.name}' ({lo} to {hi}{unit}); check the number and its unit.",
                             path, WARNING)
            return value, x
        if kind == "boolean":
            if not isinstance(value, Flag):
                self.problem(value.span, "wrong-type", f"'{feature.name}' is yes or no, for example: "
                             f"{feature.name} is yes (without quotes).", path)
                return None
            return value, value.value
        if isinstance(value, Quantity) and kind == "category" and value.unit is None:
            value = Text(format_number(value.number), span=value.span)  # "grade is 2" for a category "2"
        if not isinstance(value, Text):
            self.problem(value.span, "wrong-type", f"'{feature.name}' is {_a(kind)}, so compare it with text in "
                         f"quotes, for example: {feature.name} is \"{(feature.values or ('...',))[0]}\"", path)
            return None
        if kind == "category":
            for allowed in feature.values:
                if normalize_name(allowed) == normalize_name(value.value):
                    return replace(value, value=allowed), allowed
            from .errors import did_you_mean
            close = did_you_mean(value.value, feature.values)
            hint = f" Did you mean \"{close[0]}\"?" if close else ""
            listing = (f" The values are {quote_list(feature.values)}." if len(feature.values) <= 12 else "")
            self.problem(value.span, "unknown-value", f"\"{value.value}\" is not a value of '{feature.name}'."
                         f"{hint}{listing}", path, suggestion=close[0] if close else None)
            return None
        return value, value.value

    def contradictions(self, items, path: str) -> None:
        """Warn when comparisons joined by 'and' can never all be true (age above 80 and age below 20)."""
        bounds: dict[str, tuple[float, bool, float, bool, Comparison]] = {}
        equal: dict[str, tuple[str, Comparison]] = {}
        for index, item in enumerate(items):
            if not isinstance(item, Comparison) or isinstance(item.feature, Blank) \
                    or any(isinstance(v, Blank) for v in item.values):
                continue
            feature = self.vocabulary.lookup(item.feature)
            if feature is None or not item.values:
                continue
            if feature.type == "number" and item.op in ("is", "above", "below", "at least", "at most", "between"):
                try:
                    numbers = [float(convert(v.number, v.unit, feature.unit, feature.name)) for v in item.values]
                except (UnitProblem, AttributeError):
                    continue
                lo, lo_open, hi, hi_open = -math.inf, False, math.inf, False
                if item.op in ("is", "at least", "above", "between"):
                    lo, lo_open = numbers[0], item.op == "above"
                if item.op in ("is", "at most", "below", "between"):
                    hi, hi_open = numbers[-1], item.op == "below"
                if feature.name in bounds:
                    # keep the tighter limit of each side; at the same number an open limit ("above") is tighter
                    plo, plo_open, phi, phi_open, first = bounds[feature.name]
                    if (plo, plo_open) > (lo, lo_open):
                        lo, lo_open = plo, plo_open
                    if (phi, not phi_open) < (hi, not hi_open):
                        hi, hi_open = phi, phi_open
                else:
                    first = item
                if lo > hi or lo == hi and (lo_open or hi_open):
                    self.problem(item.span, "never-true", f"'{format_comparison(item)}' can never be true "
                                 f"together with '{format_comparison(first)}'.", f"{path}.all[{index}]", WARNING)
                    continue
                bounds[feature.name] = (lo, lo_open, hi, hi_open, first)
            elif feature.type in ("category", "text", "boolean") and item.op == "is":
                value = str(item.values[0].value)
                previous = equal.get(feature.name)
                if previous and normalize_name(previous[0]) != normalize_name(value):
                    self.problem(item.span, "never-true", f"'{format_comparison(item)}' can never be true "
                                 f"together with '{format_comparison(previous[1])}'.", f"{path}.all[{index}]",
                                 WARNING)
                equal.setdefault(feature.name, (value, item))

    # -- conclusion ---------------------------------------------------------------------------------------------
    def conclusion(self, c: Conclusion, outcome: Outcome | None) -> Conclusion:
        if c.confidence is not None and not (0 < c.confidence <= 1):
            self.problem(c.confidence_span or c.span, "bad-confidence", "Confidence is a number above 0 and at "
                         "most 1 (or a percentage), for example: with confidence 0.8", "then.confidence")
        if isinstance(c.outcome, Blank) or isinstance(c.label, Blank):
            self.incomplete = True
        if outcome is None:
            return c
        if isinstance(c.outcome, Blank):
            pass
        elif normalize_name(c.outcome) != normalize_name(outcome.name):
            self.problem(c.outcome_span or c.span, "unknown-outcome", f"This rule set decides '{outcome.name}', so "
                         f"the conclusion reads: then {outcome.name} is \"{outcome.labels[0]}\"", "then.outcome",
                         suggestion=outcome.name)
        else:
            c = replace(c, outcome=outcome.name)
        if isinstance(c.label, Blank):
            return c
        label = outcome.label(c.label)
        if label is None:
            from .errors import did_you_mean
            close = did_you_mean(c.label, outcome.labels)
            hint = f" Did you mean \"{close[0]}\"?" if close else ""
            self.problem(c.label_span or c.span, "unknown-label", f"\"{c.label}\" is not a label of "
                         f"'{outcome.name}'.{hint} The labels are {quote_list(outcome.labels)}.", "then.label",
                         suggestion=close[0] if close else None)
            return c
        return replace(c, label=label)


def _a(kind: str) -> str:
    return {"number": "a number", "category": "a category", "boolean": "yes or no", "text": "text"}[kind]


def _test(feature: Feature, op: str, values: list) -> L.Logic:
    column, kind = feature.column, feature.type
    if op == "is missing":
        return L.Test(column, kind, "missing")
    if op == "is known":
        return L.Test(column, kind, "known")
    if op == "between":
        return L.All((L.Test(column, kind, "ge", values[0]), L.Test(column, kind, "le", values[1])))
    if op in ("one of", "not one of"):
        distinct = tuple(sorted(set(values), key=lambda v: (str(type(v)), v)))
        if len(distinct) == 1:
            return L.Test(column, kind, "eq" if op == "one of" else "ne", distinct[0])
        return L.Test(column, kind, "in" if op == "one of" else "not_in", distinct)
    if kind == "boolean":  # booleans are only true, false or missing: "is not yes" is "is no"
        return L.Test(column, kind, "eq", values[0] if op == "is" else not values[0])
    if op == "contains":
        return L.Test(column, kind, "contains", values[0])
    if op == "does not contain":
        return L.Test(column, kind, "not_contains", values[0])
    return L.Test(column, kind, _NUMBER_OPS[op], values[0])
