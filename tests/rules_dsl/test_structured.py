"""The structured (JSON) form the form editor sends: lossless both ways, and bad documents name the bad field."""
from __future__ import annotations

import json
import math
from decimal import Decimal

import pytest
from hypothesis import given, settings

from rules_dsl import RuleError, format_syntax, parse_rule, rule_from_json, rule_to_json
from rules_dsl.syntax import AllOf, Comparison, Quantity, Text

from .strategies import rules

EXAMPLE = {
    "name": "Small dark dot near the margin", "priority": 2, "enabled": True,
    "when": {"all": [
        {"feature": "lesion diameter", "op": "between",
         "values": [{"number": 2, "unit": "mm"}, {"number": 0.5, "unit": "cm"}]},
        {"feature": "location", "op": "one of", "values": ["margin", "border"]},
        {"any": [{"feature": "smoker", "op": "is", "values": [True]},
                 {"not": {"feature": "notes", "op": "contains", "values": ["biopsy"]}}]},
        {"at_least": 1, "of": [{"feature": "age", "op": "above", "values": [-1.5]},
                               {"feature": "white cell count", "op": "is missing", "values": []}]},
    ]},
    "then": {"outcome": "risk", "label": "high", "confidence": 0.8},
    "because": "Triage guideline 4.2",
}
EXAMPLE_TEXT = """rule "Small dark dot near the margin"
priority 2
when lesion diameter is between 2 mm and 0.5 cm
  and location is one of "margin", "border"
  and (smoker is yes or not (notes contains "biopsy"))
  and at least 1 of (age is above -1.5, white cell count is missing)
then risk is "high" with confidence 0.8
because "Triage guideline 4.2\""""


def json_round_trip(document):
    """What a browser does to the document: JSON text and back."""
    return json.loads(json.dumps(document, allow_nan=False))


def test_example_document_to_text_and_back():
    tree = rule_from_json(EXAMPLE)
    assert format_syntax(tree) == EXAMPLE_TEXT
    assert rule_to_json(parse_rule(EXAMPLE_TEXT)) == EXAMPLE
    assert rule_to_json(tree) == EXAMPLE


def test_numbers_keep_their_value_and_kind():
    document = rule_to_json(parse_rule('rule "a" when x is 2 and y is 2.50 and z is -0.001 and w is 1000000'))
    values = [c["values"][0] for c in document["when"]["all"]]
    assert values == [2, 2.5, -0.001, 1000000]
    assert [type(v) for v in values] == [int, float, float, int]


def test_a_group_of_one_is_the_condition_itself():
    document = {"name": "a", "when": {"all": [{"feature": "x", "op": "is known"}]}}
    assert rule_from_json(document).condition == Comparison("x", "is known")


def test_between_gives_the_lower_limit_the_upper_ones_unit_as_the_text_does():
    document = {"name": "a", "when": {"feature": "d", "op": "between", "values": [2, {"number": 5, "unit": "mm"}]}}
    tree = rule_from_json(document)
    assert tree.condition.values == (Quantity(Decimal(2), "mm"), Quantity(Decimal(5), "mm"))
    assert parse_rule(format_syntax(tree)) == tree


def test_percent_is_written_as_the_percent_sign():
    document = {"name": "a", "when": {"feature": "x", "op": "above", "values": [{"number": 5, "unit": "percent"}]}}
    assert format_syntax(rule_from_json(document)) == 'rule "a"\nwhen x is above 5%'


@settings(max_examples=400, deadline=None)
@given(rules(checked=False))
def test_generated_trees_round_trip_json_tree_json_and_json_text_json(tree):
    document = rule_to_json(tree)
    # JSON -> tree -> JSON
    assert rule_from_json(document) == tree
    assert rule_from_json(json_round_trip(document)) == tree
    assert rule_to_json(rule_from_json(document)) == document
    # JSON -> text -> JSON
    text = format_syntax(rule_from_json(document))
    assert rule_to_json(parse_rule(text)) == document
    assert format_syntax(rule_from_json(rule_to_json(parse_rule(text)))) == text


def ok(**changes):
    document = {"name": "a", "when": {"feature": "x", "op": "is", "values": [1]}}
    document.update(changes)
    return document


def comparison(*values, op="is", feature="x", **extra):
    return ok(when={"feature": feature, "op": op, "values": list(values), **extra})


