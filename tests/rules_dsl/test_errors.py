"""Bad rules get a RuleError that says what is wrong, where, and how to fix it; never anything else."""
from __future__ import annotations

import dataclasses
import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import rules_dsl
from rules_dsl import RuleError, parse_rule, parser
from rules_dsl.parser import MAX_DEPTH, MAX_NODES, MAX_RULE_BYTES

# (text, code, (line, column, end_line, end_column), phrases the message must contain)
# A message saying what is missing after a word ("Expected a number after 'is above'") points just after that word;
# when something else was written there on the same line, the span runs on to the end of it.
SYNTAX_ERRORS = [
    ("", "empty", (1, 1, 1, 1), ['rule "High fever"']),
    ("  \n\t", "empty", (1, 1, 1, 1), ["empty"]),
    ("when x is 1", "syntax", (1, 1, 1, 5), ['starts with the word "rule"']),
    ("rule when x is 1", "syntax", (1, 5, 1, 10), ["name in quotes"]),
    ("rule 'a' when x is 1", "syntax", (1, 5, 1, 9), ["name in quotes"]),
    ('rule "" when x is 1', "empty-name", (1, 6, 1, 8), ["needs a name"]),
    ('rule "a"', "syntax", (1, 9, 1, 9), ["Expected 'when'"]),
    ('rule "a" x is 1', "syntax", (1, 10, 1, 11), ["Expected 'when'", "when temperature is above 38"]),
    ('rule "a" when', "syntax", (1, 14, 1, 14), ["Expected a condition after 'when'"]),
    ('rule "a" when x', "syntax", (1, 16, 1, 16), ["After 'x'", "'is above'"]),
    ('rule "a" when x is', "syntax", (1, 19, 1, 19), ["Expected a value after 'is'"]),
    ('rule "a" when temperature is above', "syntax", (1, 35, 1, 35),
     ["Expected a number after 'is above'", "is above 38"]),
    ('rule "a" when temperature is above "high"', "syntax", (1, 35, 1, 42), ["Expected a number after 'is above'"]),
    ('rule "a" when temperature > high', "syntax", (1, 28, 1, 33), ["Expected a number after '>'"]),
    ('rule "a" when x is between 2', "syntax", (1, 29, 1, 29), ["'and' and the upper limit"]),
    ('rule "a" when x is between 2 5', "syntax", (1, 29, 1, 31), ["between 2 and 5"]),
    ('rule "a" when x is one of', "syntax", (1, 26, 1, 26), ["list of values after 'is one of'"]),
    ('rule "a" when pigmentation is dark', "syntax", (1, 31, 1, 35), ['Put text values in quotes', '"dark"']),
    ('rule "a" when notes contains biopsy', "syntax", (1, 29, 1, 36), ["text in quotes after 'contains'"]),
    ('rule "a" when x is 1 y is 2', "syntax", (1, 22, 1, 23), ["'and' or 'or' seems to be missing before 'y'"]),
    ('rule "a" when x is 1 when y is 2', "syntax", (1, 22, 1, 26), ["'when' is written only once"]),
    ('rule "a" priority 1\npriority 2 when x is 1', "duplicate-header", (2, 1, 2, 11),
     ["'priority' is written twice"]),
    ('rule "a" disabled disabled when x is 1', "duplicate-header", (1, 19, 1, 27), ["'disabled' is written twice"]),
    ('rule "a" when x is 1 rule "b" when y is 2', "syntax", (1, 22, 1, 26), ["Only one rule"]),
    ('rule "a" when (x is 1', "syntax", (1, 22, 1, 22), ["'(' is never closed"]),
    ('rule "a" when x is 1)', "syntax", (1, 21, 1, 22), ["not ')'"]),
    ('rule "a" when at least of (x is 1)', "syntax", (1, 23, 1, 26), ["how many after 'at least'"]),
    ('rule "a" when at least 2 (x is 1)', "syntax", (1, 25, 1, 27), ["Expected 'of'"]),
    ('rule "a" when at least 2 of x is 1', "syntax", (1, 29, 1, 30), ["in parentheses"]),
    ('rule "a" when at least 1.5 of (x is 1)', "bad-count", (1, 24, 1, 27), ["whole number"]),
    ('rule "a" when x is 1 then', "syntax", (1, 26, 1, 26), ["outcome after 'then'"]),
    ('rule "a" when x is 1 then risk', "syntax", (1, 31, 1, 31), ["then risk is \"high\""]),
    ('rule "a" when x is 1 then risk is "high" with', "syntax", (1, 46, 1, 46), ["'confidence' after 'with'"]),
    ('rule "a" when x is 1 then risk is "high" with confidence', "syntax", (1, 57, 1, 57),
     ["number between 0 and 1"]),
    ('rule "a" when x is 1 then risk is "high" with confidence 5 mm', "bad-confidence", (1, 58, 1, 62),
     ["with confidence 0.8"]),
    ('rule "a" when x is 1 because reasons', "syntax", (1, 29, 1, 37), ["reason in quotes"]),
    ('rule "a" when x is "open', "syntax", (1, 20, 1, 25), ["no closing quote"]),
    ('rule "a" priority high when x is 1', "syntax", (1, 18, 1, 30), ["whole number after 'priority'"]),
    ('rule "a" priority 1.5 when x is 1', "bad-priority", (1, 19, 1, 22), ["whole number"]),
    ('rule "a" priority 2000000 when x is 1', "bad-priority", (1, 19, 1, 26), ["whole number"]),
    ('rule "a" when x is 1 and', "syntax", (1, 25, 1, 25), ["condition after 'and'"]),
    ('rule "a" when x is 1 and and y is 2', "syntax", (1, 25, 1, 29), ["condition after 'and'"]),
    ('rule "a" when 5 is x', "syntax", (1, 15, 1, 16), ["starts with a feature name, not a number"]),
    ('rule "a" when x is 1 @', "syntax", (1, 22, 1, 23), ["'and' or 'or'", "'then'"]),
    ('rule "a"\nwhen x is 1\n  and y\n', "syntax", (3, 8, 3, 8), ["After 'y'"]),
    ('rule "a" when x is 1 because "x" extra', "syntax", (1, 34, 1, 39), ["Unexpected 'extra'"]),
    ('rule "a" when not', "syntax", (1, 18, 1, 18), ["condition after 'not'"]),
    ('rule "a" when x is 1.23456789012345678', "bad-number", (1, 20, 1, 39), ["too many digits"]),
    ('rule "a" when smoker is one of yes, no', "syntax", (1, 35, 1, 36),
     ["yes / no cannot be put in a list", "smoker is no"]),
    ('rule "a" when smoker is one of yes', "flag-in-list", (1, 32, 1, 35), ["smoker is yes"]),
    ('rule "a" when x is 1 then risk is ""', "empty-label", (1, 35, 1, 37), ["label"]),
    ('rule "a" when x is 1 because ""', "empty-reason", (1, 30, 1, 32), ["reason"]),
    ('rule "a"\x00 when x is 1', "control-character", (1, 9, 1, 10), ["invisible control character"]),
    ('rule "a\x00" when x is 1', "control-character", (1, 8, 1, 9), ["invisible control character"]),
    ('rule "a" when notes is "a\x07b"', "control-character", (1, 26, 1, 27), ["invisible control character"]),
    ('rule "a"\nwhen x is 1\x1b', "control-character", (2, 12, 2, 13), ["invisible control character"]),
    # a carriage return is a line end (as in old Mac files), so the text in quotes is left open at the line end
    ('rule "a" when notes is "a\rb"', "syntax", (1, 24, 1, 26), ["no closing quote"]),
    ('rule "a" when notes is "\ud800"', "not-text", (1, 25, 1, 26), ["not readable text"]),
    # What is missing is missing just after the word before it, even when the next word is on a later line.
    ('rule "Big"\nwhen tumour size is over\nthen risk is "high"', "syntax", (2, 25, 2, 25),
     ["Expected a number after 'is over'"]),
    ('rule "a"\nwhen x is\n\nthen y is "z"', "syntax", (2, 10, 2, 10), ["Expected a value after 'is'"]),
    ('rule "a"\nwhen x is between 2\nthen y is "z"', "syntax", (2, 20, 2, 20), ["'and' and the upper limit"]),
    ('rule "a"\nwhen\nthen risk is "high"', "syntax", (2, 5, 2, 5), ["Expected a condition after 'when'"]),
    ('rule "a"\nwhen x is 1 then\nbecause "b"', "syntax", (2, 17, 2, 17), ["outcome after 'then'"]),
    ('rule "a"\nwhen notes contains\nthen r is "x"', "syntax", (2, 20, 2, 20), ["text in quotes after 'contains'"]),
    ('rule "a"\nwhen x is 1 and\nthen r is "x"', "syntax", (2, 16, 2, 16), ["condition after 'and'"]),
    ('rule "a"\nwhen at least 2\n(x is 1)', "syntax", (2, 16, 2, 16), ["Expected 'of' after '2'"]),
    ('rule "a"\nwhen x is one of\nthen r is "x"', "syntax", (2, 17, 2, 17), ["list of values after 'is one of'"]),
    ('rule "a"\nwhen x\nthen r is "x"', "syntax", (2, 7, 2, 7), ["After 'x'", "'is above'"]),
    ('rule "a" when x is 1 then r is "x" with\n0.8', "syntax", (1, 40, 1, 40), ["'confidence' after 'with'"]),
    ('rule "a" priority\nwhen x is 1', "syntax", (1, 18, 1, 18), ["whole number after 'priority'"]),
]


