"""The grammar: LALR without conflicts, every spelling of every operator, names, numbers, units, lists, headers."""
from __future__ import annotations

import re._constants as C
import re._parser as sre_parser
from decimal import Decimal

import pytest
from lark import Lark
from lark.common import ParserConf
from lark.exceptions import GrammarError
from lark.parsers.lalr_analysis import LALR_Analyzer

from rules_dsl import RuleError, parse_rule
from rules_dsl.parser import lark_parser
from rules_dsl.syntax import AllOf, AnyOf, AtLeast, Comparison, Flag, Not, Quantity, Text


def assert_no_lalr_conflicts(parser: Lark) -> None:
    """Rebuild the LALR table in strict mode: a shift/reduce or reduce/reduce conflict raises GrammarError.

    (Lark itself resolves shift/reduce conflicts silently as "shift" unless ``strict=True``; strict mode on the
    Lark object also wants the optional ``interegular`` package, so the analysis is run directly.)
    """
    analyzer = LALR_Analyzer(ParserConf(parser.rules, {}, parser.options.start), strict=True)
    analyzer.compute_lalr()


def test_grammar_is_lalr_without_conflicts():
    parser = lark_parser()
    assert parser.options.parser == "lalr"
    assert_no_lalr_conflicts(parser)


def test_the_conflict_check_can_fail():
    dangling = Lark('start: e\ne: e "+" e | "x"\n', parser="lalr")  # loads: Lark resolves the conflict silently
    with pytest.raises(GrammarError, match="Shift/Reduce"):
        assert_no_lalr_conflicts(dangling)


def when(condition: str):
    return parse_rule(f'rule "r" when {condition}').condition


def n(x) -> Quantity:
    return Quantity(Decimal(str(x)))


SPELLINGS = {
    "is": ["is", "IS", "Is", "equals", "is equal to", "=", "=="],
    "is not": ["is not", "IS  NOT", "isn't", "isn’t", "does not equal", "!=", "<>", "≠"],
    "above": ["is above", "above", "over", "is over", "more than", "is more than", "greater than",
              "is greater than", ">", "Is\tAbove"],
    "below": ["is below", "below", "under", "is under", "less than", "is less than", "fewer than", "<"],
    "at least": ["is at least", "at least", ">=", "≥", "AT LEAST"],
    "at most": ["is at most", "at most", "<=", "≤"],
}


def spellings_of(pattern: str) -> list[str]:
    """Every spelling a finite terminal pattern matches, one space for each run of blanks, lower case."""
    def sequence(items) -> list[str]:
        out = [""]
        for op, av in items:
            out = [a + b for a in out for b in node(op, av)]
        return out

    def node(op, av) -> list[str]:
        if op is C.LITERAL:
            return [chr(av)]
        if op is C.IN:  # a character class: its first character ([ \t\r\n] -> " ")
            return [chr(v if kind is C.LITERAL else v[0]) for kind, v in av if kind in (C.LITERAL, C.RANGE)][:1]
        if op is C.SUBPATTERN:
            return sequence(av[-1])
        if op is C.BRANCH:
            return [s for branch in av[1] for s in sequence(branch)]
        if op is C.MAX_REPEAT:
            low, high, items = av
            inner = sequence(items)
            return ([""] if low == 0 else []) + (inner if high >= 1 else [])
        if op in (C.AT, C.ASSERT, C.ASSERT_NOT):  # \b and look-aheads match no text
            return [""]
        raise AssertionError(f"not a finite pattern: {op}")

    return sorted(set(sequence(sre_parser.parse(pattern))))


TERMINAL_OPS = {"IS": "is", "IS_NOT": "is not", "ABOVE": "above", "BELOW": "below", "AT_LEAST": "at least",
                "AT_MOST": "at most", "BETWEEN": "between", "ONE_OF": "one of", "NOT_ONE_OF": "not one of",
                "CONTAINS": "contains", "NOT_CONTAINS": "does not contain", "MISSING": "is missing",
                "KNOWN": "is known"}
GRAMMAR_SPELLINGS = [(name, spelling) for t in lark_parser().terminals if t.name in TERMINAL_OPS
                     for spelling in spellings_of(t.pattern.to_regexp()) for name in [t.name]]


def test_the_grammar_spellings_are_found():
    assert {name for name, _ in GRAMMAR_SPELLINGS} == set(TERMINAL_OPS)
    assert ("ABOVE", "is greater than") in GRAMMAR_SPELLINGS and ("IS_NOT", "isn’t") in GRAMMAR_SPELLINGS
    assert len(GRAMMAR_SPELLINGS) >= 60


@pytest.mark.parametrize("terminal, spelling", GRAMMAR_SPELLINGS)
def test_every_spelling_in_the_grammar_parses_to_its_canonical_operator(terminal, spelling):
    op = TERMINAL_OPS[terminal]
    values = {"between": " 1 and 2", "one of": ' "a", "b"', "not one of": ' "a", "b"', "contains": ' "a"',
              "does not contain": ' "a"', "is missing": "", "is known": ""}.get(op, " 90")
    for written in (spelling, spelling.upper()):
        assert when(f"white cell count {written}{values}") == parse_rule(
            f"rule \"r\" when white cell count {FORMATTED[op]}{values}").condition
        assert when(f"white cell count {written}{values}").op == op


