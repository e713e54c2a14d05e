"""The real ``rulecraft`` command, run as a subprocess: check, format, evaluate."""
from __future__ import annotations

import os
import shutil
import subprocess
import sys

import pandas as pd
import pytest

import rules_dsl
from tests.server.conftest import FIXTURES

REPO_ROOT = FIXTURES.parents[1]
SEPSIS = FIXTURES / "sepsis-triage"


@pytest.fixture(scope="module")
def sepsis() -> rules_dsl.RuleSet:
    return rules_dsl.load(SEPSIS)


@pytest.fixture
def sepsis_copy(tmp_path):
    """A writable copy of the sepsis-triage folder."""
    target = tmp_path / "sepsis-triage"
    shutil.copytree(SEPSIS, target)
    return target


def rulecraft(*args, cwd=REPO_ROOT) -> subprocess.CompletedProcess:
    result = subprocess.run([sys.executable, "-m", "server", *map(str, args)], cwd=cwd, capture_output=True,
                            text=True, timeout=120, env={**os.environ, "PYTHONPATH": str(REPO_ROOT)})
    assert "Traceback" not in result.stderr, result.stderr
    return result


# ---- check -------------------------------------------------------------------------------------------------------

def test_check_the_fixture():
    result = rulecraft("check", SEPSIS.relative_to(REPO_ROOT))
    assert result.returncode == 0, result.stderr
    assert "2 rules, no errors" in result.stdout


def test_check_prints_file_line_column_message_and_exits_1(sepsis_copy):
    (sepsis_copy / "rules" / "fever.rule").write_text('rule "Fever"\nwhen temprature is above 38\n')
    (sepsis_copy / "rules" / "pulse.rule").write_text('rule "Pulse" when pulse is above\n')
    result = rulecraft("check", sepsis_copy)
    assert result.returncode == 1
    lines = result.stderr.splitlines()
    assert (f"{sepsis_copy / 'rules' / 'fever.rule'}:2:6: There is no feature called 'temprature' in this rule "
            "set's vocabulary. Did you mean 'temperature'?") in lines
    assert (f"{sepsis_copy / 'rules' / 'pulse.rule'}:1:33: Expected a number after 'is above', for example: "
            "is above 38") in lines
    assert lines[-1] == f"{sepsis_copy}: 2 errors"


def test_check_prints_warnings_and_exits_0(sepsis_copy):
    (sepsis_copy / "rules" / "odd.rule").write_text('rule "Odd"\nwhen age is above 80 and age is below 20\n')
    result = rulecraft("check", sepsis_copy)
    assert result.returncode == 0
    assert f"{sepsis_copy / 'rules' / 'odd.rule'}:2:26: warning: 'age is below 20' can never be true" in result.stderr
    assert "3 rules, no errors, 1 warning" in result.stdout


def test_check_a_folder_that_is_not_there(tmp_path):
    result = rulecraft("check", tmp_path / "nothing")
    assert result.returncode == 1 and "neither a rule-set folder nor a bundle" in result.stderr


EXAMPLES_CSV = """case,temperature,heart rate,location,smoker,diam_mm,sepsis risk,lesion diameter
a,39,95,margin,no,3,high,3
b,hot,95,Border ,yes,4,low,
c,37,300,top,maybe,2,medium,

d,"36",,margin,,,High,
e,37,80
"""


def test_check_reads_examples_csv_against_the_vocabulary_with_file_and_line(sepsis_copy):
    """examples.csv was never checked: a label or a value the rules cannot match went unnoticed (issue 12)."""
    (sepsis_copy / "examples.csv").write_text(EXAMPLES_CSV)
    result = rulecraft("check", sepsis_copy)
    assert result.returncode == 1
    file = sepsis_copy / "examples.csv"
    lines = result.stderr.splitlines()
    assert lines[:-1] == [
        f"{file}:1: warning: No feature reads the column 'lesion diameter'. The feature 'lesion diameter' reads "
        "the column 'diam_mm': name the column so, or leave it out.",
        f"{file}:3: 'temperature' is a number, but this case has 'hot'.",
        f"{file}:4: warning: 'heart rate' is 300 here, outside its usual range (20 to 250).",
        f"{file}:4: 'location' is 'top' here, which is not one of its values: 'margin', 'border' or 'centre'.",
        f"{file}:4: 'smoker' must be yes or no (true/false, 1/0), but got 'maybe'.",
        f"{file}:4: 'medium' is not a label of 'sepsis risk': 'low' or 'high'.",
        f"{file}:6: 'High' is not a label of 'sepsis risk': 'low' or 'high'. Write it as 'high' (labels are compared "
        "exactly).",
        f"{file}:7: This case has 3 values, but the first line names 8 columns. Every line needs one value per column "
        "(leave a value empty with two commas in a row).",
    ]
    assert lines[-1] == f"{sepsis_copy}: 6 errors in examples.csv"