@pytest.mark.parametrize("text, code, where, phrases", SYNTAX_ERRORS, ids=[c[0][:40] for c in SYNTAX_ERRORS])
def test_syntax_errors_say_what_where_and_how(text, code, where, phrases):
    with pytest.raises(RuleError) as info:
        parse_rule(text)
    e = info.value
    assert (e.code, (e.line, e.column, e.end_line, e.end_column)) == (code, where), e.message
    for phrase in phrases:
        assert phrase in e.message
    assert "Token" not in e.message and "$END" not in e.message and "Traceback" not in e.message
    assert e.problems and e.problems[0].to_dict()["code"] == code


def test_windows_line_endings_and_tabs_are_fine():
    assert parse_rule('rule "a"\r\nwhen\tx is "tab\there"\r\n') == parse_rule('rule "a"\nwhen x is "tab\there"')


@pytest.mark.parametrize("data, phrase", [
    (b'rule "a" when x is "\xff"', "byte 21 is not UTF-8"),
    (b'\xfe\xff', "byte 1 is not UTF-8"),
    (b'rule "a" when x is "\xed\xa0\x80"', "not UTF-8"),  # an encoded surrogate
])
def test_bytes_that_are_not_utf8(data, phrase):
    with pytest.raises(RuleError) as info:
        parse_rule(data)
    assert info.value.code == "not-text" and phrase in info.value.message