FORMATTED = {"is": "is", "is not": "is not", "above": "is above", "below": "is below", "at least": "is at least",
             "at most": "is at most", "between": "is between", "one of": "is one of", "not one of": "is not one of",
             "contains": "contains", "does not contain": "does not contain", "is missing": "is missing",
             "is known": "is known"}


@pytest.mark.parametrize("op, spelling", [(op, s) for op, spellings in SPELLINGS.items() for s in spellings])
def test_every_spelling_of_an_operator_parses_to_the_canonical_one(op, spelling):
    assert when(f"heart rate {spelling} 90") == Comparison("heart rate", op, (n(90),))


@pytest.mark.parametrize("spelling, op", [
    ("is missing", "is missing"), ("is unknown", "is missing"), ("is not known", "is missing"),
    ("is not recorded", "is missing"), ("IS MISSING", "is missing"),
    ("is known", "is known"), ("is not missing", "is known"), ("is recorded", "is known"),
    ("is present", "is known"),
])
def test_missingness_spellings(spelling, op):
    assert when(f"white cell count {spelling}") == Comparison("white cell count", op)


@pytest.mark.parametrize("spelling, op", [
    ("contains", "contains"), ("includes", "contains"), ("CONTAINS", "contains"),
    ("does not contain", "does not contain"), ("doesn't contain", "does not contain"),
    ("doesn’t include", "does not contain"), ("does not include", "does not contain"),
])
def test_text_search_spellings(spelling, op):
    assert when(f'notes {spelling} "biopsy"') == Comparison("notes", op, (Text("biopsy"),))


@pytest.mark.parametrize("spelling, op", [
    ("is one of", "one of"), ("one of", "one of"), ("is not one of", "not one of"), ("not one of", "not one of"),
])
def test_list_spellings(spelling, op):
    assert when(f'location {spelling} "margin", "border"') == Comparison(
        "location", op, (Text("margin"), Text("border")))


@pytest.mark.parametrize("name", [
    "age at diagnosis", "history of smoking", "white cell count", "o'neil score", "x-ray result",
    "ñandú count", "Priority Score", "contains sugar", "number of years", "island size", "over_weight",
    "notes on this", "isotope",
])
def test_multi_word_feature_names(name):
    assert when(f"{name} is 1") == Comparison(name, "is", (n(1),))


def test_feature_name_spacing_is_normalised():
    assert when("white   cell\tcount is 1").feature == "white cell count"


@pytest.mark.parametrize("text, number", [
    ("-5", "-5"), ("+5", "5"), ("-0", "0"), (".5", "0.5"), ("-.5", "-0.5"), ("5.", "5"), ("0.25", "0.25"),
    ("1000000", "1000000"), ("-37.50", "-37.5"),
])
def test_negative_and_decimal_numbers(text, number):
    value = when(f"x is {text}").values[0]
    assert value == n(number) and value.unit is None


def test_too_many_digits_is_an_error_not_a_rounded_number():
    with pytest.raises(RuleError) as info:
        when("x is 1.23456789012345678")
    assert info.value.code == "bad-number"


@pytest.mark.parametrize("text, number, unit", [
    ("2 mm", "2", "mm"), ("2mm", "2", "mm"), ("0.3 cm", "0.3", "cm"), ("38 °C", "38", "°C"), ("38°C", "38", "°C"),
    ("5%", "5", "%"), ("5 %", "5", "%"), ("5 percent", "5", "%"), ("6 months", "6", "months"),
    ("120 mmHg", "120", "mmHg"), ("3 µm", "3", "µm"),
])
def test_units(text, number, unit):
    assert when(f"x is {text}").values == (Quantity(Decimal(number), unit),)


def test_between_carries_the_unit_to_both_ends():
    assert when("lesion diameter is between 2 and 5 mm").values == (Quantity(Decimal(2), "mm"),
                                                                    Quantity(Decimal(5), "mm"))
    assert when("lesion diameter between 2 cm and 5 mm").values == (Quantity(Decimal(2), "cm"),
                                                                    Quantity(Decimal(5), "mm"))
    assert when("lesion diameter is between 2 and 5").values == (n(2), n(5))


@pytest.mark.parametrize("quoted, value", [
    ('"dark"', "dark"), ("“dark”", "dark"), ('"say \\"hi\\""', 'say "hi"'), ('"back\\\\slash"', "back\\slash"),
    ('“it\'s \\ fine”', "it's \\ fine"), ('""', ""), ('"and or not is"', "and or not is"),
])
def test_quoted_text_straight_and_curly(quoted, value):
    assert when(f"pigmentation is {quoted}").values == (Text(value),)