BAD_DOCUMENTS = [
    # (document, field, phrase)
    (ok(name=5), "name", "must be text"),
    (ok(name=""), "name", "required"),
    (ok(name="two\nlines"), "name", "one line"),
    (ok(name="nul\x00"), "name", "control character"),
    ({"name": "a"}, "when", "at least one condition"),
    (ok(priority="high"), "priority", "whole number"),
    (ok(priority=True), "priority", "whole number"),
    (ok(priority=1.5), "priority", "whole number"),
    (ok(priority=10**7), "priority", "whole number"),
    (ok(enabled="yes"), "enabled", "true or false"),
    (ok(colour="red"), "colour", "Unexpected field"),
    (comparison(float("nan"), op="above"), "when.values[0]", "not infinity or NaN"),
    (comparison(float("inf"), op="above"), "when.values[0]", "not infinity or NaN"),
    (comparison(float("-inf")), "when.values[0]", "not infinity or NaN"),
    (comparison(True, op="above"), "when.values[0]", "give a number"),
    (comparison({"number": True}), "when.values[0].number", "Expected a number"),
    (comparison({"number": "5"}), "when.values[0].number", "Expected a number"),
    (comparison({"number": 5, "unit": "mm", "colour": 1}), "when.values[0]", '"unit": "mm"'),
    (comparison({"unit": "mm"}), "when.values[0]", '"number": 2'),
    (comparison({"number": 5, "unit": "m m"}), "when.values[0].unit", "not a unit"),
    (comparison({"number": 5, "unit": 5}), "when.values[0].unit", "must be text"),
    (comparison(1.2345678901234567), "when.values[0]", "too many digits"),
    (comparison(10**16), "when.values[0]", "too many digits"),
    (comparison([1]), "when.values[0]", "Expected a number, a text"),
    (comparison(None), "when.values[0]", "Expected a number, a text"),
    (comparison("two\nlines"), "when.values[0]", "one line"),
    (comparison("bell\x07"), "when.values[0]", "control character"),
    (comparison(5, op="contains"), "when.values[0]", "give the text"),
    (comparison(True, op="one of"), "when.values[0]", "cannot be put in a list"),
    (comparison(1, True, op="not one of"), "when.values[1]", "cannot be put in a list"),
    (comparison(1, feature="age is 5"), "when.feature", "cannot be used as the feature"),
    (comparison(1, feature="and"), "when.feature", "cannot be used as the feature"),
    (comparison(1, feature="2nd opinion"), "when.feature", "cannot be used as the feature"),
    (comparison(1, feature="line\nbreak"), "when.feature", "one line"),
    (comparison(1, feature=None), "when.feature", "required"),
    (comparison(1, op="approximately"), "when.op", "Choose a comparison"),
    (comparison(1, op=None), "when.op", "Choose a comparison"),
    (ok(when={"feature": "x", "op": "is", "values": 1}), "when.values", "list of values"),
    (comparison(1, op="between"), "when.values", "two values"),
    (comparison(1, op="is missing"), "when.values", "no value"),
    (comparison(1, 2), "when.values", "one value"),
    (comparison(op="one of"), "when.values", "at least one value"),
    (comparison(1, colour="red"), "when.colour", "Unexpected field"),
    (ok(when=[]), "when", "Expected a condition"),
    (ok(when={"all": []}), "when.all", "at least one condition"),
    (ok(when={"all": {"feature": "x"}}), "when.all", "at least one condition"),
    (ok(when={"all": [{"feature": "x", "op": "is known"}, 5]}), "when.all[1]", "Expected a condition"),
    (ok(when={"all": [{"any": [{"feature": "x", "op": "is known"}, {"feature": "x", "op": "is", "values": [[1]]}]}]}),
     "when.all[0].any[1].values[0]", "Expected a number"),
    (ok(when={"feature": "x", "op": "is known", "all": []}), "when", "either a comparison"),
    (ok(when={}), "when", "either a comparison"),
    (ok(when={"at_least": -1, "of": [{"feature": "x", "op": "is known"}]}), "when.at_least", "whole number"),
    (ok(when={"at_least": "2", "of": [{"feature": "x", "op": "is known"}]}), "when.at_least", "whole number"),
    (ok(when={"at_least": True, "of": [{"feature": "x", "op": "is known"}]}), "when.at_least", "whole number"),
    (ok(when={"at_least": 1}), "when.of", "at least one condition"),
    (ok(when={"at_least": 10**20, "of": [{"feature": "x", "op": "is known"}]}), "when.at_least", "whole number"),
    (ok(when={"not": [{"feature": "x", "op": "is known"}]}), "when.not", "Expected a condition"),
    (ok(when={"not": {"feature": "x", "op": "is known"}, "colour": 1}), "when.colour", "Unexpected field"),
    (ok(when={"any": [{"feature": "x", "op": "is known"}] * 2, "colour": 1}), "when.colour", "Unexpected field"),
    (ok(then="high"), "then", '"outcome": "risk"'),
    (ok(then={"label": "high"}), "then.outcome", "required"),
    (ok(then={"outcome": "risk", "label": 5}), "then.label", "must be text"),
    (ok(then={"outcome": "risk", "label": ""}), "then.label", "required"),
    (ok(then={"outcome": "risk is", "label": "high"}), "then.outcome", "cannot be used as the outcome"),
    (ok(then={"outcome": "risk", "label": "high", "confidence": "high"}), "then.confidence", "Expected a number"),
    (ok(then={"outcome": "risk", "label": "high", "confidence": float("nan")}), "then.confidence", "NaN"),
    (ok(then={"outcome": "risk", "label": "high", "confidence": True}), "then.confidence", "Expected a number"),
    (ok(then={"outcome": "risk", "label": "high", "colour": 1}), "then.colour", "Unexpected field"),
    (ok(because=5), "because", "must be text"),
    (ok(because=""), "because", "empty"),
    (ok(because="two\nlines"), "because", "one line"),
]