def test_a_byte_order_mark_is_not_part_of_the_rule():
    """Windows Notepad starts UTF-8 files with one; positions stay those the editor shows."""
    plain = parse_rule('rule "a" when x is 1')
    assert parse_rule(b'\xef\xbb\xbfrule "a" when x is 1') == plain == parse_rule('\ufeffrule "a" when x is 1')
    with pytest.raises(RuleError) as info:
        parse_rule(b'\xef\xbb\xbfrule "a" when x')
    assert (info.value.line, info.value.column) == (1, 16)
    with pytest.raises(RuleError, match="invisible control character|Unexpected"):
        parse_rule('rule "a" when x is 1 \ufeff')


def test_bytes_that_are_utf8_parse_like_text():
    assert parse_rule('rule "ñ" when x is “é”'.encode()) == parse_rule('rule "ñ" when x is “é”')


def test_a_rule_must_be_text():
    with pytest.raises(RuleError) as info:
        parse_rule(42)
    assert info.value.code == "not-text"


# ---- limits --------------------------------------------------------------------------------------------------

def test_text_over_8_kb():
    text = 'rule "a" when ' + " or ".join(["x is 1"] * 2000)
    assert len(text.encode()) > MAX_RULE_BYTES
    for given_as in (text, text.encode()):
        with pytest.raises(RuleError) as info:
            parse_rule(given_as)
        assert info.value.code == "too-long" and "8,192" in info.value.message


def test_8_kb_counts_bytes_not_characters():
    text = 'rule "a" when x is "' + "é" * 4100 + '"'  # 4,100 characters, 8,200 bytes
    assert len(text) < MAX_RULE_BYTES < len(text.encode())
    with pytest.raises(RuleError, match="too long"):
        parse_rule(text)


def test_nesting_deeper_than_the_limit():
    ok = 'rule "a" when ' + "not (" * (MAX_DEPTH - 1) + "x is 1" + ")" * (MAX_DEPTH - 1)
    parse_rule(ok)
    deep = 'rule "a" when ' + "not (" * MAX_DEPTH + "x is 1" + ")" * MAX_DEPTH
    with pytest.raises(RuleError) as info:
        parse_rule(deep)
    assert info.value.code == "too-deep" and "nested too deeply" in info.value.message
    assert info.value.line == 1 and info.value.column is not None