def test_check_passes_the_demo_and_its_examples():
    from rules_dsl.demo import demo_path

    result = rulecraft("check", demo_path())
    assert result.returncode == 0, result.stderr
    assert "16 example cases checked" in result.stdout


@pytest.mark.parametrize("content, code, message", [
    (b"", 0, "examples.csv:1: warning: examples.csv is empty"),
    (b"case,temperature\n\n\n\"a,39\n", 1, "examples.csv:4: A value in quotes starts on this line but its closing "
                                           "quote is missing"),
    (b"case,temperature,case\na,39,b\n", 1, "examples.csv:1: The column 'case' is named twice"),
    (b"case,temperature\na,39\nb,\xff\n", 1, "examples.csv:3: examples.csv is not UTF-8 text (byte 25)"),
])
def test_check_reports_an_examples_file_it_cannot_read(sepsis_copy, content, code, message):
    (sepsis_copy / "examples.csv").write_bytes(content)
    result = rulecraft("check", sepsis_copy)
    assert result.returncode == code and message in result.stderr, result.stderr


# ---- format ------------------------------------------------------------------------------------------------------

MESSY = ('RULE "Two or more SIRS criteria" PRIORITY 2\r\nIF AT LEAST 2 OF (Temperature > 38, pulse over 90,\n'
         '   respiratory rate greater than 20,white cell count is unknown)\n'
         'THEN Sepsis Risk IS "HIGH" WITH CONFIDENCE 80%   BECAUSE “SIRS”')


def test_format_rewrites_a_messy_file_in_canonical_form(sepsis_copy, sepsis):
    path = sepsis_copy / "rules" / "sirs.rule"
    path.write_bytes(MESSY.encode())
    check = rulecraft("format", "--check", sepsis_copy)
    assert check.returncode == 1 and f"{path}: not in canonical form" in check.stdout
    assert path.read_bytes() == MESSY.encode()  # --check changes nothing
    result = rulecraft("format", sepsis_copy)
    assert result.returncode == 0, result.stderr
    assert f"{path}: formatted" in result.stdout
    assert path.read_text(encoding="utf-8") == sepsis.rule("sirs").text + "\n"
    again = rulecraft("format", "--check", sepsis_copy)
    assert again.returncode == 0 and "0 to format" in again.stdout


def test_format_check_passes_on_the_fixture():
    result = rulecraft("format", "--check", SEPSIS)
    assert result.returncode == 0 and "2 rule files, 0 to format" in result.stdout


def test_format_reports_syntax_errors_and_leaves_the_file(sepsis_copy):
    path = sepsis_copy / "rules" / "broken.rule"
    path.write_text('rule "Broken" when age is\n')
    result = rulecraft("format", sepsis_copy)
    assert result.returncode == 1
    assert f"{path}:1:26: Expected a value after 'is'" in result.stderr
    assert path.read_text() == 'rule "Broken" when age is\n'


def test_format_reports_a_file_that_is_not_text(sepsis_copy):
    path = sepsis_copy / "rules" / "bytes.rule"
    path.write_bytes(b'rule "x" when notes is "\xff"\n')
    result = rulecraft("format", sepsis_copy)
    assert result.returncode == 1 and "not UTF-8" in result.stderr
    assert path.read_bytes() == b'rule "x" when notes is "\xff"\n'


def test_format_does_not_write_through_a_symlink(sepsis_copy, tmp_path):
    outside = tmp_path / "outside.rule"
    outside.write_text('rule "Outside" when AGE > 5\n')
    os.symlink(outside, sepsis_copy / "rules" / "outside.rule")
    result = rulecraft("format", sepsis_copy)
    assert result.returncode == 1 and "not links" in result.stderr
    assert outside.read_text() == 'rule "Outside" when AGE > 5\n'


# ---- evaluate ----------------------------------------------------------------------------------------------------

CASES_CSV = """case,temperature,heart rate,respiratory rate,white cell count,diam_mm,location,smoker,notes,age
a,39,95,12,8,3,margin,no,no concerns,40
b,37,95,22,,4,border,yes,,40
c,,,,,3,centre,,,
d,36.5,80,12,8,2,margin,false,Biopsy planned,0.4
e,38.5,80,12,8,5,border,0,clear,1
f,37,80,12,8,3,margin,no,,40
"""


