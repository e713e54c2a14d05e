"""The release gate of ruleset.yaml: read in plain words, each criterion measured with its figure and limit."""
from __future__ import annotations

import pandas as pd
import pytest

import rules_dsl
from rules_dsl import RuleError
from rules_dsl.expected import run_tests
from rules_dsl.gate import Gate, evaluate
from rules_dsl.vocabulary import Settings

SETTINGS = {"title": "t", "outcome": {"name": "sepsis risk", "labels": ["low", "high"]}, "default": "low"}


def test_a_gate_is_read_and_written_back():
    gate = Gate.from_dict({"tests": "pass", "dataset": "admissions", "max broken": 0, "min accuracy": "85%",
                           "min_answered": 0.9, "group": "sex", "max group loss": 5})
    assert (gate.min_accuracy, gate.min_answered, gate.max_group_loss) == (0.85, 0.9, 5.0)
    settings = Settings.from_dict({**SETTINGS, "gate": gate.to_dict()})
    assert settings.gate == gate
    assert Settings.from_dict(settings.to_dict()) == settings
    assert "gate" not in Settings.from_dict(SETTINGS).to_dict()


@pytest.mark.parametrize(("gate", "words"), [
    ({"min acuracy": "85%", "dataset": "d"}, "Did you mean 'min accuracy'?"),
    ({"min accuracy": "185%", "dataset": "d"}, "is a share such as 85%"),
    ({"min accuracy": 2, "dataset": "d"}, "is a share such as 85%"),
    ({"max broken": -1, "dataset": "d"}, "whole number of cases"),
    ({"min accuracy": "85%"}, "name it, for example  dataset:"),
    ({"group": "sex", "dataset": "d"}, "go together"),
    ({"tests": "maybe"}, "tests: is 'pass'"),
    ("strict", "gate: holds the criteria"),
])
def test_a_wrong_gate_is_refused_in_plain_words(gate, words):
    with pytest.raises(RuleError) as caught:
        Settings.from_dict({**SETTINGS, "gate": gate})
    assert any(words in p.message and p.file == "ruleset.yaml" for p in caught.value.problems), caught.value.problems


def test_the_figures(sepsis):
    candidate = sepsis
    # the release said low on everything: the candidate's SIRS rule changes what it answers
    released = rules_dsl.RuleSet(sepsis.settings, sepsis.vocabulary, [r for r in sepsis.rules if r.id != "sirs"])
    data = pd.DataFrame({
        "temperature": [39, 39, 37, 37, 39], "heart rate": [100, 100, 70, 70, 100],
        "respiratory rate": [12, 12, 12, 12, 12], "white cell count": [8, 8, 8, 8, 8],
        "sex": ["f", "m", "f", "m", "m"], "truth": ["high", "low", "low", "low", "low"]})
    for column in ("diam_mm", "location", "smoker", "notes", "age"):
        data[column] = None
    gate = Gate.from_dict({"tests": "pass", "dataset": "d", "max broken": 1, "min accuracy": "70%",
                           "min answered": "100%", "group": "sex", "max group loss": 10})
    tests = run_tests(b"case,temperature,expect\nhot,39,low\n", candidate)
    result = evaluate(gate, candidate, tests=tests, data=data, label_column="truth", released=released,
                      released_name="v1")
    figures = {c.name: (c.figure, c.limit, c.passed) for c in result.criteria}
    assert figures == {
        "tests": ("1 of 1 fail", "0 fail", False),
        "max broken": ("2", "at most 1", False),               # rows 2 and 5: low was right, high is wrong
        "min accuracy": ("60.0%", "at least 70.0%", False),    # 3 of 5 answered right
        "min answered": ("100.0%", "at least 100.0%", True),
        "max group loss": ("66.7 points", "at most 10 points", False),   # m: 3/3 right before, 1/3 after
    }
    assert not result.passed and result.compared_with == "v1"
    assert result.to_dict()["criteria"][0]["detail"] == "Failing: hot"


def test_without_a_release_nothing_can_break(sepsis):
    gate = Gate.from_dict({"dataset": "d", "max broken": 0, "group": "sex", "max group loss": 0})
    data = pd.DataFrame({"temperature": [39], "heart rate": [100], "respiratory rate": [12],
                         "white cell count": [8], "sex": ["f"], "truth": ["high"], "diam_mm": [None],
                         "location": [None], "smoker": [None], "notes": [None], "age": [None]})
    result = evaluate(gate, sepsis, data=data, label_column="truth")
    assert result.passed and [c.detail for c in result.criteria][1:] == ["No release yet to compare with."] * 2


def test_a_missing_data_set_fails_its_criteria_and_says_why(sepsis):
    result = evaluate(Gate.from_dict({"dataset": "admissions", "min accuracy": "80%"}), sepsis)
    assert not result.passed
    assert "'admissions' is not registered" in result.criteria[-1].detail


def test_data_that_does_not_fit_is_said_not_raised(sepsis):
    gate = Gate.from_dict({"dataset": "d", "min accuracy": "80%"})
    result = evaluate(gate, sepsis, data=pd.DataFrame({"truth": ["low"]}), label_column="truth")
    assert not result.passed and "does not fit the rules: The data has no column" in result.criteria[-1].detail
