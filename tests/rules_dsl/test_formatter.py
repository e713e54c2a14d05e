"""The canonical text form: format(parse(t)) is stable, and parse(format(tree)) == tree."""
from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given, settings

import rules_dsl
from rules_dsl import format_rule, format_syntax, parse_rule
from rules_dsl.syntax import AllOf, AnyOf, AtLeast, Comparison, Not, Quantity, Rule, Text

from .strategies import rules
from .vocab import TEST_SETTINGS, TEST_VOCABULARY

MESSY = [
    # (as typed, canonical)
    ('RULE "Fever"   WHEN temperature > 38', 'rule "Fever"\nwhen temperature is above 38'),
    ('rule "Fever" if Temperature is over 38.50 °C then Risk is “high” with confidence 80%',
     'rule "Fever"\nwhen Temperature is above 38.5°C\nthen Risk is "high" with confidence 0.8'),
    ('rule "a" when age at diagnosis >= 65 years and  smoker is true and pulse<>90',
     'rule "a"\nwhen age at diagnosis is at least 65 years\n  and smoker is yes\n  and pulse is not 90'),
    ('rule "a" when x is one of "a" or "b"  or y isn\'t no',
     'rule "a"\nwhen x is one of "a", "b"\n  or y is not no'),
    ('rule "a" priority 0 when not not x is unknown', 'rule "a"\nwhen not (not (x is missing))'),
    ('rule "a" disabled priority +3 when x is not recorded', 'rule "a"\npriority 3\ndisabled\nwhen x is missing'),
    ('rule "a" when lesion diameter is between 2 and 5 mm',
     'rule "a"\nwhen lesion diameter is between 2 mm and 5 mm'),
    ('rule "a" when at least 2 of (a is 1, b is one of 1, 2,c > .5)',
     'rule "a"\nwhen at least 2 of (\n    a is 1,\n    b is one of 1, 2,\n    c is above 0.5\n  )'),
    ('rule "a" when (a is 1 or b is 2) and (c is 3 or (d is 4 and e is 5))',
     'rule "a"\nwhen (a is 1 or b is 2)\n  and (c is 3 or (d is 4 and e is 5))'),
    ('rule "a" when x is 1 and at least 1 of (y is 2, z is 3)',
     'rule "a"\nwhen x is 1\n  and at least 1 of (y is 2, z is 3)'),
    ('rule "a \\"quoted\\" \\\\ name" when notes contains "\\"" because “a ‘source’”',
     'rule "a \\"quoted\\" \\\\ name"\nwhen notes contains "\\""\nbecause "a ‘source’"'),
    ('rule "a" when x is -0 and y is 1.2300 and z is 5 percent and w is 1000000',
     'rule "a"\nwhen x is 0\n  and y is 1.23\n  and z is 5%\n  and w is 1000000'),
    ('rule "a"\r\nwhen x doesn’t include "a"\r\n  and y = "b"\r\n',
     'rule "a"\nwhen x does not contain "a"\n  and y is "b"'),
]


@pytest.mark.parametrize("typed, canonical", MESSY)
def test_messy_text_gets_its_canonical_form(typed, canonical):
    assert format_rule(typed) == canonical
    assert format_rule(canonical) == canonical
    assert parse_rule(canonical) == parse_rule(typed)


def test_fixture_rules_are_canonical(sepsis):
    assert len(sepsis.rules) >= 2
    for rule in sepsis.rules:
        assert format_rule(rule.text) == rule.text
        assert parse_rule(rule.text) == rule.syntax


def test_format_keeps_names_and_units_as_typed_but_the_checked_form_uses_the_vocabulary(vocabulary):
    tree = parse_rule('rule "a" when PULSE is above 90 and Lesion Diameter is below 0.3 CM')
    assert format_syntax(tree) == 'rule "a"\nwhen PULSE is above 90\n  and Lesion Diameter is below 0.3 CM'
    checked = rules_dsl.check(tree, vocabulary)
    assert format_syntax(checked.rule) == 'rule "a"\nwhen heart rate is above 90\n  and lesion diameter is below 0.3 CM'


def test_positions_do_not_count_in_equality():
    a = parse_rule('rule "a" when x is 1')
    b = parse_rule('rule   "a"\n\n  when    x is 1')
    assert a == b
    assert a.condition.span != b.condition.span


def test_a_one_level_group_inside_a_group_keeps_its_parentheses():
    tree = Rule("a", AllOf((Comparison("x", "is", (Quantity(Decimal(1)),)),
                            AllOf((Comparison("y", "is known"), Comparison("z", "is missing"))))))
    text = format_syntax(tree)
    assert text == 'rule "a"\nwhen x is 1\n  and (y is known and z is missing)'
    assert parse_rule(text) == tree


def test_nested_not_and_at_least_round_trip():
    tree = Rule("a", Not(AtLeast(0, (AnyOf((Comparison("x", "contains", (Text(""),)),
                                            Not(Comparison("y", "is known")))),))))
    assert parse_rule(format_syntax(tree)) == tree


@settings(max_examples=400, deadline=None)
@given(rules(checked=False))
def test_generated_trees_round_trip_through_text(tree):
    text = format_syntax(tree)
    assert parse_rule(text) == tree
    assert format_rule(text) == text


@settings(max_examples=100, deadline=None)
@given(rules(checked=True))
def test_generated_checked_trees_round_trip_through_text(tree):
    text = format_syntax(tree)
    assert parse_rule(text) == tree
    assert format_rule(text) == text


@settings(max_examples=150, deadline=None)
@given(rules(checked=True))
def test_the_checked_canonical_text_is_a_fixed_point(tree):
    """What the store saves (names in the vocabulary's spelling) compiles to the same logic and text again."""
    compiled = rules_dsl.compile_rule(tree, TEST_VOCABULARY, TEST_SETTINGS)
    again = rules_dsl.compile_rule(compiled.text, TEST_VOCABULARY, TEST_SETTINGS)
    assert again.text == compiled.text
    assert again.logic == compiled.logic
    assert [(w.code, w.field) for w in again.warnings] == [(w.code, w.field) for w in compiled.warnings]