def test_evaluate_writes_one_0_1_column_per_rule(tmp_path):
    data, out = tmp_path / "cases.csv", tmp_path / "fired.csv"
    data.write_text(CASES_CSV)
    result = rulecraft("evaluate", SEPSIS, "--data", data, "--out", out, "--keep", "case", "--predict")
    assert result.returncode == 0, result.stderr
    assert "6 cases x 2 rules" in result.stdout
    fired = pd.read_csv(out, keep_default_na=False)
    assert list(fired.columns) == ["case", "dot", "sirs", "sepsis risk"]
    assert fired["case"].tolist() == list("abcdef")
    # dot: 2-5 mm, margin/border, not (smoker or notes contains biopsy), age above 6 months;
    # f has no notes: "notes contains" is unknown, so "not (no or unknown)" is unknown and the rule does not fire
    assert fired["dot"].tolist() == [1, 0, 0, 0, 1, 0]
    # sirs: at least 2 of (temperature > 38, heart rate > 90, respiratory rate > 20, white cell count missing)
    assert fired["sirs"].tolist() == [1, 1, 0, 0, 0, 0]
    assert fired["sepsis risk"].tolist() == ["high", "high", "low", "low", "low", "low"]


def test_evaluate_in_chunks_gives_the_same_file(tmp_path):
    data = tmp_path / "cases.csv"
    data.write_text(CASES_CSV)
    rulecraft("evaluate", SEPSIS, "--data", data, "--out", tmp_path / "one.csv")
    rulecraft("evaluate", SEPSIS, "--data", data, "--out", tmp_path / "two.csv", "--chunk-rows", "2")
    assert (tmp_path / "one.csv").read_bytes() == (tmp_path / "two.csv").read_bytes()


@pytest.mark.parametrize("csv, phrase", [
    ("temperature,heart rate\n39,100\n", "The data has no column 'diam_mm' (needed by dot)"),
    (CASES_CSV.replace("a,39,", "a,hot,"), "'temperature' must be a number, but got text 'hot'"),
    (CASES_CSV.replace(",no,", ",maybe,"), "'smoker' must be yes or no"),
    ("", "cannot read the CSV file"),
    ('temperature,heart rate\n"39,100\n', "cannot read the CSV file"),
])
def test_evaluate_bad_data_gives_a_clear_message_and_exit_code_2(tmp_path, csv, phrase):
    data, out = tmp_path / "cases.csv", tmp_path / "fired.csv"
    data.write_text(csv)
    result = rulecraft("evaluate", SEPSIS, "--data", data, "--out", out)
    assert result.returncode == 2, result.stderr
    assert phrase in result.stderr


def test_evaluate_a_rule_set_with_errors_exits_1(sepsis_copy, tmp_path):
    (sepsis_copy / "rules" / "bad.rule").write_text('rule "Bad" when agee is 5\n')
    data = tmp_path / "cases.csv"
    data.write_text(CASES_CSV)
    result = rulecraft("evaluate", sepsis_copy, "--data", data, "--out", tmp_path / "fired.csv")
    assert result.returncode == 1 and "Did you mean 'age'?" in result.stderr


def test_evaluate_never_overwrites_a_kept_column_with_the_prediction(tmp_path):
    """--keep "sepsis risk" --predict wrote the prediction over the kept true label (issue 12, item 6)."""
    truth = ["low", "low", "high", "high", "low", "high"]
    lines = CASES_CSV.strip().split("\n")
    data, out = tmp_path / "cases.csv", tmp_path / "fired.csv"
    data.write_text("\n".join([lines[0] + ",sepsis risk"] + [f"{line},{label}" for line, label
                                                             in zip(lines[1:], truth)]) + "\n")
    result = rulecraft("evaluate", SEPSIS, "--data", data, "--out", out, "--keep", "case", "--keep", "sepsis risk",
                       "--predict")
    assert result.returncode == 0, result.stderr
    fired = pd.read_csv(out, keep_default_na=False)
    assert list(fired.columns) == ["case", "sepsis risk", "dot", "sirs", "sepsis risk (predicted)"]
    assert fired["sepsis risk"].tolist() == truth
    assert fired["sepsis risk (predicted)"].tolist() == ["high", "high", "low", "low", "low", "low"]
    assert "predicted labels in column 'sepsis risk (predicted)'" in result.stdout


