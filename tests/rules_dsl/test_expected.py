"""tests.csv: expected outcomes read against the vocabulary, the outcome and the rules, and run under the policy."""
from __future__ import annotations

import pytest

from rules_dsl import RuleError
from rules_dsl.expected import check_tests, read_tests, run_tests

HEADER = ("case,temperature,heart rate,respiratory rate,white cell count,diam_mm,location,smoker,notes,age,"
          "expect,expect fires,note\n")
GOOD = HEADER + (
    "fever and fast pulse,39,100,12,8,,,,,40,high,Two or more SIRS criteria,SIRS 2 of 4\n"
    "calm adult,37,70,12,8,,,,,40,low,,\n"
    "small dot,37,70,12,8,3,Margin,no,none,40,low,small dot;,\n"
)


def test_a_good_file_passes(sepsis):
    report = run_tests(GOOD.encode(), sepsis)
    assert (len(report.results), report.passed, report.failed) == (3, 3, 0)
    assert report.problems == []
    first = report.results[0]
    assert first.deciding == ("Two or more SIRS criteria",) and first.answered == "high"
    assert report.results[2].expectation.fires == ("Small dot",)  # names as the rules spell them


def test_a_failure_says_case_expected_answered_and_the_deciding_rule(sepsis):
    data = HEADER + "wrong on purpose,39,100,12,8,,,,,40,low,,checks the SIRS rule\n"
    report = run_tests(data.encode(), sepsis)
    assert report.failed == 1
    assert report.failures[0].describe() == (
        "Case 'wrong on purpose' (tests.csv line 2): expected 'low', but the rules answered 'high' (decided by "
        "'Two or more SIRS criteria'). Note: checks the SIRS rule")
    as_json = report.to_dict()
    assert as_json["failures"][0]["expected"] == "low" and as_json["failures"][0]["answered"] == "high"
    assert as_json["failures"][0]["line"] == 2 and "message" in as_json["failures"][0]


def test_the_default_and_no_answer_are_said_in_plain_words(sepsis):
    data = HEADER + "calm,37,70,12,8,,,,,40,no answer,,\n"
    failure = run_tests(data.encode(), sepsis).failures[0]
    assert failure.expectation.expect is None
    assert failure.describe() == ("Case 'calm' (tests.csv line 2): expected no answer, but the rules answered "
                                  "'low' (no rule with a conclusion fired; 'low' is the default).")


def test_a_rule_that_must_fire_and_does_not(sepsis):
    # notes missing: "not (smoker is yes or notes contains ...)" is unknown, so the rule does not fire (Kleene)
    data = HEADER + "dot without notes,37,70,12,8,3,margin,no,,40,low,Small dot,\n"
    failure = run_tests(data.encode(), sepsis).failures[0]
    assert failure.answered == "low" and failure.not_fired == ("Small dot",)
    assert "expected this rule to fire: 'Small dot', but it did not (what fired: no rule)" in failure.describe()


@pytest.mark.parametrize(("data", "line", "words"), [
    ("case,temperature,expect\na,hot,high\n", 2, "'temperature' is a number, but this case has 'hot'"),
    ("case,location,expect\na,middle,high\n", 2, "'location' is 'middle' here, which is not one of its values"),
    ("case,temperature,expect\na,39,medium\n", 2, "'medium' is not an answer the rules can give"),
    ("case,temperature,expect\na,39,hihg\n", 2, "Did you mean 'high'?"),
    ("case,temperature,expect\na,39,\n", 2, "This case has no expected answer"),
    ("case,temperature,expect\na,39,high\na,38,high\n", 3, "The case 'a' is named twice (lines 2 and 3)"),
    ("case,temperature,expect,expect fires\na,39,high,Two SIRS\n", 2, "There is no rule called 'Two SIRS'"),
    ("case,temperature\na,39\n", 1, "tests.csv has no column 'expect'"),
    ("temperature,expect\n39,high\n", 1, "tests.csv has no column 'case'"),
    ("case,temperature,expect\na,39,high,extra\n", 2, "has 4 values, but the first line names 3 columns"),
    ('case,temperature,expect\na,"39,high\n', 2, "closing quote is missing"),
    ("", 1, "is empty"),
])
def test_errors_in_the_file_say_where_and_how_to_fix(sepsis, data, line, words):
    problems = [p for p in check_tests(data.encode(), sepsis) if p.is_error]
    assert problems, data
    assert any(words in p.message and p.line == line and p.file == "tests.csv" for p in problems), problems
    with pytest.raises(RuleError):
        run_tests(data.encode(), sepsis)


def test_warnings_do_not_stop_the_run(sepsis):
    data = "case,temperature,colour,expect\na,44.9,red,HIGH\nb,50,red,low\n"
    cases, problems = read_tests(data.encode(), sepsis)
    assert [p.is_error for p in problems] == [False, False, False]
    assert {p.code for p in problems} == {"unknown-column", "bad-tests", "out-of-range"}
    assert cases[0].expect == "high"  # written HIGH: read, with a warning to write it as the label is
    assert len(run_tests(data.encode(), sepsis).results) == 2


def test_a_spreadsheet_file_is_refused_in_plain_words(sepsis):
    problems = check_tests(b"PK\x03\x04 binary", sepsis)
    assert problems[0].is_error and "not a CSV file" in problems[0].message


def test_the_guides_tests_csv_passes(tmp_path):
    import rules_dsl
    from tests.rules_dsl.test_language_guide import example_folder

    folder = example_folder(tmp_path / "sepsis-screening")
    report = run_tests((folder / "tests.csv").read_bytes(), rules_dsl.load(folder))
    assert (report.passed, report.failed, report.problems) == (3, 0, [])