@pytest.mark.parametrize("word, value", [("yes", True), ("YES", True), ("true", True), ("no", False),
                                         ("No", False), ("false", False)])
def test_yes_and_no(word, value):
    assert when(f"smoker is {word}").values == (Flag(value),)


@pytest.mark.parametrize("listing", [
    '"a", "b", "c"', '"a","b","c"', '"a", "b" or "c"', '"a" or "b" or "c"', '"a", "b", or "c"',
    '"a",\n   "b",\n   "c"', '“a”, "b", “c”',
])
def test_lists_with_commas_and_or(listing):
    assert when(f"x is one of {listing}").values == (Text("a"), Text("b"), Text("c"))


def test_number_lists_with_units():
    assert when("x is one of 1 mm, 2 cm or 3").values == (Quantity(Decimal(1), "mm"), Quantity(Decimal(2), "cm"),
                                                          n(3))


def test_a_list_ends_where_the_next_condition_starts():
    assert when('x is one of "a", "b" or y is 2') == AnyOf((Comparison("x", "one of", (Text("a"), Text("b"))),
                                                           Comparison("y", "is", (n(2),))))
    assert when("x is one of 1, 2 and y is 3") == AllOf((Comparison("x", "one of", (n(1), n(2))),
                                                        Comparison("y", "is", (n(3),))))


def test_one_of_lists_inside_at_least():
    condition = when('at least 2 of (a is one of 1, 2, b is one of "x" or "y", c is 3)')
    assert condition == AtLeast(2, (Comparison("a", "one of", (n(1), n(2))),
                                    Comparison("b", "one of", (Text("x"), Text("y"))),
                                    Comparison("c", "is", (n(3),))))


def test_precedence_not_then_and_then_or():
    a, b, c = (Comparison(x, "is", (n(1),)) for x in "abc")
    assert when("a is 1 or b is 1 and c is 1") == AnyOf((a, AllOf((b, c))))
    assert when("(a is 1 or b is 1) and c is 1") == AllOf((AnyOf((a, b)), c))
    assert when("not a is 1 and b is 1") == AllOf((Not(a), b))
    assert when("not (a is 1 and b is 1)") == Not(AllOf((a, b)))
    assert when("a is 1 and b is 1 and c is 1") == AllOf((a, b, c))  # one flat group, not nested pairs


def test_at_least_as_an_operator_and_as_a_group():
    assert when("age at least 18") == Comparison("age", "at least", (n(18),))
    assert when("at least 1 of (age at least 18)") == AtLeast(1, (Comparison("age", "at least", (n(18),)),))


@pytest.mark.parametrize("keyword_case", [str.lower, str.upper, str.title])
def test_keywords_are_case_insensitive(keyword_case):
    k = keyword_case
    text = (f'{k("rule")} "r" {k("priority")} 2 {k("disabled")} {k("when")} {k("not")} x {k("is")} {k("missing")} '
            f'{k("and")} {k("at least")} 1 {k("of")} (y {k("is one of")} 1 {k("or")} 2) {k("then")} risk {k("is")} '
            f'"high" {k("with")} {k("confidence")} 0.5 {k("because")} "b"')
    rule = parse_rule(text)
    assert rule == parse_rule('rule "r" priority 2 disabled when not x is missing and at least 1 of '
                              '(y is one of 1, 2) then risk is "high" with confidence 0.5 because "b"')
    assert rule.priority == 2 and not rule.enabled


@pytest.mark.parametrize("headers, priority, enabled", [
    ("", 0, True), ("priority 3", 3, True), ("priority -2", -2, True), ("disabled", 0, False),
    ("priority 5 disabled", 5, False), ("disabled priority 5", 5, False), ("priority +1\n", 1, True),
])
def test_priority_and_disabled_headers(headers, priority, enabled):
    rule = parse_rule(f'rule "r"\n{headers}\nwhen x is 1')
    assert (rule.priority, rule.enabled) == (priority, enabled)


def test_if_is_a_synonym_of_when():
    assert parse_rule('rule "r" if x is 1') == parse_rule('rule "r" when x is 1')


def test_conclusion_with_multi_word_outcome_and_percentage_confidence():
    rule = parse_rule('rule "r" when x is 1 then sepsis  risk is "high" with confidence 80% because "SIRS"')
    assert rule.conclusion.outcome == "sepsis risk"
    assert rule.conclusion.label == "high"
    assert rule.conclusion.confidence == Decimal("0.8")
    assert rule.because == "SIRS"


def test_spans_point_at_the_source():
    rule = parse_rule('rule "r"\nwhen white cell count is above 12\n  and smoker is yes')
    first, second = rule.condition.items
    assert (first.feature_span.line, first.feature_span.column) == (2, 6)
    assert (first.feature_span.end_line, first.feature_span.end_column) == (2, 22)
    assert (second.span.line, second.span.column, second.span.end_column) == (3, 7, 20)
    assert first.values[0].span.column == 32