def test_evaluate_refuses_to_keep_a_column_named_like_a_rule(tmp_path):
    data, out = tmp_path / "cases.csv", tmp_path / "fired.csv"
    data.write_text(CASES_CSV.replace("case,", "sirs,"))
    result = rulecraft("evaluate", SEPSIS, "--data", data, "--out", out, "--keep", "sirs")
    assert result.returncode == 2
    assert "--keep: the column 'sirs' has the name of the rule 'sirs'" in result.stderr
    assert not out.exists()


# ---- analyze -----------------------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def demo_csv(tmp_path_factory):
    from rules_dsl.demo import reference_data

    path = tmp_path_factory.mktemp("demo") / "wisconsin.csv"
    reference_data().to_csv(path, index=False)
    return path


def test_analyze_gives_accuracy_on_the_cases_answered_beside_accuracy_on_all(demo_csv):
    """Abstentions counted as wrong made a good rule set read as 'below the baseline' (issue 12, item 6)."""
    from rules_dsl.demo import demo_path

    result = rulecraft("analyze", demo_path(), "--data", demo_csv, "--label", "diagnosis")
    assert result.returncode == 0, result.stderr
    data = pd.read_csv(demo_csv)
    predicted = rules_dsl.load(demo_path()).decide(data)
    answered = predicted.notna()
    right = int((predicted[answered] == data["diagnosis"][answered]).sum())
    assert 0 < answered.sum() < len(data)  # the demo abstains on some cases
    out = result.stdout
    assert f"answered by the rules: {answered.sum():,} of {len(data):,} cases ({answered.mean():.0%})" in out
    assert f"accuracy on the cases answered: {right / answered.sum():.1%} ({right:,} of {answered.sum():,};" in out
    assert (f"accuracy on all cases: {right / len(data):.1%} (the {(~answered).sum():,} unanswered counted as "
            "wrong)") in out


def test_analyze_cuts_a_number_column_into_bands_as_the_api_does(demo_csv):
    from rules_dsl.demo import demo_path
    from server.services.datasets import split

    result = rulecraft("analyze", demo_path(), "--data", demo_csv, "--label", "diagnosis", "--group", "mean radius",
                       "--bands", "3")
    assert result.returncode == 0, result.stderr
    banded = split(pd.read_csv(demo_csv), "mean radius", 3)
    assert len(banded.bands) == 3
    assert "By mean radius, cut into 3 bands of about as many cases each" in result.stdout
    table = result.stdout.split("By mean radius")[1]
    sizes = banded.frame[banded.group_column].value_counts()
    for band in banded.bands:
        assert f"{band:<16} {sizes[band]:>6}" in table, band
    assert table.index(banded.bands[0]) < table.index(banded.bands[1]) < table.index(banded.bands[2])


@pytest.mark.parametrize("bands", ["1", "11"])
def test_analyze_bands_are_2_to_10(demo_csv, bands):
    from rules_dsl.demo import demo_path

    result = rulecraft("analyze", demo_path(), "--data", demo_csv, "--label", "diagnosis", "--group", "mean radius",
                       "--bands", bands)
    assert result.returncode == 2 and "--bands" in result.stderr


def test_analyze_groups_show_their_case_counts_and_intervals(tmp_path):
    """80% of 15 against 0% of 10 is a gap, but an uncertain one: the counts and intervals say so."""
    quiet = CASES_CSV.strip().split("\n")[-1].split(",", 1)[1]  # no rule fires: the default, "low"
    rows = ([f"F,{quiet},low"] * 12 + [f"F,{quiet},high"] * 3 + [f"M,{quiet},high"] * 10)
    data = tmp_path / "cases.csv"
    data.write_text("sex," + CASES_CSV.split("\n")[0].split(",", 1)[1] + ",truth\n" + "\n".join(rows) + "\n")
    result = rulecraft("analyze", SEPSIS, "--data", data, "--label", "truth", "--group", "sex")
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert "  F                    15  15 (100%)   80.0% (12 of 15; 55%-93%)\n" in out
    assert "  M                    10  10 (100%)    0.0% (0 of 10; 0%-28%)\n" in out
    assert "accuracy on all cases: F 80% (12 of 15; 55%-93%) vs M 0% (0 of 10; 0%-28%)" in out


def test_analyze_refuses_a_file_without_cases(tmp_path):
    """It printed "accuracy on all cases: 0.0%" for no cases at all."""
    data = tmp_path / "cases.csv"
    data.write_text(CASES_CSV.split("\n")[0] + ",truth\n")
    result = rulecraft("analyze", SEPSIS, "--data", data, "--label", "truth", "--group", "location")
    assert result.returncode == 2 and "The file holds no cases" in result.stderr