def test_alternating_groups_deeper_than_the_limit():
    condition = "x is 1"
    for level in range(MAX_DEPTH + 1):
        joiner = " and " if level % 2 else " or "
        condition = f"(y is 1{joiner}{condition})"
    with pytest.raises(RuleError) as info:
        parse_rule(f'rule "a" when {condition}')
    assert info.value.code == "too-deep"


def test_parentheses_alone_do_not_nest():
    rule = parse_rule('rule "a" when ' + "(" * 3000 + "x is 1" + ")" * 3000)
    assert rule.condition.feature == "x"


def test_a_long_chain_of_not_is_a_rule_error_not_a_recursion_error():
    text = 'rule "a" when ' + "not " * 2000 + "x is 1"
    with pytest.raises(RuleError) as info:
        parse_rule(text)
    assert info.value.code == "too-deep"


def test_a_deep_structured_rule_is_a_rule_error_not_a_recursion_error():
    condition = {"feature": "x", "op": "is known"}
    for _ in range(3000):
        condition = {"not": condition}
    with pytest.raises(RuleError) as info:
        rules_dsl.rule_from_json({"name": "a", "when": condition})
    assert info.value.code == "too-deep"


def test_more_nodes_than_the_limit():
    # Text runs into the 8 KB limit first; the structured form can say more in fewer bytes.
    items = [{"feature": "x", "op": "is known"}] * MAX_NODES
    with pytest.raises(RuleError) as info:
        rules_dsl.rule_from_json({"name": "a", "when": {"any": items}})
    assert info.value.code == "too-large" and "too many conditions" in info.value.message


def test_many_nodes_within_8_kb_are_fine():
    text = 'rule "a" when at least 1 of (' + ",".join(["x>1"] * 1900) + ")"
    assert len(parse_rule(text).condition.items) == 1900


# ---- fuzzing -------------------------------------------------------------------------------------------------

def _rule_or_rule_error(data):
    try:
        result = parse_rule(data)
    except RuleError as e:
        assert isinstance(e.message, str) and e.message
        assert e.line is None or e.line >= 1
        return None
    assert isinstance(result, rules_dsl.syntax.Rule)
    return result


@settings(max_examples=500, deadline=None)
@given(st.text())
def test_any_text_is_a_rule_or_a_rule_error(text):
    _rule_or_rule_error(text)


@settings(max_examples=500, deadline=None)
@given(st.binary())
def test_any_bytes_are_a_rule_or_a_rule_error(data):
    _rule_or_rule_error(data)


WORDS = ["rule", '"r"', "when", "if", "x", "white cell count", "is", "is not", "above", ">", "<=", "between",
         "and", "or", "not", "(", ")", ",", "at least", "2", "of", "one of", "contains", "is missing", "-3.5",
         "mm", "%", '"a"', "“b”", "yes", "no", "then", "risk", "with confidence", "0.5", "because", "priority",
         "disabled", "\n", '"', "\x00", "\\", "'", "’", "é", "1e5", "°C", "≥", "isn't"]


@settings(max_examples=1000, deadline=None)
@given(st.lists(st.sampled_from(WORDS), max_size=25).map(" ".join))
def test_any_sequence_of_language_words_is_a_rule_or_a_rule_error(text):
    _rule_or_rule_error('rule "r" when ' + text)
    _rule_or_rule_error(text)


# ---- checker: errors and warnings against the vocabulary ----------------------------------------------------