@pytest.mark.parametrize("document, field, phrase", BAD_DOCUMENTS,
                         ids=[f"{i}-{c[1]}" for i, c in enumerate(BAD_DOCUMENTS)])
def test_bad_documents_name_the_field(document, field, phrase):
    with pytest.raises(RuleError) as info:
        rule_from_json(document)
    fields = {p.field: p.message for p in info.value.problems}
    assert field in fields, fields
    assert phrase in fields[field]


@pytest.mark.parametrize("document", [None, [], "rule", 5, True])
def test_a_rule_is_an_object(document):
    with pytest.raises(RuleError, match="JSON object"):
        rule_from_json(document)


def test_every_problem_is_reported_at_once():
    document = {"name": 5, "priority": "x", "enabled": 1,
                "when": {"all": [{"feature": "x", "op": "above", "values": ["a"]},
                                 {"feature": "and", "op": "is", "values": [1]}]},
                "then": {"outcome": "risk"}}
    with pytest.raises(RuleError) as info:
        rule_from_json(document)
    assert {p.field for p in info.value.problems} >= {
        "name", "priority", "enabled", "when.all[0].values[0]", "when.all[1].feature", "then.label"}


def test_too_deep_names_the_deepest_field():
    condition = {"feature": "x", "op": "is known"}
    for _ in range(100):
        condition = {"not": condition}
    with pytest.raises(RuleError) as info:
        rule_from_json({"name": "a", "when": condition})
    assert info.value.code == "too-deep"
    assert info.value.field.startswith("when.not.not.") and info.value.field.count("not") == 64


def test_feature_names_are_spaced_like_the_text_form():
    tree = rule_from_json(comparison(1, feature="  white   cell count "))
    assert tree.condition.feature == "white cell count"


def test_structured_and_text_refuse_the_same_names():
    for name in ["age is 5", "and", "x or y", "2nd opinion", "at least"]:
        with pytest.raises(RuleError):
            rule_from_json(comparison(1, feature=name))
        with pytest.raises(RuleError):
            tree = parse_rule(f'rule "a" when {name} is 1')
            assert tree.condition.feature == name  # parsed, but not as this one feature name


def test_text_values_keep_quotes_backslashes_and_unicode():
    value = 'a "quoted" \\ “curly” \t ünïcode 🙂'
    tree = rule_from_json(comparison(value))
    assert tree.condition == Comparison("x", "is", (Text(value),))
    assert parse_rule(format_syntax(tree)) == tree


def test_floats_that_json_cannot_hold_are_refused_before_any_text_is_made():
    for value in (math.nan, math.inf):
        with pytest.raises(RuleError):
            rule_from_json(ok(when={"all": [{"feature": "x", "op": "above", "values": [value]},
                                            {"feature": "y", "op": "is known"}]}))
    assert isinstance(rule_from_json(ok()).condition, Comparison)
    assert not isinstance(rule_from_json(ok()).condition, AllOf)


def test_a_draft_keeps_what_can_be_read_and_marks_the_blanks():
    """Issue 15, item 2: the reader went on past a blank field, so the checker can see the rest."""
    from rules_dsl.structured import draft_from_json
    from rules_dsl.syntax import Blank

    document = {"name": " ", "when": {"all": [{"feature": "x", "op": "above", "values": [None]},
                                              {"feature": None, "op": "is", "values": [1]},
                                              {"feature": "y", "op": "is", "values": [[1]]}]},
                "then": {"outcome": "risk", "label": "", "confidence": 2}}
    rule, problems = draft_from_json(document)
    codes = {p.field: p.code for p in problems}
    assert codes == {"name": "blank", "when.all[0].values[0]": "blank", "when.all[1].feature": "blank",
                     "when.all[2].values[0]": "bad-field", "then.label": "blank"}
    first, second, third = rule.condition.items
    assert isinstance(first.values[0], Blank) and isinstance(second.feature, Blank)
    assert isinstance(third.values[0], Blank)
    assert isinstance(rule.conclusion.label, Blank) and rule.conclusion.confidence == 2
    assert format_syntax(rule) == ('rule "…"\nwhen x is above …\n  and … is 1\n  and y is …\n'
                                   "then risk is … with confidence 2")
    with pytest.raises(RuleError) as info:
        rule_from_json(document)  # a draft is never a rule
    assert {p.field for p in info.value.problems} == set(codes)