CHECKER_PROBLEMS = [
    # (condition [+ conclusion], code, severity, field, phrase, suggestion)
    ("temprature is above 38", "unknown-feature", "error", "when.feature", "Did you mean 'temperature'?",
     "temperature"),
    ("pulze is above 90", "unknown-feature", "error", "when.feature", "Did you mean 'heart rate'?", "heart rate"),
    ("blood group is 5", "unknown-feature", "error", "when.feature", "add it to the vocabulary", None),
    ('location is "margn"', "unknown-value", "error", "when.values[0]", 'Did you mean "margin"?', "margin"),
    ('location is one of "border", "centr"', "unknown-value", "error", "when.values[1]", 'Did you mean "centre"?',
     "centre"),
    ("grade is 7", "unknown-value", "error", "when.values[0]", "'1', '2' or '3'", None),
    ('heart rate is "fast"', "wrong-type", "error", "when.values[0]", "'heart rate' is a number", None),
    ("heart rate is yes", "wrong-type", "error", "when.values[0]", "compare it with a number", None),
    ("notes is 5", "wrong-type", "error", "when.values[0]", "text in quotes", None),
    ('smoker is "yes"', "wrong-type", "error", "when.values[0]", "without quotes", None),
    ("lesion diameter is above 2 kg", "unit", "error", "when.values[0]",
     "'kg' is a mass, but 'lesion diameter' is a length", "mm"),
    ("age at diagnosis is between 2 mm and 5 mm", "unit", "error", "when.values[0]", "'mm' is a length", "years"),
    ("lesion diameter is above 2 furlongs", "unit", "error", "when.values[0]", "'furlongs' is not a unit", "mm"),
    ("lesion diameter is above 2 milimeters", "unit", "error", "when.values[0]", "Did you mean 'millimeters'?",
     "millimeters"),
    ("heart rate is above 90 %", "unit", "error", "when.values[0]", "has no unit in the vocabulary", None),
    ("history of smoking is above 2", "wrong-comparison", "error", "when.op", "'above' does not apply", None),
    ('location contains "marg"', "wrong-comparison", "error", "when.op", "which is a category", None),
    ("notes is between 1 and 2", "wrong-comparison", "error", "when.op", "which is text", None),
    ('age at diagnosis is 5 then outcome is "high"', "unknown-outcome", "error", "then.outcome",
     "This rule set decides 'risk'", "risk"),
    ('age at diagnosis is 5 then risk is "hgh"', "unknown-label", "error", "then.label", 'Did you mean "high"?',
     "high"),
    ('age at diagnosis is 5 then risk is "high" with confidence 1.5', "bad-confidence", "error",
     "then.confidence", "at most 1", None),
    ('age at diagnosis is 5 then risk is "high" with confidence 0', "bad-confidence", "error",
     "then.confidence", "above 0", None),
    ('age at diagnosis is 5 then risk is "high" with confidence -20%', "bad-confidence", "error",
     "then.confidence", "above 0", None),
    # warnings
    ("temperature is above 60", "out-of-range", "warning", "when.values[0]", "outside the usual range", None),
    ("temperature is above 3000 °C", "out-of-range", "warning", "when.values[0]", "30 to 45 °C", None),
    ("age at diagnosis is above 80 and age at diagnosis is below 20", "never-true", "warning", "when.all[1]",
     "can never be true together with 'age at diagnosis is above 80'", None),
    ("lesion diameter is above 1 cm and diam is 1", "unknown-feature", "error", "when.all[1].feature", "", None),
    ("lesion diameter is above 1 cm and lesion diameter is below 5 mm", "never-true", "warning", "when.all[1]",
     "never be true", None),
    ("age at diagnosis is above 5 and age at diagnosis is at least 5 and age at diagnosis is at most 5",
     "never-true", "warning", "when.all[2]", "never be true", None),
    ("age at diagnosis is below 5 and age at diagnosis is at most 5 and age at diagnosis is at least 5",
     "never-true", "warning", "when.all[2]", "never be true", None),
    ('location is "margin" and location is "border"', "never-true", "warning", "when.all[1]", "never be true",
     None),
    ("smoker is yes and history of smoking is no", "never-true", "warning", "when.all[1]", "never be true", None),
    ("heart rate is between 100 and 60", "never-true", "warning", "when.values", "lower limit comes first", None),
    ("at least 3 of (smoker is yes, notes is known)", "never-true", "warning", "when.at_least",
     "can never be true", None),
    ("at least 0 of (smoker is yes)", "always-true", "warning", "when.at_least", "always true", None),
    # where in the tree
    ('temperature is above 38 and (pulse is above 90 or location is "x")', "unknown-value", "error",
     "when.all[1].any[1].values[0]", '"x" is not a value', None),
    ("not (temprature is above 38)", "unknown-feature", "error", "when.not.feature", "temperature", "temperature"),
    ("at least 1 of (smoker is yes, temprature is above 1)", "unknown-feature", "error", "when.of[1].feature",
     "temperature", "temperature"),
]


@pytest.mark.parametrize("condition, code, severity, field, phrase, suggestion", CHECKER_PROBLEMS,
                         ids=[f"{c[1]}-{i}" for i, c in enumerate(CHECKER_PROBLEMS)])
def test_checker_problems_say_what_where_and_how(vocabulary, ruleset_settings, condition, code, severity, field,
                                                 phrase, suggestion):
    checked = rules_dsl.check(parse_rule(f'rule "r"\nwhen {condition}'), vocabulary, ruleset_settings.outcome)
    matching = [p for p in checked.problems if p.code == code and p.field == field]
    assert matching, [(p.code, p.field, p.message) for p in checked.problems]
    problem = matching[0]
    assert problem.severity == severity
    assert phrase in problem.message
    assert problem.suggestion == suggestion
    assert problem.line == 2 and problem.column is not None and problem.end_column is not None
    assert (checked.logic is None) == bool(checked.errors)


@pytest.mark.parametrize("condition", [
    "age at diagnosis is at least 5 and age at diagnosis is at most 5",
    "age at diagnosis is above 5 and age at diagnosis is below 6",
    "temperature is between 36 and 38 and temperature is above 37.9",
    'location is "margin" and location is "MARGIN"',
    "at least 2 of (smoker is yes, notes is known)",
    "temperature is between 30 and 45",
])
def test_conditions_that_can_be_true_get_no_warning(vocabulary, condition):
    checked = rules_dsl.check(parse_rule(f'rule "r" when {condition}'), vocabulary)
    assert checked.problems == []


def test_checker_problems_point_at_the_words(vocabulary):
    text = 'rule "r"\nwhen heart rate is above 90\n  and lesion diameter is below 3 kg'
    problem = rules_dsl.check(parse_rule(text), vocabulary).errors[0]
    assert (problem.line, problem.column, problem.end_line, problem.end_column) == (3, 32, 3, 36)
    assert text.split("\n")[2][problem.column - 1:problem.end_column - 1] == "3 kg"


def test_every_problem_of_a_rule_is_reported(vocabulary, ruleset_settings):
    rule = parse_rule('rule "r" when temprature is above 38 and location is "x" and smoker is above 1 '
                      'then risk is "hgh"')
    checked = rules_dsl.check(rule, vocabulary, ruleset_settings.outcome)
    assert [p.code for p in checked.errors] == ["unknown-feature", "unknown-value", "wrong-comparison",
                                                 "unknown-label"]
    with pytest.raises(RuleError) as info:
        checked.raise_errors()
    assert info.value.code == "unknown-feature" and info.value.suggestion == "temperature"
    assert len(info.value.problems) == 4


def test_compile_rule_names_the_file(vocabulary, ruleset_settings):
    with pytest.raises(RuleError) as info:
        rules_dsl.compile_rule('rule "r" when temprature is above 38', vocabulary, ruleset_settings,
                               file="rules/r.rule")
    assert str(info.value).startswith("rules/r.rule:1:15: There is no feature called 'temprature'")


def _text_before(text: str, line: int, column: int) -> str:
    lines = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    return "\n".join(lines[:line - 1] + [lines[line - 1][:column - 1]])


@settings(max_examples=1500, deadline=None)
@given(st.lists(st.sampled_from(WORDS), max_size=12).map(" ".join))
def test_a_message_about_what_is_missing_after_a_word_points_just_after_that_word(text):
    """"Expected X after Y" (and "After 'Y' I expected ...") points just after Y, wherever the next word is."""
    text = 'rule "r" when ' + text
    try:
        parse_rule(text)
    except RuleError as e:
        said = re.search(r"""(?:after|After) (['"])(.+?)\1(?!\w)""", e.message)
        if said is None or e.code != "syntax":
            return
        before = " ".join(_text_before(text, e.line, e.column).split()).lower()
        assert before.endswith(said.group(2).lower()), (e.line, e.column, e.message)


# ---- the table of syntax messages (rules_dsl/parser.py, SYNTAX_MESSAGES) ------------------------------------------

@pytest.mark.parametrize("entry", parser.SYNTAX_MESSAGES, ids=lambda entry: entry.situation)
def test_each_syntax_message_has_an_example_that_gets_it(entry):
    with pytest.raises(RuleError) as info:
        parse_rule(entry.example)
    assert info.value.code == "syntax" and info.value.message == entry.says


@pytest.mark.parametrize("index", range(len(parser.SYNTAX_MESSAGES)),
                         ids=[entry.situation for entry in parser.SYNTAX_MESSAGES])
def test_each_syntax_message_is_the_first_that_applies_to_its_example(index, monkeypatch):
    """Entries that say the same thing in two situations each have an example that reaches that entry."""
    tagged = tuple(dataclasses.replace(entry, message=lambda place, i=i: f"entry {i}")
                   for i, entry in enumerate(parser.SYNTAX_MESSAGES))
    monkeypatch.setattr(parser, "SYNTAX_MESSAGES", tagged)
    with pytest.raises(RuleError) as info:
        parse_rule(tagged[index].example)
    assert info.value.message == f"entry {index}"
